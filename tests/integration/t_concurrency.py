#!/usr/bin/env python3
"""t_concurrency: 20 sessions of the same account at once, on a freshly
started daemon (so no access token is cached): all 20 messages are
delivered intact, and the token endpoint saw exactly one request (single
flight, then the cache). Runs in the standard environment of lib.sh.
"""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import arlib  # noqa: E402

R = arlib.Report()
N = 20


def one(i, barrier, results):
    try:
        msg = arlib.message("concurrent %02d" % i,
                            ["Session %d of %d." % (i, N), ".dot %d" % i])
        c = arlib.session(tls=(i % 2 == 1), auth=False)
        barrier.wait(timeout=30)       # every AUTH at the same moment
        r = c.login()
        if r.code != 235:
            results[i] = "AUTH -> %r" % r.lines
            return
        c.expect("MAIL FROM:<%s>" % arlib.USER, 250)
        c.expect("RCPT TO:<c%02d@example.org>" % i, 250)
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


def t_concurrent():
    if arlib.counter("token-requests") != 0:
        return "token-requests is %d before the test" % \
            arlib.counter("token-requests")
    before = arlib.msgs()
    barrier = threading.Barrier(N)
    results = [None] * N
    threads = [threading.Thread(target=one, args=(i, barrier, results))
               for i in range(N)]
    t0 = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    took = time.time() - t0
    bad = [(i, r) for i, r in enumerate(results) if not isinstance(r, bytes)]
    if bad:
        return "%d of %d sessions failed; first: session %d: %s" % (
            len(bad), N, bad[0][0], bad[0][1])
    new = arlib.new_msgs(before, count=N)
    if len(new) != N:
        return "stored %d messages, want %d" % (len(new), N)
    # Match each stored message to its session by its recipient.
    for num in new:
        data, e = arlib.stored(num)
        rcpt = e.get("rcpt-to", ["?"])[0].split(" ")[0]
        try:
            i = int(rcpt[2:4])
        except ValueError:
            return "message %s: unexpected recipient %r" % (num, rcpt)
        d = arlib.check_stored(num, results[i], arlib.USER,
                               ["c%02d@example.org" % i])
        if d:
            return "message %s (session %d): %s" % (num, i, d)
    print("# %d concurrent sessions delivered in %.2fs" % (N, took))
    return None


def t_one_token_request():
    n = arlib.counter("token-requests")
    if n != 1:
        return "the token endpoint saw %d requests, want exactly 1" % n
    return None


def t_cached_token():
    """Another session later still uses the cached token."""
    msg = arlib.message("after the burst", ["cached token"])
    before = arlib.msgs()
    c = arlib.session()
    c.expect("MAIL FROM:<%s>" % arlib.USER, 250)
    c.expect("RCPT TO:<rcpt@example.org>", 250)
    c.expect("DATA", 354)
    c.send(arlib.stuff(msg))
    r = c.reply()
    c.quit()
    if r.code != 250:
        return "end of DATA -> %r" % r.lines
    new = arlib.new_msgs(before)
    if len(new) != 1:
        return "stored %d messages, want 1" % len(new)
    n = arlib.counter("token-requests")
    if n != 1:
        return "token endpoint requests now %d, want still 1" % n
    return arlib.check_stored(new[0], msg, arlib.USER, ["rcpt@example.org"])


R.case("%d concurrent sessions of one account: all delivered intact" % N,
       t_concurrent)
R.case("%d concurrent sessions: exactly 1 token endpoint request" % N,
       t_one_token_request)
R.case("a later session reuses the cached token", t_cached_token)
R.exit()
