#!/usr/bin/env python3
"""t_smtp: the client-facing SMTP of the gateway, driven by Python: smtplib
(a real client) and raw sockets (for the bytes no real client sends:
pipelining, smuggling, STARTTLS injection, over-long lines). Runs in the
standard environment of lib.sh (run.sh starts it): a mock provider with
implicit TLS and a daemon with a STARTTLS and an implicit-TLS listener.
"""
import base64
import hashlib
import os
import re
import smtplib
import socket
import ssl
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import arlib  # noqa: E402
from arlib import Client, SMTPError, message, stuff  # noqa: E402

R = arlib.Report()
FROM = arlib.USER
RCPT = "rcpt@example.org"


def smtplib_ctx():
    return arlib.client_context()


def deliver_check(before, want, mail_from=FROM, rcpts=(RCPT,)):
    new = arlib.new_msgs(before)
    if len(new) != 1:
        return "expected 1 new stored message, got %d %r" % (len(new), new)
    return arlib.check_stored(new[0], want, mail_from, list(rcpts))


# --- capabilities --------------------------------------------------------------

def t_capabilities():
    c = Client(arlib.starttls_port())
    try:
        g = c.greeting.lines[0]
        if not re.match(r"220 %s ESMTP" % re.escape(arlib.HOSTNAME), g):
            return "greeting %r" % g
        caps = [l[4:].upper() for l in c.ehlo().lines[1:]]
        for want in ("PIPELINING", "STARTTLS", "ENHANCEDSTATUSCODES",
                     "8BITMIME"):
            if want not in caps:
                return "EHLO before TLS lacks %s: %r" % (want, caps)
        if not any(x.startswith("SIZE") for x in caps):
            return "EHLO lacks SIZE: %r" % caps
        if any(x.startswith("AUTH") for x in caps):
            return "AUTH offered before TLS: %r" % caps
        c.starttls()
        caps = [l[4:].upper() for l in c.ehlo().lines[1:]]
        if "STARTTLS" in caps:
            return "STARTTLS offered again under TLS: %r" % caps
        auth = [x for x in caps if x.startswith("AUTH ")]
        if not auth or set(auth[0].split()[1:]) != {"PLAIN", "LOGIN"}:
            return "EHLO under TLS: AUTH line %r, want AUTH PLAIN LOGIN" % auth
        c.quit()
        c = Client(arlib.tls_port(), tls=True)
        caps = [l[4:].upper() for l in c.ehlo().lines[1:]]
        if "STARTTLS" in caps or not any(x.startswith("AUTH ") for x in caps):
            return "implicit TLS listener EHLO %r" % caps
    finally:
        c.quit()
    return None


# --- real client: smtplib ---------------------------------------------------------

def t_smtplib_starttls():
    before = arlib.msgs()
    msg = message("smtplib starttls", ["Hello from smtplib over STARTTLS.",
                                       "Second line, 8bit: caf\u00e9."])
    with smtplib.SMTP(arlib.HOST, arlib.starttls_port(),
                      timeout=arlib.TIMEOUT) as s:
        s.starttls(context=smtplib_ctx())
        s.login(arlib.USER, arlib.PASS)
        refused = s.sendmail(FROM, [RCPT], msg)
        if refused:
            return "refused %r" % refused
    return deliver_check(before, msg)


def t_smtplib_tls_login():
    before = arlib.msgs()
    msg = message("smtplib implicit tls", ["Hello over implicit TLS, AUTH LOGIN."])
    with smtplib.SMTP_SSL(arlib.HOST, arlib.tls_port(), timeout=arlib.TIMEOUT,
                          context=smtplib_ctx()) as s:
        s.ehlo()
        s.user, s.password = arlib.USER, arlib.PASS
        code, resp = s.auth("LOGIN", s.auth_login, initial_response_ok=False)
        if code != 235:
            return "AUTH LOGIN -> %d %r" % (code, resp)
        s.sendmail(FROM, [RCPT, "second@example.org"], msg)
    return deliver_check(before, msg, rcpts=(RCPT, "second@example.org"))


def t_big_message():
    """5 MiB of base64 text lines through smtplib on the TLS listener."""
    before = arlib.msgs()
    raw = hashlib.sha256(b"seed").digest() * (5 * 1024 * 1024 // 32 * 3 // 4)
    b64 = base64.encodebytes(raw).replace(b"\n", b"\r\n")
    msg = message("big message", [], extra="MIME-Version: 1.0\r\n"
                  "Content-Type: application/octet-stream\r\n"
                  "Content-Transfer-Encoding: base64\r\n") + b64
    t0 = time.time()
    with smtplib.SMTP_SSL(arlib.HOST, arlib.tls_port(), timeout=120,
                          context=smtplib_ctx()) as s:
        s.login(arlib.USER, arlib.PASS)
        s.sendmail(FROM, [RCPT], msg)
    took = time.time() - t0
    new = arlib.new_msgs(before)
    if len(new) != 1:
        return "expected 1 new stored message, got %d" % len(new)
    data, _ = arlib.stored(new[0])
    if len(data) != len(msg) or hashlib.sha256(data).digest() != \
            hashlib.sha256(msg).digest():
        return "stored %d bytes sha256 %s, sent %d bytes sha256 %s" % (
            len(data), hashlib.sha256(data).hexdigest()[:16], len(msg),
            hashlib.sha256(msg).hexdigest()[:16])
    d = arlib.check_stored(new[0], msg, FROM, [RCPT])
    if d:
        return d
    print("# 5 MiB message relayed in %.2fs (%d bytes)" % (took, len(msg)))
    return None


# --- raw DATA framing ------------------------------------------------------------

def send_raw_data(c, wire):
    """MAIL, RCPT, DATA, then the raw bytes; returns the final reply."""
    c.expect("MAIL FROM:<%s>" % FROM, 250)
    c.expect("RCPT TO:<%s>" % RCPT, 250)
    c.expect("DATA", 354)
    c.send(wire)
    return c.reply()


def t_dot_lines():
    before = arlib.msgs()
    msg = message("dot lines", [".", "..", "...", ".leading dot", "..two dots",
                                "", " .space dot", ".", "last . line", "."])
    c = arlib.session()
    try:
        r = send_raw_data(c, stuff(msg))
        if r.code != 250:
            return "end of DATA -> %r" % r.lines
    finally:
        c.quit()
    return deliver_check(before, msg)


# The smuggled transaction; its "\r\n.\r\n" is the real end of the message.
SMUGGLE = ("MAIL FROM:<evil@x>\r\nRCPT TO:<victim@y>\r\nDATA\r\n"
           "evil\r\n.\r\n")


def t_smuggle(sep):
    """A body with a fake end of data (sep) and a second transaction after
    it, ended by the real CRLF.CRLF. A gateway that forwarded the raw bytes
    would make the (lenient) mock store two messages; the gateway must store
    one, the smuggled commands in it as text, every line end CRLF, and send
    exactly one reply (250)."""
    before = arlib.msgs()
    head = message("smuggling", ["Before the fake end."])
    wire = head[:-2] + sep.encode() + SMUGGLE.encode()
    want = arlib.gateway_frame(wire)
    c = arlib.session()
    try:
        r = send_raw_data(c, wire)
        if r.code != 250:
            return "end of DATA -> %r" % r.lines
        # A smuggled transaction would answer more replies: none may come.
        extra = c.closed(wait=1.0)
        if c.buf:
            return "extra replies after the message: %r" % c.buf
        if extra:
            return "server closed the connection after the message"
        c.expect("NOOP", 250)
    finally:
        c.quit()
    new = arlib.new_msgs(before, settle=0.5)
    if len(new) != 1:
        return "expected exactly 1 stored message, got %d %r" % (len(new), new)
    data, e = arlib.stored(new[0])
    if b"MAIL FROM:<evil@x>" not in data or b"evil\r\n" not in data:
        return "smuggled text not in the stored message: %r" % data[-200:]
    if e.get("bare-lf") != ["0"] or e.get("bare-cr") != ["0"]:
        return "envelope bare-lf %r bare-cr %r, want 0 and 0" % (
            e.get("bare-lf"), e.get("bare-cr"))
    if e.get("mail-from", [""])[0].split(" ")[0] != "<%s>" % FROM:
        return "envelope mail-from %r" % e.get("mail-from")
    if any("victim" in v for v in e.get("rcpt-to", [])):
        return "smuggled recipient in the envelope: %r" % e.get("rcpt-to")
    if data != want:
        return ("stored message is not the gateway's re-framing of the "
                "input\nwant tail %r\ngot tail  %r" % (want[-160:],
                                                        data[-160:]))
    return None


def t_two_messages():
    before = arlib.msgs()
    m1 = message("first of two", ["One."])
    m2 = message("second of two", ["Two.", ".dot"])
    c = arlib.session()
    try:
        r = send_raw_data(c, stuff(m1))
        if r.code != 250:
            return "first DATA -> %r" % r.lines
        c.expect("MAIL FROM:<other@example.com>", 250)
        c.expect("RCPT TO:<a@example.org>", 250)
        c.expect("RCPT TO:<b@example.org>", 250)
        c.expect("DATA", 354)
        c.send(stuff(m2))
        r = c.reply()
        if r.code != 250:
            return "second DATA -> %r" % r.lines
    finally:
        c.quit()
    new = arlib.new_msgs(before, count=2)
    if len(new) != 2:
        return "expected 2 stored messages, got %d" % len(new)
    return arlib.check_stored(new[0], m1, FROM, [RCPT]) or \
        arlib.check_stored(new[1], m2, "other@example.com",
                           ["a@example.org", "b@example.org"])


def t_pipelining():
    before = arlib.msgs()
    msg = message("pipelined", ["Sent with PIPELINING."])
    c = arlib.session()
    try:
        c.send("MAIL FROM:<%s>\r\nRCPT TO:<%s>\r\nRCPT TO:<p2@example.org>\r\n"
               "DATA\r\n" % (FROM, RCPT))
        codes = [c.reply().code for _ in range(4)]
        if codes != [250, 250, 250, 354]:
            return "pipelined replies %r, want [250, 250, 250, 354]" % codes
        # The message, then RSET and NOOP in the same write.
        c.send(stuff(msg) + b"RSET\r\nNOOP\r\n")
        codes = [c.reply().code for _ in range(3)]
        if codes != [250, 250, 250]:
            return "replies to data+RSET+NOOP %r, want [250, 250, 250]" % codes
    finally:
        c.quit()
    return deliver_check(before, msg, rcpts=(RCPT, "p2@example.org"))


def t_commands():
    """NOOP, RSET, VRFY, unknown command, bad sequence, bad syntax."""
    c = arlib.session()
    try:
        for line, want in (("NOOP", 250), ("VRFY someone", 252),
                           ("XYZZY", 500), ("RSET", 250)):
            r = c.cmd(line)
            if r.code != want:
                return "%s -> %r, want %d" % (line, r.lines, want)
        r = c.cmd("DATA")
        if r.code != 503:
            return "DATA before MAIL -> %r, want 503" % r.lines
        r = c.cmd("MAIL FROM:no-brackets-here")
        if r.code != 501:
            return "MAIL FROM without <> -> %r, want 501" % r.lines
        c.expect("NOOP", 250)
    finally:
        c.quit()
    return None


# --- negative cases -------------------------------------------------------------------

def t_auth_before_tls():
    c = Client(arlib.starttls_port())
    try:
        c.ehlo()
        r = c.login()
        if r.code != 530 or "5.7.0" not in r.text:
            return "AUTH before STARTTLS -> %r, want 530 5.7.0" % r.lines
        r = c.cmd("AUTH LOGIN")
        if r.code != 530:
            return "AUTH LOGIN before STARTTLS -> %r, want 530" % r.lines
    finally:
        c.quit()
    return None


def t_mail_before_auth():
    for tls in (False, True):
        c = arlib.session(tls=tls, auth=False)
        try:
            r = c.cmd("MAIL FROM:<%s>" % FROM)
            if r.code != 530 or "5.7.0" not in r.text:
                return "MAIL before AUTH (tls=%s) -> %r, want 530 5.7.0" % (
                    tls, r.lines)
        finally:
            c.quit()
    c = Client(arlib.starttls_port())       # and in clear text
    try:
        c.ehlo()
        r = c.cmd("MAIL FROM:<%s>" % FROM)
        if r.code != 530:
            return "MAIL before STARTTLS -> %r, want 530" % r.lines
    finally:
        c.quit()
    return None


def t_auth_cancel():
    c = arlib.session(auth=False)
    try:
        r = c.expect("AUTH PLAIN", 334)
        r = c.cmd("*")
        if r.code != 501:
            return "AUTH PLAIN, '*' -> %r, want 501" % r.lines
        c.expect("AUTH LOGIN", 334)
        c.expect(base64.b64encode(arlib.USER.encode()).decode(), 334)
        r = c.cmd("*")
        if r.code != 501:
            return "AUTH LOGIN, user, '*' -> %r, want 501" % r.lines
        # The session is still usable: AUTH works after the cancels.
        r = c.login()
        if r.code != 235:
            return "AUTH after cancel -> %r, want 235" % r.lines
    finally:
        c.quit()
    return None


def wrong_login(user, password, mech):
    before = arlib.msgs()
    c = arlib.session(auth=False)
    try:
        t0 = time.time()
        r = c.login(user, password, mech)
        took = time.time() - t0
        if r.code != 535 or "5.7.8" not in r.text:
            return "AUTH %s -> %r, want 535 5.7.8" % (mech, r.lines)
        if took < 0.4:
            return "535 came after %.2fs: no delay" % took
        r = c.cmd("MAIL FROM:<%s>" % FROM)
        if r.code != 530:
            return "MAIL after a failed AUTH -> %r, want 530" % r.lines
    finally:
        c.quit()
    time.sleep(0.3)
    if arlib.msgs() != before:
        return "a message was stored"
    return None


def t_wrong_password():
    pw = "Wrong-pw-31337-zz"
    for mech in ("PLAIN", "LOGIN"):
        d = wrong_login(arlib.USER, pw, mech)
        if d:
            return d
    log = arlib.log_text()
    lines = [l for l in log.splitlines() if "authentication failed" in l]
    if not lines:
        return "no 'authentication failed' line in the daemon log"
    if not any(re.search(r"\bwarn", l) for l in lines):
        return "the 'authentication failed' line is not a warning: %r" % \
            lines[0]
    for secret in (pw, base64.b64encode(pw.encode()).decode(),
                   base64.b64encode(("\0%s\0%s" % (arlib.USER, pw)).encode())
                   .decode()):
        if secret in log:
            return "the wrong password appears in the log (%r)" % secret
    return None


def t_unknown_user():
    return wrong_login("nobody@example.com", arlib.PASS, "PLAIN") or \
        wrong_login("nobody@example.com", arlib.PASS, "LOGIN")


def t_starttls_injection():
    c = Client(arlib.starttls_port())
    try:
        c.ehlo()
        c.send("STARTTLS\r\nNOOP\r\n")
        r = c.reply()
        if r.code != 220:
            return "STARTTLS -> %r" % r.lines
        # The plaintext NOOP must be discarded: any byte after the 220 in
        # clear, or a reply after the handshake, is the injection working.
        time.sleep(0.3)
        c.sock.setblocking(False)
        try:
            extra = c.sock.recv(4096)
        except (BlockingIOError, OSError):
            extra = b""
        c.sock.setblocking(True)
        c.sock.settimeout(arlib.TIMEOUT)
        if extra or c.buf:
            return "plaintext answered after STARTTLS: %r" % (c.buf + extra)
        c._wrap()
        c.sock.settimeout(1.0)
        try:
            d = c.sock.recv(4096)
            if d:
                return "reply under TLS to the injected NOOP: %r" % d
        except socket.timeout:
            pass
        c.sock.settimeout(arlib.TIMEOUT)
        c.ehlo()
        c.expect("NOOP", 250)
    finally:
        c.quit()
    return None


def t_long_line():
    c = Client(arlib.starttls_port())
    try:
        c.ehlo()
        r = c.cmd("NOOP " + "x" * 595)           # 602 bytes with CRLF
        if r.code != 500:
            return "600-byte command -> %r, want 500" % r.lines
    finally:
        c.quit()
    c = arlib.session()                          # and after AUTH
    try:
        r = c.cmd("MAIL FROM:<%s@example.com>" % ("a" * 600))
        if r.code != 500:
            return "600-byte MAIL after AUTH -> %r, want 500" % r.lines
        c.expect("NOOP", 250)
    finally:
        c.quit()
    return None


def t_long_auth_response():
    """AUTH responses may be longer than a command line (512): a 1 KB AUTH
    PLAIN response is read whole and checked (535), not refused as a long
    line (500); a 4 KB one is not a 500 either."""
    c = arlib.session(auth=False)
    try:
        c.expect("AUTH PLAIN", 334)
        # authzid = authcid, both long, and a long password: over 512
        # bytes of base64 with every field within the gateway's limits.
        user = "u" * 200 + "@example.com"
        b = base64.b64encode(("%s\0%s\0%s" % (user, user, "p" * 200))
                             .encode())
        if len(b) <= 512:
            return "test error: response only %d bytes" % len(b)
        r = c.cmd(b.decode())
        if r.code != 535:
            return "a %d-byte AUTH PLAIN response -> %r, want 535" % (
                len(b), r.lines)
        c.expect("AUTH PLAIN", 334)
        b = base64.b64encode(("\0%s\0%s" % (arlib.USER, "p" * 3000))
                             .encode())
        r = c.cmd(b.decode())
        if r.code is None or r.code == 500 or r.code < 500:
            return "a %d-byte AUTH PLAIN response -> %r, want a 5xx " \
                "other than 500" % (len(b), r.lines)
        c.expect("NOOP", 250)
    finally:
        c.quit()
    return None


CASES = [
    ("greeting and EHLO capabilities before and after TLS", t_capabilities),
    ("smtplib STARTTLS AUTH PLAIN: stored byte for byte", t_smtplib_starttls),
    ("smtplib implicit TLS AUTH LOGIN, 2 recipients: stored byte for byte",
     t_smtplib_tls_login),
    ("5 MiB message via smtplib: size and checksum", t_big_message),
    ("lines starting with '.': unstuffed and re-stuffed exactly", t_dot_lines),
    ("smuggling '\\n.\\n': one message, smuggled text as data",
     t_smuggle, "\n.\n"),
    ("smuggling '\\n.\\r\\n': one message, smuggled text as data",
     t_smuggle, "\n.\r\n"),
    ("smuggling '\\r\\n.\\n': one message, smuggled text as data",
     t_smuggle, "\r\n.\n"),
    ("smuggling '\\r.\\r\\n': one message, smuggled text as data",
     t_smuggle, "\r.\r\n"),
    ("two messages in one session", t_two_messages),
    ("pipelined MAIL/RCPT/DATA and data+RSET+NOOP", t_pipelining),
    ("NOOP 250, VRFY 252, unknown 500, bad sequence 503, bad syntax 501",
     t_commands),
    ("AUTH before STARTTLS: 530 5.7.0", t_auth_before_tls),
    ("MAIL before AUTH: 530 5.7.0", t_mail_before_auth),
    ("AUTH cancel '*': 501", t_auth_cancel),
    ("wrong password: 535 5.7.8 after a delay, nothing stored, warning "
     "logged without the password", t_wrong_password),
    ("unknown user: 535 5.7.8", t_unknown_user),
    ("STARTTLS injection: plaintext after STARTTLS is discarded",
     t_starttls_injection),
    ("600-byte command line: 500", t_long_line),
    ("1 KB AUTH response read as a response (535, not 500)",
     t_long_auth_response),
]


def main():
    only = sys.argv[1:]
    for case in CASES:
        name, fn, args = case[0], case[1], case[2:]
        if only and not any(o in name for o in only):
            continue
        R.case(name, fn, *args)
    R.exit()


if __name__ == "__main__":
    main()
