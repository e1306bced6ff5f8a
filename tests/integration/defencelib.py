"""defencelib: helpers for t_defence.sh (the brute-force brake, the
per-connection and per-address limits, the client timeouts, the PROXY
protocol) and for the brute-force case of tests/bench/run.sh. Built on
arlib; reads the same environment (lib.sh).

Owns: sessions from a chosen source address (127.0.0.0/8 is all loopback
on Linux, so each address there is another device), timed AUTH attempts,
the daemon log's lines with their timestamps, session ids by client port,
PROXY protocol headers made by hand, and running independent cases at once
in threads. Every socket operation and wait is bounded.
"""
import base64
import calendar
import os
import re
import socket
import ssl
import struct
import sys
import threading
import time
import traceback

import arlib
from arlib import Client, SMTPError

WRONG = "Wrong-guess.0000"      # a password no user has
OPEN = []                       # every Client conn() made, for close_all

# A daemon log line: "2026-12-08T01:12:24.123Z LEVEL: [SID ]TEXT".
LOG_LINE = re.compile(
    r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{3})Z (\w+): "
    r"(?:([0-9a-f]{16}) )?(.*)$")


# --- sessions ----------------------------------------------------------------

def plain_b64(user, password):
    return base64.b64encode(("\0%s\0%s" % (user, password)).encode()).decode()


def conn(port=None, source=None, tls=False, host_port=None, ehlo=True,
         timeout=None):
    """A connection from source to port (default: the STARTTLS listener,
    or with tls the implicit-TLS one): greeting 220 checked, then EHLO and,
    on a STARTTLS listener, STARTTLS and EHLO again. Returns the Client."""
    if port is None:
        port = arlib.tls_port() if tls else arlib.starttls_port()
    c = Client(port, tls=tls, source=source,
               timeout=timeout or arlib.TIMEOUT)
    OPEN.append(c)
    if c.greeting.code != 220:
        c.close()
        raise SMTPError("greeting %r" % c.greeting.lines)
    if ehlo:
        c.ehlo()
        if not tls:
            c.starttls()
            c.ehlo()
    return c


def close_all():
    """Close every connection conn() made."""
    while OPEN:
        OPEN.pop().close()


def local_port(c):
    return c.sock.getsockname()[1]


def timed_auth(c, user=None, password=WRONG):
    """AUTH PLAIN on c; returns (reply, seconds from the AUTH line's send
    to the reply's last line)."""
    line = "AUTH PLAIN " + plain_b64(user or arlib.USER, password)
    t0 = time.time()
    c.send(line + "\r\n")
    r = c.reply()
    return r, time.time() - t0


class AuthAsync:
    """An AUTH PLAIN sent now on c; wait() gives (reply or the exception,
    seconds from the send to the reply)."""

    def __init__(self, c, user=None, password=WRONG):
        self.out = None
        self.t0 = time.time()
        c.send("AUTH PLAIN %s\r\n" % plain_b64(user or arlib.USER,
                                                password))
        self.th = threading.Thread(target=self._run, args=(c,), daemon=True)
        self.th.start()

    def _run(self, c):
        try:
            r = c.reply()
        except Exception as e:  # the caller looks at it
            r = e
        self.out = (r, time.time() - self.t0)

    def wait(self, timeout=60):
        self.th.join(timeout)
        return self.out or (SMTPError("no reply in %d s" % timeout), timeout)


def timed_many(pairs):
    """Send each (client, line) at once, then wait for each reply in a
    thread of its own; returns [(reply or the exception, seconds from the
    line's send to its reply)] in order."""
    out = [None] * len(pairs)
    sent = []
    for c, line in pairs:
        sent.append(time.time())
        c.send(line + "\r\n")

    def wait(i, c):
        try:
            r = c.reply()
        except Exception as e:  # the caller looks at it
            r = e
        out[i] = (r, time.time() - sent[i])

    ts = [threading.Thread(target=wait, args=(i, p[0]), daemon=True)
          for i, p in enumerate(pairs)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return out


def send_message(c, subject, mail_params=""):
    """MAIL, RCPT, DATA and a small message on authenticated c (left
    open). None if the end of data got 250, else a diagnosis."""
    msg = arlib.message(subject, ["Sent by t_defence."])
    c.expect("MAIL FROM:<%s>%s" % (arlib.USER, mail_params), 250)
    c.expect("RCPT TO:<rcpt@example.org>", 250)
    c.expect("DATA", 354)
    c.send(arlib.stuff(msg))
    r = c.reply()
    if r.code != 250:
        return "end of DATA -> %r" % r.lines
    return None


# --- the daemon log ----------------------------------------------------------

def log_ts(date, ms):
    """Seconds since the epoch of a log line's UTC timestamp."""
    return calendar.timegm(time.strptime(date, "%Y-%m-%dT%H:%M:%S")) + \
        int(ms) / 1000.0


def log_records(since=0):
    """The daemon log's lines from byte offset since, as (time, level,
    sid, text) tuples (lines without the timestamp shape are left out)."""
    out = []
    for l in arlib.log_since(since).splitlines():
        m = LOG_LINE.match(l)
        if m:
            out.append((log_ts(m.group(1), m.group(2)), m.group(3),
                        m.group(4), m.group(5)))
    return out


def log_find(regex, since=0, level=None):
    """The log records (as log_records) whose text matches regex."""
    r = re.compile(regex)
    return [x for x in log_records(since)
            if r.search(x[3]) and (level is None or x[1] == level)]


def wait_log(regex, timeout=10.0, since=0, count=1, level=None):
    """Wait until count records match; returns them (maybe fewer, at the
    timeout)."""
    end = time.time() + timeout
    while True:
        got = log_find(regex, since, level)
        if len(got) >= count or time.time() > end:
            return got
        time.sleep(0.02)


def sid_of(port, since=0, timeout=5.0, proxied=False):
    """The session id of the connection from client port port (its
    "connect client=... port=PORT" line, or with proxied its "proxy vN
    client=... port=PORT" line), or None."""
    got = wait_log(r"^proxy v\d client=\S+ port=%d via=" % port if proxied
                   else r"^connect client=\S+ port=%d listener=" % port,
                   timeout, since)
    return got[-1][2] if got else None


def sid_lines(sid, since=0):
    return [x for x in log_records(since) if x[2] == sid]


def penalty_waits(since=0):
    """Sessions that waited for their address's turn (state auth-penalty,
    from the debug lines of state changes): {sid: [entered, left or
    None]}."""
    out = {}
    for t, _, sid, text in log_records(since):
        if sid is None or not text.startswith("smtp "):
            continue
        if text.endswith(" -> auth-penalty"):
            out[sid] = [t, None]
        elif text.startswith("smtp auth-penalty -> ") and sid in out:
            out[sid][1] = t
    return out


def wait_penalty_state(sids, since=0, timeout=10.0):
    """Wait until each session of sids has entered auth-penalty."""
    end = time.time() + timeout
    while True:
        w = penalty_waits(since)
        if all(x in w for x in sids) or time.time() > end:
            return w


# --- PROXY protocol ----------------------------------------------------------

V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def proxy_v1(src, sport, dst="127.0.0.1", dport=25):
    return ("PROXY TCP4 %s %s %d %d\r\n" % (src, dst, sport, dport)).encode()


def proxy_v2(src, sport, dst="127.0.0.1", dport=25, local=False):
    """A v2 header: PROXY over TCP/IPv4, or LOCAL (no address)."""
    if local:
        return V2_SIG + bytes([0x20, 0x00]) + struct.pack("!H", 0)
    addr = socket.inet_aton(src) + socket.inet_aton(dst) + \
        struct.pack("!HH", sport, dport)
    return V2_SIG + bytes([0x21, 0x11]) + struct.pack("!H", len(addr)) + addr


def raw(port, source=None, timeout=10.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                 source_address=(source, 0) if source else
                                 None)
    s.settimeout(timeout)
    return s


def closed_within(s, wait):
    """(closed, seconds, bytes received) for a raw socket: whether the
    peer closed it (EOF or reset) within wait seconds."""
    t0 = time.time()
    got = b""
    s.settimeout(0.2)
    while time.time() - t0 < wait:
        try:
            d = s.recv(4096)
        except socket.timeout:
            continue
        except OSError:
            return True, time.time() - t0, got
        if not d:
            return True, time.time() - t0, got
        got += d
    return False, time.time() - t0, got


def tls_after_header(port, header, timeout=10.0):
    """Connect, and send header and the TLS ClientHello in one write (so
    that the server gets them in one segment), finish the handshake and
    return an arlib Client on it (greeting read)."""
    s = raw(port, timeout=timeout)
    ctx = arlib.client_context()
    inc, outg = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, outg, server_hostname=arlib.HOST)
    first = True
    end = time.time() + timeout
    while True:
        try:
            obj.do_handshake()
            done = True
        except ssl.SSLWantReadError:
            done = False
        data = outg.read()
        if data:
            s.sendall(header + data if first else data)
            first = False
        if done:
            break
        if time.time() > end:
            raise SMTPError("TLS handshake after the header timed out")
        d = s.recv(65536)
        if not d:
            raise SMTPError("closed during the TLS handshake")
        inc.write(d)
    return BioClient(s, obj, inc, outg)


class BioClient(Client):
    """An arlib Client over an SSLObject and a socket (tls_after_header)."""

    def __init__(self, s, obj, inc, outg):
        self.sock = s
        self.obj, self.inc, self.outg = obj, inc, outg
        self.buf = b""
        self.tls = True
        self.greeting = self.reply()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.obj.write(data)
        self.sock.sendall(self.outg.read())

    def _fill(self):
        while True:
            try:
                d = self.obj.read(65536)
                if not d:
                    raise SMTPError("TLS connection closed")
                self.buf += d
                return
            except ssl.SSLWantReadError:
                pass
            n = self.sock.recv(65536)
            if not n:
                raise SMTPError("connection closed by the server (buffered "
                                "%r)" % self.buf)
            self.inc.write(n)


# --- cases at once -----------------------------------------------------------

_NOTE = threading.Lock()


def note(text):
    """Print a line whole, even from cases that run at once."""
    with _NOTE:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


def run_at_once(rep, cases):
    """Run independent cases (name, fn, args...) in threads at once, then
    report each in the given order through the arlib Report rep: fn
    returns None (pass) or a diagnosis, or a list of (name, None or
    diagnosis) for several cases, or raises."""
    results = {}

    def run(i, fn, args):
        try:
            results[i] = fn(*args)
        except Exception as e:  # the case's failure, with where it was
            tb = traceback.extract_tb(e.__traceback__)
            where = "".join(" <- %s:%d" % (os.path.basename(f.filename),
                                            f.lineno) for f in tb[::-1][:3])
            results[i] = "%s: %s (at%s)" % (type(e).__name__, e, where)

    threads = []
    for i, c in enumerate(cases):
        t = threading.Thread(target=run, args=(i, c[1], c[2:]), daemon=True)
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    for i, c in enumerate(cases):
        diag = results.get(i, "no result")
        subs = diag if isinstance(diag, list) else [(c[0], diag)]
        for name, d in subs:
            if d:
                rep.not_ok(name, d)
            else:
                rep.ok(name)
