# lib.sh: helpers for the integration tests, sourced by bash (run.sh, each
# t_*.sh, tests/demo.sh). Owns the per-run temporary directory, the
# processes a test starts (the mock provider, the daemon) and their clean-up,
# and the "ok - name" / "not ok - name" reporting.
#
# Everything listens on 127.0.0.1 only. Every wait is bounded. On exit (any
# exit) the processes started here are stopped by PID and the temporary
# directory is removed, unless KEEP=1.
#
# Set before sourcing (all optional):
#   AR_BUILD   build directory with authrelay and mock-provider (default: build)
#   AUTHRELAY  the daemon binary (default: $AR_BUILD/authrelay)
#   KEEP=1     keep the temporary directory (its path is printed)

AR_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
AR_TOP=$(cd "$AR_LIB_DIR/../.." && pwd)
AR_BUILD=${AR_BUILD:-$AR_TOP/build}
AR_BUILD=$(cd "$AR_BUILD" 2>/dev/null && pwd || echo "$AR_BUILD")
AUTHRELAY=${AUTHRELAY:-$AR_BUILD/authrelay}
MOCK_BIN=${MOCK_BIN:-$AR_BUILD/mock-provider}
export AR_LIB_DIR AR_TOP AR_BUILD AUTHRELAY MOCK_BIN
# No __pycache__ in the source tree.
export PYTHONDONTWRITEBYTECODE=1

# Test identities. Distinctive strings, so a grep of the logs cannot match
# anything by accident.
AR_USER=scanner@example.com
AR_PASS='Pw-scan.7f3a9c1e+Q'
AR_EMAIL=sales@example.com
AR_CLIENT_ID=test-client-8c1d
AR_CLIENT_SECRET=cs-secret-4f9a2e7b
AR_REFRESH=rt-mock-1f2e3d4c5b6a9788
AR_HOSTNAME=relay.test
export AR_USER AR_PASS AR_EMAIL AR_CLIENT_ID AR_CLIENT_SECRET AR_REFRESH \
    AR_HOSTNAME

# Bounds, in seconds.
AR_START_WAIT=${AR_START_WAIT:-15}	# a process to come up
AR_STOP_WAIT=${AR_STOP_WAIT:-10}	# a process to exit after SIGTERM
AR_CLIENT_WAIT=${AR_CLIENT_WAIT:-60}	# one client run

AR_PIDS=""
AR_TMP=""
AR_NPASS=0
AR_NFAIL=0

# --- reporting --------------------------------------------------------------

# ok NAME
ok() {
	AR_NPASS=$((AR_NPASS + 1))
	echo "ok - $1"
}

# not_ok NAME DIAGNOSIS [FILE...]: the diagnosis, then the tail of each file,
# as "#" comment lines.
not_ok() {
	local name=$1 diag=$2 f
	shift 2
	AR_NFAIL=$((AR_NFAIL + 1))
	echo "not ok - $name: $diag"
	for f in "$@"; do
		[ -f "$f" ] || continue
		echo "#   --- tail of $f"
		tail -n 15 "$f" | sed 's/^/#   /'
	done
}

# check NAME DIAGNOSIS COMMAND...: ok if the command succeeds.
check() {
	local name=$1 diag=$2
	shift 2
	if "$@"; then ok "$name"; else not_ok "$name" "$diag"; fi
}

# Say so on stderr and stop this test file (its cases count as failed).
ar_die() {
	echo "not ok - ${AR_CASE:-setup}: $*"
	AR_NFAIL=$((AR_NFAIL + 1))
	exit 1
}

# --- temporary directory and processes --------------------------------------

ar_cleanup() {
	local rc=$? pid
	trap - EXIT INT TERM HUP
	for pid in $AR_PIDS; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in $AR_PIDS; do
		ar_wait_exit "$pid" "$AR_STOP_WAIT" || kill -KILL "$pid" 2>/dev/null
	done
	if [ -n "$AR_TMP" ] && [ -d "$AR_TMP" ]; then
		if [ "${KEEP:-0}" = 1 ]; then
			echo "# kept $AR_TMP" >&2
		else
			rm -rf "$AR_TMP"
		fi
	fi
	exit "$rc"
}

# ar_init: the temporary directory (AR_TMP) with the test certificates, and
# the exit trap. Call once, first.
ar_init() {
	local b
	for b in "$AUTHRELAY" "$MOCK_BIN"; do
		[ -x "$b" ] || ar_die "$b is missing: build first (make all)"
	done
	for b in python3 timeout openssl; do
		command -v "$b" >/dev/null || ar_die "$b is not installed"
	done
	AR_TMP=$(mktemp -d "${TMPDIR:-/tmp}/authrelay-it.XXXXXX") ||
	    ar_die "mktemp failed"
	export AR_TMP
	trap ar_cleanup EXIT
	trap 'exit 1' INT TERM HUP
	AR_CERTS=$AR_TMP/certs
	sh "$AR_TOP/tests/lib/mkcerts.sh" "$AR_CERTS" || ar_die "mkcerts failed"
	AR_CA=$AR_CERTS/ca.pem
	export AR_CERTS AR_CA
	AR_HASH=$(ar_hash_password "$AR_PASS") || ar_die "hash-password failed"
}

# ar_forget PID: stop tracking a process (it was waited for).
ar_forget() {
	local p out=""
	for p in $AR_PIDS; do
		[ "$p" = "$1" ] || out="$out $p"
	done
	AR_PIDS=$out
}

# ar_wait_exit PID SECONDS: wait for a process to go away. 0 if it did.
ar_wait_exit() {
	local pid=$1 n=$(($2 * 10))
	while kill -0 "$pid" 2>/dev/null; do
		[ "$n" -gt 0 ] || return 1
		n=$((n - 1))
		sleep 0.1
	done
	return 0
}

# ar_free_port: print a TCP port that was free on 127.0.0.1 a moment ago.
ar_free_port() {
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# ar_port_open PORT: whether something accepts connections on it.
ar_port_open() {
	timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# ar_hash_password PASSWORD: print the daemon's hash of it.
ar_hash_password() {
	printf '%s\n' "$1" | timeout 30 "$AUTHRELAY" hash-password
}

# --- the mock provider -------------------------------------------------------

# ar_start_mock NAME [MOCK OPTIONS...]: start a mock provider with its files
# in $AR_TMP/NAME and wait for its ports. Sets MOCK_DIR, MOCK_PID,
# MOCK_HTTP_PORT, MOCK_SMTP_PORT, MOCK_MODE (tls, or starttls if
# "--smtp-mode starttls" is among the options) and MOCK_LOG.
ar_start_mock() {
	local name=$1 n a prev=""
	shift
	MOCK_DIR=$AR_TMP/$name
	MOCK_LOG=$MOCK_DIR/mock.log
	MOCK_MODE=tls
	for a in "$@"; do
		[ "$prev" = --smtp-mode ] && MOCK_MODE=$a
		prev=$a
	done
	mkdir -p "$MOCK_DIR"
	"$MOCK_BIN" --dir "$MOCK_DIR" --cert "$AR_CERTS/server.pem" \
	    --key "$AR_CERTS/server.key" --http 127.0.0.1:0 \
	    --smtp 127.0.0.1:0 --refresh-token "$AR_REFRESH" \
	    --client-id "$AR_CLIENT_ID" --client-secret "$AR_CLIENT_SECRET" \
	    "$@" 2>"$MOCK_LOG" &
	MOCK_PID=$!
	AR_PIDS="$AR_PIDS $MOCK_PID"
	n=$((AR_START_WAIT * 10))
	until [ -s "$MOCK_DIR/http.port" ] && [ -s "$MOCK_DIR/smtp.port" ]; do
		if ! kill -0 "$MOCK_PID" 2>/dev/null; then
			tail -n 20 "$MOCK_LOG" | sed 's/^/#   /'
			ar_die "mock provider exited during start-up"
		fi
		[ "$n" -gt 0 ] || {
			tail -n 20 "$MOCK_LOG" | sed 's/^/#   /'
			ar_die "mock provider wrote no port files in ${AR_START_WAIT}s"
		}
		n=$((n - 1))
		sleep 0.1
	done
	MOCK_HTTP_PORT=$(cat "$MOCK_DIR/http.port")
	MOCK_SMTP_PORT=$(cat "$MOCK_DIR/smtp.port")
	export MOCK_DIR MOCK_HTTP_PORT MOCK_SMTP_PORT MOCK_MODE
}

# ar_mock_count COUNTER: a mock counter's value (0 if the file is missing).
ar_mock_count() {
	local v
	v=$(cat "$MOCK_DIR/$1" 2>/dev/null) || v=0
	echo "${v:-0}"
}

# ar_mock_control LINE...: replace the current mock's DIR/control with these
# lines (atomically, under the mock's lock; see mock_control.c). No LINE:
# an empty file.
ar_mock_control() {
	local l
	{ for l in "$@"; do printf '%s\n' "$l"; done; } >"$MOCK_DIR/control.new"
	flock "$MOCK_DIR/control.lock" mv -f "$MOCK_DIR/control.new" \
	    "$MOCK_DIR/control"
}

# ar_msgs: the stored message numbers (NNNNNN of each complete .env), sorted.
ar_msgs() {
	local f
	for f in "$MOCK_DIR"/messages/*.env; do
		[ -e "$f" ] || continue
		f=${f##*/}
		echo "${f%.env}"
	done
}

# ar_msg_count: how many messages the mock stored.
ar_msg_count() {
	ar_msgs | wc -l | tr -d ' '
}

# ar_wait_msgs N [SECONDS]: wait until the mock stored at least N messages.
ar_wait_msgs() {
	local want=$1 n=$((${2:-5} * 10))
	while [ "$(ar_msg_count)" -lt "$want" ]; do
		[ "$n" -gt 0 ] || return 1
		n=$((n - 1))
		sleep 0.1
	done
	return 0
}

# ar_last_msg: path of the last stored message without extension.
ar_last_msg() {
	local m
	m=$(ar_msgs | tail -n 1)
	[ -n "$m" ] && echo "$MOCK_DIR/messages/$m"
}

# ar_env_field PREFIX.env FIELD: the values of "FIELD: value" lines.
ar_env_field() {
	sed -n "s/^$2: //p" "$1" | tr -d '\r'
}

# ar_check_delivery NAME BEFORE MSGFILE FROM RCPT... : one new message was
# stored after BEFORE messages, its data is MSGFILE byte for byte, and its
# envelope names the account, FROM and exactly the RCPTs, with no bare LF
# or CR and the right size. Prints ok / not ok.
ar_check_delivery() {
	local name=$1 before=$2 msgfile=$3 from=$4 p got want r
	shift 4
	if ! ar_wait_msgs $((before + 1)) 5; then
		not_ok "$name" "the mock stored no message (count $(ar_msg_count), was $before)" \
		    "$AR_CLIENT_LOG" "$DAEMON_LOG" "$MOCK_LOG"
		return 1
	fi
	sleep 0.05	# a second message, if one wrongly follows
	if [ "$(ar_msg_count)" -ne $((before + 1)) ]; then
		not_ok "$name" "expected 1 new message, the mock stored $(($(ar_msg_count) - before))"
		return 1
	fi
	p=$(ar_last_msg)
	if ! cmp -s "$msgfile" "$p.eml"; then
		not_ok "$name" "stored message differs from the one sent: $(cmp "$msgfile" "$p.eml" 2>&1 | head -1); sizes $(wc -c <"$msgfile") sent, $(wc -c <"$p.eml") stored"
		diff <(head -c 2000 "$msgfile" | od -c | head -20) \
		    <(head -c 2000 "$p.eml" | od -c | head -20) | head -20 |
		    sed 's/^/#   /'
		return 1
	fi
	got=$(ar_env_field "$p.env" auth-user)
	[ "$got" = "$AR_EMAIL" ] || {
		not_ok "$name" "envelope auth-user '$got', want '$AR_EMAIL'"
		return 1
	}
	got=$(ar_env_field "$p.env" mail-from | sed 's/ .*//')
	[ "$got" = "<$from>" ] || {
		not_ok "$name" "envelope mail-from '$got', want '<$from>'"
		return 1
	}
	got=$(ar_env_field "$p.env" rcpt-to | sed 's/ .*//' | tr '\n' ' ')
	want=""
	for r in "$@"; do want="$want<$r> "; done
	[ "$got" = "$want" ] || {
		not_ok "$name" "envelope rcpt-to '$got', want '$want'"
		return 1
	}
	for r in bare-lf bare-cr; do
		got=$(ar_env_field "$p.env" $r)
		[ "$got" = 0 ] || {
			not_ok "$name" "envelope $r: '$got', want 0"
			return 1
		}
	done
	got=$(ar_env_field "$p.env" size)
	want=$(wc -c <"$msgfile" | tr -d ' ')
	[ "$got" = "$want" ] || {
		not_ok "$name" "envelope size '$got', want $want"
		return 1
	}
	ok "$name"
}

# --- the daemon --------------------------------------------------------------

# ar_write_config FILE NAME [EXTRA SERVER LINES...]: a config for the current
# mock (MOCK_*), listeners on AR_STARTTLS_PORT and AR_TLS_PORT, state in
# $AR_TMP/NAME/state. TOKEN_URL and UPSTREAM_SMTP override the mock's.
# Optional, newline-separated lines: AR_SERVER_EXTRA is added to [server]
# (after the EXTRA SERVER LINES); AR_PROVIDER_EXTRA is added to
# [provider mock]; AR_ACCOUNT_LINES replaces the client_id and
# client_secret lines of [account sales]; AR_ACCOUNT_EXTRA is added to it;
# AR_USER_LINES is added to [user $AR_USER]; AR_SECTIONS goes at the end.
ar_write_config() {
	local file=$1 dir=$AR_TMP/$2 l
	shift 2
	mkdir -p "$dir/state"
	chmod 700 "$dir/state"
	{
		echo "[server]"
		echo "hostname = $AR_HOSTNAME"
		echo "listen = 127.0.0.1:$AR_STARTTLS_PORT starttls"
		echo "listen = 127.0.0.1:$AR_TLS_PORT tls"
		echo "tls_cert = $AR_CERTS/server.pem"
		echo "tls_key = $AR_CERTS/server.key"
		echo "state_dir = $dir/state"
		echo "log_level = ${AR_LOG_LEVEL:-debug}"
		for l in "$@"; do echo "$l"; done
		[ -z "${AR_SERVER_EXTRA:-}" ] || printf '%s\n' "$AR_SERVER_EXTRA"
		# Each daemon its own control socket; as root, stay root (the
		# privilege drop has tests of its own).
		echo "control_socket = ${AR_CONTROL:-$dir/control}"
		[ "$(id -u)" != 0 ] || [ -n "${AR_NO_USER:-}" ] ||
		    echo "user = root"
		echo
		echo "[provider mock]"
		echo "token_url = ${TOKEN_URL:-https://127.0.0.1:$MOCK_HTTP_PORT/token}"
		echo "smtp = ${UPSTREAM_SMTP:-127.0.0.1:$MOCK_SMTP_PORT $MOCK_MODE}"
		echo "ca_file = $AR_CA"
		[ -z "${AR_PROVIDER_EXTRA:-}" ] || printf '%s\n' "$AR_PROVIDER_EXTRA"
		echo
		echo "[account sales]"
		echo "provider = mock"
		echo "email = $AR_EMAIL"
		if [ -n "${AR_ACCOUNT_LINES+set}" ]; then
			[ -z "$AR_ACCOUNT_LINES" ] ||
			    printf '%s\n' "$AR_ACCOUNT_LINES"
		else
			echo "client_id = $AR_CLIENT_ID"
			echo "client_secret = $AR_CLIENT_SECRET"
		fi
		[ -z "${AR_ACCOUNT_EXTRA:-}" ] || printf '%s\n' "$AR_ACCOUNT_EXTRA"
		echo
		echo "[user $AR_USER]"
		echo "password_hash = $AR_HASH"
		echo "account = sales"
		[ -z "${AR_USER_LINES:-}" ] || echo "$AR_USER_LINES"
		[ -z "${AR_SECTIONS:-}" ] || printf '\n%s\n' "$AR_SECTIONS"
	} >"$file"
	# It holds secrets: the daemon refuses a config open to others
	# (io/secretfile.h), as an admin's must not be.
	chmod 600 "$file"
}

# ar_start_daemon NAME [EXTRA SERVER LINES...]: write
# $AR_TMP/NAME/authrelay.ini for the current mock, store the refresh token
# (AR_SET_TOKEN, default the one the mock accepts; none if AR_NO_TOKEN=1),
# start the daemon, wait for both listeners. Sets DAEMON_PID, DAEMON_LOG,
# DAEMON_CONF, DAEMON_DIR, AR_STARTTLS_PORT, AR_TLS_PORT.
ar_start_daemon() {
	local name=$1 dir=$AR_TMP/$1
	shift
	mkdir -p "$dir"
	AR_STARTTLS_PORT=$(ar_free_port)
	AR_TLS_PORT=$(ar_free_port)
	while [ "$AR_TLS_PORT" = "$AR_STARTTLS_PORT" ]; do
		AR_TLS_PORT=$(ar_free_port)
	done
	DAEMON_DIR=$dir
	DAEMON_CONF=$dir/authrelay.ini
	ar_write_config "$DAEMON_CONF" "$name" "$@"
	if [ "${AR_NO_TOKEN:-0}" != 1 ]; then
		printf '%s\n' "${AR_SET_TOKEN:-$AR_REFRESH}" |
		    timeout 30 "$AUTHRELAY" -c "$DAEMON_CONF" set-token sales \
		    >"$dir/set-token.out" 2>&1 ||
		    { sed 's/^/#   /' "$dir/set-token.out"
		      ar_die "set-token failed"; }
	fi
	ar_run_daemon "$dir/authrelay.log"
}

# ar_run_daemon LOG: start the daemon on DAEMON_CONF as it is (a restart:
# same ports, same state), its stderr to LOG (which should match
# authrelay*.log, for ar_check_secrets), and wait for both listeners. Sets
# DAEMON_PID and DAEMON_LOG.
ar_run_daemon() {
	local n port
	DAEMON_LOG=$1
	"$AUTHRELAY" -c "$DAEMON_CONF" 2>"$DAEMON_LOG" &
	DAEMON_PID=$!
	AR_PIDS="$AR_PIDS $DAEMON_PID"
	for port in "$AR_STARTTLS_PORT" "$AR_TLS_PORT"; do
		n=$((AR_START_WAIT * 5))
		until ar_port_open "$port"; do
			if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
				tail -n 20 "$DAEMON_LOG" | sed 's/^/#   /'
				ar_die "authrelay exited during start-up"
			fi
			[ "$n" -gt 0 ] || {
				tail -n 20 "$DAEMON_LOG" | sed 's/^/#   /'
				ar_die "authrelay not listening on $port after ${AR_START_WAIT}s"
			}
			n=$((n - 1))
			sleep 0.2
		done
	done
	export AR_STARTTLS_PORT AR_TLS_PORT DAEMON_LOG DAEMON_PID DAEMON_CONF \
	    DAEMON_DIR
}

# ar_stop PID: SIGTERM, wait (bounded). Sets AR_STOP_RC to the exit status,
# or "timeout" (the process is then killed). Call it directly, not in $(...):
# only this shell can wait for its children.
ar_stop() {
	local pid=$1
	kill -TERM "$pid" 2>/dev/null
	if ar_wait_exit "$pid" "$AR_STOP_WAIT"; then
		wait "$pid" 2>/dev/null
		AR_STOP_RC=$?
	else
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		AR_STOP_RC=timeout
	fi
	ar_forget "$pid"
}

# ar_check_daemon NAME: the daemon is still up after the cases, exits 0 on
# SIGTERM, and its log holds no sanitizer report (for AUTHRELAY built with
# -fsanitize).
ar_check_daemon() {
	local name=$1
	if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
		wait "$DAEMON_PID" 2>/dev/null
		not_ok "$name" "the daemon died during the tests (status $?)" \
		    "$DAEMON_LOG"
		ar_forget "$DAEMON_PID"
		return 1
	fi
	ar_stop "$DAEMON_PID"
	if [ "$AR_STOP_RC" != 0 ]; then
		not_ok "$name" "exit status $AR_STOP_RC on SIGTERM" "$DAEMON_LOG"
	elif grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' \
	    "$DAEMON_LOG"; then
		not_ok "$name" "sanitizer report in the daemon log" "$DAEMON_LOG"
	else
		ok "$name"
		return 0
	fi
	return 1
}

# ar_standard_env: the usual set-up: a mock provider ("mock", implicit TLS)
# and a daemon ("relay") with both listeners in front of it.
ar_standard_env() {
	ar_start_mock mock "$@"
	ar_start_daemon relay
}

# --- secrets -----------------------------------------------------------------

# ar_b64 STRING (printf %b escapes allowed): base64 on one line.
ar_b64() {
	printf '%b' "$1" | base64 -w0
}

# ar_check_secrets [NAME]: no secret in any daemon log of this run: the
# password (plain and in AUTH PLAIN / LOGIN base64), the refresh token, the
# client secret, any access token the mock issued ("ya29.mock-") and any
# XOAUTH2 initial response (base64 of "user=...").
ar_check_secrets() {
	local name=${1:-no secrets in the daemon logs} log s found="" logs
	logs=$(find "$AR_TMP" -name 'authrelay*.log' 2>/dev/null)
	[ -n "$logs" ] || { not_ok "$name" "no daemon log found"; return 1; }
	for log in $logs; do
		for s in "$AR_PASS" "$AR_REFRESH" "$AR_CLIENT_SECRET" \
		    "ya29.mock" "$(ar_b64 "$AR_PASS")" \
		    "$(ar_b64 "\\0$AR_USER\\0$AR_PASS")" \
		    "$(ar_b64 "$AR_USER\\0$AR_USER\\0$AR_PASS")" \
		    dXNlcj1; do
			if grep -qF -- "$s" "$log"; then
				found="$found '$s' in ${log#"$AR_TMP"/}:$(grep -nF -- "$s" "$log" | head -1 | cut -d: -f1);"
			fi
		done
	done
	if [ -n "$found" ]; then
		not_ok "$name" "secret found:$found"
		return 1
	fi
	ok "$name"
}

# ar_check_oauth_secrets NAME [FILE...]: no OAuth secret in any daemon log
# of this run (authrelay*.log under AR_TMP) nor in the FILEs (command
# output): the refresh token the mocks start with and every one they issued
# (each line of each mock's refresh-tokens file, and the "mock-rt-" prefix
# of rotated ones), access tokens ("ya29.mock"), authorization codes
# ("mock-code-"), device codes ("mock-device-"), the client secret, the
# password, and each line of AR_SECRETS (more strings, newline-separated).
# What kind of secret was found where is printed, never the secret.
ar_check_oauth_secrets() {
	local name=$1 f kind s found="" files secrets
	shift
	files=$(find "$AR_TMP" -name 'authrelay*.log' 2>/dev/null)
	for f in "$@"; do
		[ -f "$f" ] && files="$files
$f"
	done
	[ -n "$files" ] || { not_ok "$name" "no file to look at"; return 1; }
	# "kind<TAB>secret" lines.
	secrets=$(printf 'refresh token\t%s\n' "$AR_REFRESH"
	    printf 'client secret\t%s\n' "$AR_CLIENT_SECRET"
	    printf 'password\t%s\n' "$AR_PASS"
	    printf 'access token\tya29.mock\n'
	    printf 'rotated refresh token\tmock-rt-\n'
	    printf 'authorization code\tmock-code-\n'
	    printf 'device code\tmock-device-\n'
	    cat "$AR_TMP"/*/refresh-tokens 2>/dev/null |
	        sed 's/^/issued refresh token\t/'
	    printf '%s\n' "${AR_SECRETS:-}" | sed 's/^/AR_SECRETS line\t/')
	while IFS= read -r f; do
		[ -n "$f" ] || continue
		while IFS=$'\t' read -r kind s; do
			[ -n "$s" ] || continue
			grep -qF -- "$s" "$f" || continue
			found="$found $kind in ${f#"$AR_TMP"/}:$(grep -nF -- "$s" "$f" | head -1 | cut -d: -f1);"
		done <<<"$secrets"
	done <<<"$files"
	if [ -n "$found" ]; then
		not_ok "$name" "secret found:$found"
		return 1
	fi
	ok "$name"
}

# ar_check_sanitizers NAME [FILE...]: no sanitizer report (AUTHRELAY built
# with -fsanitize) in any daemon log of this run nor in the FILEs (output
# of authrelay commands).
ar_check_sanitizers() {
	local name=$1 hits
	shift
	hits=$({ find "$AR_TMP" -name 'authrelay*.log' 2>/dev/null
	    for f in "$@"; do [ -f "$f" ] && echo "$f"; done; } |
	    while IFS= read -r f; do
		grep -lE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$f"
	    done)
	if [ -n "$hits" ]; then
		not_ok "$name" "sanitizer report in: $(echo "$hits" | sed "s|$AR_TMP/||" | tr '\n' ' ')" \
		    "$(echo "$hits" | head -n 1)"
		return 1
	fi
	ok "$name"
}

# ar_summary: exit status for the test file.
ar_summary() {
	[ "$AR_NFAIL" -eq 0 ]
}

# ar_pycase NAME: run Python code from stdin (arlib importable, the
# environment exported) as one test case: exit 0 is ok; otherwise the last
# line of its output is the diagnosis (raise SystemExit("why") for that).
ar_pycase() {
	local name=$1 out rc
	out=$(PYTHONPATH=$AR_LIB_DIR timeout -k 5 "${AR_PY_WAIT:-60}" python3 - 2>&1)
	rc=$?
	if [ "$rc" -eq 0 ]; then
		ok "$name"
		[ -n "$out" ] && echo "$out" | sed 's/^/# /'
	else
		[ "$rc" -eq 124 ] && out="$out
timed out after ${AR_PY_WAIT:-60}s"
		not_ok "$name" "$(echo "$out" | tail -n 1)"
		echo "$out" | head -n -1 | tail -n 8 | sed 's/^/#   /'
	fi
	return "$rc"
}

# ar_pycases NAME: run Python code from stdin (as ar_pycase) that reports
# several cases itself, as "ok - ..." / "not ok - ..." lines (arlib.Report);
# its output is passed on (other lines as "#" comments) and its cases
# counted. NAME is reported as not ok if the code reports no failed case
# but does not exit 0 (a crash, the AR_PY_WAIT timeout).
ar_pycases() {
	local name=$1 out rc p f
	out=$(PYTHONPATH=$AR_LIB_DIR timeout -k 5 "${AR_PY_WAIT:-60}" python3 - 2>&1)
	rc=$?
	[ -z "$out" ] || echo "$out" | sed -E '/^((not )?ok - |#)/!s/^/# /'
	p=$(grep -c '^ok - ' <<<"$out")
	f=$(grep -c '^not ok - ' <<<"$out")
	AR_NPASS=$((AR_NPASS + p))
	AR_NFAIL=$((AR_NFAIL + f))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		[ "$rc" -eq 124 ] && out="timed out after ${AR_PY_WAIT:-60}s"
		not_ok "$name" "exit $rc: $(echo "$out" | tail -n 1)"
	fi
	return "$rc"
}
