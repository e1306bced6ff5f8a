"""sdnotify: a stand-in for systemd's notification socket, for the
integration tests (t_service.sh).

As a program:
    python3 sdnotify.py SOCKET OUT [--config INI] [--mode OCTAL]
        [--max SECONDS]
binds an AF_UNIX datagram socket at SOCKET (what NOTIFY_SOCKET names),
and appends one JSON line to OUT per datagram:
    {"n": SEQ, "t": UNIX_TIME, "msg": "READY=1\\nSTATUS=..."}
With --config, on each datagram holding READY=1 it also connects to every
"listen = 127.0.0.1:PORT ..." of the INI file and appends
    {"n": SEQ, "t": UNIX_TIME, "connect": {"PORT": true|false}}
(whether the listeners accepted when the daemon said it was ready).
--mode chmods the socket (a dropped daemon needs write access, as with
systemd's 0777 /run/systemd/notify). It stops on SIGTERM or after --max
seconds (default 300), and removes SOCKET.

As a module: read(OUT) gives the records, with "fields" (the msg split into
KEY=VALUE lines, as a list of (KEY, VALUE)) added to datagram records.
"""
import json
import os
import re
import signal
import socket
import sys
import time


def _listen_ports(ini):
    ports = []
    try:
        with open(ini) as f:
            for line in f:
                m = re.match(r"\s*listen\s*=\s*127\.0\.0\.1:(\d+)", line)
                if m:
                    ports.append(m.group(1))
    except OSError:
        pass
    return ports


def _probe(ports):
    res = {}
    for p in ports:
        try:
            s = socket.create_connection(("127.0.0.1", int(p)), timeout=1)
            s.close()
            res[p] = True
        except OSError:
            res[p] = False
    return res


def main(argv):
    args = argv[1:]
    opts = {"--config": None, "--mode": None, "--max": "300"}
    pos = []
    i = 0
    while i < len(args):
        if args[i] in opts and i + 1 < len(args):
            opts[args[i]] = args[i + 1]
            i += 2
        else:
            pos.append(args[i])
            i += 1
    if len(pos) != 2:
        sys.stderr.write(__doc__)
        return 2
    path, out = pos
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    if opts["--mode"]:
        os.chmod(path, int(opts["--mode"], 8))
    end = time.time() + float(opts["--max"])
    n = 0
    try:
        with open(out, "a") as f:
            # Written once the socket is there: the test waits for it.
            f.write(json.dumps({"n": 0, "t": time.time(),
                                "listening": path}) + "\n")
            f.flush()
            while time.time() < end:
                s.settimeout(max(0.1, min(1.0, end - time.time())))
                try:
                    data = s.recv(65536)
                except socket.timeout:
                    continue
                t = time.time()
                n += 1
                msg = data.decode("utf-8", "replace")
                f.write(json.dumps({"n": n, "t": t, "msg": msg}) + "\n")
                f.flush()
                if opts["--config"] and "READY=1" in msg.split("\n"):
                    res = _probe(_listen_ports(opts["--config"]))
                    f.write(json.dumps({"n": n, "t": time.time(),
                                        "connect": res}) + "\n")
                    f.flush()
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass
    return 0


def read(out):
    """The records of OUT, in order; datagrams get "fields"."""
    recs = []
    try:
        with open(out) as f:
            for line in f:
                try:
                    r = json.loads(line)
                except ValueError:
                    continue    # a line being written
                if "msg" in r:
                    r["fields"] = [tuple(l.split("=", 1)) if "=" in l
                                   else (l, "") for l in
                                   r["msg"].split("\n") if l]
                recs.append(r)
    except FileNotFoundError:
        pass
    return recs


def datagrams(out, after=0):
    """Datagram records with n > after."""
    return [r for r in read(out) if "msg" in r and r["n"] > after]


def has(rec, key, value=None):
    """Whether a datagram record holds KEY (=VALUE)."""
    return any(k == key and (value is None or v == value)
               for k, v in rec.get("fields", []))


def value(rec, key):
    for k, v in rec.get("fields", []):
        if k == key:
            return v
    return None


if __name__ == "__main__":
    sys.exit(main(sys.argv))
