#!/usr/bin/env bash
# t_failures: what the gateway does when the provider side fails or a limit
# is reached; each case gets a daemon (and where needed a mock) configured
# for it: token endpoint down, token refused, provider rejects the token,
# provider unreachable, max_connections, idle timeout, max_message_size,
# SIGTERM (idle, with an idle client, in the middle of DATA).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

ar_init
ar_start_mock mock
W=$AR_TMP/work
mkdir -p "$W"

# swaks_auth NAME PORT: a STARTTLS session that stops after AUTH; the
# transcript goes to $W/NAME.out.
swaks_auth() {
	AR_CLIENT_LOG=$W/$1.out
	timeout "$AR_CLIENT_WAIT" swaks --server 127.0.0.1 --port "$2" --tls \
	    --tls-verify --tls-ca-path "$AR_CA" --helo client.test \
	    --auth PLAIN --auth-user "$AR_USER" --auth-password "$AR_PASS" \
	    --from "$AR_USER" --to rcpt@example.org --quit-after AUTH \
	    >"$AR_CLIENT_LOG" 2>&1
}

# expect_454 NAME: AUTH through the current daemon gets 454 4.7.0, nothing
# is stored, the daemon logs a reason and stays up.
expect_454() {
	local name=$1 before
	before=$(ar_msg_count)
	swaks_auth "${name// /-}" "$AR_STARTTLS_PORT"
	if ! grep -q '^<~\*\? *454 4\.7\.0' "$AR_CLIENT_LOG"; then
		not_ok "$name" "AUTH did not get '454 4.7.0': $(grep '^<~\*\? *[0-9][0-9][0-9]' "$AR_CLIENT_LOG" | tail -1)" \
		    "$AR_CLIENT_LOG" "$DAEMON_LOG"
	elif [ "$(ar_msg_count)" -ne "$before" ]; then
		not_ok "$name" "a message was stored"
	elif ! kill -0 "$DAEMON_PID" 2>/dev/null; then
		not_ok "$name" "the daemon died" "$DAEMON_LOG"
	elif ! grep -qi 'warn' "$DAEMON_LOG"; then
		not_ok "$name" "no warning with the reason in the daemon log" \
		    "$DAEMON_LOG"
	else
		ok "$name"
	fi
}

# 1. Token endpoint down: token_url points at a closed port. The daemon
# retries transient failures until token_wait_timeout (default 30 s).
TOKEN_URL="https://127.0.0.1:$(ar_free_port)/token" ar_start_daemon tokdown \
    "token_wait_timeout = 3"
expect_454 "token endpoint down: AUTH gets 454 4.7.0"
ar_stop "$DAEMON_PID"

# 2. The token endpoint refuses the stored refresh token (invalid_grant).
AR_SET_TOKEN=rt-not-known-to-the-mock-5d6e ar_start_daemon badgrant
expect_454 "refresh token refused (invalid_grant): AUTH gets 454 4.7.0"
ar_stop "$DAEMON_PID"

# 3. Provider SMTP unreachable.
UPSTREAM_SMTP="127.0.0.1:$(ar_free_port) tls" ar_start_daemon smtpdown
expect_454 "provider SMTP unreachable: AUTH gets 454 4.7.0"
ar_stop "$DAEMON_PID"

# 4. The provider rejects the token (Gmail-style 334 challenge, then 535).
MOCK_MAIN_DIR=$MOCK_DIR
ar_start_mock rejecting --reject-tokens
ar_start_daemon reject
expect_454 "provider rejects the token: AUTH gets 454 4.7.0, nothing stored"
name="provider rejects the token: the mock saw the XOAUTH2 attempt"
if [ "$(ar_mock_count auth-failures)" -ge 1 ] &&
    [ "$(ar_mock_count auth-count)" -eq 0 ]; then
	ok "$name"
else
	not_ok "$name" "mock auth-failures=$(ar_mock_count auth-failures) auth-count=$(ar_mock_count auth-count), want >=1 and 0" \
	    "$MOCK_LOG"
fi
ar_stop "$DAEMON_PID"
ar_stop "$MOCK_PID"
MOCK_DIR=$MOCK_MAIN_DIR
MOCK_HTTP_PORT=$(cat "$MOCK_DIR/http.port")
MOCK_SMTP_PORT=$(cat "$MOCK_DIR/smtp.port")
MOCK_LOG=$MOCK_DIR/mock.log
MOCK_MODE=tls
export MOCK_DIR MOCK_HTTP_PORT MOCK_SMTP_PORT MOCK_MODE

# 5. max_connections = 2: a third client gets 421 4.7.0.
ar_start_daemon maxconn "max_connections = 2"
sleep 0.5	# the start-up probes are gone
ar_pycase "max_connections = 2: the third connection gets 421 4.7.0" <<'EOF'
import arlib, time
a = arlib.Client(arlib.starttls_port())
b = arlib.Client(arlib.tls_port(), tls=True)
if a.greeting.code != 220 or b.greeting.code != 220:
    raise SystemExit("first two: %r %r" % (a.greeting.lines, b.greeting.lines))
c = arlib.Client(arlib.starttls_port(), greet=False)
r = c.reply()
if r.code != 421 or "4.7.0" not in r.text:
    raise SystemExit("third connection got %r, want 421 4.7.0" % r.lines)
if not c.closed(wait=3):
    raise SystemExit("third connection not closed after the 421")
# The first two still work; after one leaves, a new client is accepted.
a.expect("NOOP", 250)
b.expect("NOOP", 250)
a.quit()
time.sleep(0.5)
d = arlib.Client(arlib.starttls_port())
if d.greeting.code != 220:
    raise SystemExit("after one left, a new client got %r" % d.greeting.lines)
d.quit(); b.quit()
EOF
ar_stop "$DAEMON_PID"

# 6. Idle timeout: command_timeout = 2.
ar_start_daemon idle "command_timeout = 2"
ar_pycase "command_timeout = 2: an idle client gets 421 4.4.2 and is closed" <<'EOF'
import arlib, time
for tls in (False, True):
    c = arlib.Client(arlib.tls_port() if tls else arlib.starttls_port(), tls=tls)
    t0 = time.time()
    c.settimeout(10)
    r = c.reply()
    took = time.time() - t0
    if r.code != 421 or "4.4.2" not in r.text:
        raise SystemExit("idle client (tls=%s) got %r, want 421 4.4.2" % (tls, r.lines))
    if not 1.5 <= took <= 6:
        raise SystemExit("421 after %.1fs, want about 2s" % took)
    if not c.closed(wait=3):
        raise SystemExit("connection not closed after the 421")
# A client that keeps talking is not cut off.
c = arlib.session()
for i in range(3):
    time.sleep(1.2)
    c.expect("NOOP", 250)
c.quit()
EOF
ar_stop "$DAEMON_PID"

# 7. max_message_size: a bigger message is refused with 552 and not
# delivered (the gateway cuts it off at the provider, never terminating it
# there); the same session then sends the next message over a new provider
# connection.
ar_start_daemon maxsize "max_message_size = 20000"
ar_pycase "max_message_size = 20000: a 60 KB message gets 552 5.3.4, nothing stored, the next one in the same session is delivered" <<'EOF'
import arlib, time
before = arlib.msgs()
msg = arlib.message("too big", ["x" * 70] * 850)
c = arlib.session()
c.expect("MAIL FROM:<%s>" % arlib.USER, 250)
c.expect("RCPT TO:<rcpt@example.org>", 250)
c.expect("DATA", 354)
c.send(arlib.stuff(msg))
r = c.reply()
if r.code != 552 or "5.3.4" not in r.text:
    raise SystemExit("oversized message got %r, want 552 5.3.4" % r.lines)
c.expect("NOOP", 250)
c.expect("RCPT TO:<rcpt@example.org>", 503)
time.sleep(0.5)
if arlib.msgs() != before:
    raise SystemExit("a message was stored")
# The same session delivers a small message.
small = arlib.message("small after big", ["ok"])
c.expect("MAIL FROM:<%s>" % arlib.USER, 250)
c.expect("RCPT TO:<rcpt@example.org>", 250)
c.expect("DATA", 354)
c.send(arlib.stuff(small))
r = c.reply()
if r.code != 250:
    raise SystemExit("small message after the 552 got %r" % r.lines)
c.quit()
new = arlib.new_msgs(before)
if len(new) != 1:
    raise SystemExit("stored %d messages, want only the small one" % len(new))
d = arlib.check_stored(new[0], small, arlib.USER, ["rcpt@example.org"])
if d:
    raise SystemExit(d)
EOF
ar_stop "$DAEMON_PID"

# 8. SIGTERM.
ar_start_daemon term1
name="SIGTERM on an idle daemon: exit 0"
ar_stop "$DAEMON_PID"
rc=$AR_STOP_RC
if [ "$rc" = 0 ]; then ok "$name"; else
	not_ok "$name" "exit status $rc" "$DAEMON_LOG"; fi

ar_start_daemon term2
PYTHONPATH=$AR_LIB_DIR timeout 30 python3 - >"$W/term2.out" 2>&1 <<'EOF' &
import arlib, time
c = arlib.session()
print("connected", flush=True)
c.settimeout(15)
r = c.reply()
print("reply %s" % " | ".join(r.lines), flush=True)
print("closed %s" % c.closed(wait=5), flush=True)
EOF
py=$!
AR_PIDS="$AR_PIDS $py"
n=50
until grep -q connected "$W/term2.out" 2>/dev/null || [ "$n" -eq 0 ]; do
	n=$((n - 1)); sleep 0.1
done
ar_stop "$DAEMON_PID"
rc=$AR_STOP_RC
wait "$py"
ar_forget "$py"
name="SIGTERM with an idle client: client gets 421, daemon exits 0"
if [ "$rc" != 0 ]; then
	not_ok "$name" "exit status $rc" "$DAEMON_LOG"
elif ! grep -q '^reply 421' "$W/term2.out"; then
	not_ok "$name" "client did not get 421" "$W/term2.out"
else
	ok "$name"
fi

ar_start_daemon term3
PYTHONPATH=$AR_LIB_DIR timeout 40 python3 - >"$W/term3.out" 2>&1 <<'EOF' &
import arlib, os, time
msg = arlib.message("sigterm during data", ["line %d" % i for i in range(2000)])
wire = arlib.stuff(msg)
c = arlib.session()
c.expect("MAIL FROM:<%s>" % arlib.USER, 250)
c.expect("RCPT TO:<rcpt@example.org>", 250)
c.expect("DATA", 354)
c.send(wire[:len(wire) // 2])
print("in data", flush=True)
time.sleep(1.5)             # SIGTERM arrives meanwhile
c.send(wire[len(wire) // 2:])
r = c.reply()
print("reply %s" % " | ".join(r.lines), flush=True)
open(os.environ["AR_TMP"] + "/work/term3.eml", "wb").write(msg)
EOF
py=$!
AR_PIDS="$AR_PIDS $py"
n=100
until grep -q "in data" "$W/term3.out" 2>/dev/null || [ "$n" -eq 0 ]; do
	n=$((n - 1)); sleep 0.1
done
before=$(ar_msg_count)
sleep 0.3
ar_stop "$DAEMON_PID"
rc=$AR_STOP_RC
wait "$py"
ar_forget "$py"
name="SIGTERM during DATA: the message is finished and delivered, exit 0"
if [ "$rc" != 0 ]; then
	not_ok "$name" "exit status $rc" "$DAEMON_LOG"
elif ! grep -q '^reply 250' "$W/term3.out"; then
	not_ok "$name" "end of DATA did not get 250" "$W/term3.out" "$DAEMON_LOG"
elif ! ar_wait_msgs $((before + 1)) 3 ||
    ! cmp -s "$(ar_last_msg).eml" "$W/term3.eml"; then
	not_ok "$name" "the message was not stored intact"
else
	ok "$name"
fi

ar_check_secrets "t_failures: no secret in the daemon logs"
name="t_failures: the refused refresh token is not logged either"
if grep -rqF rt-not-known-to-the-mock "$AR_TMP"/*/authrelay.log; then
	not_ok "$name" "found in $(grep -rlF rt-not-known-to-the-mock "$AR_TMP"/*/authrelay.log)"
else
	ok "$name"
fi
ar_summary
