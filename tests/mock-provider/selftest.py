#!/usr/bin/env python3
"""selftest.py: checks the mock provider itself, end to end.

usage: selftest.py [--wrap 'valgrind -q ...'] [--only NAME,...] MOCK_BINARY

Starts the mock (several times, with different flags) in a temporary
directory with certificates from tests/lib/mkcerts.sh and keys from
tests/lib/mkkeys.sh, and talks to it with http.client, smtplib and curl:
refresh grants in both styles (rotation, --revoke-old), DIR/control
failure injection, /authorize + PKCE, the device flow, client_credentials
with a secret and with RS256 client assertions, Google service account
JWTs, SMTP rejection shapes and injections, and DIR/smtp-max-concurrent.
Needs python3, openssl and curl. Exit status 0 when every check passed.
"""
import argparse
import base64
import hashlib
import http.client
import json
import os
import shlex
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
LIB = os.path.join(HERE, "..", "lib")
CLIENT_ID = "mock-client"
SA_EMAIL = "relay@test-project.iam.gserviceaccount.com"
RT0 = "rt-initial"

failures = []


def check(cond, what):
    if cond:
        print("ok   " + what)
    else:
        print("FAIL " + what)
        failures.append(what)


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


class Mock:
    """One mock-provider process in its own directory."""

    def __init__(self, top, name, binary, wrap, certs, args):
        self.dir = os.path.join(top, name)
        os.makedirs(self.dir)
        self.certs = certs
        cmd = shlex.split(wrap) + [
            binary, "--dir", self.dir, "--cert", certs + "/server.pem",
            "--key", certs + "/server.key", "--http", "127.0.0.1:0",
            "--smtp", "127.0.0.1:0", "-q"] + args
        self.log = open(os.path.join(top, name + ".log"), "w")
        self.proc = subprocess.Popen(cmd, stderr=self.log)
        for _ in range(600):
            if os.path.exists(self.path("http.port")) and \
                    os.path.exists(self.path("smtp.port")):
                break
            if self.proc.poll() is not None:
                raise RuntimeError("mock exited: see %s.log" % name)
            time.sleep(0.05)
        self.http_port = int(self.read("http.port"))
        self.smtp_port = int(self.read("smtp.port"))
        self.ctx = ssl.create_default_context(cafile=certs + "/ca.pem")

    def path(self, f):
        return os.path.join(self.dir, f)

    def read(self, f):
        with open(self.path(f)) as fh:
            return fh.read()

    def url(self, path="/token", host="127.0.0.1"):
        return "https://%s:%d%s" % (host, self.http_port, path)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(60)
        self.log.close()
        return rc

    def control(self, text):
        tmp = self.path(".control.new")
        with open(tmp, "w") as fh:
            fh.write(text)
        os.rename(tmp, self.path("control"))

    def request(self, method, path, form=None, headers=None):
        """(status, headers dict lower-case, parsed JSON or raw body)."""
        c = http.client.HTTPSConnection("127.0.0.1", self.http_port,
                                        context=self.ctx, timeout=60)
        body = None
        h = dict(headers or {})
        if form is not None:
            body = urllib.parse.urlencode(form)
            h.setdefault("Content-Type",
                         "application/x-www-form-urlencoded")
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        raw = r.read()
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        c.close()
        try:
            data = json.loads(raw) if raw else None
        except ValueError:
            data = raw
        return r.status, hdrs, data

    def token(self, form, path="/token"):
        return self.request("POST", path, form)

    def smtp(self):
        s = smtplib.SMTP_SSL("127.0.0.1", self.smtp_port, context=self.ctx,
                             timeout=30)
        s.ehlo("selftest")
        return s


def xoauth2(user, token):
    return base64.b64encode(("user=%s\x01auth=Bearer %s\x01\x01" %
                             (user, token)).encode()).decode()


def sign_jwt(header, claims, keyfile):
    signing = b64url(json.dumps(header).encode()) + "." + \
        b64url(json.dumps(claims).encode())
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", keyfile],
                         input=signing.encode(), capture_output=True,
                         check=True).stdout
    return signing + "." + b64url(sig)


def cert_thumb(pem, algo):
    with open(pem) as fh:
        der = ssl.PEM_cert_to_DER_cert(fh.read())
    return b64url(hashlib.new(algo, der).digest())


def new_access_token(m, rt=RT0, **extra):
    form = {"grant_type": "refresh_token", "refresh_token": rt,
            "client_id": CLIENT_ID}
    form.update(extra)
    st, _, d = m.token(form)
    return st, d


# ---------------------------------------------------------------- google

def t_google_refresh(m):
    st, d = new_access_token(m)
    check(st == 200 and d["token_type"] == "Bearer" and
          d["access_token"].startswith("ya29.mock-") and
          "refresh_token" not in d and "ext_expires_in" not in d and
          d["scope"] == "https://mail.google.com/",
          "google: refresh_token grant -> access token, no rotation")
    st, d = new_access_token(m, rt="nope")
    check(st == 400 and d == {"error": "invalid_grant",
                              "error_description":
                              "Token has been expired or revoked."},
          "google: bad refresh token -> 400 invalid_grant (Google text)")
    check(m.read("refresh-tokens") == RT0 + "\n",
          "google: DIR/refresh-tokens holds the configured token")
    st, _, d = m.token({"grant_type": "refresh_token", "refresh_token": RT0,
                        "client_id": "other"})
    check(st == 401 and d["error"] == "invalid_client",
          "google: wrong client_id -> 401 invalid_client")
    st, h, _ = m.request("GET", "/token")
    check(st == 405 and h.get("allow") == "POST", "GET /token -> 405 Allow")


def t_google_smtp(m):
    _, d = new_access_token(m)
    tok = d["access_token"]
    s = m.smtp()
    code, msg = s.docmd("AUTH", "XOAUTH2 " + xoauth2("a@x", "ya29.bogus"))
    chal = json.loads(base64.b64decode(msg)) if code == 334 else None
    code2, msg2 = s.docmd("") if code == 334 else (0, b"")
    check(code == 334 and chal["status"] == "400" and code2 == 535 and
          b"5.7.8" in msg2, "google: bad token -> 334 JSON, then 535 5.7.8")
    code, _ = s.docmd("AUTH", "XOAUTH2 " + xoauth2("a@x", tok))
    check(code == 235, "google: good token -> 235")
    s.quit()

    m.control("smtp-reject 1\n")
    s = m.smtp()
    code, _ = s.docmd("AUTH", "XOAUTH2 " + xoauth2("a@x", tok))
    code2, _ = s.docmd("") if code == 334 else (0, b"")
    check(code == 334 and code2 == 535,
          "google: smtp-reject -> good token refused, Google shape")
    check(m.read("control") == "", "smtp-reject 1 consumed, file emptied")
    code, _ = s.docmd("AUTH", "XOAUTH2 " + xoauth2("a@x", tok))
    check(code == 235, "after smtp-reject is used up: 235")

    m.control("smtp-drop-data 1\n")
    before = set(os.listdir(m.path("messages")))
    cut = False
    try:
        s.sendmail("a@x", ["b@y"], "Subject: t\r\n\r\n" + "x" * 100 +
                   "\r\n" * 3)
    except (smtplib.SMTPException, OSError):
        cut = True
    time.sleep(0.2)
    check(cut and set(os.listdir(m.path("messages"))) == before,
          "smtp-drop-data: connection cut during DATA, nothing stored")
    s = m.smtp()
    s.docmd("AUTH", "XOAUTH2 " + xoauth2("a@x", tok))
    s.sendmail("a@x", ["b@y"], "Subject: t2\r\n\r\nbody\r\n")
    s.quit()
    check(len(os.listdir(m.path("messages"))) == len(before) + 2,
          "after smtp-drop-data is used up: message stored")


def t_control(m):
    m.control("# comment\nbogus line\nfail 1 500\nfail 2 429 7\n"
              "fail 1 invalid_grant\nfail 1 invalid_client\nfail 1 drop\n")
    st, h, d = m.token({"grant_type": "refresh_token",
                        "refresh_token": RT0})
    check(st == 500 and d["error"] == "server_error",
          "control: fail 500 -> HTTP 500 with JSON error body")
    check(m.read("control") == "# comment\nbogus line\nfail 2 429 7\n"
          "fail 1 invalid_grant\nfail 1 invalid_client\nfail 1 drop\n",
          "control: used line removed, others kept verbatim")
    st, h, d = m.token({"grant_type": "refresh_token",
                        "refresh_token": RT0})
    check(st == 429 and h.get("retry-after") == "7" and
          d["error"] == "temporarily_unavailable",
          "control: fail 429 7 -> 429 with Retry-After: 7")
    check("fail 1 429 7\n" in m.read("control"),
          "control: count rewritten 2 -> 1")
    m.token({"grant_type": "refresh_token", "refresh_token": RT0})
    st, h, d = m.token({"grant_type": "refresh_token",
                        "refresh_token": RT0})
    check(st == 400 and d == {"error": "invalid_grant",
                              "error_description":
                              "Token has been expired or revoked."},
          "control: fail invalid_grant -> 400 invalid_grant (even with a "
          "good token)")
    st, h, d = m.token({"grant_type": "refresh_token",
                        "refresh_token": RT0})
    check(st == 401 and d["error"] == "invalid_client",
          "control: fail invalid_client -> 401")
    dropped = False
    try:
        m.token({"grant_type": "refresh_token", "refresh_token": RT0})
    except (http.client.HTTPException, OSError):
        dropped = True
    check(dropped, "control: fail drop -> connection closed, no response")
    check(m.read("control") == "# comment\nbogus line\n",
          "control: every fail line used up")
    st, _ = new_access_token(m)
    check(st == 200, "control: back to normal")

    m.control("delay 1.5 1\n")
    t0 = time.monotonic()
    st, _ = new_access_token(m)
    el = time.monotonic() - t0
    check(st == 200 and el >= 1.45, "control: delay 1.5 1 -> slow answer "
          "(%.2f s)" % el)
    t0 = time.monotonic()
    new_access_token(m)
    check(time.monotonic() - t0 < 1.0, "control: delay used up")
    m.control("delay 0.5\nfail 1 500\n")
    t0 = time.monotonic()
    st, _ = new_access_token(m)
    st2, _ = new_access_token(m)
    el = time.monotonic() - t0
    check(st == 500 and st2 == 200 and el >= 1.0 and
          m.read("control") == "delay 0.5\n",
          "control: delay without N stays; delay then fail")
    os.unlink(m.path("control"))

    # 50 requests at once against "fail 20 500": exactly 20 failures.
    m.control("fail 20 500\n")
    res = []
    lock = threading.Lock()

    def one():
        st, _ = new_access_token(m)
        with lock:
            res.append(st)
    th = [threading.Thread(target=one) for _ in range(50)]
    [t.start() for t in th]
    [t.join() for t in th]
    check(res.count(500) == 20 and res.count(200) == 30,
          "control: concurrent requests use each unit once (%d x 500)" %
          res.count(500))
    os.unlink(m.path("control"))


class Catcher(BaseHTTPRequestHandler):
    """The loopback redirect target for curl -L."""
    got = []

    def do_GET(self):
        Catcher.got.append(self.path)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *a):
        pass


def authorize(m, redirect, verifier="v" * 50, state="st-1", **over):
    challenge = b64url(hashlib.sha256(verifier.encode()).digest())
    q = {"client_id": CLIENT_ID, "redirect_uri": redirect,
         "response_type": "code", "scope": "https://mail.google.com/",
         "state": state, "code_challenge": challenge,
         "code_challenge_method": "S256"}
    q.update(over)
    q = {k: v for k, v in q.items() if v is not None}
    return m.request("GET", "/authorize?" + urllib.parse.urlencode(q))


def t_authorize(m):
    srv = HTTPServer(("127.0.0.1", 0), Catcher)
    port = srv.server_address[1]
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    redirect = "http://127.0.0.1:%d/" % port
    verifier = b64url(os.urandom(32))
    challenge = b64url(hashlib.sha256(verifier.encode()).digest())
    q = urllib.parse.urlencode({
        "client_id": CLIENT_ID, "redirect_uri": redirect,
        "response_type": "code", "scope": "https://mail.google.com/",
        "state": "s t&=é", "code_challenge": challenge,
        "code_challenge_method": "S256"})
    r = subprocess.run(["curl", "-sS", "-L", "--cacert",
                        m.certs + "/ca.pem", m.url("/authorize?" + q)],
                       capture_output=True, text=True)
    srv.shutdown()
    got = urllib.parse.parse_qs(urllib.parse.urlparse(
        Catcher.got[-1]).query) if Catcher.got else {}
    check(r.returncode == 0 and r.stdout == "ok" and
          got.get("state") == ["s t&=é"] and "code" in got,
          "authorize: curl -L lands on the loopback with code and state")
    check(m.read("authorize-scope") == "https://mail.google.com/\n",
          "authorize: DIR/authorize-scope")
    code = got["code"][0]
    base = {"grant_type": "authorization_code", "code": code,
            "redirect_uri": redirect, "client_id": CLIENT_ID,
            "code_verifier": verifier}
    st, _, d = m.token(base)
    check(st == 200 and d.get("refresh_token") == RT0 and
          d["access_token"].startswith("ya29."),
          "authorization_code + PKCE -> tokens (configured refresh token)")
    st, _, d = m.token(base)
    check(st == 400 and d["error"] == "invalid_grant",
          "authorization_code: a code works once")

    for what, over, form_over in [
            ("wrong verifier", {}, {"code_verifier": "w" * 50}),
            ("no verifier", {}, {"code_verifier": None}),
            ("other redirect_uri", {},
             {"redirect_uri": "http://localhost:%d/" % port}),
            ("other client_id", {}, {"client_id": "x"})]:
        st, h, _ = authorize(m, redirect)
        loc = urllib.parse.urlparse(h["location"])
        c = urllib.parse.parse_qs(loc.query)["code"][0]
        f = dict(base, code=c, code_verifier="v" * 50)
        f.update(form_over)
        f = {k: v for k, v in f.items() if v is not None}
        st, _, d = m.token(f)
        want = 401 if what == "other client_id" else 400
        check(st == want and d["error"] in ("invalid_grant",
                                            "invalid_client"),
              "authorization_code: %s -> %d" % (what, st))

    st, h, _ = authorize(m, "http://localhost:%d/" % port)
    check(st == 302 and h["location"].startswith(
        "http://localhost:%d/?code=mock-code-" % port) and
        h["location"].endswith("&state=st-1"),
        "authorize: localhost redirect -> 302 Location")
    for bad in ["http://127.0.0.1:%d/cb" % port, "https://127.0.0.1:1/",
                "http://example.com:80/", "http://127.0.0.1/",
                "http://127.0.0.1:99999/", "http://127.0.0.1:080/"]:
        st, h, d = authorize(m, bad)
        check(st == 400 and "location" not in h,
              "authorize: redirect_uri %s refused (400)" % bad)
    for what, over, err in [
            ("plain method", {"code_challenge_method": "plain"},
             "invalid_request"),
            ("no challenge", {"code_challenge": None}, "invalid_request"),
            ("no state", {"state": None}, "invalid_request"),
            ("response_type token", {"response_type": "token"},
             "unsupported_response_type")]:
        st, h, _ = authorize(m, redirect, **over)
        q = urllib.parse.parse_qs(urllib.parse.urlparse(
            h.get("location", "")).query)
        check(st == 302 and q.get("error") == [err] and "code" not in q,
              "authorize: %s -> redirect with error=%s" % (what, err))
    st, h, _ = authorize(m, redirect, client_id="stranger")
    check(st == 400, "authorize: unknown client_id -> 400, no redirect")
    st, h, _ = m.request("GET", "/o/oauth2/auth?" + urllib.parse.urlencode(
        {"client_id": CLIENT_ID, "redirect_uri": redirect,
         "response_type": "code", "scope": "s", "state": "x",
         "code_challenge": challenge, "code_challenge_method": "S256"}))
    check(st == 302, "authorize: Google's path /o/oauth2/auth works")


def device_poll(m, dc, path="/token", **extra):
    form = {"grant_type": "urn:ietf:params:oauth:grant-type:device_code",
            "device_code": dc, "client_id": CLIENT_ID}
    form.update(extra)
    st, _, d = m.token(form, path)
    return st, d


def t_device(m):
    st, _, d = m.token({"client_id": CLIENT_ID, "scope": "s offline_access"},
                       "/devicecode")
    check(st == 200 and d["verification_uri"] ==
          "https://127.0.0.1:%d/device" % m.http_port and
          d["expires_in"] == 900 and d["interval"] == 1 and
          len(d["user_code"]) == 8 and d["device_code"],
          "devicecode: device_code, user_code, verification_uri, interval")
    st2, _, _ = m.request("GET", "/device")
    check(st2 == 200, "GET /device -> 200")
    dc = d["device_code"]
    seq = []
    for gap in [0, 1.2, 1.2, 6.2]:
        time.sleep(gap)
        st, r = device_poll(m, dc)
        seq.append(r.get("error", "tokens"))
    check(seq == ["authorization_pending", "authorization_pending",
                  "slow_down", "tokens"],
          "device: pending x2, slow_down, tokens (%s)" % seq)
    check(m.read("device-slow-down-ok") == "1\n",
          "device: waited interval+5 after slow_down -> slow-down-ok 1")
    check(r.get("refresh_token") == RT0 and r.get("scope") ==
          "s offline_access", "device: tokens carry refresh token, scope")
    st, r = device_poll(m, dc)
    check(st == 400 and r["error"] == "invalid_grant",
          "device: redeemed code refused")
    check(m.read("device-polls") == "5\n", "device: DIR/device-polls = 5")

    # A client that ignores slow_down, and one that polls too fast.
    _, _, d = m.token({"client_id": CLIENT_ID, "scope": "s"}, "/devicecode")
    seq = []
    for gap in [0, 1.2, 1.2, 1.2]:
        time.sleep(gap)
        seq.append(device_poll(m, d["device_code"], "/common/oauth2/v2.0/"
                               "token")[1].get("error", "tokens"))
    check(seq == ["authorization_pending", "authorization_pending",
                  "slow_down", "slow_down"] and
          m.read("device-slow-down-ok") == "0\n",
          "device: early poll after slow_down -> slow_down, slow-down-ok 0")
    _, _, d = m.token({"client_id": CLIENT_ID, "scope": "s"},
                      "/consumers/oauth2/v2.0/devicecode")
    seq = [device_poll(m, d["device_code"])[1].get("error")
           for _ in range(2)]
    check(seq == ["authorization_pending", "slow_down"],
          "device: polls faster than the interval -> slow_down")
    st, r = device_poll(m, "no-such-code")
    check(st == 400 and r["error"] == "invalid_grant",
          "device: unknown device_code -> invalid_grant")


def client_assertion(m, keyfile=None, header=None, **claims):
    now = int(time.time())
    hdr = {"alg": "RS256", "typ": "JWT",
           "x5t": cert_thumb(m.keys + "/client.pem", "sha1")}
    hdr.update(header or {})
    hdr = {k: v for k, v in hdr.items() if v is not None}
    c = {"aud": m.url("/token"), "iss": CLIENT_ID, "sub": CLIENT_ID,
         "jti": b64url(os.urandom(16)), "nbf": now - 10, "exp": now + 600}
    c.update(claims)
    c = {k: v for k, v in c.items() if v is not None}
    return sign_jwt(hdr, c, keyfile or m.keys + "/client.key")


def t_client_credentials(m):
    cc = {"grant_type": "client_credentials", "client_id": CLIENT_ID,
          "scope": "https://outlook.office365.com/.default"}
    st, _, d = m.token(dict(cc, client_secret="anything"))
    check(st == 200 and "refresh_token" not in d and
          d["access_token"].startswith("ya29."),
          "client_credentials + secret -> access token, no refresh token")
    st, _, d = m.token(cc)
    check(st == 401 and d["error"] == "invalid_client",
          "client_credentials without a credential -> 401")
    at = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    st, _, d = m.token(dict(cc, client_assertion_type=at,
                            client_assertion=client_assertion(m)))
    check(st == 200 and "refresh_token" not in d,
          "client_credentials + RS256 assertion (x5t) -> token")
    sha256 = cert_thumb(m.keys + "/client.pem", "sha256")
    st, _, _ = m.token(dict(cc, client_assertion_type=at,
                            client_assertion=client_assertion(
                                m, header={"x5t": None,
                                           "x5t#S256": sha256})))
    check(st == 200, "client assertion with x5t#S256 -> token")
    st, _, _ = m.token(dict(cc, client_assertion_type=at,
                            client_assertion=client_assertion(
                                m, aud=m.url("/common/oauth2/v2.0/token"))),
                       "/common/oauth2/v2.0/token")
    check(st == 200, "client assertion at /TENANT/oauth2/v2.0/token with "
          "that aud -> token")
    st, _, _ = m.token(dict(cc, client_assertion_type=at,
                            client_assertion=client_assertion(
                                m, aud=m.url("/token", "localhost"))))
    check(st == 200, "client assertion aud with host localhost -> token")
    now = int(time.time())
    for what, kw in [
            ("signed by another key", {"keyfile": m.keys + "/sa.key"}),
            ("no x5t", {"header": {"x5t": None}}),
            ("wrong x5t", {"header": {"x5t": b64url(b"x" * 20)}}),
            ("alg HS256", {"header": {"alg": "HS256"}}),
            ("aud other", {"aud": "https://login.microsoftonline.com/x"}),
            ("aud other path", {"aud": m.url("/devicecode")}),
            ("iss other", {"iss": "other"}),
            ("sub other", {"sub": "other"}),
            ("expired", {"exp": now - 5}),
            ("no exp", {"exp": None}),
            ("nbf future", {"nbf": now + 600}),
            ("no jti", {"jti": None})]:
        st, _, d = m.token(dict(cc, client_assertion_type=at,
                                client_assertion=client_assertion(m, **kw)))
        check(st == 401 and d["error"] == "invalid_client",
              "client assertion %s -> 401 invalid_client" % what)
    ok = client_assertion(m)
    h, p, s = ok.split(".")
    st, _, _ = m.token(dict(cc, client_assertion_type=at,
                            client_assertion=h + "." + p + "." + s[:-4] +
                            ("AAAA" if s[-4:] != "AAAA" else "BBBB")))
    check(st == 401, "client assertion with a tampered signature -> 401")
    st, _, _ = m.token(dict(cc, client_assertion_type=at,
                            client_assertion=h + "." + b64url(
                                json.dumps({"iss": "x"}).encode()) + "." + s))
    check(st == 401, "client assertion with a swapped payload -> 401")
    for junk in ["", "a.b", "a.b.c.d", "!!.!!.!!", h + "=." + p + "." + s]:
        st, _, _ = m.token(dict(cc, client_assertion_type=at,
                                client_assertion=junk))
        check(st == 401, "client assertion %r -> 401" % junk[:20])
    rt = {"grant_type": "refresh_token", "refresh_token": RT0,
          "client_id": CLIENT_ID, "client_assertion_type": at,
          "client_assertion": client_assertion(m)}
    st, _, _ = m.token(rt)
    check(st == 200, "refresh_token grant with a client assertion -> token")


def sa_jwt(m, keyfile=None, **claims):
    now = int(time.time())
    c = {"iss": SA_EMAIL, "sub": "user@example.com",
         "scope": "https://mail.google.com/", "aud": m.url("/token"),
         "iat": now, "exp": now + 3600}
    c.update(claims)
    c = {k: v for k, v in c.items() if v is not None}
    return sign_jwt({"alg": "RS256", "typ": "JWT", "kid": "k"}, c,
                    keyfile or m.keys + "/sa.key")


def t_jwt_bearer(m):
    gt = "urn:ietf:params:oauth:grant-type:jwt-bearer"
    st, _, d = m.token({"grant_type": gt, "assertion": sa_jwt(m)})
    check(st == 200 and "refresh_token" not in d and
          d["token_type"] == "Bearer" and d["expires_in"] > 0,
          "jwt-bearer: service account assertion -> access token")
    check(m.read("jwt-sub") == "user@example.com\n" and
          m.read("jwt-scope") == "https://mail.google.com/\n",
          "jwt-bearer: DIR/jwt-sub and DIR/jwt-scope recorded")
    s = m.smtp()
    code, _ = s.docmd("AUTH", "XOAUTH2 " + xoauth2("user@example.com",
                                                   d["access_token"]))
    check(code == 235, "jwt-bearer token works for SMTP")
    s.quit()
    with open(m.keys + "/sa.json") as fh:
        sa = json.load(fh)
    kf = os.path.join(m.dir, "from-json.key")
    with open(kf, "w") as fh:
        fh.write(sa["private_key"])
    st, _, _ = m.token({"grant_type": gt, "assertion": sa_jwt(m, kf)})
    check(st == 200, "jwt-bearer: signed with sa.json's private_key")
    now = int(time.time())
    for what, kw in [
            ("signed by another key", {"keyfile": m.keys + "/client.key"}),
            ("iss other", {"iss": "x@y.iam.gserviceaccount.com"}),
            ("no sub", {"sub": None}),
            ("no scope", {"scope": None}),
            ("aud Google", {"aud": "https://oauth2.googleapis.com/token"}),
            ("lifetime > 1h", {"exp": now + 3700}),
            ("expired", {"iat": now - 4000, "exp": now - 400}),
            ("iat in the future", {"iat": now + 600, "exp": now + 1200}),
            ("no iat", {"iat": None})]:
        st, _, d = m.token({"grant_type": gt,
                            "assertion": sa_jwt(m, **kw)})
        check(st == 400 and d["error"] == "invalid_grant",
              "jwt-bearer: %s -> 400 invalid_grant" % what)
    check(m.read("jwt-sub") == "user@example.com\n",
          "jwt-bearer: refused assertions leave DIR/jwt-sub alone")


def t_concurrency(m):
    _, d = new_access_token(m)
    conns = [m.smtp() for _ in range(7)]
    time.sleep(0.2)
    check(m.read("smtp-max-concurrent") == "7\n",
          "DIR/smtp-max-concurrent = 7 with 7 open")
    for c in conns:
        c.quit()
    c = m.smtp()
    c.docmd("AUTH", "XOAUTH2 " + xoauth2("a@x", d["access_token"]))
    c.quit()
    time.sleep(0.2)
    check(m.read("smtp-max-concurrent") == "7\n",
          "DIR/smtp-max-concurrent keeps the maximum")


# ------------------------------------------------------------- microsoft

def t_ms_refresh(m):
    st, d = new_access_token(m, client_secret="sec",
                             scope="https://outlook.office.com/SMTP.Send "
                             "offline_access")
    check(st == 200 and d["refresh_token"].startswith("mock-rt-") and
          d["ext_expires_in"] == d["expires_in"] and
          d["token_type"] == "Bearer",
          "microsoft: refresh -> new refresh token, ext_expires_in")
    rt1 = d["refresh_token"]
    check(m.read("refresh-tokens") == RT0 + "\n" + rt1 + "\n",
          "microsoft: DIR/refresh-tokens = old, newest last")
    st, d = new_access_token(m, client_secret="sec")
    check(st == 200, "microsoft: old refresh token still works")
    st, d2 = new_access_token(m, rt=d["refresh_token"], client_secret="sec")
    check(st == 200 and m.read("refresh-tokens").splitlines()[-1] ==
          d2["refresh_token"] and
          len(m.read("refresh-tokens").splitlines()) == 4,
          "microsoft: newest rotated token works, file grows")
    st, d = new_access_token(m, rt="bad", client_secret="sec")
    check(st == 400 and d["error"] == "invalid_grant" and
          d["error_description"].startswith("AADSTS70000: ") and
          d["error_codes"] == [70000],
          "microsoft: bad refresh token -> AADSTS70000, error_codes")
    st, d = new_access_token(m, client_secret="wrong")
    check(st == 401 and d["error"] == "invalid_client" and
          d["error_codes"] == [7000215],
          "microsoft: wrong client_secret -> 401 AADSTS7000215")
    m.control("fail 1 invalid_grant\nfail 1 429 3\n")
    st, d = new_access_token(m, client_secret="sec")
    check(st == 400 and d["error_description"].startswith("AADSTS70000"),
          "microsoft: injected invalid_grant has the AADSTS shape")
    st, _, d = m.token({"grant_type": "client_credentials",
                        "client_id": CLIENT_ID, "client_secret": "sec",
                        "scope": "https://outlook.office365.com/.default"})
    check(st == 429 and d["error_codes"] == [50196],
          "microsoft: injected 429 -> AADSTS50196")
    st, _, d = m.token({"grant_type": "client_credentials",
                        "client_id": CLIENT_ID, "client_secret": "sec",
                        "scope": "https://outlook.office365.com/.default"})
    check(st == 200 and "refresh_token" not in d and "ext_expires_in" in d,
          "microsoft: client_credentials -> token, no refresh token")
    st, _, d = m.token({"grant_type": "client_credentials",
                        "client_id": CLIENT_ID, "client_secret": "sec",
                        "scope": "https://outlook.office.com/SMTP.Send"})
    check(st == 400 and d["error"] == "invalid_scope",
          "microsoft: client_credentials without /.default -> invalid_scope")


def t_ms_smtp(m):
    _, d = new_access_token(m, client_secret="sec")
    s = m.smtp()
    code, msg = s.docmd("AUTH", "XOAUTH2 " + xoauth2("a@x", "ya29.bad"))
    check(code == 535 and msg == b"5.7.3 Authentication unsuccessful [mock]",
          "microsoft: bad token -> 535 5.7.3 at once")
    m.control("smtp-reject 1\n")
    code, msg = s.docmd("AUTH", "XOAUTH2 " + xoauth2("a@x",
                                                     d["access_token"]))
    check(code == 535 and b"5.7.3" in msg,
          "microsoft: smtp-reject -> 535 5.7.3 at once")
    code, _ = s.docmd("AUTH", "XOAUTH2")
    code2, _ = s.docmd(xoauth2("a@x", d["access_token"]))
    check(code == 334 and code2 == 235,
          "microsoft: XOAUTH2 after an empty 334 -> 235")
    s.quit()


def t_ms_flows(m):
    # authorization_code and device grants rotate too.
    verifier = "x" * 43
    st, h, _ = authorize(m, "http://127.0.0.1:1/", verifier=verifier)
    code = urllib.parse.parse_qs(urllib.parse.urlparse(
        h["location"]).query)["code"][0]
    st, _, d = m.token({"grant_type": "authorization_code", "code": code,
                        "redirect_uri": "http://127.0.0.1:1/",
                        "client_id": CLIENT_ID, "client_secret": "sec",
                        "code_verifier": verifier},
                       "/organizations/oauth2/v2.0/token")
    check(st == 200 and d["refresh_token"].startswith("mock-rt-") and
          m.read("refresh-tokens").splitlines()[-1] == d["refresh_token"],
          "microsoft: authorization_code grant -> a new refresh token")
    st, _, d = m.token({"client_id": CLIENT_ID, "scope": "s"},
                       "/common/oauth2/v2.0/devicecode")
    st, r = device_poll(m, d["device_code"])
    check(st == 401 and r["error"] == "invalid_client",
          "microsoft: --client-secret is required on device polls too")
    st, r = device_poll(m, d["device_code"], client_secret="sec")
    check(st == 400 and r["error"] == "authorization_pending" and
          r["error_codes"] == [70016],
          "microsoft: authorization_pending carries AADSTS70016")


def t_ms_revoke(m):
    st, d = new_access_token(m)
    rt1 = d["refresh_token"]
    check(m.read("refresh-tokens") == rt1 + "\n",
          "revoke-old: DIR/refresh-tokens only holds the new token")
    st, d = new_access_token(m)
    check(st == 400 and d["error"] == "invalid_grant",
          "revoke-old: the redeemed token no longer works")
    st, d = new_access_token(m, rt=rt1)
    check(st == 200 and m.read("refresh-tokens") ==
          d["refresh_token"] + "\n", "revoke-old: the new one does")


def t_legacy(m):
    st, d = new_access_token(m, rt="mock-refresh-token")
    s = smtplib.SMTP("127.0.0.1", m.smtp_port, timeout=30)
    s.ehlo("x")
    s.starttls(context=m.ctx)
    s.ehlo("x")
    code, _ = s.docmd("AUTH", "XOAUTH2 " + xoauth2("a@x", d["access_token"]))
    code2, _ = s.docmd("") if code == 334 else (0, b"")
    s.quit()
    check(st == 200 and code == 334 and code2 == 535,
          "legacy flags: default refresh token, starttls, --reject-tokens")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--wrap", default="")
    ap.add_argument("--only", default="")
    a = ap.parse_args()
    binary = os.path.abspath(a.binary)
    top = tempfile.mkdtemp(prefix="mock-selftest.")
    certs = os.path.join(top, "certs")
    keys = os.path.join(top, "keys")
    subprocess.run(["sh", os.path.join(LIB, "mkcerts.sh"), certs],
                   check=True)
    subprocess.run(["sh", os.path.join(LIB, "mkkeys.sh"), keys], check=True)
    common = ["--client-id", CLIENT_ID, "--refresh-token", RT0,
              "--client-cert", keys + "/client.pem",
              "--sa-public-key", keys + "/sa.pub.pem",
              "--sa-email", SA_EMAIL]
    plan = [
        ("google", common + ["--device-slow-down"],
         [t_google_refresh, t_google_smtp, t_control, t_authorize,
          t_device, t_client_credentials, t_jwt_bearer, t_concurrency]),
        ("microsoft", common + ["--style", "microsoft", "--client-secret",
                                "sec"],
         [t_ms_refresh, t_ms_smtp, t_ms_flows]),
        ("revoke", ["--style", "microsoft", "--refresh-token", RT0,
                    "--revoke-old"], [t_ms_revoke]),
        ("legacy", ["--smtp-mode", "starttls", "--reject-tokens"],
         [t_legacy]),
    ]
    only = set(filter(None, a.only.split(",")))
    status = 0
    for name, args, tests in plan:
        tests = [t for t in tests if not only or t.__name__ in only]
        if not tests:
            continue
        m = Mock(top, name, binary, a.wrap, certs, args)
        m.keys = keys
        try:
            for t in tests:
                try:
                    t(m)
                except Exception as e:  # a crash is a failed check
                    check(False, "%s raised %r" % (t.__name__, e))
        finally:
            rc = m.stop()
            check(rc == 0, "%s mock exited 0 on SIGTERM (rc=%s)" %
                  (name, rc))
            if rc != 0:
                status = 1
    print("%d failed; logs in %s" % (len(failures), top))
    return 1 if failures or status else 0


if __name__ == "__main__":
    sys.exit(main())
