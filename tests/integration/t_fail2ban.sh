#!/usr/bin/env bash
# t_fail2ban: the fail2ban filter etc/fail2ban/authrelay.conf, run by
# Debian's fail2ban-regex against lines the real daemon wrote. Two daemons
# go through the same events: the first writes its own timestamps (its log
# file as fail2ban reads it with backend = auto), the second runs with
# JOURNAL_STREAM set, as under systemd, and writes none; its lines are then
# wrapped as syslog writes them ("Dec  8 01:10:06 host authrelay[pid]: ")
# and as fail2ban's systemd backend hands journal entries to the filter
# ("host authrelay[pid]: ", filtersystemd.py formatJournalEntry, read with
# logtype = journal as that backend sets it).
#
# The events, each from its own loopback address so that the address
# fail2ban reports can be told apart: failed logins (PLAIN and LOGIN), a
# penalty, max_auth_failures on one connection (127.0.0.1), more than
# max_connections_per_ip connections (127.0.0.3), a listener whose networks
# leave the client out (127.0.0.2), a PROXY listener whose proxy_networks
# leave it out (127.0.0.4), a garbage PROXY header from a trusted proxy
# (127.0.0.5), a failed login behind that proxy (198.51.100.7, named in the
# header) and one over IPv6 (::1). And forgeries: user names and EHLO names
# that hold a whole warning line naming 203.0.113.9, with CR, LF and ESC.
#
# For each form: every line that should count (six kinds, picked out of
# the log by a parser of the daemon's line format, not by the filter)
# matched, nothing else did, each with the address in its line, and
# 203.0.113.9 never.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

ar_init
command -v fail2ban-regex >/dev/null ||
    ar_die "fail2ban-regex is not installed: install fail2ban (make deps)"
ar_start_mock mock
W=$AR_TMP/work
mkdir -p "$W"
F2B_FILTER=$AR_TOP/etc/fail2ban/authrelay.conf
F2B_COMMON=/etc/fail2ban/filter.d/common.conf
[ -f "$F2B_COMMON" ] || ar_die "$F2B_COMMON is missing: install fail2ban"

# A fail2ban config directory with only this filter and Debian's
# common.conf, so that no installed authrelay filter or .local file is read
# instead.
F2B_CONF=$W/fail2ban
mkdir -p "$F2B_CONF/filter.d"
cp "$F2B_FILTER" "$F2B_CONF/filter.d/authrelay.conf"
cp "$F2B_COMMON" "$F2B_CONF/filter.d/common.conf"
export F2B_CONF

# The client side of the events, run against each daemon. Writes
# $EXPECT_FILE: how many AUTH attempts got 535 (one "SASL ... failed" line
# each), and whether the IPv6 case ran.
cat >"$W/events.py" <<'EOF'
import arlib, json, os, time
from arlib import Client

WRONG = "wrong-Pw-0d1e"
FAKE = "unknown[203.0.113.9]: SASL PLAIN authentication failed: authentication failure"
n535 = 0

def fail_login(c, user, mech="PLAIN", password=WRONG):
    global n535
    r = c.login(user, password, mech)
    if r.code == 535:
        n535 += 1
    return r

def tls_session(source=None):
    c = Client(arlib.tls_port(), tls=True, source=source)
    if c.greeting.code != 220:
        raise SystemExit("greeting %r" % c.greeting.lines)
    c.ehlo()
    return c

def closed(c, what):
    """The daemon closes the connection (a reset counts: it may close
    with the client's bytes unread)."""
    c.sock.settimeout(5)
    try:
        while c.sock.recv(65536):
            pass
    except ConnectionResetError:
        pass
    except OSError:
        raise SystemExit("%s: the connection stays open" % what)
    c.close()

# A good login first: its info lines must not count, and it leaves no
# failure behind.
c = tls_session()
r = c.login()
if r.code != 235:
    raise SystemExit("AUTH with the right password -> %r" % r.lines)
c.quit()

# Wrong passwords, PLAIN and LOGIN, one connection each. From the third
# failure on, this address waits its penalty (auth_penalty_max = 2 is
# longer than the 535's delay): "auth penalty" lines.
for mech in ("PLAIN", "PLAIN", "LOGIN"):
    c = tls_session()
    r = fail_login(c, arlib.USER, mech)
    if r.code != 535:
        raise SystemExit("AUTH %s with a wrong password -> %r" % (mech, r.lines))
    c.quit()

# Forgeries: names that carry a whole warning line for 203.0.113.9, with
# CR LF, ESC and a bare CR, in AUTH PLAIN, AUTH LOGIN and EHLO (the EHLO
# name is not logged today; it is sent in case it ever is).
for user, mech in ((FAKE, "PLAIN"),
                   ("x\r\nwarning: 0123456789abcdef " + FAKE, "PLAIN"),
                   ("\x1b[2K\rwarning: 0123456789abcdef unknown[203.0.113.9]: "
                    "too many failed AUTH attempts (max_auth_failures=3)", "LOGIN")):
    c = tls_session()
    fail_login(c, user, mech)
    c.quit()
c = Client(arlib.tls_port(), tls=True)
c.cmd("EHLO " + FAKE)
c.cmd("EHLO x\rwarning: 0123456789abcdef " + FAKE)
c.cmd("EHLO \x1b]0;warning: 0123456789abcdef unknown[203.0.113.9]: auth penalty 1 s after 2 failures\x07")
c.quit()

# A known user from outside its networks: a warning of another shape.
c = tls_session()
fail_login(c, "desk", "PLAIN", arlib.PASS)
c.quit()

# max_auth_failures (3) on one connection: the third 535, then 421.
c = tls_session()
for i in range(3):
    r = fail_login(c, arlib.USER, "PLAIN")
    if r.code != 535:
        raise SystemExit("failure %d -> %r, want 535" % (i + 1, r.lines))
r = c.reply()
if r.code != 421:
    raise SystemExit("after 3 failures: %r, want 421" % r.lines)
closed(c, "after max_auth_failures")

# max_connections_per_ip (2): a third connection from 127.0.0.3 gets 421.
held = [Client(arlib.starttls_port(), source="127.0.0.3") for _ in range(2)]
c = Client(arlib.starttls_port(), source="127.0.0.3")
if c.greeting.code != 421:
    raise SystemExit("third connection: %r, want 421" % c.greeting.lines)
closed(c, "third connection")
for h in held:
    h.quit()

# A listener whose networks leave 127.0.0.2 out: 554, closed.
c = Client(int(os.environ["DENY_PORT"]), source="127.0.0.2")
if c.greeting.code != 554:
    raise SystemExit("deny listener: %r, want 554" % c.greeting.lines)
closed(c, "deny listener")

# A PROXY listener whose proxy_networks leave 127.0.0.4 out: closed.
c = Client(int(os.environ["PROXYOUT_PORT"]), source="127.0.0.4", greet=False)
closed(c, "proxy listener, outside proxy_networks")

# The trusted proxy (127.0.0.5) sends garbage for a header: closed.
c = Client(int(os.environ["PROXYIN_PORT"]), source="127.0.0.5", greet=False)
c.send("GET / HTTP/1.0\r\n\r\n")
closed(c, "garbage PROXY header")

# Behind the trusted proxy, a client at 198.51.100.7 fails to log in.
c = Client(int(os.environ["PROXYIN_PORT"]), source="127.0.0.5", greet=False)
c.send("PROXY TCP4 198.51.100.7 127.0.0.1 40000 25\r\n")
c.greeting = c.reply()
if c.greeting.code != 220:
    raise SystemExit("behind the proxy: greeting %r" % c.greeting.lines)
c.ehlo()
r = fail_login(c, arlib.USER, "LOGIN")
if r.code != 535:
    raise SystemExit("behind the proxy: AUTH -> %r, want 535" % r.lines)
c.quit()

# Over IPv6, where the machine has ::1.
v6 = os.environ.get("V6_PORT", "") != ""
if v6:
    arlib.HOST = "::1"
    try:
        c = Client(int(os.environ["V6_PORT"]))
    finally:
        arlib.HOST = "127.0.0.1"
    c.ehlo()
    r = fail_login(c, arlib.USER, "PLAIN")
    if r.code != 535:
        raise SystemExit("over IPv6: AUTH -> %r, want 535" % r.lines)
    c.quit()

time.sleep(0.5)	# the last lines written
with open(os.environ["EXPECT_FILE"], "w") as f:
    json.dump({"sasl": n535, "v6": v6}, f)
EOF

# The checks of one form. Environment: FORM (its name), FORM_LOG (the
# lines fail2ban reads), ORIG_LOG (the daemon's log they were made from,
# line for line), FORM_STAMPS (1: the daemon wrote its own timestamps),
# FORM_FILTER (the filter as fail2ban-regex names it), EXPECT_FILE.
cat >"$W/check.py" <<'EOF'
import arlib, collections, ipaddress, json, os, re, subprocess

rep = arlib.Report()
form = os.environ["FORM"]
form_log = os.environ["FORM_LOG"]
flt = os.environ["FORM_FILTER"]
stamps = os.environ["FORM_STAMPS"] == "1"
expect = json.load(open(os.environ["EXPECT_FILE"]))
orig = open(os.environ["ORIG_LOG"], encoding="latin-1").read().splitlines()
lines = open(form_log, encoding="latin-1").read().splitlines()
if len(orig) != len(lines):
    raise SystemExit("%s: %d lines made from %d" % (form, len(lines), len(orig)))

# The daemon's line format (io/log.c), parsed without the filter:
# [timestamp ]level: [16-hex session ]message. The lines that count are
# warnings about a session whose message is "unknown[IP]: " and then one
# of six fixed texts.
TS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ")
KINDS = (
    ("sasl", re.compile(r"SASL (PLAIN|LOGIN) authentication failed: authentication failure")),
    ("maxfail", re.compile(r"too many failed AUTH attempts \(max_auth_failures=3\)")),
    ("maxconn", re.compile(r"too many connections from this address \(max_connections_per_ip=2\)")),
    ("penalty", re.compile(r"auth penalty \d+ s after \d+ failures")),
    ("denied", re.compile(r"access denied: not in the networks of listener deny")),
    ("badproxy", re.compile(r"bad PROXY header: .*")),
    ("notproxy", re.compile(r"not in proxy_networks of listener proxyout")),
)
HOSTS = {
    "sasl": {"127.0.0.1", "198.51.100.7", "::1"},
    "maxfail": {"127.0.0.1"}, "maxconn": {"127.0.0.3"},
    "penalty": {"127.0.0.1"}, "denied": {"127.0.0.2"},
    "badproxy": {"127.0.0.5"}, "notproxy": {"127.0.0.4"},
}

def classify(line):
    """(kind, ip) for a line that should count, else None."""
    if stamps:
        if not TS.match(line):
            return None
        line = line[25:]
    level, sep, rest = line.partition(": ")
    if level != "warning" or not sep:
        return None
    sid, rest = rest[:16], rest[16:]
    if not re.fullmatch(r"[0-9a-f]{16}", sid) or not rest.startswith(" unknown["):
        return None
    ip, sep, event = rest[len(" unknown["):].partition("]: ")
    try:
        ipaddress.ip_address(ip)
    except ValueError:
        return None
    for kind, rx in KINDS:
        if rx.fullmatch(event):
            return kind, ip
    return None

want = {}	# line index -> (kind, ip)
for i, l in enumerate(orig):
    k = classify(l)
    if k:
        want[i] = k
counts = collections.Counter(k for k, _ in want.values())

def daemon_lines():
    bad = []
    if stamps != all(TS.match(l) for l in orig if l):
        bad.append("timestamps %s, want %s" % ("mixed or absent" if stamps else "present",
                                              "on every line" if stamps else "none"))
    exact = {"sasl": expect["sasl"], "maxfail": 1, "maxconn": 1, "denied": 1,
             "badproxy": 1, "notproxy": 1}
    for kind, n in exact.items():
        if counts[kind] != n:
            bad.append("%d '%s' lines, want %d" % (counts[kind], kind, n))
    if counts["penalty"] < 1:
        bad.append("no 'auth penalty' line")
    for i, (kind, ip) in want.items():
        if ip not in HOSTS[kind]:
            bad.append("a '%s' line names %s: %s" % (kind, ip, orig[i]))
    if expect["v6"] and not any(ip == "::1" for _, ip in want.values()):
        bad.append("no line names ::1")
    # The forgeries reached the log, escaped, on lines of other shapes.
    text = "\n".join(orig)
    if text.count("203.0.113.9") < 3:
        bad.append("the forged names are not in the log (%d)" % text.count("203.0.113.9"))
    for esc in ("\\x0d\\x0awarning: 0123456789abcdef", "\\x1b[2K\\x0dwarning:"):
        if esc not in text:
            bad.append("no '%s' in the log" % esc)
    if any("203.0.113.9" in orig[i] for i in want):
        bad.append("a line that counts names 203.0.113.9")
    if bad:
        raise AssertionError("; ".join(bad[:4]))

def f2b(*args):
    p = subprocess.run(["fail2ban-regex", "-c", os.environ["F2B_CONF"]] + list(args)
                       + [form_log, flt], capture_output=True, text=True,
                       encoding="latin-1", timeout=60)
    if p.returncode != 0:
        raise AssertionError("fail2ban-regex exit %d: %s" % (
            p.returncode, (p.stderr or p.stdout).strip().splitlines()[-1:]))
    return p.stdout

def summary():
    out = f2b()
    m = re.search(r"^Lines: (\d+) lines, (\d+) ignored, (\d+) matched, (\d+) missed", out, re.M)
    if not m:
        raise AssertionError("no 'Lines:' summary in fail2ban-regex's output")
    total, ignored, matched, missed = map(int, m.groups())
    if (total, ignored, matched, missed) != (len(lines), 0, len(want), len(lines) - len(want)):
        raise AssertionError("%d lines, %d ignored, %d matched, %d missed; want %d, 0, %d, %d" % (
            total, ignored, matched, missed, len(lines), len(want), len(lines) - len(want)))

found = []	# (ip, line) as fail2ban-regex -o prints them
def matches():
    out = f2b("-o", "<ip> <msg>")
    for l in out.splitlines():
        ip, _, msg = l.partition(" ")
        found.append((ip, msg))
    got = collections.Counter(msg for _, msg in found)
    exp = collections.Counter(lines[i] for i in want)
    missed = exp - got
    extra = got - exp
    if missed or extra:
        d = []
        if missed:
            d.append("%d not matched, e.g. %r" % (sum(missed.values()), next(iter(missed))))
        if extra:
            d.append("%d matched that should not be, e.g. %r" % (sum(extra.values()), next(iter(extra))))
        raise AssertionError("; ".join(d))

def hosts():
    if not found:
        raise AssertionError("nothing matched")
    byline = {lines[i]: ip for i, (_, ip) in want.items()}
    for ip, msg in found:
        if "203.0.113.9" in ip:
            raise AssertionError("203.0.113.9 reported, from %r" % msg)
        if byline.get(msg) != ip:
            raise AssertionError("reported %s for %r (want %s)" % (ip, msg, byline.get(msg)))
    reported = {ip for ip, _ in found}
    exp = {"127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "198.51.100.7"}
    if expect["v6"]:
        exp.add("::1")
    if reported != exp:
        raise AssertionError("reported %s, want %s" % (sorted(reported), sorted(exp)))

if form.startswith("own log"):
    rep.case("%s: the daemon wrote each kind of line to ban on (%s)" % (
        form, ", ".join("%s %d" % (k, counts[k]) for k, _ in KINDS)), daemon_lines)
elif form.startswith("syslog, no timestamps"):
    rep.case("the daemon under JOURNAL_STREAM wrote the same kinds of line, without timestamps (%s)" % (
        ", ".join("%s %d" % (k, counts[k]) for k, _ in KINDS)), daemon_lines)
rep.case("%s: fail2ban-regex counts %d of %d lines matched, none ignored" % (
    form, len(want), len(lines)), summary)
rep.case("%s: exactly the lines to ban on matched (%d), no forged one" % (form, len(want)), matches)
rep.case("%s: each match's address is the client's in its line, 203.0.113.9 never" % form, hosts)
rep.exit()
EOF

# Distinct free ports for the [listener] sections.
ports=""
new_port() {
	local p
	p=$(ar_free_port)
	while case " $ports " in *" $p "*) true ;; *) false ;; esac; do
		p=$(ar_free_port)
	done
	ports="$ports $p"
	echo "$p"
}

# relay NAME: start a daemon for the events (max_connections_per_ip = 2,
# auth_penalty_max = 2) with the listeners they need, and run them.
relay() {
	local name=$1 p n
	DENY_PORT=$(new_port)
	PROXYOUT_PORT=$(new_port)
	PROXYIN_PORT=$(new_port)
	V6_PORT=""
	python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' \
	    2>/dev/null && V6_PORT=$(new_port)
	export DENY_PORT PROXYOUT_PORT PROXYIN_PORT V6_PORT
	AR_SECTIONS="[listener deny]
address = 127.0.0.1:$DENY_PORT
mode = plain
networks = 127.0.0.1/32

[listener proxyout]
address = 127.0.0.1:$PROXYOUT_PORT
mode = plain
proxy_protocol = yes
proxy_networks = 192.0.2.1/32

[listener proxyin]
address = 127.0.0.1:$PROXYIN_PORT
mode = plain
networks = 198.51.100.0/24
allow_plaintext_auth = yes
proxy_protocol = yes
proxy_networks = 127.0.0.5/32

[user desk]
password_hash = $AR_HASH
account = sales
networks = 127.0.0.2/32"
	[ -z "$V6_PORT" ] || AR_SECTIONS="$AR_SECTIONS

[listener v6]
address = [::1]:$V6_PORT
mode = plain
networks = ::1/128
allow_plaintext_auth = yes"
	ar_start_daemon "$name" "max_connections_per_ip = 2" "auth_penalty_max = 2"
	# Listening, seen without connecting: a connection from 127.0.0.1
	# would be a line to ban on (outside proxy_networks).
	for p in $DENY_PORT $PROXYOUT_PORT $PROXYIN_PORT; do
		n=$((AR_START_WAIT * 5))
		while python3 -c 'import socket, sys
socket.socket().bind(("127.0.0.1", int(sys.argv[1])))' "$p" 2>/dev/null; do
			[ "$n" -gt 0 ] || ar_die "authrelay not listening on $p"
			n=$((n - 1))
			sleep 0.2
		done
	done
	EXPECT_FILE=$DAEMON_DIR/expect.json
	export EXPECT_FILE
	AR_PY_WAIT=120 ar_pycase "$name: the events, each answered as it should be (535, 421, 554, closed)" \
	    <"$W/events.py"
	ar_check_daemon "$name: the daemon survived, exits 0 on SIGTERM"
	[ -s "$EXPECT_FILE" ] || ar_die "$name: the events did not finish"
}

# form NAME LOG ORIG STAMPS FILTER: the checks of one form.
form() {
	FORM=$1 FORM_LOG=$2 ORIG_LOG=$3 FORM_STAMPS=$4 FORM_FILTER=$5 \
	    ar_pycases "$1" <"$W/check.py"
}

# syslog_wrap PID: stdin as rsyslog's traditional file format writes it.
syslog_wrap() {
	awk -v h="$(LC_ALL=C date '+%b %e %H:%M:%S') relayhost authrelay[$1]: " \
	    '{ print h $0 }'
}

# --- the daemon's own log -----------------------------------------------------

relay stamped
OWN_LOG=$DAEMON_LOG
OWN_PID=$DAEMON_PID
OWN_EXPECT=$EXPECT_FILE
form "own log file (timestamps, backend = auto)" "$OWN_LOG" "$OWN_LOG" 1 authrelay

# --- syslog and the journal: a daemon under JOURNAL_STREAM ----------------------

export JOURNAL_STREAM=8:123456
relay journald
unset JOURNAL_STREAM
syslog_wrap "$DAEMON_PID" <"$DAEMON_LOG" >"$W/syslog.log"
form "syslog, no timestamps" "$W/syslog.log" "$DAEMON_LOG" 0 authrelay
# The systemd backend: "_HOSTNAME SYSLOG_IDENTIFIER[SYSLOG_PID]: MESSAGE",
# the entry's time passed aside, and logtype = journal.
awk -v h="relayhost authrelay[$DAEMON_PID]: " '{ print h $0 }' \
    <"$DAEMON_LOG" >"$W/journal.log"
form "journal (backend = systemd)" "$W/journal.log" "$DAEMON_LOG" 0 \
    "authrelay[logtype=journal]"
# A daemon that writes its own timestamps to syslog.
EXPECT_FILE=$OWN_EXPECT
syslog_wrap "$OWN_PID" <"$OWN_LOG" >"$W/syslog-stamped.log"
form "syslog, with authrelay's timestamps" "$W/syslog-stamped.log" "$OWN_LOG" 1 \
    authrelay

ar_check_sanitizers "t_fail2ban: no sanitizer report in the daemon logs"
ar_check_secrets "t_fail2ban: no secret in the daemon logs"
ar_summary
