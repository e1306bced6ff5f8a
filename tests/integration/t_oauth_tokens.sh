#!/usr/bin/env bash
# t_oauth_tokens: how the daemon keeps and renews tokens: renewal ahead of
# expiry with no session, rotation persistence (Microsoft style, old refresh
# tokens revoked) through `authrelay token` and a kill -9, permanent
# (invalid_grant) vs transient (500, 429 + Retry-After, all failing)
# token endpoint failures, file-permission refusals, sealing at rest, and
# the provider rejecting a token upstream (Google's 334 challenge,
# Microsoft's 535). Token files are read only through a JSON parse in
# Python and compared, never printed.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

# Every session here must log in at the provider with the cached token:
# no reuse of authenticated connections (t_pool.sh tests reuse).
AR_SERVER_EXTRA="upstream_idle_timeout = 0"

ar_init
W=$AR_TMP/work
C=$W/cmd		# command output: checked for secrets at the end
mkdir -p "$W" "$C"

# wait_grep_count FILE REGEX N SECONDS: wait until FILE has at least N lines
# matching REGEX.
wait_grep_count() {
	local n=$(($4 * 10))
	until [ "$(grep -cE "$2" "$1" 2>/dev/null)" -ge "$3" ]; do
		[ "$n" -gt 0 ] || return 1
		n=$((n - 1))
		sleep 0.1
	done
}

# relay NAME: a message through the current daemon is stored intact.
relay() {
	ar_pycase "$1" <<'EOF'
import arlib
d = arlib.relay_one("oauth tokens relay")
if d:
    raise SystemExit(d)
EOF
}

# rt_newest NAME: the token file holds the mock's newest refresh token.
rt_newest() {
	ar_pycase "$1" <<'EOF'
import arlib, os
d = arlib.rt_is_newest(os.environ["DAEMON_DIR"] + "/state")
if d:
    raise SystemExit(d)
EOF
}

# auth_expect NAME CODE [MIN MAX]: one session's AUTH PLAIN gets CODE
# (454 also needs 4.7.0) after MIN..MAX seconds.
auth_expect() {
	AR_WANT=$2 AR_MIN=${3:-0} AR_MAX=${4:-30} ar_pycase "$1" <<'EOF'
import arlib, os
want = int(os.environ["AR_WANT"])
lo, hi = float(os.environ["AR_MIN"]), float(os.environ["AR_MAX"])
r, took = arlib.auth_reply()
if r.code != want or (want == 454 and "4.7.0" not in r.text):
    raise SystemExit("AUTH -> %r after %.1fs, want %d" % (r.lines, took, want))
if not lo <= took <= hi:
    raise SystemExit("AUTH -> %d after %.2fs, want %g..%g s" % (r.code, took, lo, hi))
print("AUTH -> %d after %.2fs" % (r.code, took))
EOF
}

# count_is NAME COUNTER WANT: a mock counter has exactly that value.
count_is() {
	local got
	got=$(ar_mock_count "$2")
	if [ "$got" = "$3" ]; then ok "$1"; else
		not_ok "$1" "$2 is $got, want $3" "$DAEMON_LOG" "$MOCK_LOG"; fi
}

# --- 12. renewal ahead of expiry (started first, checked last) ---------------
# refresh_margin is at least 60: access tokens that live 70 s have 10 s of
# use, so the renewal comes 5..10 s after a refresh (jitter: at most half of
# what is left). One session makes the first refresh; none follow.

ar_start_mock renew --token-ttl 70
RENEW_MOCK=$MOCK_DIR
ar_start_daemon renew "refresh_margin = 60"
RENEW_PID=$DAEMON_PID
RENEW_LOG=$DAEMON_LOG
relay "renewal: the first session gets a 70 s token and relays"
RENEW_T0=$(date +%s)

# --- 8. permanent vs transient token endpoint failures -----------------------

ar_start_mock google

ar_mock_control "fail 1 invalid_grant"
ar_start_daemon perm
auth_expect "invalid_grant: AUTH gets 454 4.7.0" 454
name="invalid_grant: the log names the command to run (authorize)"
if grep -q "needs re-authorization.*run: authrelay -c $DAEMON_CONF authorize sales" "$DAEMON_LOG"; then
	ok "$name"
else
	not_ok "$name" "no 'needs re-authorization ... run: authrelay -c $DAEMON_CONF authorize sales' line" "$DAEMON_LOG"
fi
auth_expect "invalid_grant: a second AUTH gets 454 4.7.0 too" 454
count_is "invalid_grant: no token request after the refusal (token-requests stays 1)" \
    token-requests 1
name="invalid_grant: after set-token rewrites the file, AUTH works again"
printf '%s\n' "$AR_REFRESH" | timeout 30 "$AUTHRELAY" -c "$DAEMON_CONF" \
    set-token sales >"$C/perm-set-token.out" 2>&1 ||
    not_ok "$name" "set-token failed" "$C/perm-set-token.out"
auth_expect "$name" 235
count_is "invalid_grant: after set-token, exactly one more token request" \
    token-requests 2
relay "invalid_grant: after set-token, a message is relayed"
ar_stop "$DAEMON_PID"

ar_mock_control "fail 2 500"
before=$(ar_mock_count token-requests)
ar_start_daemon trans500 "token_wait_timeout = 15"
auth_expect "fail 2 500: AUTH still succeeds (retried) within token_wait_timeout" 235 0 10
count_is "fail 2 500: 3 token requests (2 failed, 1 good)" token-requests $((before + 3))
ar_stop "$DAEMON_PID"

ar_mock_control "fail 1 429 2"
ar_start_daemon trans429 "token_wait_timeout = 15"
auth_expect "fail 1 429 (Retry-After 2): AUTH succeeds after the retry, >= 1.5 s" 235 1.5 10
AR_LOGFILE=$DAEMON_LOG ar_pycase "fail 1 429 (Retry-After 2): >= 1.5 s between the two token requests in the daemon log" <<'EOF'
import datetime, os, re
t = []
for l in open(os.environ["AR_LOGFILE"], errors="replace"):
    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})Z .*oauth account=sales token request ", l)
    if m:
        t.append(datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%f"))
if len(t) < 2:
    raise SystemExit("%d 'token request' lines in the log, want 2" % len(t))
gap = (t[1] - t[0]).total_seconds()
if gap < 1.5:
    raise SystemExit("the retry came %.2fs after the 429, want >= 1.5 s (Retry-After: 2)" % gap)
print("retry %.2fs after the 429" % gap)
EOF
ar_stop "$DAEMON_PID"

ar_mock_control "fail 1000 500"
ar_start_daemon transall "token_wait_timeout = 3"
auth_expect "all token requests fail, token_wait_timeout = 3: AUTH gets 454 4.7.0 after about 3 s" \
    454 2.5 6
ar_stop "$DAEMON_PID"
ar_mock_control

# --- 11. the provider rejects a token upstream --------------------------------

# reject_case STYLE: on the current mock, after a warm-up session: one
# injected rejection costs one token request and the session still works;
# two get 454.
reject_case() {
	local style=$1 tr af
	ar_start_daemon "reject-$style"
	relay "$style: warm-up session relays" || true
	tr=$(ar_mock_count token-requests)
	af=$(ar_mock_count auth-failures)
	ar_mock_control "smtp-reject 1"
	relay "$style, smtp-reject 1: AUTH still succeeds (fresh token, one retry) and a message is relayed"
	count_is "$style, smtp-reject 1: token-requests grew by exactly 1" \
	    token-requests $((tr + 1))
	count_is "$style, smtp-reject 1: the mock rejected one XOAUTH2 attempt" \
	    auth-failures $((af + 1))
	ar_mock_control "smtp-reject 2"
	auth_expect "$style, smtp-reject 2: AUTH gets 454 4.7.0" 454
	ar_mock_control
	ar_stop "$DAEMON_PID"
}
reject_case google
ar_start_mock microsoft --style microsoft
reject_case microsoft

# --- 10. sealing ----------------------------------------------------------------

KEY=$AR_TMP/token.key
head -c 32 /dev/urandom >"$KEY"
chmod 600 "$KEY"
ar_start_daemon sealed "token_key_file = $KEY"
relay "sealed: a message is relayed (a refresh that rotates the refresh token)"
name="sealed: the token file holds no token in clear after set-token and a refresh"
TF=$DAEMON_DIR/state/sales.json
newest=$(tail -n 1 "$MOCK_DIR/refresh-tokens")
if [ ! -s "$TF" ]; then
	not_ok "$name" "no token file"
elif [ "$(ar_mock_count token-requests)" -lt 1 ]; then
	not_ok "$name" "no refresh happened"
elif grep -qF -- "$AR_REFRESH" "$TF"; then
	not_ok "$name" "the first refresh token is in the file in clear"
elif [ -n "$newest" ] && grep -qF -- "$newest" "$TF"; then
	not_ok "$name" "the rotated refresh token is in the file in clear"
elif grep -qF -e ya29.mock -e mock-rt- -e refresh_token "$TF"; then
	not_ok "$name" "token text in the file in clear"
else
	ok "$name"
fi
name="sealed: check passes with the key"
timeout 30 "$AUTHRELAY" -c "$DAEMON_CONF" check >"$C/sealed-check.out" 2>&1
rc=$?
if [ "$rc" -eq 0 ]; then ok "$name"; else
	not_ok "$name" "exit $rc" "$C/sealed-check.out"; fi
name="sealed: without token_key_file, check fails saying the file is sealed"
grep -v '^token_key_file' "$DAEMON_CONF" >"$DAEMON_DIR/nokey.ini"
timeout 30 "$AUTHRELAY" -c "$DAEMON_DIR/nokey.ini" check \
    >"$C/sealed-nokey.out" 2>&1
rc=$?
if [ "$rc" -eq 0 ]; then
	not_ok "$name" "exit 0" "$C/sealed-nokey.out"
elif ! grep -qi 'sealed' "$C/sealed-nokey.out"; then
	not_ok "$name" "exit $rc, but no word of sealing" "$C/sealed-nokey.out"
else
	ok "$name"
fi
ar_stop "$DAEMON_PID"

# --- 9. file permissions ------------------------------------------------------

name="state_dir mode 0755: the daemon refuses to start, saying chmod 700"
mkdir -p "$AR_TMP/perm-dir"
ar_write_config "$AR_TMP/perm-dir/authrelay.ini" perm-dir
printf '%s\n' "$AR_REFRESH" | timeout 30 "$AUTHRELAY" \
    -c "$AR_TMP/perm-dir/authrelay.ini" set-token sales >/dev/null 2>&1
chmod 755 "$AR_TMP/perm-dir/state"
timeout 5 "$AUTHRELAY" -c "$AR_TMP/perm-dir/authrelay.ini" \
    >"$C/perm-dir.out" 2>"$AR_TMP/perm-dir/authrelay.log"
rc=$?
if [ "$rc" -eq 0 ] || [ "$rc" -eq 124 ]; then
	not_ok "$name" "exit $rc (124: it kept running)" "$AR_TMP/perm-dir/authrelay.log"
elif ! grep -q "chmod 700" "$AR_TMP/perm-dir/authrelay.log"; then
	not_ok "$name" "exit $rc, but no 'chmod 700' in its message" "$AR_TMP/perm-dir/authrelay.log"
else
	ok "$name"
fi
name="token file mode 0644: check fails saying chmod 600"
chmod 700 "$AR_TMP/perm-dir/state"
chmod 644 "$AR_TMP/perm-dir/state/sales.json"
timeout 30 "$AUTHRELAY" -c "$AR_TMP/perm-dir/authrelay.ini" check \
    >"$C/perm-file.out" 2>&1
rc=$?
if [ "$rc" -eq 0 ]; then
	not_ok "$name" "exit 0" "$C/perm-file.out"
elif ! grep -q "chmod 600" "$C/perm-file.out"; then
	not_ok "$name" "exit $rc, but no 'chmod 600' in its message" "$C/perm-file.out"
else
	ok "$name"
fi

# --- 6. rotation persistence, crash (Microsoft style, old tokens revoked) -----

ar_start_mock rotate --style microsoft --revoke-old
ar_start_daemon rotate
relay "rotation: the first refresh rotates the token, a message is relayed"
rt_newest "rotation: after the daemon's refresh the token file holds the newest refresh token"
name="rotation: authrelay token refreshes (rotating again), exit 0"
timeout 30 "$AUTHRELAY" -c "$DAEMON_CONF" token sales >"$C/rotate-token.out" 2>&1
rc=$?
if [ "$rc" -eq 0 ] && [ "$(ar_mock_count token-requests)" -eq 2 ]; then
	ok "$name"
else
	not_ok "$name" "exit $rc, token-requests $(ar_mock_count token-requests) (want 2)" \
	    "$C/rotate-token.out"
fi
rt_newest "rotation: after authrelay token the token file holds the newest refresh token"

# The provider rejects the cached token: the daemon refreshes (rotating)
# while a session waits; kill -9 as soon as the refresh is logged, which
# is after the token file was written.
ar_mock_control "smtp-reject 1"
PYTHONPATH=$AR_LIB_DIR timeout 30 python3 -c '
import arlib
try:
    arlib.auth_reply()
except Exception:
    pass' >/dev/null 2>&1 &
py=$!
AR_PIDS="$AR_PIDS $py"
name="crash: kill -9 right after a refresh while a session waits"
if wait_grep_count "$DAEMON_LOG" 'oauth account=sales refreshed .*rotated=yes' 2 15; then
	kill -KILL "$DAEMON_PID"
	ok "$name"
else
	kill -KILL "$DAEMON_PID"
	not_ok "$name" "no second refresh in the log within 15 s" "$DAEMON_LOG" "$MOCK_LOG"
fi
wait "$DAEMON_PID" 2>/dev/null
ar_forget "$DAEMON_PID"
wait "$py" 2>/dev/null
ar_forget "$py"
ar_mock_control
rt_newest "crash: the token file holds the newest refresh token after kill -9"
ar_run_daemon "$DAEMON_DIR/authrelay-restarted.log"
relay "crash: after a restart a new session authenticates and relays"
ar_mock_control "smtp-reject 1"
before=$(ar_mock_count token-requests)
relay "crash: after the restart the daemon refreshes from the saved (rotated) refresh token and relays"
count_is "crash: that took one token request" token-requests $((before + 1))
rt_newest "crash: the token file holds the newest refresh token again"
ar_mock_control
ar_stop "$DAEMON_PID"

# --- 12. renewal: the check ------------------------------------------------------

MOCK_DIR=$RENEW_MOCK
name="renewal (ttl 70, refresh_margin 60): renewed ahead of expiry with no session, 5..10 s after the first refresh"
left=$((RENEW_T0 + 15 - $(date +%s)))
[ "$left" -gt 0 ] || left=1
wait_grep_count "$RENEW_LOG" 'renewing ahead of expiry' 1 "$left"
if [ "$(ar_mock_count token-requests)" -lt 2 ]; then
	not_ok "$name" "token-requests $(ar_mock_count token-requests) 15 s after the first refresh, want >= 2" \
	    "$RENEW_LOG"
else
	AR_LOGFILE=$RENEW_LOG ar_pycase "$name" <<'EOF'
import datetime, os, re
t = {}
for l in open(os.environ["AR_LOGFILE"], errors="replace"):
    m = re.match(r"(\S+)Z info: oauth account=sales (refreshed|renewing ahead of expiry)", l)
    if m and m.group(2) not in t:
        t[m.group(2)] = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%f")
if len(t) < 2:
    raise SystemExit("log lines found: %s" % sorted(t))
gap = (t["renewing ahead of expiry"] - t["refreshed"]).total_seconds()
if not 4 <= gap <= 11:
    raise SystemExit("renewed %.1fs after the first refresh, want 5..10 s" % gap)
print("renewed %.1fs after the first refresh" % gap)
EOF
fi
name="renewal: the renewal got a token ('refreshed ahead of expiry')"
DAEMON_PID=$RENEW_PID
DAEMON_LOG=$RENEW_LOG
if grep -q 'refreshed ahead of expiry' "$RENEW_LOG"; then
	ok "$name"
else
	not_ok "$name" "no 'refreshed ahead of expiry' line" "$RENEW_LOG"
fi

# --- 14. secrets ----------------------------------------------------------------

ar_check_daemon "renewal daemon: still up, exits 0 on SIGTERM"
ar_check_secrets "t_oauth_tokens: no password, token or XOAUTH2 in the daemon logs"
ar_check_oauth_secrets "t_oauth_tokens: no refresh/access token or client secret in any daemon log or command output" \
    "$C"/*.out
ar_check_sanitizers "t_oauth_tokens: no sanitizer report from the daemons or the commands" \
    "$C"/*.out
ar_summary
