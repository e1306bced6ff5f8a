#!/usr/bin/env bash
# t_metrics: [server] metrics over HTTP, with curl. The scrape passes
# promtool check metrics; the counters move by exactly what the traffic did
# (two messages relayed, one wrong password, one message the provider
# rejects with 552 at the end of DATA); tokens, credential and readiness
# follow a refused refresh token (/readyz 503 with the account named);
# /healthz, 404 and 405; metrics_networks refuses a client outside it at
# accept; metrics_per_user = no (by reload) drops the per-user series; no
# label holds a client address and no scrape holds a secret; authrelay check
# refuses metrics on an SMTP listener's address. Then what is shipped for
# monitoring: the alert rules (promtool check rules, promtool test rules with
# alerts_test.yml) and the Grafana dashboard (JSON, its variables, its PromQL
# parsed by promtool), whose every authrelay_ / process_ series must be in a
# real scrape.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

ar_init
for b in curl promtool; do
	command -v "$b" >/dev/null || ar_die "$b is not installed (scripts/deps.sh)"
done
W=$AR_TMP/work
mkdir -p "$W"
export AR_W=$W
DASH=$AR_TOP/etc/grafana/authrelay-dashboard.json
ALERTS=$AR_TOP/etc/prometheus/authrelay-alerts.yml
ALERTS_TEST=$AR_LIB_DIR/alerts_test.yml

# prom.py: the text format, parsed. parse(path) -> {(name, labels): value}
# with labels a sorted tuple of (key, value); val(d, name, **labels) (None
# if absent); names(path): sample names and the families of # TYPE lines.
cat >"$W/prom.py" <<'EOF'
import re

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$')
LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?')


def labels(text):
    out, pos = [], 0
    while pos < len(text):
        m = LABEL.match(text, pos)
        if not m:
            raise ValueError("bad label set {%s}" % text)
        out.append((m.group(1), m.group(2)))
        pos = m.end()
    return tuple(sorted(out))


def parse(path):
    d = {}
    for line in open(path):
        line = line.rstrip("\n")
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if not m:
            raise ValueError("bad sample line %r" % line)
        d[(m.group(1), labels(m.group(2) or ""))] = float(m.group(3))
    return d


def val(d, name, **lab):
    return d.get((name, tuple(sorted(lab.items()))))


def series(d, name):
    """{labels dict as a sorted tuple: value} of one sample name."""
    return {l: v for (n, l), v in d.items() if n == name}


def names(path):
    s = set()
    for line in open(path):
        if line.startswith("# TYPE "):
            s.add(line.split()[2])
        elif line and not line.startswith("#"):
            m = SAMPLE.match(line.rstrip("\n"))
            if m:
                s.add(m.group(1))
    return s
EOF

# --- helpers -----------------------------------------------------------------

# http OUT [CURL ARGS...] PATH: curl to the current metrics port; the body
# in OUT, the headers in OUT.h, curl's errors in OUT.err. Sets code (the
# HTTP status, 000: no answer) and CURL_RC (curl's exit status).
http() {
	local out=$1 path
	shift
	path=${*: -1}
	set -- "${@:1:$#-1}"
	code=$(curl -sS --max-time 10 -D "$out.h" -o "$out" -w '%{http_code}' \
	    "$@" "http://127.0.0.1:$MPORT$path" 2>"$out.err")
	CURL_RC=$?
}

# scrape FILE: GET /metrics into FILE; exit 0 on a 200.
scrape() {
	http "$1" /metrics
	[ "$code" = 200 ]
}

# promtool_ok NAME FILE: promtool check metrics passes on the scrape.
promtool_ok() {
	local out=$W/promtool.$RANDOM
	if promtool check metrics <"$2" >"$out" 2>&1; then
		ok "$1"
	else
		not_ok "$1" "promtool check metrics: $(head -n 3 "$out" | tr '\n' ' ')" "$out"
	fi
}

# wait_idle FILE: scrape into FILE until authrelay_sessions_open is 0 (the
# sessions of the cases before have ended and counted), 5 s at most.
wait_idle() {
	local n=50
	while :; do
		scrape "$1" && grep -qx 'authrelay_sessions_open 0' "$1" && return 0
		[ "$n" -gt 0 ] || return 1
		n=$((n - 1))
		sleep 0.1
	done
}

# --- the daemon ----------------------------------------------------------------

ar_start_mock mock
MPORT=$(ar_free_port)
LAN_PORT=$(ar_free_port)
while [ "$LAN_PORT" = "$MPORT" ]; do LAN_PORT=$(ar_free_port); done
export LAN_PORT
# Every session logs in at the provider (no idle connection to reuse), so
# that a rejected token forces a refresh; the gateway lets a message over
# the mock's SIZE through, so that the mock answers 552 at the end of DATA.
AR_SERVER_EXTRA="upstream_idle_timeout = 0
max_message_size = 40000000" AR_SECTIONS="[listener lan]
address = 127.0.0.1:$LAN_PORT
mode = starttls" ar_start_daemon relay "metrics = 127.0.0.1:$MPORT"
R_LOG=$DAEMON_LOG
n=50
until ar_port_open "$LAN_PORT" && ar_port_open "$MPORT"; do
	[ "$n" -gt 0 ] || ar_die "no listener on $LAN_PORT or no metrics on $MPORT"
	n=$((n - 1))
	sleep 0.1
done

# --- the scrape before any traffic ------------------------------------------------

S0=$W/scrape0.txt
name="GET /metrics: 200, Content-Type text/plain; version=0.0.4"
# The start-up probes of the listeners must have been counted first.
sleep 0.3
if ! wait_idle "$S0"; then
	not_ok "$name" "no 200 with sessions_open 0 (curl exit $CURL_RC)" "$S0.err" "$S0"
elif ! grep -qi '^Content-Type: text/plain; version=0.0.4; charset=utf-8' "$S0.h"; then
	not_ok "$name" "headers: $(tr -d '\r' <"$S0.h" | tr '\n' '|')"
else
	ok "$name"
fi
promtool_ok "the first scrape passes promtool check metrics" "$S0"

# --- traffic ---------------------------------------------------------------------

ar_pycase "traffic: two messages relayed (one on the named listener from 127.0.0.2, 2 recipients), one wrong password (127.0.0.3, TLS listener), one message of 36 MB the mock rejects with 552" <<'EOF'
import json, os, time, arlib

lens = {}
# 1: STARTTLS listener, from 127.0.0.1, one recipient.
m1 = arlib.message("metrics one", ["First message.", ".dot line"])
c = arlib.session()
c.expect("MAIL FROM:<%s>" % arlib.USER, 250)
c.expect("RCPT TO:<rcpt@example.org>", 250)
d = arlib.finish_message(c, m1, "rcpt@example.org")
if d:
    raise SystemExit("message 1: " + d)
lens["m1"] = len(m1)

# 2: the listener named "lan", from 127.0.0.2, two recipients.
m2 = arlib.message("metrics two", ["Second message, two recipients."])
c = arlib.Client(int(os.environ["LAN_PORT"]), source="127.0.0.2")
c.ehlo()
c.starttls()
c.ehlo()
r = c.login()
if r.code != 235:
    raise SystemExit("message 2: AUTH -> %r" % r.lines)
c.expect("MAIL FROM:<%s>" % arlib.USER, 250)
c.expect("RCPT TO:<a@example.org>", 250)
c.expect("RCPT TO:<b@example.org>", 250)
before = arlib.msgs()
c.expect("DATA", 354)
c.send(arlib.stuff(m2))
r = c.reply()
c.quit()
if r.code != 250:
    raise SystemExit("message 2: end of DATA -> %r" % r.lines)
new = arlib.new_msgs(before)
if len(new) != 1:
    raise SystemExit("message 2: the mock stored %d messages" % len(new))
d = arlib.check_stored(new[0], m2, arlib.USER, ["a@example.org", "b@example.org"])
if d:
    raise SystemExit("message 2: " + d)
lens["m2"] = len(m2)

# 3: a wrong password on the implicit-TLS listener, from 127.0.0.3.
c = arlib.Client(arlib.tls_port(), tls=True, source="127.0.0.3")
c.ehlo()
r = c.login(password=arlib.PASS + "-wrong")
c.quit()
if r.code != 535:
    raise SystemExit("wrong password: AUTH -> %r, want 535" % r.lines)

# 4: over the mock's SIZE (35882577), under max_message_size: 552 at the
# end of DATA, from the provider.
big = arlib.message("metrics big", []) + (b"x" * 998 + b"\r\n") * 36000
before = arlib.msgs()
c = arlib.session()
c.expect("MAIL FROM:<%s>" % arlib.USER, 250)
c.expect("RCPT TO:<rcpt@example.org>", 250)
c.expect("DATA", 354)
c.send(arlib.stuff(big))
r = c.reply()
c.quit()
if r.code != 552 or "mock" not in r.text:
    raise SystemExit("big message: end of DATA -> %r, want the mock's 552" % r.lines)
if arlib.msgs() != before:
    raise SystemExit("big message: the mock stored it")
lens["big"] = len(big)
json.dump(lens, open(os.path.join(os.environ["AR_W"], "traffic.json"), "w"))
EOF

S1=$W/scrape1.txt
name="after the traffic: a scrape with every session ended"
if wait_idle "$S1"; then ok "$name"; else
	not_ok "$name" "sessions_open never 0, or no 200" "$S1" "$R_LOG"; fi
promtool_ok "the scrape after traffic passes promtool check metrics" "$S1"

AR_S0=$S0 AR_S1=$S1 AR_STARTTLS=$AR_STARTTLS_PORT AR_TLS=$AR_TLS_PORT \
    ar_pycases "counter deltas" <<'EOF'
import json, os, sys, time
sys.path.insert(0, os.environ["AR_W"])
import arlib, prom

rep = arlib.Report()
s0, s1 = prom.parse(os.environ["AR_S0"]), prom.parse(os.environ["AR_S1"])
lens = json.load(open(os.path.join(os.environ["AR_W"], "traffic.json")))
user = os.environ["AR_USER"]
lst = {"starttls": "127.0.0.1:" + os.environ["AR_STARTTLS"],
       "tls": "127.0.0.1:" + os.environ["AR_TLS"], "lan": "lan"}


def deltas(name, want, key):
    """Every series of name: its delta is want[labels[key]] (0 if not
    named). None, or what differs."""
    bad = []
    have = prom.series(s1, name)
    if not have:
        return "no %s series" % name
    seen = set()
    for lab, v in sorted(have.items()):
        k = dict(lab)[key] if key else lab
        seen.add(k)
        d = v - s0.get((name, lab), 0)
        w = want.get(k, 0)
        if d != w:
            bad.append("%s%s: +%g, want +%g" % (name, dict(lab), d, w))
    for k in want:
        if k not in seen:
            bad.append("%s: no series with %s=%r" % (name, key, k))
    return "; ".join(bad) or None


def auth():
    bad = []
    for lab, v in prom.series(s1, "authrelay_auth_total").items():
        dl = dict(lab)
        d = v - s0.get(("authrelay_auth_total", lab), 0)
        w = {("plain", "ok"): 3, ("plain", "bad_password"): 1}.get(
            (dl["mechanism"], dl["result"]), 0)
        if d != w:
            bad.append("%r: +%g, want +%g" % (dl, d, w))
    if len(prom.series(s1, "authrelay_auth_total")) != 14:
        bad.append("%d series, want 2 mechanisms x 7 results"
                   % len(prom.series(s1, "authrelay_auth_total")))
    return "; ".join(bad) or None


rep.case('authrelay_auth_total: {mechanism="plain",result="ok"} +3, {result="bad_password"} +1, the other 12 +0', auth)


def acct(name, want):
    return deltas(name, want, "result")


rep.case('authrelay_messages_total{account="sales"}: relayed +2, rejected +1, failed +0',
         acct, "authrelay_messages_total", {"relayed": 2, "rejected": 1})
rep.case("authrelay_recipients_total: relayed +3, rejected +1, failed +0",
         acct, "authrelay_recipients_total", {"relayed": 3, "rejected": 1})
rep.case("authrelay_message_bytes_total: relayed +%d (the two messages), rejected +%d (the big one)"
         % (lens["m1"] + lens["m2"], lens["big"]),
         acct, "authrelay_message_bytes_total",
         {"relayed": lens["m1"] + lens["m2"], "rejected": lens["big"]})
rep.case("authrelay_provider_replies_total by class: 2xx +9 (MAIL, RCPT, end of DATA), 3xx +3 (354), 5xx +1 (552), others +0",
         deltas, "authrelay_provider_replies_total",
         {"2xx": 9, "3xx": 3, "5xx": 1}, "class")
rep.case("authrelay_connections_total by listener: %s +2, %s +1, lan +1" % (lst["starttls"], lst["tls"]),
         deltas, "authrelay_connections_total",
         {lst["starttls"]: 2, lst["tls"]: 1, "lan": 1}, "listener")


def no_refusals():
    bad = []
    for n in ("authrelay_connections_refused_total",
              "authrelay_tls_handshake_failures_total"):
        ser = prom.series(s1, n)
        if len(ser) != {"authrelay_connections_refused_total": 12,
                        "authrelay_tls_handshake_failures_total": 9}[n]:
            bad.append("%s: %d series, want 3 listeners x reasons" % (n, len(ser)))
        for lab, v in ser.items():
            if v != s0.get((n, lab), 0):
                bad.append("%s%s moved" % (n, dict(lab)))
    return "; ".join(bad) or None


rep.case("connections refused and TLS handshake failures: a series per listener and reason, none moved", no_refusals)
rep.case('authrelay_token_refreshes_total{account="sales"}: success +1, the others +0',
         acct, "authrelay_token_refreshes_total", {"success": 1})


def hist_counts():
    bad = []
    for n in ("authrelay_provider_slot_wait_seconds",
              "authrelay_data_reply_seconds"):
        c0 = prom.val(s0, n + "_count", account="sales")
        c1 = prom.val(s1, n + "_count", account="sales")
        inf = prom.val(s1, n + "_bucket", account="sales", le="+Inf")
        if c0 is None or c1 is None or c1 - c0 != 3:
            bad.append("%s_count %r -> %r, want +3" % (n, c0, c1))
        if inf != c1:
            bad.append("%s_bucket{le=\"+Inf\"} %r != _count %r" % (n, inf, c1))
    return "; ".join(bad) or None


rep.case("authrelay_provider_slot_wait_seconds_count +3 and authrelay_data_reply_seconds_count +3 (one per provider connection / end of DATA), +Inf bucket = count", hist_counts)


def users():
    bad = []
    d = deltas("authrelay_user_messages_total", {"relayed": 2, "rejected": 1}, "result")
    if d:
        bad.append(d)
    d = deltas("authrelay_user_auth_total", {"success": 3, "failure": 1}, "result")
    if d:
        bad.append(d)
    for n in ("authrelay_user_messages_total", "authrelay_user_auth_total"):
        us = {dict(l)["user"] for l in prom.series(s1, n)}
        if us != {user}:
            bad.append("%s users %r, want {%r}" % (n, us, user))
    return "; ".join(bad) or None


rep.case("authrelay_user_messages_total{user=%s}: relayed +2, rejected +1; authrelay_user_auth_total: success +3, failure +1" % user, users)


def tokens():
    now = time.time()
    exp = prom.val(s1, "authrelay_token_expiry_timestamp_seconds", account="sales")
    age = prom.val(s1, "authrelay_refresh_token_age_seconds", account="sales")
    if exp is None or not now + 3000 < exp <= now + 3600:
        return "token expiry %r, want now + about 3599 s (now %d)" % (exp, now)
    if age is None or not 0 <= age < 120:
        return "refresh token age %r, want present and under 120 s" % age
    if prom.val(s1, "authrelay_account_needs_authorize", account="sales") != 0 or \
       prom.val(s1, "authrelay_account_credential_ok", account="sales") != 1:
        return "needs_authorize / credential_ok not 0 / 1"


rep.case("after a message: token expiry in the future (about an hour), refresh-token age present and small, needs_authorize 0, credential_ok 1", tokens)


def gauges():
    bad = []
    if prom.val(s1, "authrelay_sessions_open") != 0:
        bad.append("sessions_open %r" % prom.val(s1, "authrelay_sessions_open"))
    ses = {dict(l)["listener"]: v for l, v in prom.series(s1, "authrelay_sessions").items()}
    if ses != {lst["starttls"]: 0, lst["tls"]: 0, "lan": 0}:
        bad.append("authrelay_sessions %r" % ses)
    if prom.val(s1, "authrelay_provider_waiting", account="sales") != 0:
        bad.append("provider_waiting not 0")
    if prom.val(s1, "authrelay_provider_connections", account="sales", state="busy") != 0:
        bad.append("a busy provider connection after every session ended")
    ver = open(os.path.join(os.environ["AR_TOP"], "VERSION")).read().strip()
    if prom.val(s1, "authrelay_build_info", version=ver) != 1:
        bad.append("no authrelay_build_info{version=%r} 1" % ver)
    if prom.val(s1, "authrelay_config_generation") != 1:
        bad.append("config_generation %r" % prom.val(s1, "authrelay_config_generation"))
    for n in ("process_cpu_seconds_total", "process_resident_memory_bytes",
              "process_open_fds", "process_max_fds", "process_start_time_seconds"):
        v = prom.val(s1, n)
        if v is None or v <= 0:
            bad.append("%s %r" % (n, v))
    st = prom.val(s1, "process_start_time_seconds")
    if st is not None and not time.time() - 600 < st <= time.time():
        bad.append("process_start_time_seconds %r is not a recent time" % st)
    return "; ".join(bad) or None


rep.case("gauges at rest: no session (all and per listener), no busy or waiting provider connection, build_info, generation 1, process series", gauges)


def no_client_address():
    allowed = {"listener": set(lst.values()), "account": {"sales"},
               "user": {user}}
    bad = []
    for (n, lab), v in s1.items():
        for k, x in lab:
            if x in ("127.0.0.1", "127.0.0.2", "127.0.0.3", "::1") or \
               "127.0.0.2" in x or "127.0.0.3" in x:
                bad.append("%s{%s=%r}" % (n, k, x))
            elif k in allowed and x not in allowed[k]:
                bad.append("%s{%s=%r}: not a name from the config" % (n, k, x))
    return "; ".join(sorted(set(bad))[:5]) or None


rep.case("no label holds a client address (127.0.0.2 and 127.0.0.3 came in); listener, account and user labels are config names", no_client_address)
rep.exit()
EOF

# --- the login penalty ------------------------------------------------------------

# 127.0.0.3's one failure put it under a penalty of 1 s, long gone. Three
# wrong passwords (AUTH LOGIN) on one connection from 127.0.0.4: the second
# waits 1 s, the third 2 s, and then a penalty of 4 s is in force.
ar_pycase "three wrong passwords (AUTH LOGIN) from 127.0.0.4 on one connection: 535, 535, then 535 or 421" <<'EOF'
import arlib
c = arlib.Client(arlib.starttls_port(), source="127.0.0.4")
c.ehlo()
c.starttls()
c.ehlo()
codes = []
for i in range(3):
    r = c.login(password="not-it-%d" % i, mech="LOGIN")
    codes.append(r.code)
c.close()
if codes[:2] != [535, 535] or codes[2] not in (535, 421):
    raise SystemExit("AUTH replies %r" % codes)
EOF
S1B=$W/scrape1b.txt
name="a scrape while that penalty is in force"
if wait_idle "$S1B"; then ok "$name"; else
	not_ok "$name" "no 200 with sessions_open 0" "$S1B"; fi
AR_S1=$S1 AR_S1B=$S1B ar_pycase 'penalty: authrelay_auth_penalty_addresses 1 (127.0.0.4), table_entries 2 (127.0.0.3 and .4) of table_max 65536, no eviction; auth_total{mechanism="login",result="bad_password"} +3, user_auth_total failure +3' <<'EOF'
import os, sys
sys.path.insert(0, os.environ["AR_W"])
import prom
s1, s = prom.parse(os.environ["AR_S1"]), prom.parse(os.environ["AR_S1B"])
got = {k: prom.val(s, k) for k in (
    "authrelay_auth_penalty_addresses", "authrelay_auth_penalty_table_entries",
    "authrelay_auth_penalty_table_max", "authrelay_auth_penalty_evictions_total")}
want = {"authrelay_auth_penalty_addresses": 1,
        "authrelay_auth_penalty_table_entries": 2,
        "authrelay_auth_penalty_table_max": 65536,
        "authrelay_auth_penalty_evictions_total": 0}
if got != want:
    raise SystemExit("got %r, want %r" % (got, want))
d = {}
for lab, v in prom.series(s, "authrelay_auth_total").items():
    x = v - s1.get(("authrelay_auth_total", lab), 0)
    if x:
        d["%s/%s" % (dict(lab)["mechanism"], dict(lab)["result"])] = x
if d != {"login/bad_password": 3}:
    raise SystemExit("auth_total deltas %r, want login/bad_password +3 alone" % d)
u = os.environ["AR_USER"]
x = prom.val(s, "authrelay_user_auth_total", user=u, result="failure") - \
    prom.val(s1, "authrelay_user_auth_total", user=u, result="failure")
if x != 3:
    raise SystemExit("user_auth_total failure +%g, want +3" % x)
EOF

# --- HTTP: health, readiness, 404, 405 ----------------------------------------------

name="GET /healthz: 200 ok"
http "$W/healthz.txt" /healthz
if [ "$code" = 200 ] && [ "$(cat "$W/healthz.txt")" = ok ]; then ok "$name"; else
	not_ok "$name" "status $code, body '$(head -c 100 "$W/healthz.txt")'"; fi
name="GET /readyz while every account has a credential: 200 ready"
http "$W/readyz-ok.txt" /readyz
if [ "$code" = 200 ] && [ "$(cat "$W/readyz-ok.txt")" = ready ]; then ok "$name"; else
	not_ok "$name" "status $code, body '$(head -c 200 "$W/readyz-ok.txt")'"; fi
name="HEAD /metrics: 200, headers only"
# With -I, curl writes the headers where the body would go: nothing else.
http "$W/head.txt" -I /metrics
if [ "$code" = 200 ] && cmp -s "$W/head.txt" "$W/head.txt.h"; then ok "$name"; else
	not_ok "$name" "status $code (curl exit $CURL_RC)" "$W/head.txt.err" "$W/head.txt"; fi
for p in / /nope /metrics/ /metricsx /healthz/x; do
	name="GET $p: 404"
	http "$W/404.txt" "$p"
	if [ "$code" = 404 ]; then ok "$name"; else
		not_ok "$name" "status $code (curl exit $CURL_RC)"; fi
done
for m in POST PUT DELETE OPTIONS; do
	name="$m /metrics: 405"
	http "$W/405-$m.txt" -X "$m" /metrics
	if [ "$code" = 405 ]; then ok "$name"; else
		not_ok "$name" "status $code (curl exit $CURL_RC)"; fi
done
name="POST /readyz with a body: 405, and the daemon serves on"
http "$W/405-body.txt" --data-binary 'x=1' /readyz
c405=$code
rc405=$CURL_RC
http "$W/healthz2.txt" /healthz
if [ "$c405" = 405 ] && [ "$code" = 200 ]; then
	ok "$name"
elif [ "$c405" = 000 ] && [ "$code" = 200 ]; then
	# proxy/httpd.c, httpd_request: "if (*upload_data_size != 0) return
	# MHD_NO;" comes before the method check.
	not_ok "$name" "no HTTP response at all (curl exit $rc405): a request with a body is dropped before its method is checked; /healthz then $code"
else
	not_ok "$name" "status $c405, then /healthz $code" "$W/405-body.txt.err"
fi

# --- metrics_per_user = no, by reload ------------------------------------------------

name="reload with metrics_per_user = no: applied, generation 2"
sed "s/^metrics = .*/&\nmetrics_per_user = no/" "$DAEMON_CONF" >"$W/nouser.ini"
cp "$W/nouser.ini" "$DAEMON_CONF.new" && chmod 600 "$DAEMON_CONF.new" &&
    mv -f "$DAEMON_CONF.new" "$DAEMON_CONF"
timeout 60 "$AUTHRELAY" -c "$DAEMON_CONF" reload >"$W/reload.out" 2>&1
RC=$?
if [ "$RC" = 0 ] && grep -q '^reload applied: generation 2$' "$W/reload.out"; then ok "$name"; else
	not_ok "$name" "exit $RC" "$W/reload.out" "$R_LOG"; fi
S2=$W/scrape2.txt
name="after the reload: no authrelay_user_ series (nor their HELP and TYPE)"
if ! scrape "$S2"; then
	not_ok "$name" "no 200 (curl exit $CURL_RC)" "$S2.err"
elif grep -q 'authrelay_user_' "$S2"; then
	not_ok "$name" "found: $(grep -m 2 'authrelay_user_' "$S2" | tr '\n' ' ')"
else
	ok "$name"
fi
promtool_ok "the scrape after the reload passes promtool check metrics" "$S2"
AR_S1=$S1B AR_S2=$S2 ar_pycase "after the reload: generation 2, reloads_total applied 1 refused 0; the account and auth counters kept their values" <<'EOF'
import os, sys
sys.path.insert(0, os.environ["AR_W"])
import prom
s1, s2 = prom.parse(os.environ["AR_S1"]), prom.parse(os.environ["AR_S2"])
if prom.val(s2, "authrelay_config_generation") != 2:
    raise SystemExit("generation %r" % prom.val(s2, "authrelay_config_generation"))
r = (prom.val(s2, "authrelay_reloads_total", result="applied"),
     prom.val(s2, "authrelay_reloads_total", result="refused"))
if r != (1, 0):
    raise SystemExit("reloads_total applied, refused: %r, want (1, 0)" % (r,))
for n in ("authrelay_messages_total", "authrelay_recipients_total",
          "authrelay_message_bytes_total", "authrelay_provider_replies_total",
          "authrelay_auth_total", "authrelay_connections_total",
          "authrelay_data_reply_seconds_count"):
    a, b = prom.series(s1, n), prom.series(s2, n)
    if a != b:
        raise SystemExit("%s changed across the reload: %r -> %r" % (n, a, b))
EOF

# --- a refused refresh token: credential, needs authorize, readiness -----------------

# The provider rejects the cached token; the refresh that follows is refused.
ar_mock_control "smtp-reject 1" "fail 1 invalid_grant"
ar_pycase "the provider rejects the token and the token endpoint refuses the refresh (invalid_grant): AUTH gets 454" <<'EOF'
import arlib
r, took = arlib.auth_reply()
if r.code != 454:
    raise SystemExit("AUTH -> %r, want 454" % r.lines)
EOF
ar_mock_control
name="GET /readyz after invalid_grant: 503, application/json, {\"ready\":false,\"reason\":...} naming the account"
http "$W/readyz-bad.txt" /readyz
if [ "$code" != 503 ]; then
	not_ok "$name" "status $code, body '$(head -c 200 "$W/readyz-bad.txt")'"
elif ! grep -qi '^Content-Type: application/json' "$W/readyz-bad.txt.h"; then
	not_ok "$name" "headers: $(tr -d '\r' <"$W/readyz-bad.txt.h" | tr '\n' '|')"
elif ! python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
assert set(j) == {"ready", "reason"} and j["ready"] is False
assert j["reason"] == "account sales needs authorize", j["reason"]
' "$W/readyz-bad.txt" 2>"$W/readyz-bad.py"; then
	not_ok "$name" "body '$(head -c 200 "$W/readyz-bad.txt")': $(tail -n 1 "$W/readyz-bad.py")"
else
	ok "$name"
fi
name="GET /healthz while not ready: still 200"
http "$W/healthz3.txt" /healthz
if [ "$code" = 200 ]; then ok "$name"; else not_ok "$name" "status $code"; fi
S3=$W/scrape3.txt
name="the scrape when an account needs authorize"
if wait_idle "$S3"; then ok "$name"; else
	not_ok "$name" "no 200 with sessions_open 0" "$S3"; fi
promtool_ok "that scrape passes promtool check metrics" "$S3"
AR_S2=$S2 AR_S3=$S3 ar_pycase 'after invalid_grant: authrelay_account_needs_authorize{account="sales"} 1, credential_ok 0, token_refreshes_total{result="permanent"} +1 (invalid_grant and kin), auth_total{result="provider"} +1' <<'EOF'
import os, sys
sys.path.insert(0, os.environ["AR_W"])
import prom
s2, s3 = prom.parse(os.environ["AR_S2"]), prom.parse(os.environ["AR_S3"])
got = (prom.val(s3, "authrelay_account_needs_authorize", account="sales"),
       prom.val(s3, "authrelay_account_credential_ok", account="sales"))
if got != (1, 0):
    raise SystemExit("needs_authorize, credential_ok: %r, want (1, 0)" % (got,))
d = {}
for lab, v in prom.series(s3, "authrelay_token_refreshes_total").items():
    d[dict(lab)["result"]] = v - s2.get(("authrelay_token_refreshes_total", lab), 0)
if d != {"success": 0, "transient": 0, "permanent": 1, "refused": 0}:
    raise SystemExit("token_refreshes_total deltas %r, want permanent +1 alone" % d)
a = prom.val(s3, "authrelay_auth_total", mechanism="plain", result="provider") - \
    prom.val(s2, "authrelay_auth_total", mechanism="plain", result="provider")
if a != 1:
    raise SystemExit('auth_total{result="provider"} +%g, want +1' % a)
EOF
cp "$DAEMON_CONF" "$W/relay.ini"
ar_check_daemon "the daemon with metrics survived, exits 0 on SIGTERM"

# --- metrics_networks: a client outside is refused at accept ---------------------------

MPORT=$(ar_free_port)
ar_start_daemon net "metrics = 127.0.0.1:$MPORT" "metrics_networks = 10.0.0.0/8"
n=50
until ar_port_open "$MPORT"; do
	[ "$n" -gt 0 ] || ar_die "no metrics listener on $MPORT"
	n=$((n - 1))
	sleep 0.1
done
name="metrics_networks = 10.0.0.0/8: curl from 127.0.0.1 gets no HTTP response (connected, then closed)"
http "$W/outside.txt" /metrics
# 52: empty reply, 56: connection reset; 7 would be nothing listening.
if [ "$code" = 000 ] && { [ "$CURL_RC" = 52 ] || [ "$CURL_RC" = 56 ]; } &&
    [ ! -s "$W/outside.txt" ]; then
	ok "$name"
else
	not_ok "$name" "status $code, curl exit $CURL_RC: $(cat "$W/outside.txt.err")"
fi
name="metrics_networks: /healthz refused too"
http "$W/outside-h.txt" /healthz
if [ "$code" = 000 ] && [ "$CURL_RC" != 7 ] && [ "$CURL_RC" != 28 ]; then ok "$name"; else
	not_ok "$name" "status $code, curl exit $CURL_RC"; fi
ar_check_daemon "the daemon with metrics_networks survived, exits 0 on SIGTERM"

# --- authrelay check: metrics on an SMTP listener's address ----------------------------

name="authrelay check: metrics on the STARTTLS listener's address: FILE:LINE: [server] metrics: ..., exit 1"
ar_write_config "$W/smtpaddr.ini" net "metrics = 127.0.0.1:$AR_STARTTLS_PORT"
line=$(grep -n '^metrics = ' "$W/smtpaddr.ini" | cut -d: -f1)
timeout 30 "$AUTHRELAY" -c "$W/smtpaddr.ini" check >"$W/check.out" 2>&1
RC=$?
if [ "$RC" = 1 ] && grep -q "^$W/smtpaddr.ini:$line: \[server\] metrics: .*SMTP listener" "$W/check.out"; then
	ok "$name"
else
	not_ok "$name" "exit $RC, want 1 and '$W/smtpaddr.ini:$line: [server] metrics: ... SMTP listener ...'" "$W/check.out"
fi
name="authrelay check: metrics on the implicit-TLS listener's address is refused too"
ar_write_config "$W/smtpaddr2.ini" net "metrics = 127.0.0.1:$AR_TLS_PORT"
line=$(grep -n '^metrics = ' "$W/smtpaddr2.ini" | cut -d: -f1)
timeout 30 "$AUTHRELAY" -c "$W/smtpaddr2.ini" check >"$W/check2.out" 2>&1
RC=$?
if [ "$RC" = 1 ] && grep -q "^$W/smtpaddr2.ini:$line: \[server\] metrics: " "$W/check2.out"; then
	ok "$name"
else
	not_ok "$name" "exit $RC" "$W/check2.out"
fi

# --- the alert rules and the dashboard ----------------------------------------------------

name="promtool check rules etc/prometheus/authrelay-alerts.yml"
if promtool check rules "$ALERTS" >"$W/rules.out" 2>&1; then ok "$name"; else
	not_ok "$name" "failed" "$W/rules.out"; fi
name="promtool test rules tests/integration/alerts_test.yml (NeedsAuthorize, PenaltyTableFull, and the others fire when they should)"
if (cd "$W" && promtool test rules "$ALERTS_TEST") >"$W/rules-test.out" 2>&1; then
	ok "$name"
else
	not_ok "$name" "failed" "$W/rules-test.out"
fi

AR_DASH=$DASH ar_pycase "the dashboard: valid JSON, schemaVersion >= 36, datasource variable DS_PROMETHEUS used by every panel and query, account and listener variables from label_values, unique panel ids" <<'EOF'
import json, os
d = json.load(open(os.environ["AR_DASH"]))
if d.get("schemaVersion", 0) < 36:
    raise SystemExit("schemaVersion %r" % d.get("schemaVersion"))
v = {x["name"]: x for x in d["templating"]["list"]}
ds = v.get("DS_PROMETHEUS")
if not ds or ds.get("type") != "datasource" or ds.get("query") != "prometheus":
    raise SystemExit("no datasource variable DS_PROMETHEUS of Prometheus: %r" % ds)
for k, label in (("account", "account"), ("listener", "listener")):
    q = v.get(k)
    qq = q and (q["query"]["query"] if isinstance(q["query"], dict) else q["query"])
    if not q or q["type"] != "query" or not qq.startswith("label_values(") \
            or not qq.rstrip(")").endswith(", " + label):
        raise SystemExit("variable %s: %r" % (k, q))
    if q["datasource"].get("uid") != "${DS_PROMETHEUS}":
        raise SystemExit("variable %s: datasource %r" % (k, q["datasource"]))
ids, n = set(), 0
for p in d["panels"]:
    if p["id"] in ids:
        raise SystemExit("panel id %r twice" % p["id"])
    ids.add(p["id"])
    if p["type"] == "row":
        continue
    n += 1
    if p.get("datasource", {}).get("uid") != "${DS_PROMETHEUS}":
        raise SystemExit("panel %r: datasource %r" % (p["title"], p.get("datasource")))
    if not p.get("targets") or not all(t.get("expr") for t in p["targets"]):
        raise SystemExit("panel %r: a target without expr" % p["title"])
    for t in p["targets"]:
        if t.get("datasource", {}).get("uid") != "${DS_PROMETHEUS}":
            raise SystemExit("panel %r: a target's datasource %r" % (p["title"], t.get("datasource")))
    if p["type"] == "stat" and "authorize" in p["title"]:
        st = p["fieldConfig"]["defaults"]["thresholds"]["steps"]
        if st[-1] != {"color": "red", "value": 1} or st[0]["color"] != "green":
            raise SystemExit("accounts needing authorize: thresholds %r, want red from 1" % st)
print("%d panels" % n)
EOF

# Every PromQL expression of the dashboard (Grafana's variables filled in)
# as a recording rule: promtool parses them all.
name="the dashboard's PromQL parses (promtool check rules on them as recording rules)"
AR_DASH=$DASH python3 - >"$W/dash-rules.yml" 2>"$W/dash-rules.err" <<'EOF'
import json, os
d = json.load(open(os.environ["AR_DASH"]))
exprs = [t["expr"] for p in d["panels"] for t in p.get("targets", [])]
exprs += [x["query"]["query"] if isinstance(x["query"], dict) else x["query"]
          for x in d["templating"]["list"] if x["type"] == "query"]
print("groups:\n  - name: dashboard\n    rules:")
for i, e in enumerate(exprs):
    if e.startswith("label_values("):
        # label_values(SELECTOR, label): the selector must parse.
        e = e[len("label_values("):].rsplit(",", 1)[0]
    for k, r in (("$__rate_interval", "5m"), ("$__interval", "1m"),
                 ("$job", ".*"), ("$instance", ".*"), ("$account", ".*"),
                 ("$listener", ".*")):
        e = e.replace(k, r)
    if "$" in e:
        raise SystemExit("unknown variable in %r" % e)
    print("      - record: dashboard:expr_%d\n        expr: %s" % (i, json.dumps(e)))
EOF
if [ -s "$W/dash-rules.err" ]; then
	not_ok "$name" "$(tail -n 1 "$W/dash-rules.err")"
elif promtool check rules "$W/dash-rules.yml" >"$W/dash-rules.out" 2>&1; then
	ok "$name"
else
	not_ok "$name" "promtool: $(grep -m 2 -i error "$W/dash-rules.out" | tr '\n' ' ')" "$W/dash-rules.out"
fi

AR_S1=$S1 AR_DASH=$DASH AR_ALERTS=$ALERTS ar_pycase "every authrelay_ / process_ series the dashboard and the alert rules name is in a real scrape" <<'EOF'
import os, re, sys
sys.path.insert(0, os.environ["AR_W"])
import prom
have = prom.names(os.environ["AR_S1"])
missing, used = [], set()
for f in (os.environ["AR_DASH"], os.environ["AR_ALERTS"]):
    text = open(f).read()
    for n in sorted(set(re.findall(r"\b(?:authrelay|process)_[a-z0-9_]+", text))):
        used.add(n)
        if n not in have:
            missing.append("%s in %s" % (n, os.path.basename(f)))
if missing:
    raise SystemExit("not in the scrape: " + ", ".join(missing))
fams = sorted(n for n in have if not n.endswith(("_bucket", "_sum", "_count"))
              or n[:n.rindex("_")] not in have)
unused = [f for f in fams if not any(u == f or u.startswith(f + "_") and
                                     u[len(f) + 1:] in ("bucket", "sum", "count")
                                     for u in used)]
print("%d names used; families in the scrape but not used: %s" % (len(used), ", ".join(unused) or "none"))
EOF

# --- no secret anywhere ------------------------------------------------------------------

AR_SECRETS=$AR_HASH ar_check_oauth_secrets \
    "no secret (password, its hash, refresh and access tokens, client secret) in the scrapes, the HTTP answers, the command output or the daemon logs" \
    "$W"/*.txt "$W"/*.h "$W"/*.out
ar_check_secrets "t_metrics: no secret in the daemon logs"
ar_check_sanitizers "t_metrics: no sanitizer report in the daemon logs or command output" \
    "$W"/*.out
ar_summary
