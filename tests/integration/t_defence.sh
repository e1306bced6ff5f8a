#!/usr/bin/env bash
# t_defence: the daemon's defences against guessing and abuse, with real
# clients from several loopback addresses (each one another device): the
# per-address login penalty (paced checks, a success forgets, another
# address is not slowed), the failed login's reply time that tells nothing
# of the hash, max_auth_failures, max_connections_per_ip, log escaping of
# client bytes, NUL bytes in message data, MAIL's AUTH= parameter, the
# client timeouts (TLS handshake, auth_timeout, command_timeout that bytes
# do not move, data_timeout per read) and upstream_hold_timeout; the PROXY
# protocol behind a real HAProxy (v1 and v2, STARTTLS, implicit TLS and
# plain listeners) and by hand (malformed and LOCAL headers); and, with a
# low descriptor limit, accept() failing with EMFILE and `authrelay check`'s
# warning. Small timeouts keep it short.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

ar_init
command -v haproxy >/dev/null ||
    ar_die "haproxy is not installed: install haproxy"
command -v prlimit >/dev/null ||
    ar_die "prlimit is not installed: install util-linux"
W=$AR_TMP/work
mkdir -p "$W"
ar_start_mock mock

# A second user whose hash is sha512crypt ($6$), for the timing case.
SHA_USER=sha@example.com
SHA_PASS='Pw-sha.5e1b2c3d+S'
SHA_HASH=$(openssl passwd -6 "$SHA_PASS") || ar_die "openssl passwd -6 failed"
case $SHA_HASH in
'$6$'*) ;;
*) ar_die "openssl passwd -6 gave '$SHA_HASH'" ;;
esac
export SHA_USER SHA_PASS

# --- 1. the login penalty and the per-connection / per-address limits --------

AR_SECTIONS="[user $SHA_USER]
password_hash = $SHA_HASH
account = sales" ar_start_daemon relay "auth_penalty_max = 4" \
    "max_connections_per_ip = 8" "upstream_hold_timeout = 1"

ar_pycases "penalty and limits" <<'EOF'
import os, re, time
import arlib, defencelib as d
from arlib import Report

H = arlib.HOSTNAME
FAIL = (r"^unknown\[%s\]: SASL PLAIN authentication failed: "
        r"authentication failure$")
PEN = r"^unknown\[%s\]: auth penalty (\d+) s after (\d+) failures$"
rep = Report()


def esc(a):
    return re.escape(a)


def penalty():
    """From 127.0.0.1: one failure, then four more attempts and a good one
    at once on other connections; meanwhile 127.0.0.2 logs in and fails."""
    res = []
    src = "127.0.0.1"
    cs = [d.conn(source=src) for _ in range(6)]
    ports = [d.local_port(c) for c in cs]
    off = arlib.log_size()
    sids = [d.sid_of(p) for p in ports]
    cs[0].send("AUTH PLAIN %s\r\n" % d.plain_b64(arlib.USER, d.WRONG))
    if not d.wait_log(FAIL % esc(src), 10, off, level="warning"):
        return [("penalty: first failure", "no SASL failure line in 10 s")]
    waits = [d.AuthAsync(c, password=d.WRONG + str(i))
             for i, c in enumerate(cs[1:5])]
    # The good password last in the line: once the four wait.
    d.wait_penalty_state(sids[1:5], off)
    waits.append(d.AuthAsync(cs[5], password=arlib.PASS))
    # Another address while 127.0.0.1 has five attempts waiting.
    o = []
    c = d.conn(source="127.0.0.2")
    r, took = d.timed_auth(c, password=arlib.PASS)
    o.append(("login", r.code, took))
    c.close()
    c = d.conn(source="127.0.0.2")
    r, took = d.timed_auth(c)
    o.append(("failure", r.code, took))
    c.close()
    replies = [a.wait(40) for a in waits]
    r0 = cs[0].reply()
    log = d.log_records(off)
    fails = [x for x in log if x[1] == "warning" and
             re.match(FAIL % esc(src), x[3])]
    # 1: the pacing.
    why = []
    if r0.code != 535 or [x[0].code if hasattr(x[0], "code") else x[0]
                          for x in replies[:4]] != [535] * 4:
        why.append("replies %r / %r, want 535s" % (
            r0.lines, [getattr(x[0], "lines", x[0]) for x in replies[:4]]))
    if len(fails) != 5:
        why.append("%d SASL failure lines for %s, want 5" % (len(fails), src))
    else:
        gaps = [fails[i + 1][0] - fails[i][0] for i in range(4)]
        want = [1, 2, 4, 4]
        for g, w in zip(gaps, want):
            if not w - 0.05 <= g <= w + 0.75:
                why.append("gaps between the failed checks %s s, want about "
                           "%s (each >= the penalty)" % (
                               ["%.2f" % x for x in gaps], want))
                break
        d.note("# %s: failed checks %s s apart (auth_penalty_max = 4); the "
                "535s came %s s after their AUTH lines" % (
                    src, " ".join("%.2f" % x for x in gaps),
                    " ".join("%.2f" % x[1] for x in replies[:4])))
    res.append(("penalty: one address's checks are paced one at a time, "
                "about 1, 2, 4, 4 s apart (log: 'unknown[IP]: auth penalty "
                "N s after M failures')", "; ".join(why)))
    # 2: another address.
    why = []
    if o[0][1] != 235 or o[0][2] > 3:
        why.append("127.0.0.2 login: %r in %.2f s, want 235 within 3 s" %
                   (o[0][1], o[0][2]))
    if o[1][1] != 535 or not 0.5 <= o[1][2] <= 1.6:
        why.append("127.0.0.2 failure: %r in %.2f s, want 535 in 0.5..1.6 s"
                   % (o[1][1], o[1][2]))
    if d.log_find(PEN % esc("127.0.0.2"), off):
        why.append("an auth penalty line for 127.0.0.2")
    d.note("# 127.0.0.2 meanwhile: login in %.2f s, failure in %.2f s" %
            (o[0][2], o[1][2]))
    res.append(("penalty: another address is not slowed while one waits "
                "(login 235, failure 535 on time)", "; ".join(why)))
    # 3: a success forgets.
    why = []
    r5, t5 = replies[4]
    if getattr(r5, "code", None) != 235:
        why.append("the good password queued last got %r" %
                   getattr(r5, "lines", r5))
    sid5 = d.sid_of(ports[5], 0)
    okl = [x for x in log if x[2] == sid5 and x[3].startswith("password ok")]
    if fails and len(fails) == 5 and okl and okl[0][0] < fails[4][0] + 3.95:
        why.append("its check came %.2f s after the 5th failure, before "
                   "the 4 s penalty" % (okl[0][0] - fails[4][0]))
    for c in cs:
        c.close()
    off2 = arlib.log_size()
    c, c2 = d.conn(source=src), d.conn(source=src)
    sid = d.sid_of(d.local_port(c), off2)
    sid2 = d.sid_of(d.local_port(c2), off2)
    a = d.AuthAsync(c)
    # Once it failed, an attempt right away waits the 1 s of 1 failure.
    d.wait_log(FAIL % esc(src), 10, off2, level="warning")
    r2, took2 = d.timed_auth(c2)
    r, took = a.wait()
    w = d.penalty_waits(off2)
    if getattr(r, "code", None) != 535 or not 0.5 <= took <= 1.6:
        why.append("next failure: %r in %.2f s, want 535 in 0.5..1.6 s" %
                   (getattr(r, "lines", r), took))
    if sid in w:
        why.append("the failure after the success waited a penalty")
    if r2.code != 535 or sid2 not in w or w[sid2][1] is None or \
            not 0.8 <= w[sid2][1] - w[sid2][0] <= 1.2:
        why.append("an attempt right after that failure: %r, waited %r, "
                   "want 535 after a wait of about 1 s" % (
                       r2.lines, w.get(sid2)))
    c.close()
    c2.close()
    res.append(("penalty: a success forgets the failures (the next one is "
                "checked at once, the one after waits 1 s)", "; ".join(why)))
    # 4: every attempt that waits says so, with the failures it follows.
    why = []
    w = d.penalty_waits(off)
    for s_ in sids[1:6] + [sid2]:
        lines = [x[3] for x in d.sid_lines(s_, off)
                 if x[1] == "warning" and re.match(PEN % esc(src), x[3])]
        if s_ not in w:
            why.append("session %s did not wait" % s_)
        elif len(lines) != 1 or not lines[0].endswith(" after 1 failures"):
            waited = (w[s_][1] or time.time()) - w[s_][0]
            why.append("session %s waited %.2f s (%s), logged %r" % (
                s_, waited, "right after a failure" if s_ in (sids[1], sid2)
                else "behind others", lines))
    if why:
        why.append("(s_auth_verify logs only when its delay estimate is >= "
                   "1 s; a 1 s penalty has less than 1 s left by then)")
    res.append(("penalty: every attempt that must wait logs 'unknown[IP]: "
                "auth penalty N s after M failures'", "; ".join(why)))
    return res


def floor():
    """Failed logins of an unknown user, a $6$ user and the yescrypt user:
    the 535 comes 0.5 + [0, 1) s after the check began, whatever the
    hash. Each try from an address of its own (no penalty)."""
    users = [("unknown user", "nobody-7c1f@example.com"),
             ("sha512crypt", os.environ["SHA_USER"]),
             ("yescrypt", arlib.USER)]
    times = {k: [] for k, _ in users}
    n = 0
    for rnd in range(5):
        pairs = []
        for k, u in users:
            n += 1
            c = d.conn(source="127.0.1.%d" % n)
            pairs.append((c, "AUTH PLAIN " + d.plain_b64(u, d.WRONG)))
        for (k, u), (r, took), (c, _) in zip(users, d.timed_many(pairs),
                                             pairs):
            if getattr(r, "code", None) != 535:
                return "%s: %r" % (k, getattr(r, "lines", r))
            times[k].append(took)
            c.close()
    # The $6$ hash is a working one: its user logs in.
    c = d.conn(source="127.0.1.99")
    r, _ = d.timed_auth(c, os.environ["SHA_USER"], os.environ["SHA_PASS"])
    c.close()
    if r.code != 235:
        return "the $6$ user's right password got %r" % r.lines
    d.note("# time from AUTH to 535 (s), 5 tries each: " + "; ".join(
          "%s min %.2f mean %.2f max %.2f" % (k, min(v), sum(v) / len(v),
                                              max(v))
          for k, v in times.items()))
    bad = ["%s %.3f" % (k, x) for k, v in times.items() for x in v
           if not 0.5 <= x <= 1.6]
    if bad:
        return "replies outside 0.5..1.6 s: %s" % ", ".join(bad)
    return None


def max_failures():
    src = "127.0.2.1"
    off = arlib.log_size()
    c = d.conn(source=src)
    got = []
    for i in range(3):
        r, _ = d.timed_auth(c)
        got.append(r.lines)
    r = c.reply()
    if got != [["535 5.7.8 Error: authentication failed"]] * 3:
        return "replies %r, want three 535 5.7.8" % got
    want = "421 4.7.0 %s Error: too many failed authentication attempts" % H
    if r.lines != [want]:
        return "after the 3rd 535: %r, want %r" % (r.lines, want)
    if not c.closed(3):
        return "the connection stays open after the 421"
    l = d.wait_log(r"^unknown\[%s\]: too many failed AUTH attempts "
                   r"\(max_auth_failures=3\)$" % esc(src), 3, off,
                   level="warning")
    if len(l) != 1:
        return "no (or not one) 'too many failed AUTH attempts' warning"
    return None


def per_ip():
    src = "127.0.3.1"
    off = arlib.log_size()
    held = [arlib.Client(arlib.starttls_port(), source=src) for _ in range(8)]
    d.OPEN.extend(held)
    if any(c.greeting.code != 220 for c in held):
        return "the first 8: %r" % [c.greeting.lines for c in held]
    c = arlib.Client(arlib.starttls_port(), source=src)
    want = "421 4.7.0 %s Error: too many connections from your address" % H
    if c.greeting.lines != [want]:
        return "the 9th on STARTTLS: %r, want %r" % (c.greeting.lines, want)
    if not c.closed(3):
        return "the 9th stays open after its 421"
    s = d.raw(arlib.tls_port(), source=src)
    closed, took, got = d.closed_within(s, 3)
    s.close()
    if not closed or got:
        return ("the 10th on the implicit-TLS listener: closed=%s after "
                "%.1f s, bytes %r; want closed at once, nothing sent" %
                (closed, took, got[:40]))
    l = d.wait_log(r"^unknown\[%s\]: too many connections from this address "
                   r"\(max_connections_per_ip=8\)$" % esc(src), 3, off,
                   count=2, level="warning")
    if len(l) != 2:
        return "%d 'too many connections' warnings, want 2" % len(l)
    o = arlib.Client(arlib.starttls_port(), source="127.0.3.2")
    if o.greeting.code != 220:
        return "another address meanwhile: %r" % o.greeting.lines
    o.close()
    held.pop().close()
    end = time.time() + 5
    while True:
        c = arlib.Client(arlib.starttls_port(), source=src)
        if c.greeting.code == 220:
            break
        c.close()
        if time.time() > end:
            return "after one of the 8 closed, a new one still gets %r" % \
                c.greeting.lines
        time.sleep(0.2)
    c.close()
    for c in held:
        c.close()
    return None


def escaping():
    """Client bytes in log lines: every byte outside printable ASCII as
    \\xHH, so no forged line, no terminal escape, no raw UTF-8."""
    src = "127.0.4.1"
    off = arlib.log_size()
    c = arlib.Client(arlib.starttls_port(), source=src)
    d.OPEN.append(c)
    # EHLO names are not logged today; whatever is, must be escaped.
    c.cmd("EHLO ehlo\x1b[2Jname\x7f")
    c.starttls()
    if c.cmd("EHLO ehlo\x1b]0;title\x07").code != 250:
        c.ehlo()
    user = b"esc\x1b[31mred\rcr\nforged: line\x7fdel\xc3\xa9\xff@x"
    b = __import__("base64").b64encode(b"\0" + user + b"\0" + d.WRONG.encode())
    r = c.cmd("AUTH PLAIN " + b.decode())
    if r.code != 535:
        return "AUTH PLAIN: %r" % r.lines
    luser = b"\x01login\x80\x9b[0m\xe2\x80\xae"
    c.expect("AUTH LOGIN", 334)
    c.expect(__import__("base64").b64encode(luser).decode(), 334)
    r = c.cmd(__import__("base64").b64encode(d.WRONG.encode()).decode())
    if r.code != 535:
        return "AUTH LOGIN: %r" % r.lines
    sid = d.sid_of(d.local_port(c), off)
    c.close()
    with open(os.environ["DAEMON_LOG"], "rb") as f:
        f.seek(off)
        text = f.read()
    m = re.search(rb"[\x00-\x09\x0b-\x1f\x7f-\xff]", text)
    if m:
        return "a raw byte %r in the log near %r" % (
            m.group(0), text[max(0, m.start() - 60):m.start() + 20])
    if re.search(rb"(^|\n)forged", text):
        return "a forged log line"
    want = [r"user=esc\x1b[31mred\x0dcr\x0aforged: line\x7fdel\xc3\xa9\xff@x",
            r"user=\x01login\x80\x9b[0m\xe2\x80\xae"]
    lines = [x[3] for x in d.sid_lines(sid, off)]
    for w in want:
        if not any(w in l for l in lines):
            return "no log line of session %s with %r; its lines: %r" % (
                sid, w, [l for l in lines if "user=" in l])
    return None


d.run_at_once(rep, [
    ("penalty", penalty),
    ("failed logins take 0.5..1.5 s from the check's start, whatever the "
     "hash (unknown user, $6$, yescrypt)", floor),
    ("max_auth_failures = 3: the 3rd failure gets 535, then 421 4.7.0 and "
     "the connection closes; one warning", max_failures),
    ("max_connections_per_ip = 8: the 9th gets 421 4.7.0 (STARTTLS), the "
     "10th is closed (implicit TLS); others are served; a slot frees",
     per_ip),
    ("log escaping: control bytes, CR LF and bytes >= 0x80 of user names "
     "(PLAIN and LOGIN) are \\xHH, EHLO names leave nothing raw", escaping),
])
d.close_all()
rep.exit()
EOF
ar_pycases "data and holding" <<'EOF'
import os, re, time
import arlib, defencelib as d
from arlib import Report

rep = Report()


def nul():
    """A NUL byte in message data: 554 5.6.0, nothing reaches the mock's
    store (its connection is cut, not terminated), the session goes on."""
    before = arlib.msgs()
    mlog = os.path.join(arlib.mock_dir(), "mock.log")
    moff = os.path.getsize(mlog)
    off = arlib.log_size()
    c = d.conn(source="127.0.5.1")
    if c.login().code != 235:
        return "AUTH failed"
    c.expect("MAIL FROM:<%s>" % arlib.USER, 250)
    c.expect("RCPT TO:<rcpt@example.org>", 250)
    c.expect("DATA", 354)
    msg = arlib.message("nul byte", ["before", "a NUL \0 here", "after"])
    c.send(arlib.stuff(msg))
    r = c.reply()
    want = "554 5.6.0 Message contains NUL characters"
    if r.lines != [want]:
        return "end of data -> %r, want %r" % (r.lines, want)
    time.sleep(0.5)
    if arlib.msgs() != before:
        return "the mock stored %d message(s)" % (len(arlib.msgs()) -
                                                  len(before))
    with open(mlog, errors="replace") as f:
        f.seek(moff)
        ml = f.read()
    if "message stored" in ml:
        return "the mock log says a message was stored"
    if not re.search(r"smtp conn=\d+ closed", ml):
        return "the mock's connection was not closed"
    if not d.log_find(r"^message holds a NUL byte: refused$", off):
        return "no 'message holds a NUL byte' line"
    # The session goes on: the next message is relayed intact.
    msg = arlib.message("after nul", ["clean"])
    c.expect("MAIL FROM:<%s>" % arlib.USER, 250)
    c.expect("RCPT TO:<rcpt@example.org>", 250)
    return arlib.finish_message(c, msg, "rcpt@example.org")


def auth_param():
    """MAIL FROM's AUTH= parameter is not passed on; others are."""
    c = d.conn(source="127.0.5.2")
    if c.login().code != 235:
        return "AUTH failed"
    got = []
    for params in (" AUTH=<%s>" % arlib.USER, " AUTH=<> SIZE=300",
                   " auth=someone+40example.org BODY=8BITMIME"):
        before = arlib.msgs()
        diag = d.send_message(c, "auth param", params)
        if diag:
            return "MAIL ...%s: %s" % (params, diag)
        new = arlib.new_msgs(before, settle=0.05)
        if len(new) != 1:
            return "stored %d messages, want 1" % len(new)
        got.append(arlib.stored(new[0])[1].get("mail-from"))
    c.quit()
    want = [["<%s>" % arlib.USER], ["<%s> SIZE=300" % arlib.USER],
            ["<%s> BODY=8BITMIME" % arlib.USER]]
    if got != want:
        return "the provider saw MAIL FROM %r, want %r" % (got, want)
    return None


def account():
    a = [x for x in arlib.daemon_status()["accounts"] if x["name"] == "sales"]
    return a[0]["connections"]


def hold():
    """upstream_hold_timeout = 1: a session idle between transactions
    hands its provider connection back; its next MAIL takes one again."""
    off = arlib.log_size()
    c = d.conn(source="127.0.5.3")
    sid = d.sid_of(d.local_port(c), off)
    if c.login().code != 235:
        return "AUTH failed"
    diag = d.send_message(c, "before hold")
    if diag:
        return diag
    # In a transaction the connection stays, whatever the time.
    c.expect("MAIL FROM:<%s>" % arlib.USER, 250)
    time.sleep(1.6)
    busy = account()
    if busy["busy"] != 1:
        return "mid-transaction after 1.6 s: connections %r, want busy 1" % (
            busy)
    c.expect("RSET", 250)
    time.sleep(1.6)
    idle = account()
    if idle["busy"] != 0 or idle["idle"] < 1:
        return ("idle 1.6 s after RSET: connections %r, want busy 0 and "
                "idle >= 1" % idle)
    if not [x for x in d.sid_lines(sid, off) if x[3].startswith(
            "idle for upstream_hold_timeout=1 s: provider connection "
            "handed back")]:
        return "no 'handed back' line for the session"
    msg = arlib.message("after hold", ["again"])
    c.expect("MAIL FROM:<%s>" % arlib.USER, 250)
    c.expect("RCPT TO:<rcpt@example.org>", 250)
    diag = arlib.finish_message(c, msg, "rcpt@example.org")
    if diag:
        return "the message after the hand-back: " + diag
    d.note("# provider connections: mid-transaction %r, idle %r" % (
        busy, idle))
    return None


rep.case("a NUL byte in message data: 554 5.6.0, the provider never "
         "stores it, the next message goes through", nul)
rep.case("MAIL FROM:<a> AUTH=<b>: the AUTH= parameter is not passed to the "
         "provider, the others are", auth_param)
rep.case("upstream_hold_timeout = 1: an idle session hands its provider "
         "connection back (status: busy 0), its next MAIL takes one and "
         "the message goes through", hold)
d.close_all()
rep.exit()
EOF

ar_check_daemon "penalty and limits: the daemon survived, exits 0 on SIGTERM"

# --- 2. client timeouts -------------------------------------------------------

# One provider connection for the account: a second session's AUTH waits
# for it (time that auth_timeout does not count).
AR_ACCOUNT_EXTRA="max_upstream_connections = 1" ar_start_daemon timeouts \
    "tls_handshake_timeout = 2" "auth_timeout = 4" "command_timeout = 3" \
    "data_timeout = 2" "upstream_hold_timeout = 0"

ar_pycases "timeouts" <<'EOF'
import re, time
import arlib, defencelib as d
from arlib import Report

H = arlib.HOSTNAME
TMO = "421 4.4.2 %s Error: timeout exceeded" % H
rep = Report()


def logged(sid, text, off):
    return [x for x in d.sid_lines(sid, off) if x[3].startswith(text)]


def tls_verdict(what, closed, took, sid, off):
    """None if closed ~2 s after the handshake began, else why not."""
    if closed and 1.8 <= took <= 3.2:
        return None
    t = logged(sid, "timeout state=tls", off)
    if not closed and t:
        return ("%s: still open %.1f s on, though the daemon logged "
                "'timeout state=tls' at 2 s: it went to state closing to "
                "flush a 421 that cannot go out before the handshake, and "
                "waits SESSION_CLOSE_TIMEOUT (10 s) for it (s_timeout_cb)"
                % (what, took))
    return "%s: closed=%s after %.2f s, want closed after ~2 s" % (
        what, closed, took)


def tls_silent():
    """Implicit TLS: no handshake, or half a ClientHello, is closed after
    tls_handshake_timeout (2 s), not auth_timeout (4 s)."""
    off = arlib.log_size()
    socks = []
    for name, first in (("nothing", b""),
                        ("half a ClientHello",
                         b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")):
        s = d.raw(arlib.tls_port(), source="127.0.6.1")
        if first:
            s.sendall(first)
        socks.append((name, s, time.time()))
    res = []
    for name, s, t0 in socks:
        closed, took, _ = d.closed_within(s, max(0.1, 4.5 - (time.time() -
                                                            t0)))
        res.append((name, closed, time.time() - t0, s.getsockname()[1]))
        s.close()
    out = []
    for name, closed, took, port in res:
        why = tls_verdict("implicit TLS, " + name, closed, took,
                          d.sid_of(port, off), off)
        if why:
            return why
        out.append("%s %.2f s" % (name, took))
    d.note("# implicit TLS, handshake not done: closed after " +
            ", ".join(out))
    return None


def starttls_silent():
    off = arlib.log_size()
    c = arlib.Client(arlib.starttls_port(), source="127.0.6.2")
    d.OPEN.append(c)
    c.ehlo()
    c.expect("STARTTLS", 220)
    closed, took, _ = d.closed_within(c.sock, 4.5)
    sid = d.sid_of(d.local_port(c), off)
    c.close()
    why = tls_verdict("after STARTTLS", closed, took, sid, off)
    if why:
        return why
    d.note("# STARTTLS, then no handshake: closed after %.2f s" % took)
    return None


def auth_deadline():
    """NOOPs every 0.8 s restart command_timeout, not auth_timeout."""
    off = arlib.log_size()
    t0 = time.time()
    c = d.conn(source="127.0.6.3")
    sid = d.sid_of(d.local_port(c), off)
    while time.time() - t0 < 8:
        r = c.cmd("NOOP")
        if r.code != 250:
            break
        time.sleep(0.8)
    took = time.time() - t0
    if r.lines != [TMO]:
        return "after %.2f s: %r, want %r" % (took, r.lines, TMO)
    if not 3.8 <= took <= 5.0:
        return "421 after %.2f s, want ~4 s (auth_timeout)" % took
    if not c.closed(3):
        return "still open after the 421"
    if not logged(sid, "timeout before authentication state=cmd "
                  "auth_timeout=4", off):
        return "no 'timeout before authentication' line"
    d.note("# not authenticated, a NOOP every 0.8 s: 421 after %.2f s" %
           took)
    return None


def trickle(src, auth):
    """A command line sent a byte a second: 421 once command_timeout (3 s)
    has passed since the last complete line, whatever the bytes."""
    off = arlib.log_size()
    c = d.conn(source=src)
    sid = d.sid_of(d.local_port(c), off)
    if auth and c.login().code != 235:
        return "AUTH failed"
    t0 = time.time()
    sent = 0
    r = None
    c.settimeout(1.0)
    for ch in "NOOP and some more text to keep it going":
        try:
            c.send(ch)
            sent += 1
        except OSError:
            break
        try:
            r = c.reply()
            break
        except Exception:
            pass
        if time.time() - t0 > 8:
            break
    took = time.time() - t0
    c.settimeout(arlib.TIMEOUT)
    if r is None or r.lines != [TMO]:
        return "%d bytes over %.1f s, then %r, want %r" % (
            sent, took, r and r.lines, TMO)
    if not 2.8 <= took <= 4.0:
        return "421 after %.2f s (%d bytes), want ~3 s" % (took, sent)
    if not logged(sid, "timeout state=cmd", off):
        return "no 'timeout state=cmd' line (auth_timeout's instead?)"
    d.note("# %s, a byte a second: 421 after %.2f s (%d bytes)" % (
          "authenticated" if auth else "not authenticated", took, sent))
    return None


def data_per_read():
    """During DATA each read restarts data_timeout (2 s)."""
    off = arlib.log_size()
    c = d.conn(source="127.0.7.1")
    sid = d.sid_of(d.local_port(c), off)
    if c.login().code != 235:
        return "AUTH failed"
    c.expect("MAIL FROM:<%s>" % arlib.USER, 250)
    c.expect("RCPT TO:<rcpt@example.org>", 250)
    c.expect("DATA", 354)
    c.send("Subject: slow\r\n\r\n")
    for i in range(5):
        time.sleep(1.0)
        c.send("line %d\r\n" % i)
    t0 = time.time()
    c.settimeout(5)
    try:
        r = c.reply()
    except Exception as e:
        return "after 5 s of a line a second, then silence: %s" % e
    took = time.time() - t0
    c.settimeout(arlib.TIMEOUT)
    if r.lines != [TMO] or not 1.8 <= took <= 3.0:
        return "%r %.2f s after the last line, want %r after ~2 s" % (
            r.lines, took, TMO)
    if not logged(sid, "timeout state=data", off):
        return "no 'timeout state=data' line"
    c.close()
    d.note("# DATA, a line a second for 5 s (data_timeout = 2): 421 %.2f s "
            "after the last" % took)
    return None


def provider_wait():
    """auth_timeout (4 s) does not count the wait for the provider: B's
    AUTH waits ~5 s for the account's one connection, then B is in."""
    a = d.conn(source="127.0.7.3")
    if a.login().code != 235:
        return "A: AUTH failed"
    a.expect("MAIL FROM:<%s>" % arlib.USER, 250)
    off = arlib.log_size()
    t0 = time.time()
    b = d.conn(source="127.0.7.4")
    sid = d.sid_of(d.local_port(b), off)
    wait = d.AuthAsync(b, password=arlib.PASS)
    time.sleep(5.0)
    a.quit()
    r, _ = wait.wait(20)
    took = time.time() - t0
    if getattr(r, "code", None) != 235:
        return "B's AUTH: %r" % getattr(r, "lines", r)
    if took < 4.5:
        return "B got in after %.2f s: it did not wait past auth_timeout" % (
            took)
    before = arlib.msgs()
    diag = d.send_message(b, "after provider wait")
    if diag:
        return "B's message: " + diag
    if len(arlib.new_msgs(before, settle=0.05)) != 1:
        return "B's message was not stored"
    b.quit()
    if logged(sid, "timeout before authentication", off):
        return "a 'timeout before authentication' line for B"
    d.note("# AUTH waited for the provider: 235 %.2f s after connect" %
           took)
    return None


d.run_at_once(rep, [
    ("tls_handshake_timeout = 2: implicit TLS with no or half a handshake "
     "is closed after ~2 s", tls_silent),
    ("tls_handshake_timeout = 2: no handshake after STARTTLS: closed after "
     "~2 s", starttls_silent),
    ("auth_timeout = 4: not authenticated, NOOPs every 0.8 s: 421 4.4.2 "
     "after ~4 s, closed", auth_deadline),
    ("command_timeout = 3, not authenticated: a byte a second does not "
     "move the deadline (421 after ~3 s)", trickle, "127.0.6.4", False),
])
d.run_at_once(rep, [
    ("data_timeout = 2 is per read during DATA: a line a second goes on, "
     "then 421 ~2 s after the last", data_per_read),
])
d.run_at_once(rep, [
    ("command_timeout = 3, authenticated: a byte a second does not move the "
     "deadline (421 ~3 s after the 235)", trickle, "127.0.7.2", True),
])
d.run_at_once(rep, [
    ("auth_timeout = 4 does not count the wait for the provider: an AUTH "
     "queued 5 s for the account's one connection gets 235 and sends",
     provider_wait),
])
d.close_all()
rep.exit()
EOF
ar_check_daemon "timeouts: the daemon survived, exits 0 on SIGTERM"

# --- 3. the PROXY protocol, behind HAProxy and by hand -----------------------

# port_listening PORT: something listens on 127.0.0.1:PORT (from
# /proc/net/tcp, without connecting to it).
port_listening() {
	awk -v a="$(printf '0100007F:%04X' "$1")" \
	    '$2 == a && $4 == "0A" { f = 1 } END { exit !f }' /proc/net/tcp
}

# wait_listening PORT...: each port listens, within AR_START_WAIT.
wait_listening() {
	local p n
	for p in "$@"; do
		n=$((AR_START_WAIT * 10))
		until port_listening "$p"; do
			[ "$n" -gt 0 ] || return 1
			n=$((n - 1))
			sleep 0.1
		done
	done
}

PST_PORT=$(ar_free_port)
PTLS_PORT=$(ar_free_port)
PPLAIN_PORT=$(ar_free_port)
# Behind the balancer, only these clients may use the listeners (never
# 127.0.0.1, the balancer's own address): a relayed message proves that the
# PROXY header's address is the one checked.
PNETS="127.0.0.3/32, 127.0.0.4/32, 127.0.0.7/32, 127.0.0.8/32"
AR_SECTIONS="[listener pst]
address = 127.0.0.1:$PST_PORT
mode = starttls
proxy_protocol = yes
proxy_networks = 127.0.0.1/32
networks = $PNETS

[listener ptls]
address = 127.0.0.1:$PTLS_PORT
mode = tls
proxy_protocol = yes
proxy_networks = 127.0.0.1/32
networks = $PNETS

[listener pplain]
address = 127.0.0.1:$PPLAIN_PORT
mode = plain
proxy_protocol = yes
proxy_networks = 127.0.0.1/32

[user printer]
auth = none
account = sales
networks = 127.0.0.6/32" ar_start_daemon proxy "auth_penalty_max = 4" \
    "max_connections_per_ip = 3"
wait_listening "$PST_PORT" "$PTLS_PORT" "$PPLAIN_PORT" ||
    ar_die "the proxy_protocol listeners are not listening"

# HAProxy in TCP mode: one frontend per (listener, PROXY version); TLS
# passes through untouched.
HA_DIR=$AR_TMP/haproxy
mkdir -p "$HA_DIR"
HA_PORTS=""
{
	echo "global"
	echo "    maxconn 512"
	echo "defaults"
	echo "    mode tcp"
	echo "    timeout connect 5s"
	echo "    timeout client 60s"
	echo "    timeout server 60s"
	for fe in "st1 $PST_PORT send-proxy" "st2 $PST_PORT send-proxy-v2" \
	    "tls1 $PTLS_PORT send-proxy" "tls2 $PTLS_PORT send-proxy-v2" \
	    "pl1 $PPLAIN_PORT send-proxy" "pl2 $PPLAIN_PORT send-proxy-v2"; do
		set -- $fe
		p=$(ar_free_port)
		HA_PORTS="$HA_PORTS $p"
		eval "HA_$(echo "$1" | tr a-z A-Z)=$p"
		echo "frontend $1"
		echo "    bind 127.0.0.1:$p"
		echo "    default_backend $1"
		echo "backend $1"
		echo "    server authrelay 127.0.0.1:$2 $3"
	done
} >"$HA_DIR/haproxy.cfg"
export HA_ST1 HA_ST2 HA_TLS1 HA_TLS2 HA_PL1 HA_PL2 PST_PORT PTLS_PORT \
    PPLAIN_PORT
timeout 30 haproxy -c -f "$HA_DIR/haproxy.cfg" >"$HA_DIR/check.out" 2>&1 || {
	sed 's/^/#   /' "$HA_DIR/check.out"
	ar_die "haproxy -c refused the configuration"
}
haproxy -db -f "$HA_DIR/haproxy.cfg" >"$HA_DIR/haproxy.log" 2>&1 &
HA_PID=$!
AR_PIDS="$AR_PIDS $HA_PID"
# shellcheck disable=SC2086
wait_listening $HA_PORTS || {
	sed 's/^/#   /' "$HA_DIR/haproxy.log"
	ar_die "haproxy is not listening"
}

name="PROXY v2 via HAProxy (STARTTLS listener): swaks from 127.0.0.3 sends; the daemon logs client=127.0.0.3 and the networks that exclude 127.0.0.1 let it in"
{
	printf 'From: Scanner <%s>\r\nTo: <rcpt@example.org>\r\n' "$AR_USER"
	printf 'Subject: via haproxy\r\n'
	printf 'Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n'
	printf 'Message-ID: <via-haproxy@client.test>\r\n\r\n'
	printf 'Through the balancer.\r\n'
} >"$W/haproxy.eml"
head -c -2 "$W/haproxy.eml" >"$W/haproxy.swaks"
before=$(ar_msg_count)
off=$(stat -c %s "$DAEMON_LOG")
if timeout "$AR_CLIENT_WAIT" swaks --server 127.0.0.1 --port "$HA_ST2" \
    --local-interface 127.0.0.3 --tls --tls-verify --tls-ca-path "$AR_CA" \
    --helo client.test --auth LOGIN --auth-user "$AR_USER" \
    --auth-password "$AR_PASS" --from "$AR_USER" --to rcpt@example.org \
    --data "@$W/haproxy.swaks" --suppress-data >"$W/swaks-haproxy.out" 2>&1
then
	if tail -c +$((off + 1)) "$DAEMON_LOG" | grep -qE \
	    'info: [0-9a-f]{16} proxy v2 client=127\.0\.0\.3 port=[0-9]+ via=127\.0\.0\.1$'
	then
		ar_check_delivery "$name" "$before" "$W/haproxy.eml" "$AR_USER" \
		    rcpt@example.org
	else
		not_ok "$name" "no 'proxy v2 client=127.0.0.3 port=N via=127.0.0.1' line" \
		    "$DAEMON_LOG"
	fi
else
	not_ok "$name" "swaks failed (exit $?)" "$W/swaks-haproxy.out" \
	    "$DAEMON_LOG" "$HA_DIR/haproxy.log"
fi

ar_pycases "proxy protocol" <<'EOF'
import os, re, time
import arlib, defencelib as d
from arlib import Report, Client

H = arlib.HOSTNAME
E = os.environ
ST1, ST2 = int(E["HA_ST1"]), int(E["HA_ST2"])
TLS1, TLS2 = int(E["HA_TLS1"]), int(E["HA_TLS2"])
PL1, PL2 = int(E["HA_PL1"]), int(E["HA_PL2"])
PST, PTLS = int(E["PST_PORT"]), int(E["PTLS_PORT"])
FAIL = (r"^unknown\[%s\]: SASL PLAIN authentication failed: "
        r"authentication failure$")
PEN = r"^unknown\[%s\]: auth penalty (\d+) s after (\d+) failures$"
rep = Report()


def proxied_line(c, version, src, off):
    """None if the daemon logged this client's PROXY header (its address
    and port) for the connection, else why not."""
    port = d.local_port(c)
    want = r"^proxy v%d client=%s port=%d via=127\.0\.0\.1$" % (
        version, re.escape(src), port)
    if not d.wait_log(want, 3, off, level="info"):
        return "no 'proxy v%d client=%s port=%d via=127.0.0.1' line" % (
            version, src, port)
    return None


def relay_via():
    """v1 and v2, STARTTLS and implicit TLS: a message from 127.0.0.3 and
    from 127.0.0.4 through HAProxy is relayed."""
    out = []
    for port, tls, v, src in ((ST1, False, 1, "127.0.0.3"),
                              (ST2, False, 2, "127.0.0.4"),
                              (TLS1, True, 1, "127.0.0.4"),
                              (TLS2, True, 2, "127.0.0.3")):
        off = arlib.log_size()
        c = d.conn(port, source=src, tls=tls)
        why = proxied_line(c, v, src, off)
        if why:
            return "%s v%d: %s" % ("tls" if tls else "starttls", v, why)
        if c.login().code != 235:
            return "v%d tls=%s: AUTH failed" % (v, tls)
        msg = arlib.message("proxied v%d %s" % (v, "tls" if tls else
                                                  "starttls"), ["hi"])
        c.expect("MAIL FROM:<%s>" % arlib.USER, 250)
        c.expect("RCPT TO:<rcpt@example.org>", 250)
        diag = arlib.finish_message(c, msg, "rcpt@example.org")
        if diag:
            return "v%d tls=%s: %s" % (v, tls, diag)
        out.append("v%d %s" % (v, "implicit TLS" if tls else "STARTTLS"))
    d.note("# relayed from 127.0.0.3/4 through HAProxy: " + ", ".join(out))
    return None


def networks_via():
    """127.0.0.5 (not in the listeners' networks) through HAProxy: 554."""
    off = arlib.log_size()
    want = ["554 5.7.1 %s Access denied" % H]
    for port, tls in ((ST2, False), (TLS1, True)):
        c = Client(port, tls=tls, source="127.0.0.5")
        d.OPEN.append(c)
        if c.greeting.lines != want:
            return "tls=%s: greeting %r, want %r" % (tls, c.greeting.lines,
                                                     want)
        if not c.closed(3):
            return "tls=%s: open after the 554" % tls
    if len(d.wait_log(r"^unknown\[127\.0\.0\.5\]: access denied: not in the "
                      r"networks of listener p(st|tls)$", 3, off, count=2,
                      level="warning")) != 2:
        return "no two 'unknown[127.0.0.5]: access denied' warnings"
    return None


def noauth_via():
    """An auth = none device (127.0.0.6) behind HAProxy, plain listener, v1
    and v2: mapped by its PROXY address, MAIL without AUTH is relayed."""
    for port, v in ((PL1, 1), (PL2, 2)):
        off = arlib.log_size()
        c = Client(port, source="127.0.0.6")
        d.OPEN.append(c)
        if c.greeting.code != 220:
            return "v%d: greeting %r" % (v, c.greeting.lines)
        why = proxied_line(c, v, "127.0.0.6", off)
        if why:
            return "plain v%d: %s" % (v, why)
        c.ehlo()
        c.expect("MAIL FROM:<%s>" % arlib.USER, 250)
        c.expect("RCPT TO:<rcpt@example.org>", 250)
        diag = arlib.finish_message(c, arlib.message("no auth v%d" % v,
                                                     ["hi"]),
                                    "rcpt@example.org")
        if diag:
            return "v%d: %s" % (v, diag)
        if not d.log_find(r"^no AUTH: client=127\.0\.0\.6 mapped to "
                          r"user=printer account=sales$", off):
            return "v%d: no 'no AUTH: client=127.0.0.6 mapped' line" % v
    # The balancer's own address maps to nobody.
    return None


def per_ip_via():
    """max_connections_per_ip = 3 counts PROXY addresses: a 4th from
    127.0.0.7 is refused while 127.0.0.8 (same balancer) is served."""
    off = arlib.log_size()
    held = []
    for port in (ST1, ST2, ST2):
        c = Client(port, source="127.0.0.7")
        d.OPEN.append(c)
        held.append(c)
        if c.greeting.code != 220:
            return "connection %d of 3: %r" % (len(held), c.greeting.lines)
    c = Client(ST1, source="127.0.0.7")
    d.OPEN.append(c)
    want = "421 4.7.0 %s Error: too many connections from your address" % H
    if c.greeting.lines != [want]:
        return "the 4th (v1, STARTTLS): %r, want %r" % (c.greeting.lines, want)
    s = d.raw(TLS2, source="127.0.0.7")
    closed, took, got = d.closed_within(s, 3)
    s.close()
    if not closed or got:
        return "the 5th (v2, implicit TLS): closed=%s bytes %r" % (closed,
                                                                  got[:30])
    o = [Client(p, source="127.0.0.8") for p in (ST1, ST2, ST2)]
    d.OPEN.extend(o)
    if [x.greeting.code for x in o] != [220] * 3:
        return "127.0.0.8 meanwhile: %r" % [x.greeting.lines for x in o]
    n = len(d.wait_log(r"^unknown\[127\.0\.0\.7\]: too many connections from "
                       r"this address \(max_connections_per_ip=3\)$", 3, off,
                       count=2, level="warning"))
    if n != 2:
        return "%d 'too many connections' warnings for 127.0.0.7, want 2" % n
    for x in held + o:
        x.close()
    return None


def penalty_via():
    """A penalty on 127.0.0.3 does not slow 127.0.0.4, both through the
    same balancer address."""
    off = arlib.log_size()
    a = d.conn(ST2, source="127.0.0.3")
    b = d.conn(ST1, source="127.0.0.3")
    o = d.conn(ST2, source="127.0.0.4")
    ra = d.AuthAsync(a)
    if not d.wait_log(FAIL % r"127\.0\.0\.3", 10, off, level="warning"):
        return "no SASL failure line for 127.0.0.3"
    rb = d.AuthAsync(b)
    ro = d.AuthAsync(o)
    (r1, t1), (r2, t2), (r3, t3) = ra.wait(), rb.wait(), ro.wait()
    codes = [getattr(r, "code", r) for r in (r1, r2, r3)]
    if codes != [535] * 3:
        return "replies %r, want 535s" % codes
    w = d.penalty_waits(off)
    sb = d.sid_of(d.local_port(b), 0, proxied=True)
    so = d.sid_of(d.local_port(o), 0, proxied=True)
    if sb not in w or w[sb][1] is None or \
            not 0.8 <= w[sb][1] - w[sb][0] <= 1.2 or t2 < 1.3:
        return ("127.0.0.3's attempt right after its failure: waited %r, "
                "535 after %.2f s; want a wait of about 1 s" % (w.get(sb), t2))
    pens4 = d.log_find(PEN % r"127\.0\.0\.4", off, level="warning")
    if so in w or pens4 or not 0.5 <= t3 <= 1.6:
        return "127.0.0.4: 535 after %.2f s, waited %r, penalty lines %r" % (
            t3, w.get(so), [x[3] for x in pens4])
    d.note("# via HAProxy: 127.0.0.3's attempt after a failure %.2f s, "
            "127.0.0.4's meanwhile %.2f s" % (t2, t3))
    for c in (a, b, o):
        c.close()
    return None


def outside():
    """A direct connection to a proxy_protocol listener from outside
    proxy_networks is closed at once, before any greeting."""
    off = arlib.log_size()
    for port, name in ((PST, "pst"), (PTLS, "ptls")):
        s = d.raw(port, source="127.0.0.3")
        s.sendall(d.proxy_v1("127.0.0.4", 40000))
        closed, took, got = d.closed_within(s, 3)
        s.close()
        if not closed or got or took > 1.5:
            return "%s: closed=%s after %.2f s, bytes %r" % (name, closed,
                                                             took, got[:40])
        if not d.wait_log(r"^unknown\[127\.0\.0\.3\]: not in proxy_networks "
                          r"of listener %s$" % name, 3, off,
                          level="warning"):
            return "%s: no 'not in proxy_networks' warning" % name
    return None


def bad_headers():
    """Malformed headers from the balancer's address: closed at once."""
    off = arlib.log_size()
    cases = [
        ("v1 without ports", b"PROXY TCP4 127.0.0.4 127.0.0.1\r\n"),
        ("v1 bad address", b"PROXY TCP4 127.0.0.256 127.0.0.1 1 25\r\n"),
        ("v1 leading zero port", b"PROXY TCP4 127.0.0.4 127.0.0.1 01 25\r\n"),
        ("SMTP first", b"EHLO client.test\r\n"),
        ("TLS first", b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03"),
        ("v2 version 3", d.V2_SIG + b"\x31\x11\x00\x0c" + bytes(12)),
        ("v2 short address block", d.V2_SIG + b"\x21\x11\x00\x04" + bytes(4)),
        ("v2 too long", d.V2_SIG + b"\x21\x11\x02\x10" + bytes(528)),
    ]
    for name, hdr in cases:
        s = d.raw(PST)
        s.sendall(hdr)
        closed, took, got = d.closed_within(s, 3)
        s.close()
        if not closed or got or took > 1.5:
            return "%s: closed=%s after %.2f s, bytes %r" % (name, closed,
                                                             took, got[:40])
    n = len(d.wait_log(r"^unknown\[127\.0\.0\.1\]: bad PROXY header: ", 3,
                       off, count=len(cases), level="warning"))
    if n != len(cases):
        return "%d 'bad PROXY header' warnings, want %d" % (n, len(cases))
    return None


def local_header():
    """v2 LOCAL (a health check): the balancer's address stands, and it is
    not in the listener's networks: 554."""
    off = arlib.log_size()
    s = d.raw(PST)
    s.sendall(d.proxy_v2("", 0, local=True))
    s.settimeout(5)
    got = b""
    while b"\r\n" not in got:
        x = s.recv(1000)
        if not x:
            break
        got += x
    s.close()
    want = ("554 5.7.1 %s Access denied\r\n" % H).encode()
    if got != want:
        return "after a LOCAL header: %r, want %r" % (got, want)
    if not d.wait_log(r"^proxy v2 local connection via=127\.0\.0\.1: the "
                      r"balancer's own address stands$", 3, off):
        return "no 'proxy v2 local connection' line"
    if not d.wait_log(r"^unknown\[127\.0\.0\.1\]: access denied", 3, off,
                      level="warning"):
        return "no access denied warning for 127.0.0.1"
    return None


def by_hand():
    """Headers by hand with the client's first bytes in the same write:
    v1 and EHLO on the STARTTLS listener; v2 and the TLS ClientHello on the
    implicit-TLS one. The header is read, nothing after it."""
    off = arlib.log_size()
    s = d.raw(PST)
    s.sendall(d.proxy_v1("127.0.0.4", 41234, dport=PST) +
              b"EHLO client.test\r\n")
    s.settimeout(5)
    got = b""
    while not re.search(rb"\r\n250 [^\r]*\r\n", got):
        x = s.recv(4096)
        if not x:
            break
        got += x
    s.close()
    if not got.startswith(b"220 ") or b"\r\n250-" + H.encode() not in got:
        return "v1 + EHLO in one write: %r" % got[:200]
    if not d.wait_log(r"^proxy v1 client=127\.0\.0\.4 port=41234 "
                      r"via=127\.0\.0\.1$", 3, off):
        return "no 'proxy v1 client=127.0.0.4 port=41234' line"
    c = d.tls_after_header(PTLS, d.proxy_v2("127.0.0.4", 41235, dport=PTLS))
    d.OPEN.append(c)
    if c.greeting.code != 220:
        return "v2 + ClientHello in one write: greeting %r" % c.greeting.lines
    c.ehlo()
    if c.login().code != 235:
        return "v2 + ClientHello: AUTH failed"
    c.quit()
    if not d.wait_log(r"^proxy v2 client=127\.0\.0\.4 port=41235 "
                      r"via=127\.0\.0\.1$", 3, off):
        return "no 'proxy v2 client=127.0.0.4 port=41235' line"
    return None


def no_header():
    """No header within 10 s: closed."""
    s = d.raw(PST, timeout=15)
    closed, took, got = d.closed_within(s, 13)
    s.close()
    if not closed or got or not 9.5 <= took <= 11.5:
        return "closed=%s after %.2f s, bytes %r; want closed at ~10 s" % (
            closed, took, got[:40])
    d.note("# no PROXY header: closed after %.2f s" % took)
    return None


# Cases that share no client address and store no message run at once
# (beside the 10 s wait for a header); the others one by one.
d.run_at_once(rep, [
    ("PROXY: no header within 10 s: closed", no_header),
    ("PROXY via HAProxy: a penalty on 127.0.0.3 does not slow 127.0.0.4",
     penalty_via),
    ("PROXY via HAProxy: a client outside the listener's networks "
     "(127.0.0.5) gets 554, by its PROXY address", networks_via),
    ("PROXY via HAProxy: max_connections_per_ip counts the PROXY address "
     "(127.0.0.7 refused, 127.0.0.8 served, one balancer)", per_ip_via),
    ("PROXY: a direct connection from outside proxy_networks is closed "
     "before any greeting, with a warning", outside),
    ("PROXY: malformed headers (v1, v2, SMTP or TLS first) close the "
     "connection at once, with a warning", bad_headers),
    ("PROXY: a v2 LOCAL header keeps the balancer's address", local_header),
])
rep.case("PROXY v1 and v2 via HAProxy, STARTTLS and implicit TLS: messages "
         "from 127.0.0.3 and .4 relay, logged with their address and port",
         relay_via)
rep.case("PROXY via HAProxy, plain listener: an auth = none device is "
         "mapped by its PROXY address (v1 and v2)", noauth_via)
rep.case("PROXY by hand: the bytes after the header (EHLO, a TLS "
         "ClientHello in the same write) are the client's", by_hand)
d.close_all()
rep.exit()
EOF
ar_stop "$HA_PID"
ar_check_daemon "proxy: the daemon survived, exits 0 on SIGTERM"

# --- 4. out of descriptors ---------------------------------------------------

# The daemon raises its soft RLIMIT_NOFILE to the hard limit: start it
# under a low hard limit. Only the daemon itself (-c FILE) runs under it.
LOWFD=$W/authrelay-lowfd
cat >"$LOWFD" <<EOF
#!/bin/sh
if [ "\$#" -eq 2 ] && [ "\$1" = -c ]; then
	exec prlimit --nofile=64:64 "$AUTHRELAY" "\$@"
fi
exec "$AUTHRELAY" "\$@"
EOF
chmod 755 "$LOWFD"
AUTHRELAY=$LOWFD ar_start_daemon emfile "max_connections = 100"
export CLK_TCK=$(getconf CLK_TCK)

name="out of descriptors: the daemon warns at start that max_connections = 100 may need 264 descriptors with a limit of 64"
if grep -qE 'warning: max_connections=100 may need 264 descriptors, the limit is 64' \
    "$DAEMON_LOG"; then ok "$name"; else
	not_ok "$name" "no such warning" "$DAEMON_LOG"; fi

ar_pycases "emfile" <<'EOF'
import os, re, socket, time
import arlib, defencelib as d
from arlib import Report

rep = Report()
PID = int(os.environ["DAEMON_PID"])


def cpu():
    with open("/proc/%d/stat" % PID) as f:
        v = f.read().rsplit(")", 1)[1].split()
    return (int(v[11]) + int(v[12])) / float(os.environ["CLK_TCK"])


def nfds():
    return len(os.listdir("/proc/%d/fd" % PID))


def emfile():
    """More connections than descriptors: accept() fails with EMFILE; the
    daemon pauses instead of spinning, says so once per 10 s, and accepts
    again once connections close."""
    off = arlib.log_size()
    base = nfds()
    socks = []
    for i in range(90):
        s = d.raw(arlib.starttls_port(), source="127.0.8.%d" % (1 + i % 50))
        socks.append(s)
    time.sleep(0.5)
    c0, t0 = cpu(), time.time()
    time.sleep(3.0)
    used, took = cpu() - c0, time.time() - t0
    held = nfds()
    pat = (r"^accept on 127\.0\.0\.1:%d: Too many open files: not accepting "
           r"for 0\.5 s " % arlib.starttls_port())
    lines = d.log_find(pat, off, level="error")
    for s in socks:
        s.close()
    d.note("# descriptors %d at rest, %d with 90 clients (limit 64); daemon "
            "CPU %.2f s over %.1f s of EMFILE; %d log line(s)" % (
                base, held, used, took, len(lines)))
    if not lines:
        return "no 'accept on ...: Too many open files' error line"
    if len(lines) > 1:
        return "%d EMFILE lines in %.1f s, want 1 (once per 10 s)" % (
            len(lines), took + 0.5)
    if used > 0.3 * took:
        return "the daemon used %.2f s of CPU in %.1f s: it spins" % (
            used, took)
    # Once the clients are gone, a new one is served.
    end = time.time() + 10
    while True:
        try:
            c = arlib.Client(arlib.starttls_port(), timeout=3)
            if c.greeting.code == 220:
                c.quit()
                break
            c.close()
        except Exception:
            pass
        if time.time() > end:
            return "no greeting for a new client 10 s after the others left"
        time.sleep(0.3)
    return None


rep.case("out of descriptors (hard limit 64, 90 clients): EMFILE pauses "
         "accept() without spinning, one log line, then it accepts again",
         emfile)
rep.exit()
EOF
ar_check_daemon "emfile: the daemon survived, exits 0 on SIGTERM"

name="authrelay check under a hard limit of 64: 'FILE:LINE: [server] max_connections: warning: ...'"
line=$(grep -n '^max_connections = 100$' "$DAEMON_CONF" | cut -d: -f1)
prlimit --nofile=64:64 timeout 30 "$AUTHRELAY" -c "$DAEMON_CONF" check \
    >"$W/check.out" 2>&1
rc=$?
want="$DAEMON_CONF:$line: [server] max_connections: warning: 100 sessions may need 264 open descriptors, the limit here is 64"
if [ "$rc" -ne 0 ]; then
	not_ok "$name" "exit status $rc" "$W/check.out"
elif ! grep -qF -- "$want" "$W/check.out"; then
	not_ok "$name" "no line '$want'" "$W/check.out"
else
	ok "$name"
fi
name="authrelay check under a hard limit of 4096: no descriptor warning"
prlimit --nofile=4096:4096 timeout 30 "$AUTHRELAY" -c "$DAEMON_CONF" check \
    >"$W/check2.out" 2>&1
rc=$?
if [ "$rc" -ne 0 ] || grep -q 'max_connections: warning' "$W/check2.out"; then
	not_ok "$name" "exit status $rc, or a warning" "$W/check2.out"
else
	ok "$name"
fi

ar_check_secrets
ar_summary
