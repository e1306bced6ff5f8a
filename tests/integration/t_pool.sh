#!/usr/bin/env bash
# t_pool: provider connection limits and reuse: at most
# max_upstream_connections connections per account (sessions beyond wait
# in a FIFO, or get 451 4.3.2 after upstream_queue_timeout), and
# authenticated connections handed back after a clean session end are
# reused by the account's next session; one the provider closed while idle
# is replaced without the client noticing.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

ar_init

# 1. Ten sessions of one account at once through a provider-level limit of
# 3 (the Microsoft presets' default; a custom provider defaults to 10).
ar_start_mock ms --style microsoft
AR_PROVIDER_EXTRA="max_upstream_connections = 3" ar_start_daemon limit3
AR_PY_WAIT=120 ar_pycase "10 simultaneous sessions, max_upstream_connections = 3: at most 3 provider connections, all 10 messages delivered" <<'PY'
import arlib, threading, time
N = 10
before = arlib.msgs()
results = [None] * N
barrier = threading.Barrier(N)

def one(i):
    try:
        msg = arlib.message("pooled %02d" % i, ["Session %d." % i])
        c = arlib.session(tls=(i % 2 == 0), auth=False)
        barrier.wait(timeout=30)
        r = c.login()
        if r.code != 235:
            results[i] = "AUTH -> %r" % r.lines
            return
        # Hold the connection a while: the password checks run two at a
        # time, and sessions this short would never overlap.
        time.sleep(0.5)
        c.expect("MAIL FROM:<%s>" % arlib.USER, 250)
        c.expect("RCPT TO:<p%02d@example.org>" % i, 250)
        c.expect("DATA", 354)
        c.send(arlib.stuff(msg))
        r = c.reply()
        if r.code != 250:
            results[i] = "end of DATA -> %r" % r.lines
            return
        c.quit()
        results[i] = msg
    except Exception as e:
        results[i] = "%s: %s" % (type(e).__name__, e)

threads = [threading.Thread(target=one, args=(i,)) for i in range(N)]
t0 = time.time()
for t in threads:
    t.start()
for t in threads:
    t.join(90)
bad = [(i, r) for i, r in enumerate(results) if not isinstance(r, bytes)]
if bad:
    raise SystemExit("%d sessions failed; first: %d: %s" % (len(bad), bad[0][0], bad[0][1]))
new = arlib.new_msgs(before, count=N)
if len(new) != N:
    raise SystemExit("stored %d messages, want %d" % (len(new), N))
for num in new:
    data, e = arlib.stored(num)
    i = int(e.get("rcpt-to", ["?"])[0].split(" ")[0][2:4])
    d = arlib.check_stored(num, results[i], arlib.USER, ["p%02d@example.org" % i])
    if d:
        raise SystemExit("message %s: %s" % (num, d))
mx = arlib.counter("smtp-max-concurrent")
if mx > 3 or mx < 1:
    raise SystemExit("smtp-max-concurrent %d, want 1..3" % mx)
print("%d sessions in %.2fs, smtp-max-concurrent %d, smtp-connections %d" % (
    N, time.time() - t0, mx, arlib.counter("smtp-connections")))
PY
name="sessions over the limit waited in the queue (logged), none got 451"
if ! grep -q 'pool account=sales all 3 connections in use, queued' "$DAEMON_LOG"; then
	not_ok "$name" "no queued line in the daemon log" "$DAEMON_LOG"
elif grep -q '451 4.3.2\|no connection free' "$DAEMON_LOG"; then
	not_ok "$name" "a session timed out in the queue" "$DAEMON_LOG"
else
	ok "$name"
fi
ar_check_daemon "daemon (limit 3) up, clean exit on SIGTERM"
ar_stop "$MOCK_PID"

# 2. Twenty sessions in a row reuse one authenticated connection.
ar_start_mock seq
ar_start_daemon reuse
AR_PY_WAIT=120 ar_pycase "20 sequential sessions: one provider connection, one XOAUTH2 login, 20 messages" <<'PY'
import arlib
for i in range(20):
    d = arlib.relay_one("sequential %02d" % i, tls=(i % 2 == 1))
    if d:
        raise SystemExit("session %d: %s" % (i, d))
conns = arlib.counter("smtp-connections")
auths = arlib.counter("auth-count")
if conns != 1 or auths != 1:
    raise SystemExit("smtp-connections %d, auth-count %d; want 1 and 1" % (conns, auths))
PY
ar_pycase "with a warm pool AUTH is answered without a provider round trip" <<'PY'
import arlib
r, took = arlib.auth_reply()
if r.code != 235:
    raise SystemExit("AUTH -> %r" % r.lines)
if arlib.counter("smtp-connections") != 1 or arlib.counter("auth-count") != 1:
    raise SystemExit("a new provider connection or login was made")
if "reusing an authenticated connection" not in arlib.log_text():
    raise SystemExit("no reuse line in the daemon log")
print("AUTH took %.3fs" % took)
PY

# 3. The provider closes the idle connection (the mock is restarted on the
# same ports, with its files in a new directory): the next session gets a
# new connection and never sees the old one's end.
# restart_mock NAME: stop the mock, start it again on the same ports with
# its files in $AR_TMP/NAME.
restart_mock() {
	local n
	ar_stop "$MOCK_PID"
	MOCK_DIR=$AR_TMP/$1
	mkdir -p "$MOCK_DIR"
	"$MOCK_BIN" --dir "$MOCK_DIR" --cert "$AR_CERTS/server.pem" \
	    --key "$AR_CERTS/server.key" --http "127.0.0.1:$MOCK_HTTP_PORT" \
	    --smtp "127.0.0.1:$MOCK_SMTP_PORT" --refresh-token "$AR_REFRESH" \
	    --client-id "$AR_CLIENT_ID" --client-secret "$AR_CLIENT_SECRET" \
	    2>"$MOCK_DIR/mock.log" &
	MOCK_PID=$!
	AR_PIDS="$AR_PIDS $MOCK_PID"
	n=$((AR_START_WAIT * 10))
	until [ -s "$MOCK_DIR/smtp.port" ]; do
		[ "$n" -gt 0 ] || ar_die "restarted mock wrote no port file"
		n=$((n - 1))
		sleep 0.1
	done
	export MOCK_DIR
}
restart_mock seq2
sleep 0.5	# the daemon sees the old connection's end
ar_pycase "a pooled connection the provider closed is replaced: the client sees nothing" <<'PY'
import arlib
d = arlib.relay_one("after the provider closed the pooled connection")
if d:
    raise SystemExit(d)
if arlib.counter("smtp-connections") != 1:
    raise SystemExit("smtp-connections %d on the restarted mock, want 1" % arlib.counter("smtp-connections"))
log = arlib.log_text()
if "idle upstream" not in log or "closed" not in log:
    raise SystemExit("no line about the idle connection's end in the log")
PY
name="an idle connection closed by the provider is not a warning"
if grep 'upstream .* failed' "$DAEMON_LOG" | grep -q 'provider closed'; then
	not_ok "$name" "warned about it" "$DAEMON_LOG"
else
	ok "$name"
fi
# The same while the daemon is stopped (SIGSTOP): when it goes on, the
# provider's close and the new client arrive together. Whichever it sees
# first (the close on the idle connection, or, at hand-out, the pool's peek
# at the socket) the client must not notice. In practice the close is
# seen first: the client's TLS handshake and password check take several
# loop turns.
kill -STOP "$DAEMON_PID"
restart_mock seq3
ar_pycase "a pooled connection closed while the daemon was not looking is not handed out" <<'PY'
import arlib, os, signal, threading
threading.Timer(0.3, os.kill, (int(os.environ["DAEMON_PID"]), signal.SIGCONT)).start()
d = arlib.relay_one("provider closed it just now")
if d:
    raise SystemExit(d)
if arlib.counter("smtp-connections") != 1:
    raise SystemExit("smtp-connections %d on the restarted mock, want 1" % arlib.counter("smtp-connections"))
log = arlib.log_text()
print("seen as: %s" % ("peeked at hand-out" if "idle connection gone, not used" in log else "closed while idle"))
PY
kill -CONT "$DAEMON_PID" 2>/dev/null
ar_check_daemon "daemon (reuse) up, clean exit on SIGTERM"
ar_stop "$MOCK_PID"

# 4. max_upstream_connections = 1, upstream_queue_timeout = 2: while one
# session holds the connection, another's AUTH waits 2 s and gets 451 4.3.2.
ar_start_mock one
AR_ACCOUNT_EXTRA="max_upstream_connections = 1" ar_start_daemon qtimeout \
    "upstream_queue_timeout = 2"
ar_pycase "queue timeout: the second session's AUTH gets 451 4.3.2 after upstream_queue_timeout; the first still relays" <<'PY'
import arlib, time
a = arlib.session()
b = arlib.session(tls=True, auth=False)
t0 = time.time()
r = b.login()
took = time.time() - t0
if r.code != 451 or "4.3.2" not in r.text:
    raise SystemExit("second AUTH -> %r, want 451 4.3.2" % r.lines)
if not 1.5 <= took <= 6:
    raise SystemExit("451 after %.2fs, want about 2" % took)
if arlib.counter("smtp-max-concurrent") != 1:
    raise SystemExit("smtp-max-concurrent %d" % arlib.counter("smtp-max-concurrent"))
before = arlib.msgs()
msg = arlib.message("holder", ["Still relayed."])
a.expect("MAIL FROM:<%s>" % arlib.USER, 250)
a.expect("RCPT TO:<rcpt@example.org>", 250)
a.expect("DATA", 354)
a.send(arlib.stuff(msg))
if a.reply().code != 250:
    raise SystemExit("first session's message refused")
a.quit()
# The slot is free again (the connection is idle): AUTH now succeeds.
r = b.login()
if r.code != 235:
    raise SystemExit("AUTH after the slot freed -> %r" % r.lines)
b.quit()
new = arlib.new_msgs(before)
if len(new) != 1:
    raise SystemExit("stored %d messages" % len(new))
print("451 4.3.2 after %.2fs" % took)
PY
ar_check_daemon "daemon (queue timeout) up, clean exit on SIGTERM"

ar_summary
