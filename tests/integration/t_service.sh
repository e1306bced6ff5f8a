#!/usr/bin/env bash
# t_service: the daemon as a service. sd_notify (READY, STATUS, WATCHDOG
# with and without WATCHDOG_PID, RELOADING, STOPPING) to a stand-in for
# systemd's socket (sdnotify.py); the control socket with `status` (text
# and --json, healthy, degraded, unreachable) and `reload` (applied,
# refused by the client's parse or by the daemon, unreachable) and its
# defences (file mode, SO_PEERCRED, unknown and long requests, client limit,
# idle timeout); and, as root only, the privilege drop to nobody/nogroup
# (ids in /proc, files the daemon writes after the drop, refusals to start).
# Status and reload output is checked for secrets at the end.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

# The test runner itself may run under systemd.
unset NOTIFY_SOCKET WATCHDOG_USEC WATCHDOG_PID

ar_init
W=$AR_TMP/work
C=$W/cmd		# command output: checked for secrets at the end
mkdir -p "$W" "$C"
chmod 755 "$W" "$C"
AS_ROOT=0
[ "$(id -u)" = 0 ] && AS_ROOT=1
if [ "$AS_ROOT" = 1 ]; then
	# Processes run as nobody below must reach into the test directory.
	chmod o+x "$AR_TMP"
	command -v setpriv >/dev/null || ar_die "setpriv (util-linux) is not installed"
fi
# A Python that nobody can run (pyenv shims live under /root).
SYSPY=/usr/bin/python3
[ -x "$SYSPY" ] || SYSPY=$(command -v python3)

# --- helpers -----------------------------------------------------------------

# notify_start NAME [--mode OCTAL]: a notification socket for the daemon
# NAME (whose config will be $AR_TMP/NAME/authrelay.ini). Sets NOTIFY_PID,
# NOTIFY_SOCK, NOTIFY_OUT.
notify_start() {
	local name=$1 n=50
	shift
	mkdir -p "$AR_TMP/notify-$name"
	chmod 755 "$AR_TMP/notify-$name"
	NOTIFY_SOCK=$AR_TMP/notify-$name/sock
	NOTIFY_OUT=$W/$name.notify
	python3 "$AR_LIB_DIR/sdnotify.py" "$NOTIFY_SOCK" "$NOTIFY_OUT" \
	    --config "$AR_TMP/$name/authrelay.ini" --max 200 "$@" \
	    2>"$W/$name.notify.err" &
	NOTIFY_PID=$!
	AR_PIDS="$AR_PIDS $NOTIFY_PID"
	until grep -q '"listening"' "$NOTIFY_OUT" 2>/dev/null; do
		if [ "$n" -le 0 ] || ! kill -0 "$NOTIFY_PID" 2>/dev/null; then
			sed 's/^/#   /' "$W/$name.notify.err"
			ar_die "the notification socket did not come up"
		fi
		n=$((n - 1))
		sleep 0.1
	done
}

# nlast OUT: the number of the last datagram received (0: none).
nlast() {
	PYTHONPATH=$AR_LIB_DIR python3 -c '
import sys, sdnotify
d = sdnotify.datagrams(sys.argv[1])
print(d[-1]["n"] if d else 0)' "$1"
}

# nwait OUT AFTER SECONDS KEY[=VALUE]: wait for a datagram numbered above
# AFTER that holds the field. 0 if it came.
nwait() {
	PYTHONPATH=$AR_LIB_DIR timeout 60 python3 - "$@" <<'EOF'
import sys, time, sdnotify
out, after, secs, want = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
k, eq, v = want.partition("=")
end = time.time() + secs
while True:
    if any(sdnotify.has(r, k, v if eq else None)
           for r in sdnotify.datagrams(out, after)):
        sys.exit(0)
    if time.time() > end:
        sys.exit(1)
    time.sleep(0.05)
EOF
}

# ndump OUT: the datagrams, as "#" lines, for a diagnosis.
ndump() {
	PYTHONPATH=$AR_LIB_DIR python3 -c '
import sys, sdnotify
for r in sdnotify.datagrams(sys.argv[1])[-15:]:
    print("#   %d %.3f %r" % (r["n"], r["t"], r["msg"]))' "$1"
}

# relay NAME: a message through the current daemon is stored intact.
relay() {
	ar_pycase "$1" <<'EOF'
import arlib
d = arlib.relay_one("service relay")
if d:
    raise SystemExit(d)
EOF
}

# ctl OUT [ARGS...]: run authrelay -c DAEMON_CONF ARGS, stdout to OUT,
# stderr to OUT.err; sets RC.
ctl() {
	local out=$1
	shift
	timeout 70 "$AUTHRELAY" -c "$DAEMON_CONF" "$@" >"$out" 2>"$out.err"
	RC=$?
}

# as_nobody COMMAND...: run it as nobody:nogroup with no other group.
as_nobody() {
	setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"
}

# status_json_is NAME PYTHON-CHECKS: `status --json` of the current daemon
# parses, and the checks (Python, with the object in j, raising
# SystemExit("why") on a failure) pass.
status_json_is() {
	local name=$1 out=$C/status-$RANDOM.json
	ctl "$out" status --json
	AR_OUT=$out AR_RC=$RC AR_CHECKS=$2 ar_pycase "$name" <<'EOF'
import json, os, time
text = open(os.environ["AR_OUT"]).read()
try:
    j = json.loads(text)
except ValueError as e:
    raise SystemExit("status --json (exit %s) is not JSON: %s: %r"
                     % (os.environ["AR_RC"], e, text[:200]))
if not isinstance(j, dict):
    raise SystemExit("status --json is not an object")
rc = int(os.environ["AR_RC"])
exec(os.environ["AR_CHECKS"])
EOF
}

# wait_log REGEX SECONDS: wait until DAEMON_LOG has a line matching it.
wait_log() {
	local n=$(($2 * 10))
	until grep -qE "$1" "$DAEMON_LOG" 2>/dev/null; do
		[ "$n" -gt 0 ] || return 1
		n=$((n - 1))
		sleep 0.1
	done
}

ar_start_mock mock

# --- sd_notify: READY, STATUS, WATCHDOG, RELOADING, STOPPING ------------------

notify_start notify
NOTIFY_SOCKET=$NOTIFY_SOCK WATCHDOG_USEC=400000 ar_start_daemon notify
N_OUT=$NOTIFY_OUT
N_LISTENER=$NOTIFY_PID

AR_NOUT=$N_OUT ar_pycase "sd_notify: one READY=1 once the listeners accept, with the STATUS= line" <<'EOF'
import os, re, time, sdnotify
out = os.environ["AR_NOUT"]
end = time.time() + 10
while True:
    recs = sdnotify.read(out)
    ready = [r for r in recs if "msg" in r and sdnotify.has(r, "READY", "1")]
    conn = [r["connect"] for r in recs if "connect" in r]
    if (ready and conn) or time.time() > end:
        break
    time.sleep(0.05)
if not ready:
    raise SystemExit("no READY=1 within 10 s; datagrams: %r"
                     % [r["msg"] for r in sdnotify.datagrams(out)][:5])
if len(ready) != 1:
    raise SystemExit("%d READY=1 at start, want 1" % len(ready))
st = sdnotify.value(ready[0], "STATUS")
want = "0 sessions; accounts: 1 ready, 0 failing, 0 need authorize"
if st != want:
    raise SystemExit("READY=1 came with STATUS=%r, want %r" % (st, want))
ports = {os.environ["AR_STARTTLS_PORT"], os.environ["AR_TLS_PORT"]}
if not conn or set(conn[0]) != ports or not all(conn[0].values()):
    raise SystemExit("listeners when READY=1 came: %r, want %s accepting"
                     % (conn[:1], sorted(ports)))
EOF

# A silent control client: the daemon drops it after CONTROL_TIMEOUT (10 s).
# Measured in the background while the cases below run.
CTL_SOCK=$AR_TMP/notify/control
AR_CTL_SOCK=$CTL_SOCK timeout 30 python3 -c '
import os, socket, time
s = socket.socket(socket.AF_UNIX)
s.connect(os.environ["AR_CTL_SOCK"])
s.settimeout(25)
t0 = time.time()
try:
    d = s.recv(100)
    print("closed after %.2f s, got %r" % (time.time() - t0, d))
except socket.timeout:
    print("still open after 25 s")
except OSError as e:
    print("closed after %.2f s: %s" % (time.time() - t0, e))
' >"$W/silent.out" 2>&1 &
SILENT_PID=$!
AR_PIDS="$AR_PIDS $SILENT_PID"

# A session held open, so that the periodic STATUS= line changes.
touch "$W/hold.go"
timeout 40 python3 -c '
import os, sys, time
sys.path.insert(0, os.environ["AR_LIB_DIR"])
import arlib
c = arlib.Client(arlib.starttls_port())
end = time.time() + 30
while os.path.exists(sys.argv[1]) and time.time() < end:
    time.sleep(0.1)
c.quit()' "$W/hold.go" >"$W/hold.out" 2>&1 &
HOLD_PID=$!
AR_PIDS="$AR_PIDS $HOLD_PID"

AR_NOUT=$N_OUT ar_pycase "sd_notify: WATCHDOG=1 at least 3 times within 1.5 s (WATCHDOG_USEC=0.4 s)" <<'EOF'
import os, time, sdnotify
out = os.environ["AR_NOUT"]
t0 = time.time()
time.sleep(1.6)
ts = [r["t"] for r in sdnotify.datagrams(out)
      if sdnotify.has(r, "WATCHDOG", "1") and t0 <= r["t"] <= t0 + 1.5]
if len(ts) < 3:
    raise SystemExit("%d WATCHDOG=1 between t and t+1.5 s, want >= 3" % len(ts))
gaps = [b - a for a, b in zip(ts, ts[1:])]
print("%d pings, largest gap %.3f s" % (len(ts), max(gaps)))
EOF
name="sd_notify: the log says the watchdog period"
if grep -q "systemd watchdog every 0.4 s" "$DAEMON_LOG"; then ok "$name"; else
	not_ok "$name" "no 'systemd watchdog every 0.4 s' line" "$DAEMON_LOG"; fi

relay "sd_notify: a message relays with NOTIFY_SOCKET set"

name="sd_notify: STATUS= is sent again when it changed (a session opened: '1 sessions')"
if nwait "$N_OUT" 0 14 "STATUS=1 sessions; accounts: 1 ready, 0 failing, 0 need authorize"; then
	ok "$name"
else
	not_ok "$name" "no 'STATUS=1 sessions; ...' within 14 s" "$W/hold.out"
	ndump "$N_OUT"
fi
rm -f "$W/hold.go"
wait "$HOLD_PID" 2>/dev/null
ar_forget "$HOLD_PID"

# reload_notify NAME: after the mark M, RELOADING=1 (with its STATUS=)
# then READY=1, in that order.
reload_notify() {
	AR_NOUT=$N_OUT AR_MARK=$1 ar_pycase "$2" <<'EOF'
import os, re, time, sdnotify
out, mark = os.environ["AR_NOUT"], int(os.environ["AR_MARK"])
end = time.time() + 10
while True:
    d = [r for r in sdnotify.datagrams(out, mark)
         if not sdnotify.has(r, "WATCHDOG")]
    if any(sdnotify.has(r, "READY", "1") for r in d) or time.time() > end:
        break
    time.sleep(0.05)
seq = [r["msg"] for r in d]
if not d or not sdnotify.has(d[0], "RELOADING", "1"):
    raise SystemExit("first notice after the reload: %r, want RELOADING=1" % seq[:3])
if sdnotify.value(d[0], "STATUS") != "reloading the configuration":
    raise SystemExit("RELOADING=1 came with %r" % d[0]["msg"])
r = [x for x in d if sdnotify.has(x, "READY", "1")]
if not r:
    raise SystemExit("no READY=1 after RELOADING=1 within 10 s: %r" % seq)
if not re.match(r"\d+ sessions; accounts: 1 ready", sdnotify.value(r[0], "STATUS") or ""):
    raise SystemExit("READY=1 after the reload came with %r" % r[0]["msg"])
EOF
}
mark=$(nlast "$N_OUT")
kill -HUP "$DAEMON_PID"
reload_notify "$mark" "sd_notify: SIGHUP gives RELOADING=1, then READY=1 with the status"
mark=$(nlast "$N_OUT")
ctl "$C/notify-reload.out" reload
reload_notify "$mark" "sd_notify: authrelay reload gives RELOADING=1, then READY=1"
name="sd_notify: authrelay reload of that daemon: exit 0, generation 3"
if [ "$RC" = 0 ] && grep -q '^reload applied: generation 3$' "$C/notify-reload.out"; then
	ok "$name"
else
	not_ok "$name" "exit $RC" "$C/notify-reload.out" "$C/notify-reload.out.err"
fi

name="control socket: a client that sends nothing is dropped after about 10 s"
wait "$SILENT_PID" 2>/dev/null
ar_forget "$SILENT_PID"
got=$(cat "$W/silent.out")
secs=$(echo "$got" | sed -n 's/^closed after \([0-9.]*\) s.*/\1/p')
if [ -n "$secs" ] && awk "BEGIN{exit !($secs >= 8.5 && $secs <= 13)}" &&
    ! echo "$got" | grep -q '{'; then
	ok "$name"
else
	not_ok "$name" "$got"
fi
name="control socket: the dropped silent client is logged"
if grep -q "control: client timed out" "$DAEMON_LOG"; then ok "$name"; else
	not_ok "$name" "no 'control: client timed out' line" "$DAEMON_LOG"; fi

mark=$(nlast "$N_OUT")
ar_check_daemon "sd_notify: the daemon survived, exits 0 on SIGTERM"
name="sd_notify: SIGTERM gives STOPPING=1 (STATUS=stopping)"
if nwait "$N_OUT" "$mark" 3 STOPPING=1 && nwait "$N_OUT" "$mark" 1 STATUS=stopping; then
	ok "$name"
else
	not_ok "$name" "no STOPPING=1 / STATUS=stopping after SIGTERM"
	ndump "$N_OUT"
fi
ar_stop "$N_LISTENER"

# --- the watchdog only for the right pid ---------------------------------------

notify_start wdother
NOTIFY_SOCKET=$NOTIFY_SOCK WATCHDOG_USEC=400000 WATCHDOG_PID=1 \
    ar_start_daemon wdother
name="sd_notify: WATCHDOG_PID names another process: READY=1 but no WATCHDOG=1 in 1.5 s"
if ! nwait "$NOTIFY_OUT" 0 10 READY=1; then
	not_ok "$name" "no READY=1" "$DAEMON_LOG"
else
	sleep 1.5
	if nwait "$NOTIFY_OUT" 0 0 WATCHDOG=1; then
		not_ok "$name" "WATCHDOG=1 was sent"
		ndump "$NOTIFY_OUT"
	elif grep -q "systemd watchdog" "$DAEMON_LOG"; then
		not_ok "$name" "the log announces a watchdog" "$DAEMON_LOG"
	else
		ok "$name"
	fi
fi
ar_check_daemon "sd_notify, WATCHDOG_PID another: exits 0 on SIGTERM"
ar_stop "$NOTIFY_PID"

# WATCHDOG_PID = the daemon's own pid: a wrapper that sets it, then execs.
cat >"$W/wdself.sh" <<'EOF'
#!/bin/sh
WATCHDOG_PID=$$
export WATCHDOG_PID
exec "$AR_REAL_AUTHRELAY" "$@"
EOF
chmod 755 "$W/wdself.sh"
notify_start wdself
AR_REAL_AUTHRELAY=$AUTHRELAY
export AR_REAL_AUTHRELAY
AUTHRELAY=$W/wdself.sh NOTIFY_SOCKET=$NOTIFY_SOCK WATCHDOG_USEC=400000 \
    ar_start_daemon wdself
AR_NOUT=$NOTIFY_OUT ar_pycase "sd_notify: WATCHDOG_PID is the daemon's own pid: WATCHDOG=1 at least 3 times in 1.5 s" <<'EOF'
import os, time, sdnotify
out = os.environ["AR_NOUT"]
t0 = time.time()
time.sleep(1.6)
n = len([r for r in sdnotify.datagrams(out)
         if sdnotify.has(r, "WATCHDOG", "1") and t0 <= r["t"] <= t0 + 1.5])
if n < 3:
    raise SystemExit("%d WATCHDOG=1 in 1.5 s, want >= 3" % n)
EOF
ar_check_daemon "sd_notify, WATCHDOG_PID own: exits 0 on SIGTERM"
ar_stop "$NOTIFY_PID"

# --- status and reload, without NOTIFY_SOCKET ------------------------------------

# Every session logs in at the provider: a refused token shows at once.
AR_SERVER_EXTRA="upstream_idle_timeout = 0" ar_start_daemon ctl
CTL_SOCK=$AR_TMP/ctl/control
cp "$DAEMON_CONF" "$W/ctl-good.ini"

if [ "$AS_ROOT" = 1 ]; then
	name="user = root: the daemon starts and warns that it runs as root"
	if grep -q "running as root (user = root)" "$DAEMON_LOG"; then ok "$name"; else
		not_ok "$name" "no 'running as root (user = root)' warning" "$DAEMON_LOG"; fi
fi

name="status: exit 0; the text names version, pid, listeners, the account, 'healthy'"
ctl "$C/st-new.out" status
f=$C/st-new.out
if [ "$RC" != 0 ]; then
	not_ok "$name" "exit $RC" "$f" "$f.err"
elif ! grep -q "^authrelay [0-9][^,]*, pid $DAEMON_PID, up .*generation 1, 0 sessions$" "$f"; then
	not_ok "$name" "no 'authrelay VERSION, pid $DAEMON_PID, up ..., generation 1, 0 sessions' line" "$f"
elif ! grep -q "^last reload: none$" "$f"; then
	not_ok "$name" "no 'last reload: none'" "$f"
elif ! grep -qE "^  127.0.0.1:$AR_STARTTLS_PORT +127.0.0.1:$AR_STARTTLS_PORT +starttls +0 sessions$" "$f" ||
    ! grep -qE "^  127.0.0.1:$AR_TLS_PORT +127.0.0.1:$AR_TLS_PORT +tls +0 sessions$" "$f"; then
	not_ok "$name" "the two listeners are not listed with their mode and sessions" "$f"
elif ! grep -q "^  sales <$AR_EMAIL> provider=mock grant=refresh_token$" "$f"; then
	not_ok "$name" "no account line for sales" "$f"
elif ! grep -q "messages since start: 0 relayed, 0 failed" "$f"; then
	not_ok "$name" "no 'messages since start: 0 relayed, 0 failed'" "$f"
elif ! grep -q "^health: healthy$" "$f"; then
	not_ok "$name" "no 'health: healthy'" "$f"
else
	ok "$name"
fi

status_json_is "status --json: one object with every field, generation 1, healthy, no reload yet" '
def need(o, keys, where):
    for k, t in keys.items():
        if k not in o:
            raise SystemExit("%s: no %r" % (where, k))
        if t is not None and not isinstance(o[k], t):
            raise SystemExit("%s.%s: %r is not %s" % (where, k, o[k], t))
need(j, {"version": str, "pid": int, "config": str, "started": int,
         "uptime": int, "generation": int, "sessions": int, "healthy": bool,
         "last_reload": dict, "listeners": list, "accounts": list}, "status")
if rc != 0:
    raise SystemExit("exit %d" % rc)
if j["pid"] != int(os.environ["DAEMON_PID"]):
    raise SystemExit("pid %r, want %s" % (j["pid"], os.environ["DAEMON_PID"]))
if j["config"] != os.environ["DAEMON_CONF"]:
    raise SystemExit("config %r" % j["config"])
if not (abs(j["started"] - time.time()) < 120 and 0 <= j["uptime"] < 120):
    raise SystemExit("started %r uptime %r" % (j["started"], j["uptime"]))
if (j["generation"], j["sessions"], j["healthy"]) != (1, 0, True):
    raise SystemExit("generation/sessions/healthy %r" % ((j["generation"], j["sessions"], j["healthy"]),))
need(j["last_reload"], {"at": None, "result": None, "report": list}, "last_reload")
if j["last_reload"]["at"] is not None or j["last_reload"]["result"] is not None:
    raise SystemExit("last_reload %r before any reload" % j["last_reload"])
ls = j["listeners"]
for l in ls:
    need(l, {"name": str, "address": str, "mode": str, "sessions": int}, "listener")
got = sorted((l["name"], l["address"], l["mode"], l["sessions"]) for l in ls)
st, tl = ("127.0.0.1:%s" % os.environ[k] for k in ("AR_STARTTLS_PORT", "AR_TLS_PORT"))
want = sorted([(st, st, "starttls", 0), (tl, tl, "tls", 0)])
if got != want:
    raise SystemExit("listeners (name, address, mode, sessions) %r, want %r" % (got, want))
if len(j["accounts"]) != 1:
    raise SystemExit("%d accounts" % len(j["accounts"]))
a = j["accounts"][0]
need(a, {"name": str, "email": str, "provider": str, "grant": str,
         "credential": dict, "connections": dict, "messages": dict}, "account")
if (a["name"], a["email"], a["provider"], a["grant"]) != ("sales", os.environ["AR_EMAIL"], "mock", "refresh_token"):
    raise SystemExit("account %r" % ((a["name"], a["email"], a["provider"], a["grant"]),))
need(a["credential"], {"state": str, "expires": int, "last_refresh": int,
     "last_result": str, "reason": str, "refreshing": bool}, "credential")
if a["credential"]["state"] not in ("idle", "valid"):
    raise SystemExit("credential state %r at start" % a["credential"]["state"])
need(a["connections"], {"busy": int, "idle": int, "waiting": int, "max": int}, "connections")
if a["connections"]["max"] < 1:
    raise SystemExit("connections %r" % a["connections"])
need(a["messages"], {"relayed": int, "failed": int}, "messages")
if a["messages"] != {"relayed": 0, "failed": 0}:
    raise SystemExit("messages %r at start" % a["messages"])
'

relay "without NOTIFY_SOCKET: the daemon starts and relays (the first of 2 messages)"
relay "status: the second of 2 messages relays"
status_json_is "status --json after 2 messages: relayed 2, failed 0, credential valid, refreshed once" '
a = j["accounts"][0]
if rc != 0 or not j["healthy"]:
    raise SystemExit("exit %d, healthy %r" % (rc, j["healthy"]))
if a["messages"] != {"relayed": 2, "failed": 0}:
    raise SystemExit("messages %r, want 2 relayed, 0 failed" % a["messages"])
c = a["credential"]
if c["state"] != "valid":
    raise SystemExit("credential state %r, want valid" % c["state"])
now = time.time()
if not (c["expires"] > now + 60 and 0 < now - c["last_refresh"] < 120):
    raise SystemExit("expires %r, last_refresh %r (now %d)" % (c["expires"], c["last_refresh"], now))
if c["refreshing"] or not c["last_result"]:
    raise SystemExit("refreshing %r, last_result %r" % (c["refreshing"], c["last_result"]))
print("last_result: %r" % c["last_result"])
'
name="status after 2 messages: the text says 2 relayed and the token's expiry"
ctl "$C/st-2.out" status
if [ "$RC" = 0 ] && grep -q "messages since start: 2 relayed, 0 failed" "$C/st-2.out" &&
    grep -q "credential: access token valid until 20[0-9-]* [0-9:]* UTC" "$C/st-2.out"; then
	ok "$name"
else
	not_ok "$name" "exit $RC" "$C/st-2.out" "$C/st-2.out.err"
fi

AR_C=$C ar_pycase "status --json: a session in flight counts, on its listener" <<'EOF'
import arlib, json, os, subprocess
c = arlib.session(tls=True, auth=False)
try:
    p = subprocess.run([os.environ["AUTHRELAY"], "-c", os.environ["DAEMON_CONF"],
                        "status", "--json"], capture_output=True, timeout=60)
finally:
    c.quit()
open(os.path.join(os.environ["AR_C"], "st-session.out"), "wb").write(p.stdout + p.stderr)
j = json.loads(p.stdout)
if j["sessions"] != 1:
    raise SystemExit("sessions %r, want 1" % j["sessions"])
per = {l["address"]: l["sessions"] for l in j["listeners"]}
want = {"127.0.0.1:%s" % os.environ["AR_STARTTLS_PORT"]: 0,
        "127.0.0.1:%s" % os.environ["AR_TLS_PORT"]: 1}
if per != want:
    raise SystemExit("listener sessions %r, want %r" % (per, want))
EOF

# The provider rejects the cached token and the token endpoint refuses the
# refresh token: the forced refresh ends in "needs authorize".
ar_mock_control "smtp-reject 1" "fail 1 invalid_grant"
ar_pycase "degraded: the provider rejects the token, the refresh is refused: AUTH gets 454" <<'EOF'
import arlib
r, took = arlib.auth_reply()
if r.code != 454:
    raise SystemExit("AUTH -> %r, want 454" % r.lines)
EOF
ar_mock_control
name="status when the refresh token was refused: exit 1, NEEDS AUTHORIZE, the command, DEGRADED"
ctl "$C/st-bad.out" status
f=$C/st-bad.out
if [ "$RC" != 1 ]; then
	not_ok "$name" "exit $RC, want 1" "$f" "$f.err"
elif ! grep -q "credential: NEEDS AUTHORIZE: ." "$f"; then
	not_ok "$name" "no 'credential: NEEDS AUTHORIZE: REASON'" "$f"
elif ! grep -q "run: authrelay -c $DAEMON_CONF authorize sales" "$f"; then
	not_ok "$name" "no 'run: authrelay -c $DAEMON_CONF authorize sales'" "$f"
elif ! grep -q "^health: DEGRADED" "$f"; then
	not_ok "$name" "no 'health: DEGRADED'" "$f"
else
	ok "$name"
fi
status_json_is "status --json when degraded: exit 1, healthy false, state needs-authorize with a reason" '
c = j["accounts"][0]["credential"]
if rc != 1 or j["healthy"] is not False:
    raise SystemExit("exit %d, healthy %r" % (rc, j["healthy"]))
if c["state"] != "needs-authorize" or not c["reason"]:
    raise SystemExit("credential %r" % {k: c[k] for k in ("state", "reason", "last_result")})
'
name="status recovers: after set-token and a relayed message, exit 0 and healthy"
printf '%s\n' "$AR_REFRESH" | timeout 30 "$AUTHRELAY" -c "$DAEMON_CONF" \
    set-token sales >"$C/ctl-set-token.out" 2>&1
PYTHONPATH=$AR_LIB_DIR timeout 60 python3 -c '
import arlib
d = arlib.relay_one("after set-token")
if d: raise SystemExit(d)' >"$W/recover.out" 2>&1
prc=$?
ctl "$C/st-recovered.out" status
if [ "$prc" = 0 ] && [ "$RC" = 0 ] && grep -q "^health: healthy$" "$C/st-recovered.out"; then
	ok "$name"
else
	not_ok "$name" "relay exit $prc, status exit $RC" "$W/recover.out" "$C/st-recovered.out" "$C/st-recovered.out.err"
fi

# --- reload ---------------------------------------------------------------------

name="reload: a valid config: exit 0, 'reload applied: generation 2'"
ctl "$C/rl-ok.out" reload
if [ "$RC" = 0 ] && grep -q '^reload applied: generation 2$' "$C/rl-ok.out"; then
	ok "$name"
else
	not_ok "$name" "exit $RC" "$C/rl-ok.out" "$C/rl-ok.out.err"
fi
status_json_is "status --json after the reload: generation 2, last reload applied, at now" '
r = j["last_reload"]
if j["generation"] != 2 or r["result"] != "applied" or not abs(r["at"] - time.time()) < 60:
    raise SystemExit("generation %r, last_reload %r" % (j["generation"], r))
'

name="reload: a config that does not parse: exit 1, FILE:LINE on stderr, the daemon keeps generation 2"
{ head -n 2 "$W/ctl-good.ini"; echo "bogus_key = 1"; tail -n +3 "$W/ctl-good.ini"; } \
    >"$DAEMON_CONF"
ctl "$C/rl-bad.out" reload
rl_rc=$RC
cp "$W/ctl-good.ini" "$DAEMON_CONF"
ctl "$C/rl-bad-st.json" status --json
if [ "$rl_rc" != 1 ]; then
	not_ok "$name" "exit $rl_rc, want 1" "$C/rl-bad.out" "$C/rl-bad.out.err"
elif ! grep -q "^$DAEMON_CONF:3: " "$C/rl-bad.out.err"; then
	not_ok "$name" "no '$DAEMON_CONF:3: ...' on stderr" "$C/rl-bad.out" "$C/rl-bad.out.err"
elif [ "$RC" != 0 ] || ! grep -q '"generation":2,' "$C/rl-bad-st.json"; then
	not_ok "$name" "status afterwards: exit $RC, not generation 2" "$C/rl-bad-st.json" "$C/rl-bad-st.json.err"
else
	ok "$name"
fi
name="reload: the daemon refuses (a new listener on a port in use): exit 1, its FILE:LINE report"
{ head -n 4 "$W/ctl-good.ini"; echo "listen = 127.0.0.1:$MOCK_SMTP_PORT starttls"
  tail -n +5 "$W/ctl-good.ini"; } >"$DAEMON_CONF"
ctl "$C/st-before.json" status --json
gen=$(sed -n 's/.*"generation":\([0-9]*\),.*/\1/p' "$C/st-before.json")
ctl "$C/rl-refused.out" reload
f=$C/rl-refused.out.err
if [ "$RC" != 1 ]; then
	not_ok "$name" "exit $RC, want 1" "$C/rl-refused.out" "$f"
elif ! grep -q "^reload refused: the daemon keeps its running configuration (generation $gen)" "$f"; then
	not_ok "$name" "no 'reload refused: ... (generation $gen)'" "$f"
elif ! grep -q "^$DAEMON_CONF:5: listener 127.0.0.1:$MOCK_SMTP_PORT" "$f"; then
	not_ok "$name" "no '$DAEMON_CONF:5: listener ...' report line" "$f"
else
	ok "$name"
fi
status_json_is "status --json after the refusal: same generation, last reload refused with its report" "
r = j['last_reload']
if j['generation'] != $gen or r['result'] != 'refused':
    raise SystemExit('generation %r, last_reload %r' % (j['generation'], r))
if not any(l.startswith(os.environ['DAEMON_CONF'] + ':5: ') for l in r['report']):
    raise SystemExit('report %r' % r['report'])
"
name="status text after the refusal: 'refused' and the report"
ctl "$C/st-refused.out" status
if grep -q "^last reload: .* UTC, refused$" "$C/st-refused.out" &&
    grep -q "^  $DAEMON_CONF:5: " "$C/st-refused.out"; then
	ok "$name"
else
	not_ok "$name" "exit $RC" "$C/st-refused.out"
fi
relay "reload refused: the running configuration still relays"
cp "$W/ctl-good.ini" "$DAEMON_CONF"
name="reload: the good config again: exit 0, the next generation"
ctl "$C/rl-again.out" reload
if [ "$RC" = 0 ] && grep -q "^reload applied: generation $((gen + 1))$" "$C/rl-again.out"; then
	ok "$name"
else
	not_ok "$name" "exit $RC, want 0 and generation $((gen + 1))" "$C/rl-again.out" "$C/rl-again.out.err"
fi
gen=$((gen + 1))

# --- the control socket's defences ----------------------------------------------

name="control socket: mode 0600, owned by the daemon's user"
got=$(stat -c '%a %U %F' "$CTL_SOCK" 2>&1)
if [ "$got" = "600 $(id -un) socket" ]; then ok "$name"; else
	not_ok "$name" "stat: $got"; fi

# raw_ctl OUT PAYLOAD(printf %b): send it on the control socket, write what
# comes back (until EOF, 15 s at most) to OUT.
raw_ctl() {
	AR_PAYLOAD=$2 AR_CTL_SOCK=$CTL_SOCK timeout 30 python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(15)
s.connect(os.environ["AR_CTL_SOCK"])
s.sendall(os.environ["AR_PAYLOAD"].encode().decode("unicode_escape").encode("latin-1"))
d = b""
try:
    while True:
        x = s.recv(65536)
        if not x:
            break
        d += x
except ConnectionResetError:
    # The daemon closed with our excess bytes unread: a reset after its
    # reply.
    sys.stderr.write("connection reset after %d bytes\n" % len(d))
sys.stdout.buffer.write(d)' >"$1" 2>"$1.err"
}

name="control socket: 'shutdown' gets an error JSON and changes nothing"
raw_ctl "$C/raw-shutdown.out" 'shutdown\n'
if ! python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if "error" in j and len(j)==1 else 1)' "$C/raw-shutdown.out" 2>/dev/null; then
	not_ok "$name" "reply is not {\"error\": ...}: $(head -c 200 "$C/raw-shutdown.out")" "$C/raw-shutdown.out.err"
elif ! kill -0 "$DAEMON_PID" 2>/dev/null || ! ar_port_open "$AR_TLS_PORT"; then
	not_ok "$name" "the daemon stopped or stopped listening" "$DAEMON_LOG"
else
	ctl "$C/st-after-shutdown.json" status --json
	if [ "$RC" = 0 ] && grep -q "\"generation\":$gen," "$C/st-after-shutdown.json"; then
		ok "$name"
	else
		not_ok "$name" "status after it: exit $RC, not generation $gen" "$C/st-after-shutdown.json"
	fi
fi
name="control socket: a request line over 64 bytes gets an error"
raw_ctl "$C/raw-long.out" "status$(printf 'x%.0s' $(seq 1 200))\\n"
if grep -q '"error"' "$C/raw-long.out" && grep -qi 'too long' "$C/raw-long.out" &&
    ! grep -q '"version"' "$C/raw-long.out"; then
	ok "$name"
else
	not_ok "$name" "reply: $(head -c 200 "$C/raw-long.out")" "$C/raw-long.out.err"
fi
name="control socket: 'status' with CRLF is answered"
raw_ctl "$C/raw-crlf.out" 'status\r\n'
if grep -q '"version"' "$C/raw-crlf.out"; then ok "$name"; else
	not_ok "$name" "reply: $(head -c 200 "$C/raw-crlf.out")" "$C/raw-crlf.out.err"; fi

AR_CTL_SOCK=$CTL_SOCK ar_pycase "control socket: 8 clients at once; a 9th is closed at once; the 8 are still served" <<'EOF'
import json, os, socket, time
path = os.environ["AR_CTL_SOCK"]
def conn():
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(path)
    return s
held = [conn() for _ in range(8)]
time.sleep(0.3)    # all 8 accepted
ninth = conn()
t0 = time.time()
try:
    d = ninth.recv(100)
except socket.timeout:
    raise SystemExit("the 9th client is still open after 10 s")
except ConnectionResetError:
    d = b""
if d:
    raise SystemExit("the 9th client got %r" % d[:100])
if time.time() - t0 > 3:
    raise SystemExit("the 9th client was closed only after %.1f s" % (time.time() - t0))
ninth.close()
for s in held:
    s.sendall(b"status\n")
for i, s in enumerate(held):
    d = b""
    while True:
        x = s.recv(65536)
        if not x:
            break
        d += x
    if "version" not in json.loads(d):
        raise SystemExit("held client %d got %r" % (i, d[:100]))
    s.close()
EOF
name="control socket: the refused 9th client is logged"
if grep -q "control: too many clients (8)" "$DAEMON_LOG"; then ok "$name"; else
	not_ok "$name" "no 'control: too many clients (8)'" "$DAEMON_LOG"; fi

if [ "$AS_ROOT" = 1 ]; then
	# nobody_ctl OUT: as nobody, ask "status" on the control socket; OUT
	# gets what came back, or "refused: ERROR".
	nobody_ctl() {
		AR_CTL_SOCK=$CTL_SOCK as_nobody timeout 30 "$SYSPY" -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
try:
    s.connect(os.environ["AR_CTL_SOCK"])
except OSError as e:
    print("refused at connect: %s" % e)
    sys.exit(0)
d = b""
try:
    s.sendall(b"status\n")
    while True:
        x = s.recv(65536)
        if not x:
            break
        d += x
except OSError as e:
    print("closed: %s" % e)
sys.stdout.write(d.decode("latin-1"))' >"$1" 2>&1
	}
	name="control socket: another user (nobody) cannot connect to a root daemon's 0600 socket"
	nobody_ctl "$C/nobody-0600.out"
	if grep -q "refused at connect: .*Permission denied" "$C/nobody-0600.out" &&
	    ! grep -q '{' "$C/nobody-0600.out"; then
		ok "$name"
	else
		not_ok "$name" "got: $(head -c 300 "$C/nobody-0600.out")"
	fi
	name="control socket: with the file opened to all, another user is still refused (SO_PEERCRED)"
	chmod 666 "$CTL_SOCK"
	nobody_ctl "$C/nobody-0666.out"
	chmod 600 "$CTL_SOCK"
	if grep -q '{' "$C/nobody-0666.out" || grep -q "refused at connect" "$C/nobody-0666.out"; then
		not_ok "$name" "got: $(head -c 300 "$C/nobody-0666.out")"
	elif ! wait_log "control: connection from another user refused" 3; then
		not_ok "$name" "closed, but no 'control: connection from another user refused' line" "$DAEMON_LOG"
	else
		ok "$name"
	fi
else
	ok "control socket: another user is refused: skipped (not root)"
fi

ar_check_daemon "status and reload: the daemon survived, exits 0 on SIGTERM"
name="on stop, the daemon removes its control socket"
if [ -e "$CTL_SOCK" ]; then not_ok "$name" "$CTL_SOCK is still there"; else
	ok "$name"; fi
name="status with the daemon stopped: exit 2, says it cannot reach the daemon"
ctl "$C/st-down.out" status
if [ "$RC" = 2 ] && grep -q "cannot reach the daemon at $CTL_SOCK" "$C/st-down.out.err" &&
    [ ! -s "$C/st-down.out" ]; then
	ok "$name"
else
	not_ok "$name" "exit $RC, want 2 with 'cannot reach the daemon at $CTL_SOCK'" "$C/st-down.out" "$C/st-down.out.err"
fi
name="status --json with the daemon stopped: exit 2, nothing on stdout"
ctl "$C/st-down-json.out" status --json
if [ "$RC" = 2 ] && [ ! -s "$C/st-down-json.out" ]; then ok "$name"; else
	not_ok "$name" "exit $RC" "$C/st-down-json.out" "$C/st-down-json.out.err"; fi
name="reload with the daemon stopped: exit 2, says it cannot reach the daemon"
ctl "$C/rl-down.out" reload
if [ "$RC" = 2 ] && grep -q "cannot reach the daemon" "$C/rl-down.out.err"; then ok "$name"; else
	not_ok "$name" "exit $RC, want 2" "$C/rl-down.out" "$C/rl-down.out.err"; fi
name="status with a stale socket file (nobody listening): exit 2"
AR_CTL_SOCK=$CTL_SOCK python3 -c '
import os, socket
s = socket.socket(socket.AF_UNIX)
s.bind(os.environ["AR_CTL_SOCK"])
s.close()'
ctl "$C/st-stale.out" status
rm -f "$CTL_SOCK"
if [ "$RC" = 2 ] && grep -q "cannot reach the daemon" "$C/st-stale.out.err"; then ok "$name"; else
	not_ok "$name" "exit $RC, want 2" "$C/st-stale.out" "$C/st-stale.out.err"; fi

# --- privileges (root only) -------------------------------------------------------

if [ "$AS_ROOT" != 1 ]; then
	ok "privilege drop: skipped (not root)"
else
	NOBODY_UID=$(id -u nobody)
	NOGROUP_GID=$(getent group nogroup | cut -d: -f3)
	if [ -z "$NOBODY_UID" ] || [ -z "$NOGROUP_GID" ]; then
		ar_die "no user nobody or no group nogroup"
	fi
	# Refresh tokens rotate and old ones die: the daemon must write the
	# token file after the drop, or the restart below fails.
	ar_start_mock rot --style microsoft --revoke-old
	D=$AR_TMP/drop
	mkdir -p "$D/certs"
	chmod 755 "$D" "$D/certs"
	cp "$AR_CERTS/server.pem" "$AR_CERTS/ca.pem" "$D/certs/"
	cp "$AR_CERTS/server.key" "$D/certs/"
	chmod 644 "$D/certs/server.pem" "$D/certs/ca.pem"
	# As a packaged key would be: root's, readable by the daemon's group.
	chown root:nogroup "$D/certs/server.key"
	chmod 640 "$D/certs/server.key"
	AR_STARTTLS_PORT=$(ar_free_port)
	AR_TLS_PORT=$(ar_free_port)
	while [ "$AR_TLS_PORT" = "$AR_STARTTLS_PORT" ]; do AR_TLS_PORT=$(ar_free_port); done
	DAEMON_DIR=$D
	DAEMON_CONF=$D/authrelay.ini
	# The control socket's directory does not exist yet.
	CTL_SOCK=$D/run/control
	AR_CERTS=$D/certs AR_CA=$D/certs/ca.pem AR_NO_USER=1 AR_CONTROL=$CTL_SOCK \
	    ar_write_config "$DAEMON_CONF" drop "user = nobody" "group = nogroup"
	# As an admin would: readable by the daemon's group, no one else.
	chown root:nogroup "$DAEMON_CONF"
	chmod 640 "$DAEMON_CONF"
	chown nobody:nogroup "$D/state"
	TOKF=$D/state/sales.json

	name="privileges: set-token as root with user = nobody stores the token as nobody:nogroup, 0600"
	printf '%s\n' "$AR_REFRESH" | timeout 30 "$AUTHRELAY" -c "$DAEMON_CONF" \
	    set-token sales >"$C/drop-set-token.out" 2>&1
	RC=$?
	got=$(stat -c '%U:%G %a' "$TOKF" 2>&1)
	if [ "$RC" = 0 ] && [ "$got" = "nobody:nogroup 600" ]; then ok "$name"; else
		not_ok "$name" "exit $RC, token file: $got" "$C/drop-set-token.out"; fi
	INODE0=$(stat -c %i "$TOKF")

	notify_start drop --mode 666
	D_NOUT=$NOTIFY_OUT
	D_LISTENER=$NOTIFY_PID
	NOTIFY_SOCKET=$NOTIFY_SOCK ar_run_daemon "$D/authrelay.log"

	name="privileges: the log says running as user=nobody uid=$NOBODY_UID gid=$NOGROUP_GID"
	if grep -q "running as user=nobody uid=$NOBODY_UID gid=$NOGROUP_GID" "$DAEMON_LOG"; then
		ok "$name"
	else
		not_ok "$name" "no such line" "$DAEMON_LOG"
	fi
	AR_UID=$NOBODY_UID AR_GID=$NOGROUP_GID ar_pycase "privileges: /proc: every thread's Uid and Gid (real, effective, saved, fs) are nobody/nogroup, Groups is nogroup alone" <<'EOF'
import os
pid, uid, gid = os.environ["DAEMON_PID"], os.environ["AR_UID"], os.environ["AR_GID"]
tasks = os.listdir("/proc/%s/task" % pid)
for t in tasks:
    f = {}
    for l in open("/proc/%s/task/%s/status" % (pid, t)):
        k, _, v = l.partition(":")
        f[k] = v.split()
    if f["Uid"] != [uid] * 4 or f["Gid"] != [gid] * 4 or f["Groups"] != [gid]:
        raise SystemExit("thread %s: Uid %r Gid %r Groups %r" % (t, f["Uid"], f["Gid"], f["Groups"]))
    if f.get("CapEff", ["0"])[0].strip("0") or f.get("CapPrm", ["0"])[0].strip("0"):
        raise SystemExit("thread %s keeps capabilities: CapEff %r CapPrm %r" % (t, f["CapEff"], f["CapPrm"]))
print("%d threads" % len(tasks))
EOF
	name="privileges: the missing control directory is created 0750 nobody:nogroup; the socket is nobody's, 0600"
	got="$(stat -c '%a %U:%G' "$D/run" 2>&1) / $(stat -c '%a %U %F' "$CTL_SOCK" 2>&1)"
	if [ "$got" = "750 nobody:nogroup / 600 nobody socket" ]; then ok "$name"; else
		not_ok "$name" "got $got"; fi
	name="privileges: READY=1 reaches the notification socket after the drop"
	if nwait "$D_NOUT" 0 10 READY=1; then ok "$name"; else
		not_ok "$name" "no READY=1" "$DAEMON_LOG"; ndump "$D_NOUT"; fi

	relay "privileges: a message relays end to end as nobody (token refreshed and rotated)"
	name="privileges: the rotated refresh token was written after the drop: a new file, nobody:nogroup 0600"
	got=$(stat -c '%U:%G %a' "$TOKF" 2>&1)
	if ! grep -q "oauth account=sales refreshed .*rotated=yes" "$DAEMON_LOG"; then
		not_ok "$name" "no 'refreshed ... rotated=yes' in the log" "$DAEMON_LOG"
	elif [ "$(stat -c %i "$TOKF")" = "$INODE0" ]; then
		not_ok "$name" "the token file was not replaced" "$DAEMON_LOG"
	elif [ "$got" != "nobody:nogroup 600" ]; then
		not_ok "$name" "token file: $got"
	else
		ok "$name"
	fi
	ar_pycase "privileges: the token file holds the newest refresh token" <<'EOF'
import arlib, os
d = arlib.rt_is_newest(os.environ["DAEMON_DIR"] + "/state")
if d:
    raise SystemExit(d)
EOF
	name="privileges: status as root against the dropped daemon: exit 0, healthy, its pid"
	ctl "$C/drop-st.out" status
	if [ "$RC" = 0 ] && grep -q "^health: healthy$" "$C/drop-st.out" &&
	    grep -q ", pid $DAEMON_PID," "$C/drop-st.out" &&
	    grep -q "messages since start: 1 relayed" "$C/drop-st.out"; then
		ok "$name"
	else
		not_ok "$name" "exit $RC" "$C/drop-st.out" "$C/drop-st.out.err"
	fi
	name="privileges: status --json as nobody (the daemon's own uid): exit 0"
	as_nobody timeout 60 "$AUTHRELAY" -c "$DAEMON_CONF" status --json \
	    >"$C/drop-st-nobody.out" 2>&1
	RC=$?
	if [ "$RC" = 0 ] && grep -q "\"pid\":$DAEMON_PID," "$C/drop-st-nobody.out"; then ok "$name"; else
		not_ok "$name" "exit $RC" "$C/drop-st-nobody.out"; fi
	name="privileges: reload as root: config, certificate and key read again as nobody: applied"
	ctl "$C/drop-rl.out" reload
	if [ "$RC" = 0 ] && grep -q '^reload applied: generation 2$' "$C/drop-rl.out"; then ok "$name"; else
		not_ok "$name" "exit $RC" "$C/drop-rl.out" "$C/drop-rl.out.err" "$DAEMON_LOG"; fi
	name="privileges: a reload when nobody cannot read tls_key is refused, naming the key; the daemon serves on"
	chmod 600 "$D/certs/server.key"
	ctl "$C/drop-rl-key.out" reload
	chmod 640 "$D/certs/server.key"
	if [ "$RC" != 1 ]; then
		not_ok "$name" "exit $RC, want 1" "$C/drop-rl-key.out" "$C/drop-rl-key.out.err"
	elif ! grep -q "server.key" "$C/drop-rl-key.out.err"; then
		not_ok "$name" "the report does not name the key file" "$C/drop-rl-key.out.err"
	elif ! ar_port_open "$AR_TLS_PORT"; then
		not_ok "$name" "the TLS listener is gone" "$DAEMON_LOG"
	else
		ok "$name"
	fi
	relay "privileges: after the refused reload, a message still relays"

	ar_check_daemon "privileges: the dropped daemon survived, exits 0 on SIGTERM"
	name="privileges: on stop, the dropped daemon removes its control socket"
	if [ -e "$CTL_SOCK" ]; then not_ok "$name" "$CTL_SOCK is still there"; else
		ok "$name"; fi
	ar_stop "$D_LISTENER"

	# The same files, the daemon started as nobody (systemd User=): no
	# drop; the token file the dropped daemon rotated must still work.
	cat >"$W/asnobody.sh" <<EOF
#!/bin/sh
exec setpriv --reuid=nobody --regid=nogroup --clear-groups "$AUTHRELAY" "\$@"
EOF
	chmod 755 "$W/asnobody.sh"
	AUTHRELAY=$W/asnobody.sh ar_run_daemon "$D/authrelay-asnobody.log"
	name="privileges: started as nobody with user = nobody: runs as nobody"
	got=$(grep -E '^(Uid|Gid):' "/proc/$DAEMON_PID/status" | awk '{print $2,$3,$4,$5}' | tr '\n' ' ')
	if [ "$got" = "$NOBODY_UID $NOBODY_UID $NOBODY_UID $NOBODY_UID $NOGROUP_GID $NOGROUP_GID $NOGROUP_GID $NOGROUP_GID " ]; then
		ok "$name"
	else
		not_ok "$name" "Uid/Gid: $got" "$DAEMON_LOG"
	fi
	relay "privileges: started as nobody, it relays with the token the dropped daemon stored"
	ar_check_daemon "privileges: the daemon started as nobody exits 0 on SIGTERM"

	name="privileges: started as nobody with user = root: refuses, 'cannot become root'"
	sed -e 's/^user = nobody$/user = root/' -e '/^group = /d' "$DAEMON_CONF" \
	    >"$D/userroot.ini"
	chown root:nogroup "$D/userroot.ini"
	chmod 640 "$D/userroot.ini"
	as_nobody timeout 10 "$AUTHRELAY" -c "$D/userroot.ini" \
	    >/dev/null 2>"$D/authrelay-userroot.log"
	RC=$?
	if [ "$RC" = 1 ] && grep -q "cannot become root" "$D/authrelay-userroot.log"; then
		ok "$name"
	else
		not_ok "$name" "exit $RC (124: it kept running), want 1" "$D/authrelay-userroot.log"
	fi

	name="privileges: started as root without [server] user: exit 1, names '[server] user'"
	AR_STARTTLS_PORT=$(ar_free_port)
	AR_TLS_PORT=$(ar_free_port)
	mkdir -p "$AR_TMP/nouser"
	AR_NO_USER=1 ar_write_config "$AR_TMP/nouser/authrelay.ini" nouser
	timeout 10 "$AUTHRELAY" -c "$AR_TMP/nouser/authrelay.ini" \
	    >/dev/null 2>"$AR_TMP/nouser/authrelay.log"
	RC=$?
	f=$AR_TMP/nouser/authrelay.log
	if [ "$RC" = 1 ] && grep -qF "$AR_TMP/nouser/authrelay.ini: [server] user: missing: started as root" "$f"; then
		ok "$name"
	else
		not_ok "$name" "exit $RC (124: it kept running), want 1" "$f"
	fi
	name="privileges: started as root without user: nothing listens"
	if ar_port_open "$AR_STARTTLS_PORT" || [ -e "$AR_TMP/nouser/control" ]; then
		not_ok "$name" "port $AR_STARTTLS_PORT open or control socket left"
	else
		ok "$name"
	fi

	name="privileges: user = nobody with a state_dir owned by root: exit 1, says to chown it to nobody"
	mkdir -p "$AR_TMP/rootstate"
	chmod 755 "$AR_TMP/rootstate"
	AR_CERTS=$D/certs AR_CA=$D/certs/ca.pem AR_NO_USER=1 \
	    ar_write_config "$AR_TMP/rootstate/authrelay.ini" rootstate \
	    "user = nobody" "group = nogroup"
	timeout 10 "$AUTHRELAY" -c "$AR_TMP/rootstate/authrelay.ini" \
	    >/dev/null 2>"$AR_TMP/rootstate/authrelay.log"
	RC=$?
	f=$AR_TMP/rootstate/authrelay.log
	if [ "$RC" != 1 ]; then
		not_ok "$name" "exit $RC (124: it kept running), want 1" "$f"
	elif ! grep -q "state_dir $AR_TMP/rootstate/state is owned by uid 0, not by nobody (run: chown nobody $AR_TMP/rootstate/state)" "$f"; then
		not_ok "$name" "no 'state_dir ... owned by uid 0, not by nobody (run: chown nobody ...)'" "$f"
	else
		ok "$name"
	fi
fi

ar_check_secrets "t_service: no secret in the daemon logs"
ar_check_oauth_secrets "t_service: no secret in status, reload and notify output" \
    "$C"/* "$W"/*.notify
ar_check_sanitizers "t_service: no sanitizer report in the daemon logs or command output" \
    "$C"/*
ar_summary
