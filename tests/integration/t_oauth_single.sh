#!/usr/bin/env bash
# t_oauth_single: single flight. 200 sessions of one account send AUTH at
# the same moment to a freshly started daemon (no access token cached, none
# in the token file); the token endpoint is slowed down by 1 s so that they
# all wait for the same request. All get 235, each provider connection
# authenticates once (at most max_upstream_connections = 100 of them: the
# other sessions wait for a slot and reuse them), and the token endpoint
# saw exactly 1 request.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

ar_init
ar_start_mock mock
ar_mock_control "delay 1 1"
AR_ACCOUNT_EXTRA="max_upstream_connections = 100" \
    ar_start_daemon single "max_connections = 1000" \
    "max_connections_per_ip = 1000"
sleep 0.3	# the start-up probes are gone

AR_PY_WAIT=120 ar_pycase "200 sessions at once on a cold cache: all authenticated" <<'EOF'
import arlib, threading, time
N = 200
barrier = threading.Barrier(N + 1)
res = [None] * N
took = [0.0] * N

def one(i):
    c = None
    try:
        c = arlib.session(tls=(i % 2 == 1), auth=False)
        barrier.wait(timeout=60)
        t0 = time.time()
        r = c.login()
        took[i] = time.time() - t0
        if r.code != 235:
            res[i] = "AUTH -> %r" % r.lines
            return
        c.expect("NOOP", 250)
        res[i] = "ok"
    except Exception as e:
        res[i] = "%s: %s" % (type(e).__name__, e)
        try:
            barrier.abort()
        except Exception:
            pass
    finally:
        if c is not None:
            c.quit()

threads = [threading.Thread(target=one, args=(i,)) for i in range(N)]
t0 = time.time()
for t in threads:
    t.start()
try:
    barrier.wait(timeout=60)    # every session is at its AUTH
except threading.BrokenBarrierError:
    pass
ready = time.time() - t0
for t in threads:
    t.join(max(1, 100 - (time.time() - t0)))
bad = [(i, r) for i, r in enumerate(res) if r != "ok"]
if bad:
    raise SystemExit("%d of %d sessions failed; first: session %d: %s"
                     % (len(bad), N, bad[0][0], bad[0][1]))
print("%d sessions set up in %.1fs; AUTH took %.2f..%.2fs" % (
    N, ready, min(took), max(took)))
EOF

name="200 sessions at once: exactly 1 token request"
n=$(ar_mock_count token-requests)
if [ "$n" = 1 ]; then ok "$name"; else
	not_ok "$name" "token-requests is $n, want 1" "$DAEMON_LOG" "$MOCK_LOG"; fi
name="200 sessions at once: one XOAUTH2 login per provider connection, at most 100 connections"
n=$(ar_mock_count auth-count)
c=$(ar_mock_count smtp-connections)
m=$(ar_mock_count smtp-max-concurrent)
if [ "$n" = "$c" ] && [ "$c" -ge 1 ] && [ "$c" -le 100 ] && [ "$m" -le 100 ]; then
	ok "$name"
	echo "# $c provider connections, $m at once"
else
	not_ok "$name" "auth-count $n, smtp-connections $c, smtp-max-concurrent $m" "$MOCK_LOG"; fi
name="200 sessions at once: they waited together for the one request"
n=$(grep -c 'oauth account=sales token request ' "$DAEMON_LOG")
if [ "$n" = 1 ]; then ok "$name"; else
	not_ok "$name" "$n 'token request' lines in the daemon log, want 1" \
	    "$DAEMON_LOG"; fi
ar_pycase "after the burst, a message is relayed with the cached token" <<'EOF'
import arlib
d = arlib.relay_one("after the single-flight burst")
if d:
    raise SystemExit(d)
if arlib.counter("token-requests") != 1:
    raise SystemExit("token-requests now %d" % arlib.counter("token-requests"))
EOF
ar_check_daemon "t_oauth_single: the daemon survived, exits 0 on SIGTERM"
ar_check_secrets "t_oauth_single: no secret in the daemon log"
ar_summary
