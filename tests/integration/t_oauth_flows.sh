#!/usr/bin/env bash
# t_oauth_flows: how an account gets its tokens, each flow end to end
# against the mock provider, then a message relayed with what it got:
# authorize (loopback redirect followed by curl, --manual with the
# redirected URL pasted, --device with authorization_pending and
# slow_down), client_credentials with a client secret and with a
# certificate, a Google service account (JWT bearer), and `authrelay test`.
# No secret (refresh or access token, code, code_verifier, client secret)
# in any command output or daemon log.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

ar_init
W=$AR_TMP/work
C=$W/cmd		# command output: checked for secrets at the end
mkdir -p "$W" "$C"
KEYS=$AR_TMP/keys
CMD_WAIT=40		# one authorize run, at most

# mock_urls SCOPE: the [provider mock] lines for the current mock's
# authorize and device endpoints, and the scope to ask for.
mock_urls() {
	printf 'auth_url = https://127.0.0.1:%s/authorize\n' "$MOCK_HTTP_PORT"
	printf 'device_url = https://127.0.0.1:%s/devicecode\n' "$MOCK_HTTP_PORT"
	printf 'scope = %s\n' "$1"
}

# wait_grep FILE REGEX SECONDS: wait until FILE has a line matching REGEX.
wait_grep() {
	local n=$(($3 * 10))
	until grep -qE "$2" "$1" 2>/dev/null; do
		[ "$n" -gt 0 ] || return 1
		n=$((n - 1))
		sleep 0.1
	done
}

# wait_cmd PID SECONDS: wait for a background command; CMD_RC is its exit
# status, or "timeout" (it is then killed).
wait_cmd() {
	if ar_wait_exit "$1" "$2"; then
		wait "$1"
		CMD_RC=$?
	else
		kill -KILL "$1" 2>/dev/null
		wait "$1" 2>/dev/null
		CMD_RC=timeout
	fi
	ar_forget "$1"
}

# token_file_ok NAME: the daemon's token file for sales exists with mode
# 0600 (ok / not ok).
token_file_ok() {
	local f=$DAEMON_DIR/state/sales.json
	if [ ! -f "$f" ]; then
		not_ok "$1" "no token file $f" "$AUTHZ_OUT"
	elif [ "$(stat -c %a "$f")" != 600 ]; then
		not_ok "$1" "token file has mode $(stat -c %a "$f"), want 600"
	else
		ok "$1"
	fi
}

# authz_url FILE: the authorization URL printed in FILE.
authz_url() {
	grep -oE "https://127\.0\.0\.1:$MOCK_HTTP_PORT/authorize\?[^[:space:]]+" \
	    "$1" | head -n 1
}

# no_verifier NAME OUTFILE URL: the output holds no PKCE code_verifier
# matching the URL's code_challenge.
no_verifier() {
	AR_OUT=$2 AR_URL=$3 ar_pycase "$1" <<'EOF'
import arlib, os, urllib.parse
q = urllib.parse.parse_qs(urllib.parse.urlsplit(os.environ["AR_URL"]).query)
ch = q.get("code_challenge", [""])[0]
if len(ch) != 43 or q.get("code_challenge_method") != ["S256"]:
    raise SystemExit("the URL has no S256 code_challenge: %r" % sorted(q))
if arlib.holds_verifier(open(os.environ["AR_OUT"], errors="replace").read(), ch):
    raise SystemExit("the output holds the code_verifier")
EOF
}

# relay NAME: a message through the current daemon is stored intact.
relay() {
	ar_pycase "$1" <<'EOF'
import arlib
d = arlib.relay_one("oauth flow relay")
if d:
    raise SystemExit(d)
EOF
}

# --- 1. authorize: loopback redirect ------------------------------------------

ar_start_mock google
PROVIDER_LINES=$(mock_urls https://mail.google.com/)
AR_PROVIDER_EXTRA=$PROVIDER_LINES AR_NO_TOKEN=1 ar_start_daemon loopback
AUTHZ_OUT=$C/authorize-loopback.out
timeout -k 5 "$CMD_WAIT" "$AUTHRELAY" -c "$DAEMON_CONF" authorize sales \
    --timeout 30 >"$AUTHZ_OUT" 2>&1 </dev/null &
pid=$!
AR_PIDS="$AR_PIDS $pid"
name="authorize (loopback): prints the URL, curl follows the redirect to its listener, exit 0"
url=""
wait_grep "$AUTHZ_OUT" 'https://.*/authorize\?' 10 && url=$(authz_url "$AUTHZ_OUT")
if [ -z "$url" ]; then
	wait_cmd "$pid" 1
	not_ok "$name" "no authorization URL printed (exit $CMD_RC)" "$AUTHZ_OUT"
else
	# The redirect target holds the code: curl's own output stays in $W.
	curl -sS -L --max-time 20 --cacert "$AR_CA" -o "$W/loopback.page" \
	    -w '%{http_code} %{url_effective}\n' "$url" >"$W/loopback.curl" \
	    2>&1
	wait_cmd "$pid" 30
	if [ "$CMD_RC" != 0 ]; then
		not_ok "$name" "authorize exited $CMD_RC" "$AUTHZ_OUT" \
		    "$W/loopback.curl" "$MOCK_LOG"
	elif ! grep -q '^200 http://127\.0\.0\.1:[0-9]*/?code=' "$W/loopback.curl"; then
		not_ok "$name" "curl did not end on the loopback with a code: $(cut -d' ' -f1 "$W/loopback.curl")"
	elif ! grep -q 'authorization complete' "$W/loopback.page"; then
		not_ok "$name" "the browser page does not say it worked: $(head -c 200 "$W/loopback.page")"
	else
		ok "$name"
	fi
fi
token_file_ok "authorize (loopback): the token file exists, mode 0600"
name="authorize (loopback): the output names what was stored, not the token or the code"
code=$(sed -n 's/.*[?&]code=\([^&[:space:]]*\).*/\1/p' "$W/loopback.curl")
if [ -z "$code" ]; then
	not_ok "$name" "no code seen by curl"
elif grep -qF -- "$code" "$AUTHZ_OUT"; then
	not_ok "$name" "the output holds the authorization code"
elif grep -qF -- "$AR_REFRESH" "$AUTHZ_OUT"; then
	not_ok "$name" "the output holds the refresh token"
elif ! grep -q 'refresh token: *received' "$AUTHZ_OUT"; then
	not_ok "$name" "no 'refresh token: received' line" "$AUTHZ_OUT"
else
	ok "$name"
fi
[ -n "$url" ] && no_verifier "authorize (loopback): the output holds no code_verifier" \
    "$AUTHZ_OUT" "$url"
relay "authorize (loopback): the running daemon relays with the new token, no restart"

# --- 13. authrelay test ACCOUNT -----------------------------------------------

name="test ACCOUNT: transcript with 'AUTH XOAUTH2 <token withheld>' and 235, exit 0"
out=$C/test-ok.out
timeout 30 "$AUTHRELAY" -c "$DAEMON_CONF" test sales >"$out" 2>&1
rc=$?
if [ "$rc" -ne 0 ]; then
	not_ok "$name" "exit $rc" "$out"
elif ! grep -qF 'AUTH XOAUTH2 <token withheld>' "$out"; then
	not_ok "$name" "no 'AUTH XOAUTH2 <token withheld>' line" "$out"
elif ! grep -q '^<- 235' "$out"; then
	not_ok "$name" "no '<- 235' line" "$out"
else
	ok "$name"
fi
name="test ACCOUNT: the provider rejects the token twice (smtp-reject 2): exit 1 with the reason"
out=$C/test-reject.out
ar_mock_control "smtp-reject 2"
timeout 30 "$AUTHRELAY" -c "$DAEMON_CONF" test sales >"$out" 2>&1
rc=$?
ar_mock_control
if [ "$rc" -ne 1 ]; then
	not_ok "$name" "exit $rc, want 1" "$out"
elif ! grep -q '^authrelay: ' "$out"; then
	not_ok "$name" "no 'authrelay: reason' line" "$out"
else
	ok "$name"
fi
ar_stop "$DAEMON_PID"

# --- 2. authorize --manual ----------------------------------------------------

AR_PROVIDER_EXTRA=$PROVIDER_LINES AR_NO_TOKEN=1 ar_start_daemon manual
AUTHZ_OUT=$C/authorize-manual.out
# Opened read-write here, the FIFO never blocks; the command gets its own
# read end and not this one.
mkfifo "$W/manual.in"
exec 3<>"$W/manual.in"
timeout -k 5 "$CMD_WAIT" "$AUTHRELAY" -c "$DAEMON_CONF" authorize sales \
    --manual --timeout 30 <"$W/manual.in" >"$AUTHZ_OUT" 2>&1 3>&- &
pid=$!
AR_PIDS="$AR_PIDS $pid"
name="authorize --manual: the redirected URL pasted on stdin, exit 0"
url=""
wait_grep "$AUTHZ_OUT" 'https://.*/authorize\?' 10 && url=$(authz_url "$AUTHZ_OUT")
if [ -z "$url" ]; then
	exec 3>&-
	wait_cmd "$pid" 1
	not_ok "$name" "no authorization URL printed (exit $CMD_RC)" "$AUTHZ_OUT"
else
	loc=$(curl -sS --max-time 10 --cacert "$AR_CA" -o /dev/null \
	    -w '%{redirect_url}' "$url" 2>"$W/manual.curl")
	printf '%s\n' "$loc" >&3
	exec 3>&-
	wait_cmd "$pid" 30
	if [ -z "$loc" ]; then
		not_ok "$name" "the mock's /authorize gave no Location" \
		    "$W/manual.curl" "$MOCK_LOG"
	elif [ "$CMD_RC" != 0 ]; then
		not_ok "$name" "authorize exited $CMD_RC" "$AUTHZ_OUT" "$MOCK_LOG"
	else
		ok "$name"
	fi
	code=$(printf '%s\n' "$loc" | sed -n 's/.*[?&]code=\([^&]*\).*/\1/p')
	name="authorize --manual: the output holds neither the code nor the refresh token"
	if [ -z "$code" ]; then
		not_ok "$name" "no code in the redirect"
	elif grep -qF -- "$code" "$AUTHZ_OUT" || grep -qF -- "$AR_REFRESH" "$AUTHZ_OUT"; then
		not_ok "$name" "found in the output"
	else
		ok "$name"
	fi
	no_verifier "authorize --manual: the output holds no code_verifier" \
	    "$AUTHZ_OUT" "$url"
fi
token_file_ok "authorize --manual: the token file exists, mode 0600"
relay "authorize --manual: a message is relayed"
ar_stop "$DAEMON_PID"

# --- 3. authorize --device ----------------------------------------------------

ar_start_mock device --style microsoft --device-pending 2 --device-slow-down
AR_PROVIDER_EXTRA=$(mock_urls "https://outlook.office.com/SMTP.Send offline_access") \
    AR_NO_TOKEN=1 ar_start_daemon device
AUTHZ_OUT=$C/authorize-device.out
name="authorize --device: pending twice, one slow_down, then tokens: exit 0"
t0=$(date +%s)
timeout -k 5 "$CMD_WAIT" "$AUTHRELAY" -c "$DAEMON_CONF" authorize sales \
    --device >"$AUTHZ_OUT" 2>&1 </dev/null
rc=$?
took=$(($(date +%s) - t0))
if [ "$rc" -ne 0 ]; then
	not_ok "$name" "exit $rc after ${took}s" "$AUTHZ_OUT" "$MOCK_LOG"
elif ! grep -q 'enter the code [A-Z]\{8\}' "$AUTHZ_OUT" ||
    ! grep -qF "https://127.0.0.1:$MOCK_HTTP_PORT/device" "$AUTHZ_OUT"; then
	not_ok "$name" "the verification URI and user code are not printed" \
	    "$AUTHZ_OUT"
else
	ok "$name"
fi
name="authorize --device: polled at least 3 times, waited the longer interval after slow_down"
polls=$(ar_mock_count device-polls)
slow=$(cat "$MOCK_DIR/device-slow-down-ok" 2>/dev/null)
if [ "$polls" -lt 3 ]; then
	not_ok "$name" "device-polls $polls, want >= 3" "$MOCK_LOG"
elif [ "$slow" != 1 ]; then
	not_ok "$name" "device-slow-down-ok '$slow', want 1 (polls $polls in ${took}s)" \
	    "$MOCK_LOG"
else
	ok "$name"
fi
token_file_ok "authorize --device: the token file exists, mode 0600"
relay "authorize --device: a message is relayed (Microsoft style, rotated refresh token)"
ar_stop "$DAEMON_PID"

# --- 4. client_credentials: client secret, certificate ------------------------

sh "$AR_TOP/tests/lib/mkkeys.sh" "$KEYS" || ar_die "mkkeys.sh failed"
ar_start_mock app --style microsoft --client-cert "$KEYS/client.pem"

# app_only NAME LABEL ACCOUNT_LINES: a client_credentials daemon with no
# stored token: check passes, token prints expiry and scope, a message is
# relayed, and no token file appears.
app_only() {
	local dir=$1 label=$2 out rc before
	AR_ACCOUNT_LINES=$3 AR_ACCOUNT_EXTRA="grant = client_credentials" \
	    AR_NO_TOKEN=1 ar_start_daemon "$dir"
	name="client_credentials ($label): check passes with no stored token"
	out=$C/$dir-check.out
	timeout 30 "$AUTHRELAY" -c "$DAEMON_CONF" check >"$out" 2>&1
	rc=$?
	if [ "$rc" -eq 0 ]; then ok "$name"; else
		not_ok "$name" "exit $rc" "$out"; fi
	name="client_credentials ($label): authrelay token succeeds, prints expiry and the .default scope"
	out=$C/$dir-token.out
	before=$(ar_mock_count token-requests)
	timeout 30 "$AUTHRELAY" -c "$DAEMON_CONF" token sales >"$out" 2>&1
	rc=$?
	if [ "$rc" -ne 0 ]; then
		not_ok "$name" "exit $rc" "$out" "$MOCK_LOG"
	elif ! grep -q 'expires: ' "$out" ||
	    ! grep -q 'scope: *https://outlook.office365.com/.default' "$out"; then
		not_ok "$name" "no expiry or scope line" "$out"
	elif [ "$(ar_mock_count token-requests)" -ne $((before + 1)) ]; then
		not_ok "$name" "token-requests $(ar_mock_count token-requests), want $((before + 1))"
	else
		ok "$name"
	fi
	relay "client_credentials ($label): a message is relayed"
	name="client_credentials ($label): no token file written"
	if [ -n "$(ls -A "$DAEMON_DIR/state")" ]; then
		not_ok "$name" "state_dir holds: $(ls -A "$DAEMON_DIR/state" | tr '\n' ' ')"
	else
		ok "$name"
	fi
	ar_stop "$DAEMON_PID"
}
app_only app-secret "client secret" "client_id = $AR_CLIENT_ID
client_secret = $AR_CLIENT_SECRET"
# No client_secret here: the mock answers client_credentials only to a
# secret or a client assertion verified with --client-cert.
app_only app-cert "certificate" "client_id = $AR_CLIENT_ID
client_certificate = $KEYS/client.pem
client_key = $KEYS/client.key"

# --- 5. service account (JWT bearer) -------------------------------------------

SA_EMAIL=relay@test-project.iam.gserviceaccount.com
ar_start_mock sa --sa-public-key "$KEYS/sa.pub.pem" --sa-email "$SA_EMAIL"
sh "$AR_TOP/tests/lib/mkkeys.sh" "$KEYS" \
    "https://127.0.0.1:$MOCK_HTTP_PORT/token" || ar_die "mkkeys.sh failed"
AR_PROVIDER_EXTRA="scope = https://mail.google.com/" \
    AR_ACCOUNT_LINES="grant = service_account
service_account_file = $KEYS/sa.json" AR_NO_TOKEN=1 ar_start_daemon sa
name="service_account: check passes, authrelay token succeeds with sub = the account's email"
out=$C/sa-check.out
timeout 30 "$AUTHRELAY" -c "$DAEMON_CONF" check >"$out" 2>&1
rc=$?
out2=$C/sa-token.out
timeout 30 "$AUTHRELAY" -c "$DAEMON_CONF" token sales >"$out2" 2>&1
rc2=$?
sub=$(cat "$MOCK_DIR/jwt-sub" 2>/dev/null)
if [ "$rc" -ne 0 ]; then
	not_ok "$name" "check exited $rc" "$out"
elif [ "$rc2" -ne 0 ]; then
	not_ok "$name" "token exited $rc2" "$out2" "$MOCK_LOG"
elif [ "$sub" != "$AR_EMAIL" ]; then
	not_ok "$name" "jwt-sub '$sub', want '$AR_EMAIL'" "$MOCK_LOG"
elif [ "$(cat "$MOCK_DIR/jwt-scope" 2>/dev/null)" != https://mail.google.com/ ]; then
	not_ok "$name" "jwt-scope '$(cat "$MOCK_DIR/jwt-scope" 2>/dev/null)'"
else
	ok "$name"
fi
: >"$MOCK_DIR/jwt-sub"
relay "service_account: a message is relayed"
name="service_account: the daemon's own assertion had sub = the account's email"
sub=$(cat "$MOCK_DIR/jwt-sub" 2>/dev/null)
if [ "$sub" = "$AR_EMAIL" ]; then ok "$name"; else
	not_ok "$name" "jwt-sub '$sub' after the relay, want '$AR_EMAIL'"; fi
ar_stop "$DAEMON_PID"

# --- 14. secrets ----------------------------------------------------------------

ar_check_secrets "t_oauth_flows: no password, token or XOAUTH2 in the daemon logs"
ar_check_oauth_secrets "t_oauth_flows: no refresh/access token, code, device code or client secret in any daemon log or command output" \
    "$C"/*.out
ar_check_sanitizers "t_oauth_flows: no sanitizer report from the daemons or the commands" \
    "$C"/*.out
ar_summary
