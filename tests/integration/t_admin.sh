#!/usr/bin/env bash
# t_admin: the administrative commands: check (good config, bad configs
# with line numbers, missing token), hash-password (a $y$ hash that logs
# in), set-token (stored 0600), --version and --help; plus a relay through
# a provider that uses STARTTLS upstream.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

ar_init
ar_start_mock mock
W=$AR_TMP/work
mkdir -p "$W"
AR_STARTTLS_PORT=$(ar_free_port)
AR_TLS_PORT=$(ar_free_port)

# --- check ------------------------------------------------------------------

mkdir -p "$AR_TMP/cfg"
ar_write_config "$W/good.ini" cfg
name="check: a good config with a stored token exits 0"
printf '%s\n' "$AR_REFRESH" | timeout 30 "$AUTHRELAY" -c "$W/good.ini" \
    set-token sales >"$W/set-token.out" 2>&1
timeout 30 "$AUTHRELAY" -c "$W/good.ini" check >"$W/check.out" 2>&1
rc=$?
if [ "$rc" -eq 0 ]; then ok "$name"; else
	not_ok "$name" "exit $rc" "$W/set-token.out" "$W/check.out"; fi

name="set-token: the token file is private (0600, in a 0700 state_dir)"
f=$(find "$AR_TMP/cfg/state" -type f | head -1)
if [ -z "$f" ]; then
	not_ok "$name" "no file in state_dir"
elif [ "$(stat -c %a "$f")" != 600 ]; then
	not_ok "$name" "$f has mode $(stat -c %a "$f")"
elif ! grep -qF "$AR_REFRESH" "$f"; then
	not_ok "$name" "$f does not hold the refresh token"
else
	ok "$name"
fi

# check_bad NAME LINE KEYWORD: insert KEYWORD's line as line LINE of the good
# config; check must exit 1 and name FILE:LINE.
check_bad() {
	local name=$1 line=$2 text=$3 f=$W/bad$RANDOM.ini
	head -n $((line - 1)) "$W/good.ini" >"$f"
	printf '%s\n' "$text" >>"$f"
	tail -n +"$line" "$W/good.ini" >>"$f"
	timeout 30 "$AUTHRELAY" -c "$f" check >"$f.out" 2>&1
	local rc=$?
	if [ "$rc" -ne 1 ]; then
		not_ok "$name" "exit $rc, want 1" "$f.out"
	elif ! grep -q "^$f:$line: " "$f.out"; then
		not_ok "$name" "no '$f:$line: ...' error line" "$f.out"
	else
		ok "$name"
	fi
}
check_bad "check: unknown key in [server] exits 1 with FILE:LINE" 4 \
    "no_such_key = 1"
check_bad "check: bad listen mode exits 1 with FILE:LINE" 3 \
    "listen = 127.0.0.1:2525 ssl"
check_bad "check: unknown section exits 1 with FILE:LINE" 11 \
    "[nonsense here]"
check_bad "check: max_connections not a number exits 1 with FILE:LINE" 5 \
    "max_connections = lots"

name="check: an account without a stored token exits 1, names it"
mkdir -p "$AR_TMP/cfg2"
ar_write_config "$W/notoken.ini" cfg2
timeout 30 "$AUTHRELAY" -c "$W/notoken.ini" check >"$W/notoken.out" 2>&1
rc=$?
if [ "$rc" -ne 1 ]; then
	not_ok "$name" "exit $rc, want 1" "$W/notoken.out"
elif ! grep -q "^$W/notoken.ini:[0-9]*: .*sales" "$W/notoken.out"; then
	not_ok "$name" "no FILE:LINE error naming account sales" "$W/notoken.out"
else
	ok "$name"
fi

# Secret files open to others: check and the daemon refuse them, naming
# the chmod that fixes it.
mkdir -p "$AR_TMP/cfg3"
ar_write_config "$W/open.ini" cfg3
chmod 644 "$W/open.ini"
name="check: a config readable by others exits 1 and says to chmod o-rwx it"
timeout 30 "$AUTHRELAY" -c "$W/open.ini" check >"$W/open.out" 2>&1
rc=$?
if [ "$rc" -ne 1 ]; then
	not_ok "$name" "exit $rc, want 1" "$W/open.out"
elif ! grep -q "holds secrets and is open to others (mode 0644): run chmod o-rwx $W/open.ini" "$W/open.out"; then
	not_ok "$name" "no 'open to others ... chmod o-rwx' line" "$W/open.out"
else
	ok "$name"
fi
name="the daemon refuses to start with a config readable by others"
timeout 30 "$AUTHRELAY" -c "$W/open.ini" >"$W/open-run.out" 2>&1
rc=$?
if [ "$rc" -ne 1 ] || ! grep -q "open to others" "$W/open-run.out"; then
	not_ok "$name" "exit $rc, want 1 with 'open to others'" "$W/open-run.out"
else
	ok "$name"
fi
chmod 600 "$W/open.ini"
cp "$AR_CERTS/server.key" "$W/open.key"
chmod 644 "$W/open.key"
sed -i "s|^tls_key = .*|tls_key = $W/open.key|" "$W/open.ini"
name="check: a tls_key readable by others exits 1 with FILE:LINE: [server] tls_key"
timeout 30 "$AUTHRELAY" -c "$W/open.ini" check >"$W/openkey.out" 2>&1
rc=$?
if [ "$rc" -ne 1 ]; then
	not_ok "$name" "exit $rc, want 1" "$W/openkey.out"
elif ! grep -q "^$W/open.ini:[0-9]*: \[server\] tls_key: .*run chmod o-rwx $W/open.key" "$W/openkey.out"; then
	not_ok "$name" "no 'FILE:LINE: [server] tls_key: ... chmod o-rwx'" "$W/openkey.out"
else
	ok "$name"
fi

name="a bad config: the daemon refuses to start (exit 1)"
f=$W/bad-daemon.ini
{ cat "$W/good.ini"; echo "bogus = 1"; } >"$f"
timeout 10 "$AUTHRELAY" -c "$f" >"$f.out" 2>&1
rc=$?
if [ "$rc" -eq 1 ] && grep -q "^$f:[0-9]*: " "$f.out"; then ok "$name"; else
	not_ok "$name" "exit $rc, want 1 with a FILE:LINE error" "$f.out"; fi

name="--version and --help exit 0"
if timeout 5 "$AUTHRELAY" --version >"$W/v.out" 2>&1 &&
    grep -q '^authrelay [0-9]' "$W/v.out" &&
    timeout 5 "$AUTHRELAY" --help >"$W/h.out" 2>&1 &&
    grep -q 'hash-password' "$W/h.out"; then
	ok "$name"
else
	not_ok "$name" "unexpected output" "$W/v.out" "$W/h.out"
fi

# --- hash-password ----------------------------------------------------------

name="hash-password: a \$y\$ hash, salted differently each time"
NEWPASS='Another pw; with #spaces & "quotes"'
h1=$(ar_hash_password "$NEWPASS")
h2=$(ar_hash_password "$NEWPASS")
case $h1 in
'$y$'*)
	if [ "$h1" = "$h2" ]; then
		not_ok "$name" "the same hash twice: $h1"
	else
		ok "$name"
	fi
	;;
*)	not_ok "$name" "got '$h1'" ;;
esac

name="hash-password: empty input is refused"
if printf '\n' | timeout 10 "$AUTHRELAY" hash-password >/dev/null 2>&1; then
	not_ok "$name" "exit 0"
else
	ok "$name"
fi

# A daemon whose user has the new hash: that password logs in, others not.
AR_HASH=$h1
ar_start_daemon hashed
AR_PASS_NEW=$NEWPASS ar_pycase "hash-password: the hash logs in, a wrong password does not" <<'EOF'
import arlib, os
c = arlib.session(auth=False)
r = c.login(arlib.USER, os.environ["AR_PASS_NEW"])
if r.code != 235:
    raise SystemExit("AUTH with the hashed password -> %r" % r.lines)
c.quit()
c = arlib.session(auth=False)
r = c.login(arlib.USER, os.environ["AR_PASS_NEW"] + "x", "LOGIN")
if r.code != 535:
    raise SystemExit("AUTH with a wrong password -> %r" % r.lines)
c.quit()
EOF
name="SIGHUP: the daemon reloads, keeps listening, logs the new generation"
kill -HUP "$DAEMON_PID"
n=25
until grep -q "reload applied generation=2" "$DAEMON_LOG" || [ $n -eq 0 ]; do
	sleep 0.2; n=$((n - 1))
done
if kill -0 "$DAEMON_PID" 2>/dev/null && ar_port_open "$AR_STARTTLS_PORT" &&
    grep -q "reload applied generation=2" "$DAEMON_LOG"; then
	ok "$name"
else
	not_ok "$name" "daemon gone or no reload line after SIGHUP" "$DAEMON_LOG"
fi
ar_stop "$DAEMON_PID"
name="hash-password: the new password is not in the log"
if grep -qF "$NEWPASS" "$DAEMON_LOG"; then
	not_ok "$name" "found in $DAEMON_LOG"
else
	ok "$name"
fi
AR_HASH=$(ar_hash_password "$AR_PASS")

# --- a provider with STARTTLS upstream ---------------------------------------

ar_start_mock mock-starttls --smtp-mode starttls
ar_start_daemon upstarttls
ar_pycase "provider with STARTTLS upstream: message stored byte for byte" <<'EOF'
import arlib
before = arlib.msgs()
msg = arlib.message("upstream starttls", ["Relayed to a STARTTLS provider.", ".dot"])
c = arlib.session(tls=True)
c.expect("MAIL FROM:<%s>" % arlib.USER, 250)
c.expect("RCPT TO:<rcpt@example.org>", 250)
c.expect("DATA", 354)
c.send(arlib.stuff(msg))
r = c.reply()
if r.code != 250:
    raise SystemExit("end of DATA -> %r" % r.lines)
c.quit()
new = arlib.new_msgs(before)
if len(new) != 1:
    raise SystemExit("stored %d messages, want 1" % len(new))
d = arlib.check_stored(new[0], msg, arlib.USER, ["rcpt@example.org"])
if d:
    raise SystemExit(d)
EOF

name="check: a user's MD5-crypt hash gets a warning naming the user; the check still passes"
{ cat "$DAEMON_CONF"; printf '\n[user weak@example.com]\npassword_hash = %s\naccount = sales\n' \
    "$(openssl passwd -1 -salt abcdefgh weak-pass)"; } >"$W/weak.ini"
chmod 600 "$W/weak.ini"
timeout 30 "$AUTHRELAY" -c "$W/weak.ini" check >"$W/weak.out" 2>&1
rc=$?
if [ "$rc" -ne 0 ]; then
	not_ok "$name" "exit $rc, want 0" "$W/weak.out"
elif ! grep -qF "[user weak@example.com] password_hash: warning: MD5-crypt" "$W/weak.out"; then
	not_ok "$name" "no 'FILE:LINE: [user ...] password_hash: warning: MD5-crypt' line" "$W/weak.out"
else
	ok "$name"
fi

ar_check_secrets "t_admin: no secret in the daemon logs"
ar_summary
