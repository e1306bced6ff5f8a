"""arlib: Python helpers for the integration tests (t_*.py and the raw
socket cases of t_*.sh). Reads the environment that lib.sh exports
(ar_standard_env): ports, certificate, identities, the mock's directory.

Owns a raw SMTP client (plain socket, STARTTLS, implicit TLS, reply parser),
what the mock stored (messages and envelopes), the model of how the gateway
re-frames DATA, the "ok - name" / "not ok - name" reporting, and the
daemon's configuration at run time (install a file, reload by command or
SIGHUP, status). Every socket operation and command has a timeout.
"""
import base64
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import traceback

HOST = "127.0.0.1"
TIMEOUT = float(os.environ.get("AR_SOCK_TIMEOUT", "20"))


def env(name, default=None):
    v = os.environ.get(name, default)
    if v is None:
        raise SystemExit("arlib: %s is not set (run under lib.sh)" % name)
    return v


USER = env("AR_USER", "scanner@example.com")
PASS = env("AR_PASS", "")
EMAIL = env("AR_EMAIL", "sales@example.com")
HOSTNAME = env("AR_HOSTNAME", "relay.test")


def starttls_port():
    return int(env("AR_STARTTLS_PORT"))


def tls_port():
    return int(env("AR_TLS_PORT"))


def mock_dir():
    return env("MOCK_DIR")


def ca_file():
    return env("AR_CA")


def client_context():
    ctx = ssl.create_default_context(cafile=ca_file())
    ctx.check_hostname = True
    return ctx


# --- reporting --------------------------------------------------------------

class Report:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def ok(self, name):
        self.passed += 1
        print("ok - %s" % name, flush=True)

    def not_ok(self, name, diag):
        self.failed += 1
        lines = str(diag).splitlines() or [""]
        print("not ok - %s: %s" % (name, lines[0]), flush=True)
        for l in lines[1:]:
            print("#   %s" % l, flush=True)

    def case(self, name, fn, *args):
        """Run fn(*args); it returns None (pass) or a diagnosis string, or
        raises. Prints the result line."""
        try:
            diag = fn(*args)
        except Exception as e:  # a failed case, not a failed run
            tb = traceback.extract_tb(e.__traceback__)
            where = "".join(" <- %s:%d" % (os.path.basename(f.filename),
                                            f.lineno) for f in tb[::-1][:3])
            diag = "%s: %s (at%s)" % (type(e).__name__, e, where)
        if diag:
            self.not_ok(name, diag)
        else:
            self.ok(name)

    def exit(self):
        sys.exit(1 if self.failed else 0)


# --- raw SMTP client ---------------------------------------------------------

class Reply:
    def __init__(self, lines):
        self.lines = lines                # text lines, without CRLF
        self.code = int(lines[-1][:3]) if lines and lines[-1][:3].isdigit() \
            else None

    @property
    def text(self):
        return "\n".join(self.lines)

    def __repr__(self):
        return "Reply(%r)" % (self.lines,)


class SMTPError(Exception):
    pass


class Client:
    """One SMTP connection, raw bytes in and out."""

    def __init__(self, port, tls=False, timeout=TIMEOUT, greet=True,
                 source=None):
        """source: the local address to connect from (127.0.0.0/8 is all
        loopback on Linux: another address there is another device)."""
        self.sock = socket.create_connection(
            (HOST, port), timeout=timeout,
            source_address=(source, 0) if source else None)
        self.sock.settimeout(timeout)
        self.buf = b""
        self.tls = False
        self.greeting = None
        if tls:
            self._wrap()
        if greet:
            self.greeting = self.reply()

    def _wrap(self):
        self.sock = client_context().wrap_socket(self.sock,
                                                 server_hostname=HOST)
        self.tls = True

    def settimeout(self, t):
        self.sock.settimeout(t)

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _fill(self):
        d = self.sock.recv(65536)
        if not d:
            raise SMTPError("connection closed by the server (buffered %r)"
                            % self.buf)
        self.buf += d

    def line(self):
        while b"\r\n" not in self.buf:
            if len(self.buf) > 100000:
                raise SMTPError("reply line too long")
            self._fill()
        l, self.buf = self.buf.split(b"\r\n", 1)
        return l.decode("utf-8", "replace")

    def reply(self):
        lines = []
        while True:
            l = self.line()
            lines.append(l)
            if len(l) < 4 or l[3] != "-":
                return Reply(lines)

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.reply()

    def expect(self, line, code):
        r = self.cmd(line) if line is not None else self.reply()
        if r.code != code:
            raise SMTPError("%s -> %r, want %d" % (
                (line or "(reply)")[:60], r.lines, code))
        return r

    def closed(self, wait=3.0):
        """Whether the server closes the connection within wait seconds
        (bytes received meanwhile are kept)."""
        self.sock.settimeout(wait)
        try:
            while True:
                d = self.sock.recv(65536)
                if not d:
                    return True
                self.buf += d
        except (socket.timeout, ssl.SSLError, OSError):
            return False
        finally:
            self.sock.settimeout(TIMEOUT)

    def starttls(self):
        self.expect("STARTTLS", 220)
        if self.buf:
            raise SMTPError("bytes after the STARTTLS reply: %r" % self.buf)
        self._wrap()

    def ehlo(self, name="client.test"):
        return self.expect("EHLO " + name, 250)

    def login(self, user=USER, password=PASS, mech="PLAIN"):
        """AUTH; returns the final reply (not checked)."""
        if mech == "PLAIN":
            b = base64.b64encode(("\0%s\0%s" % (user, password)).encode())
            return self.cmd("AUTH PLAIN " + b.decode())
        r = self.cmd("AUTH LOGIN")
        if r.code != 334:
            return r
        r = self.cmd(base64.b64encode(user.encode()).decode())
        if r.code != 334:
            return r
        return self.cmd(base64.b64encode(password.encode()).decode())

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def quit(self):
        try:
            self.cmd("QUIT")
        except (SMTPError, OSError):
            pass
        self.close()


def session(port=None, tls=False, auth=True):
    """A connection on the STARTTLS listener (TLS via STARTTLS) or, with
    tls=True, the implicit-TLS listener; EHLO done, and AUTH PLAIN (235
    checked) when auth."""
    if tls:
        c = Client(port or tls_port(), tls=True)
    else:
        c = Client(port or starttls_port())
    if c.greeting.code != 220:
        raise SMTPError("greeting %r" % c.greeting.lines)
    c.ehlo()
    if not tls:
        c.starttls()
        c.ehlo()
    if auth:
        r = c.login()
        if r.code != 235:
            raise SMTPError("AUTH -> %r" % r.lines)
    return c


# --- messages -----------------------------------------------------------------

def message(subject, body_lines, extra=""):
    """A complete message with CRLF line ends (Date and Message-ID included,
    so no client adds headers)."""
    head = ("From: Scanner <%s>\r\nTo: Someone <rcpt@example.org>\r\n"
            "Subject: %s\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n"
            "Message-ID: <%s@client.test>\r\n%s\r\n") % (
                USER, subject, subject.replace(" ", "-"), extra)
    return (head + "".join(l + "\r\n" for l in body_lines)).encode()


def stuff(msg):
    """Dot-stuff a CRLF message for the wire and add the terminator."""
    out = []
    for l in msg.split(b"\r\n")[:-1]:
        out.append(b"." + l if l.startswith(b".") else l)
    return b"\r\n".join(out) + b"\r\n.\r\n"


def gateway_frame(data):
    """What the gateway stores upstream (unstuffed) for client DATA bytes,
    per proxy/datafilter.h: a bare CR becomes a space, a bare LF ends a line
    (and goes out as CRLF), a leading dot is the client's stuffing dot unless
    the line is a lone "." next to a bare LF (then it is content "."), and
    the message ends only on a real CRLF "." CRLF. Returns the stored bytes,
    or None if data has no end."""
    lines = []          # (content, ended by a real CRLF)
    cur = bytearray()
    i, n = 0, len(data)
    while i < n:
        c = data[i]
        if c == 0x0D and i + 1 < n and data[i + 1] == 0x0A:
            lines.append((bytes(cur), True))
            cur = bytearray()
            i += 2
            continue
        if c == 0x0D:
            cur.append(0x20)
        elif c == 0x0A:
            lines.append((bytes(cur), False))
            cur = bytearray()
        else:
            cur.append(c)
        i += 1
    out = bytearray()
    prev_real = True
    for content, real in lines:
        if content == b"." and real and prev_real:
            return bytes(out)
        if content.startswith(b".") and content != b".":
            content = content[1:]
        out += content + b"\r\n"
        prev_real = real
    return None


# --- what the mock stored ---------------------------------------------------

def msgs():
    d = os.path.join(mock_dir(), "messages")
    try:
        names = os.listdir(d)
    except FileNotFoundError:
        return []
    return sorted(n[:-4] for n in names if n.endswith(".env"))


def wait_msgs(count, timeout=5.0):
    end = time.time() + timeout
    while time.time() < end:
        if len(msgs()) >= count:
            return True
        time.sleep(0.05)
    return len(msgs()) >= count


def stored(num):
    base = os.path.join(mock_dir(), "messages", num)
    with open(base + ".eml", "rb") as f:
        data = f.read()
    with open(base + ".env") as f:
        envl = f.read().splitlines()
    env_ = {}
    for l in envl:
        k, _, v = l.partition(": ")
        env_.setdefault(k, []).append(v)
    return data, env_


def counter(name):
    try:
        with open(os.path.join(mock_dir(), name)) as f:
            return int(f.read().strip() or 0)
    except FileNotFoundError:
        return 0


def check_stored(num, want, mail_from, rcpts):
    """None if message num is want byte for byte with that envelope, else a
    diagnosis."""
    data, e = stored(num)
    if data != want:
        i = next((k for k in range(min(len(data), len(want)))
                  if data[k] != want[k]), min(len(data), len(want)))
        return ("stored message differs at byte %d (sizes: want %d, got %d)"
                "\nwant: %r\ngot:  %r" % (i, len(want), len(data),
                                          want[max(0, i - 40):i + 40],
                                          data[max(0, i - 40):i + 40]))
    if e.get("auth-user") != [EMAIL]:
        return "envelope auth-user %r, want %r" % (e.get("auth-user"), EMAIL)
    mf = [v.split(" ")[0] for v in e.get("mail-from", [])]
    if mf != ["<%s>" % mail_from]:
        return "envelope mail-from %r, want <%s>" % (mf, mail_from)
    rt = [v.split(" ")[0] for v in e.get("rcpt-to", [])]
    if rt != ["<%s>" % r for r in rcpts]:
        return "envelope rcpt-to %r, want %r" % (rt, rcpts)
    for k in ("bare-lf", "bare-cr"):
        if e.get(k) != ["0"]:
            return "envelope %s %r, want 0" % (k, e.get(k))
    if e.get("size") != [str(len(want))]:
        return "envelope size %r, want %d" % (e.get("size"), len(want))
    return None


def new_msgs(before, count=1, settle=0.3):
    """Wait for count messages after the list before; returns the new ones
    (after a short settle, so that an extra message would show)."""
    wait_msgs(len(before) + count)
    time.sleep(settle)
    return [m for m in msgs() if m not in before]


def log_text():
    try:
        with open(env("DAEMON_LOG"), errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


# --- OAuth: relaying, token files, PKCE ---------------------------------------

def finish_message(c, msg, rcpt):
    """On client c, after MAIL and RCPT TO:<rcpt>: DATA, msg, QUIT. None if
    the message was accepted and stored byte for byte, else a
    diagnosis."""
    before = msgs()
    c.expect("DATA", 354)
    c.send(stuff(msg))
    r = c.reply()
    c.quit()
    if r.code != 250:
        return "end of DATA -> %r" % r.lines
    new = new_msgs(before)
    if len(new) != 1:
        return "stored %d messages, want 1" % len(new)
    return check_stored(new[0], msg, USER, [rcpt])


def relay_one(subject, tls=False):
    """One session (AUTH PLAIN, one message to rcpt@example.org); None if
    the message was accepted and stored byte for byte, else a diagnosis."""
    msg = message(subject, ["Relayed with an OAuth token.", ".dot line"])
    c = session(tls=tls)
    c.expect("MAIL FROM:<%s>" % USER, 250)
    c.expect("RCPT TO:<rcpt@example.org>", 250)
    return finish_message(c, msg, "rcpt@example.org")


def auth_reply(tls=False):
    """A session up to AUTH PLAIN; returns (reply, seconds AUTH took). The
    connection is closed."""
    c = session(tls=tls, auth=False)
    t0 = time.time()
    r = c.login()
    took = time.time() - t0
    c.quit()
    return r, took


def token_file(state_dir, account="sales"):
    return os.path.join(state_dir, account + ".json")


def read_token_file(path):
    """The token file's JSON object (a plain, unsealed one). Its contents
    are secret: compare them, never print them."""
    import json
    with open(path) as f:
        return json.load(f)


def mock_refresh_tokens(mdir=None):
    """The mock's valid refresh tokens, oldest first (secret)."""
    with open(os.path.join(mdir or mock_dir(), "refresh-tokens")) as f:
        return [l for l in f.read().split("\n") if l]


def rt_is_newest(state_dir, mdir=None):
    """None if the account's token file holds the mock's newest refresh
    token, else a diagnosis that quotes no token."""
    t = read_token_file(token_file(state_dir))
    rts = mock_refresh_tokens(mdir)
    have = t.get("refresh_token")
    if not rts:
        return "the mock's refresh-tokens file is empty"
    if have == rts[-1]:
        return None
    if have in rts:
        return ("the token file holds refresh token %d of %d the mock "
                "issued, not the newest" % (rts.index(have) + 1, len(rts)))
    return ("the token file's refresh token is none of the %d the mock "
            "holds valid" % len(rts))


def pkce_challenge(verifier):
    import hashlib
    d = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(d).rstrip(b"=").decode()


def holds_verifier(text, challenge):
    """Whether text holds the PKCE code_verifier (43..128 unreserved
    characters) whose S256 challenge is challenge."""
    import re
    for m in re.finditer(r"[A-Za-z0-9._~-]{43,}", text):
        run = m.group(0)
        for i in range(len(run) - 42):
            for n in range(43, min(128, len(run) - i) + 1):
                if pkce_challenge(run[i:i + n]) == challenge:
                    return True
    return False


# --- the daemon's configuration: reloads and status ----------------------------

RELOAD_END = re.compile(
    r"reload applied generation=(\d+)|"
    r"reload refused: the running configuration stays \(generation (\d+)\)")


class ReloadError(Exception):
    pass


def log_size():
    """The daemon log's size now: an offset for log_since."""
    try:
        return os.path.getsize(env("DAEMON_LOG"))
    except FileNotFoundError:
        return 0


def log_since(offset):
    """The daemon log from byte offset on."""
    with open(env("DAEMON_LOG"), "rb") as f:
        f.seek(offset)
        return f.read().decode("utf-8", "replace")


def install_config(path):
    """Put a copy of the file path in place of the daemon's configuration
    (DAEMON_CONF), atomically."""
    conf = env("DAEMON_CONF")
    shutil.copyfile(path, conf + ".new")
    # A config holds secrets: the daemon refuses one open to others.
    os.chmod(conf + ".new", 0o600)
    os.replace(conf + ".new", conf)


def reload_daemon(config=None, how="cli", timeout=30.0):
    """Reload the daemon: first, if config is given, install_config(config);
    then run `authrelay -c DAEMON_CONF reload` (how "cli") or send SIGHUP to
    DAEMON_PID and wait for that reload's result line in the log (how
    "hup"). Returns (applied, generation, text): text is the command's
    output (stdout, then stderr) or the log from the signal to the result
    line. Raises ReloadError when there is no result."""
    if config is not None:
        install_config(config)
    if how == "cli":
        try:
            p = subprocess.run([env("AUTHRELAY"), "-c", env("DAEMON_CONF"),
                                "reload"], capture_output=True, text=True,
                               timeout=timeout)
        except subprocess.TimeoutExpired:
            raise ReloadError("authrelay reload took over %.0fs" % timeout)
        text = p.stdout + p.stderr
        m = re.search(r"generation (\d+)", text)
        if p.returncode not in (0, 1) or m is None:
            raise ReloadError("authrelay reload exited %d: %s" % (
                p.returncode, text.strip()[-300:]))
        return p.returncode == 0, int(m.group(1)), text
    if how != "hup":
        raise ValueError(how)
    off = log_size()
    os.kill(int(env("DAEMON_PID")), signal.SIGHUP)
    end = time.time() + timeout
    while True:
        text = log_since(off)
        m = RELOAD_END.search(text)
        if m:
            return (m.group(1) is not None, int(m.group(1) or m.group(2)),
                    text[:m.end()])
        if time.time() > end:
            raise ReloadError("no reload result in the daemon log %.0fs "
                              "after SIGHUP" % timeout)
        time.sleep(0.02)


def reload_ok(config=None, how="cli", timeout=30.0):
    """reload_daemon that must apply; returns the new generation, or raises
    ReloadError saying why not."""
    applied, gen, text = reload_daemon(config, how, timeout)
    if not applied:
        raise ReloadError("reload (%s) refused: %s" % (
            how, text.strip()[-300:]))
    return gen


def daemon_status(timeout=30.0):
    """The daemon's `authrelay -c DAEMON_CONF status --json` object."""
    p = subprocess.run([env("AUTHRELAY"), "-c", env("DAEMON_CONF"),
                        "status", "--json"], capture_output=True, text=True,
                       timeout=timeout)
    if p.returncode not in (0, 1):
        raise ReloadError("authrelay status exited %d: %s" % (
            p.returncode, (p.stdout + p.stderr).strip()[-300:]))
    return json.loads(p.stdout)


def refused(port, timeout=5.0):
    """Whether a TCP connection to port is refused."""
    try:
        s = socket.create_connection((HOST, port), timeout=timeout)
    except ConnectionRefusedError:
        return True
    s.close()
    return False
