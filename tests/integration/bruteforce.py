"""bruteforce.py: the brute-force case of tests/bench/run.sh (and usable on
its own under lib.sh's environment). Three commands:

  attack --seconds S [--conns N] [--source ADDR] OUT
      N connections at once from ADDR (default 100 from 127.0.0.1), half
      on the implicit-TLS listener, half on the STARTTLS one; each sends
      AUTH PLAIN with wrong passwords, one after the other, until the
      server closes it, then connects again (after 0.2 s when it was
      refused), for S seconds. Writes a JSON summary to OUT.
  legit --seconds S [--every E] [--source ADDR] OUT
      A device at ADDR (default 127.0.0.2) that sends one message every E
      seconds (default 2) in a session of its own (implicit TLS, EHLO,
      AUTH PLAIN, MAIL, RCPT, DATA, QUIT); each send's time, connect to
      the QUIT reply, goes to the JSON summary in OUT.
  report --log DAEMON_LOG --attack OUT --idle OUT --busy OUT
      The figures: failed logins checked (the daemon's "SASL ...
      authentication failed" lines for the attacker's address) in the
      first minute of the attack and per minute after it, and the
      device's send times idle and under attack; each against its target.
      Prints key=value lines; exit status 1 if a target is missed.

Reads AR_* from the environment (lib.sh), through arlib. Every socket
operation is bounded; threads are daemon threads and the process ends
when its time is up.
"""
import argparse
import json
import os
import random
import re
import sys
import threading
import time

import arlib
from arlib import Client

# Targets (run.sh prints them with the figures).
FIRST_MINUTE_MAX = 10       # guesses checked in the attack's first minute
PER_MINUTE_MAX = 4          # guesses checked per minute after it
LEGIT_SLOWDOWN_MAX = 2.0    # device's p50 send time, attack / idle

REFUSED_PAUSE = 0.2         # s before reconnecting after a refusal
SOCK_TIMEOUT = 60.0


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.c = {}

    def add(self, k, n=1):
        with self.lock:
            self.c[k] = self.c.get(k, 0) + n


def attacker(i, args, st, stop):
    tls = i % 2 == 0
    port = arlib.tls_port() if tls else arlib.starttls_port()
    while not stop.is_set():
        c = None
        try:
            c = Client(port, tls=tls, source=args.source,
                       timeout=SOCK_TIMEOUT)
            if c.greeting.code != 220:
                st.add("refused_%d" % c.greeting.code)
                c.close()
                time.sleep(REFUSED_PAUSE)
                continue
            c.ehlo()
            if not tls:
                c.starttls()
                c.ehlo()
            st.add("sessions")
            while not stop.is_set():
                r = c.login(arlib.USER, "guess-%08x" % random.getrandbits(32))
                st.add("auth_sent")
                st.add("reply_%s" % r.code)
                if r.code != 535:
                    break
        except Exception as e:  # closed, reset, timed out: connect again
            st.add("closed_" + type(e).__name__)
            time.sleep(REFUSED_PAUSE)
        finally:
            if c is not None:
                c.close()


def attack(args):
    st = Stats()
    stop = threading.Event()
    t0 = time.time()
    for i in range(args.conns):
        threading.Thread(target=attacker, args=(i, args, st, stop),
                         daemon=True).start()
    time.sleep(max(0.0, t0 + args.seconds - time.time()))
    stop.set()
    out = {"t0": t0, "t1": time.time(), "conns": args.conns,
           "source": args.source, "counts": dict(st.c)}
    with open(args.out, "w") as f:
        json.dump(out, f)
    sys.stdout.flush()
    os._exit(0)     # threads blocked in reads end with the process


def legit(args):
    t0 = time.time()
    sends, fails = [], []
    n = 0
    while time.time() < t0 + args.seconds:
        start = time.time()
        try:
            c = Client(arlib.tls_port(), tls=True, source=args.source,
                       timeout=SOCK_TIMEOUT)
            if c.greeting.code != 220:
                raise arlib.SMTPError("greeting %r" % c.greeting.lines)
            c.ehlo()
            r = c.login()
            if r.code != 235:
                raise arlib.SMTPError("AUTH %r" % r.lines)
            n += 1
            msg = arlib.message("legit %d" % n, ["A scan."] * 20)
            c.expect("MAIL FROM:<%s>" % arlib.USER, 250)
            c.expect("RCPT TO:<rcpt@example.org>", 250)
            c.expect("DATA", 354)
            c.send(arlib.stuff(msg))
            c.expect(None, 250)
            c.expect("QUIT", 221)
            c.close()
            sends.append((start - t0, time.time() - start))
        except Exception as e:  # counted, reported
            fails.append((start - t0, "%s: %s" % (type(e).__name__, e)))
        time.sleep(max(0.0, start + args.every - time.time()))
    with open(args.out, "w") as f:
        json.dump({"t0": t0, "sends": sends, "failures": fails}, f)


def pct(v, p):
    v = sorted(v)
    if not v:
        return float("nan")
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


LOG_TS = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{3})Z ")


def failures(log, source):
    """Times of the failed-login lines for source in the daemon log."""
    import calendar
    pat = re.compile(r" unknown\[%s\]: SASL \S+ authentication failed" %
                     re.escape(source))
    out = []
    with open(log, errors="replace") as f:
        for l in f:
            m = LOG_TS.match(l)
            if m and pat.search(l):
                out.append(calendar.timegm(time.strptime(
                    m.group(1), "%Y-%m-%dT%H:%M:%S")) +
                    int(m.group(2)) / 1000.0)
    return out


def report(args):
    a = json.load(open(args.attack))
    idle = json.load(open(args.idle))
    busy = json.load(open(args.busy))
    t0, t1 = a["t0"], a["t1"]
    ts = [t - t0 for t in failures(args.log, a["source"]) if t0 <= t <= t1]
    first = sum(1 for t in ts if t < 60)
    after_s = max(0.0, (t1 - t0) - 60)
    after = sum(1 for t in ts if t >= 60)
    per_min = after / (after_s / 60) if after_s > 0 else float("nan")
    ok = True
    v1 = first <= FIRST_MINUTE_MAX
    v2 = after_s == 0 or per_min <= PER_MINUTE_MAX
    ib = [s[1] * 1000 for s in idle["sends"]]
    bb = [s[1] * 1000 for s in busy["sends"]]
    p50i, p50b = pct(ib, 50), pct(bb, 50)
    v3 = bool(bb) and p50b <= LEGIT_SLOWDOWN_MAX * p50i and \
        not busy["failures"]
    ok = v1 and v2 and v3
    c = a["counts"]
    print("attack_s=%.0f conns=%d sessions=%d auth_sent=%d replies_535=%d "
          "replies_421=%d refused=%d closed=%d" % (
              t1 - t0, a["conns"], c.get("sessions", 0), c.get("auth_sent", 0),
              c.get("reply_535", 0), c.get("reply_421", 0),
              sum(v for k, v in c.items() if k.startswith("refused_")),
              sum(v for k, v in c.items() if k.startswith("closed_"))))
    print("attack_counts=%s" % json.dumps(c, sort_keys=True).replace(" ", ""))
    print("guess_times_s=%s" % ",".join("%.1f" % t for t in ts[:40]))
    print("guesses_first_min=%d target<=%d %s" % (
        first, FIRST_MINUTE_MAX, "ok" if v1 else "NOT OK"))
    print("guesses_after=%d over %.0f s = %.1f per min target<=%d %s" % (
        after, after_s, per_min, PER_MINUTE_MAX, "ok" if v2 else "NOT OK"))
    print("legit_idle sends=%d failures=%d p50_ms=%.0f max_ms=%.0f" % (
        len(ib), len(idle["failures"]), p50i, max(ib) if ib else
        float("nan")))
    print("legit_attack sends=%d failures=%d p50_ms=%.0f max_ms=%.0f "
          "p50_ratio=%.2f max_ratio=%.2f target p50_ratio<=%.1f and no "
          "failure %s" % (
              len(bb), len(busy["failures"]), p50b,
              max(bb) if bb else float("nan"), p50b / p50i if ib else
              float("nan"), (max(bb) / max(ib)) if ib and bb else
              float("nan"), LEGIT_SLOWDOWN_MAX, "ok" if v3 else "NOT OK"))
    for t, e in busy["failures"][:5]:
        print("legit_failure at=%.1f s %s" % (t, e))
    sys.exit(0 if ok else 1)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    x = sub.add_parser("attack")
    x.add_argument("--seconds", type=float, required=True)
    x.add_argument("--conns", type=int, default=100)
    x.add_argument("--source", default="127.0.0.1")
    x.add_argument("out")
    x = sub.add_parser("legit")
    x.add_argument("--seconds", type=float, required=True)
    x.add_argument("--every", type=float, default=2.0)
    x.add_argument("--source", default="127.0.0.2")
    x.add_argument("out")
    x = sub.add_parser("report")
    x.add_argument("--log", required=True)
    x.add_argument("--attack", required=True)
    x.add_argument("--idle", required=True)
    x.add_argument("--busy", required=True)
    args = p.parse_args()
    {"attack": attack, "legit": legit, "report": report}[args.cmd](args)


if __name__ == "__main__":
    main()
