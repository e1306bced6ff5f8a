#!/usr/bin/env bash
# t_fleet: what real fleets of devices need, against one daemon configured
# for all of it: [listener] sections (networks refusal with 554 on a
# STARTTLS and an implicit-TLS listener, a plain listener with
# allow_plaintext_auth and one without, a TLSv1 listener for old devices),
# old clients (HELO, bare-LF command lines, AUTH LOGIN with the user name on
# the AUTH line, openssl s_client -tls1), per-user networks, auth = none
# devices mapped by address at MAIL, and the sender rules (reject, rewrite
# of the envelope and of the From: header) checked in what the mock stored.
#
# Tests bind their client socket to other 127.0.0.0/8 addresses to be other
# devices: 127.0.0.1 is "the LAN", 127.0.0.2 a desk, 127.0.0.3 and
# 127.0.0.5 printers that cannot authenticate, 127.0.0.4 a stranger.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

ar_init
ar_start_mock mock
W=$AR_TMP/work
mkdir -p "$W"
RCPT=rcpt@example.org
export RCPT

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
LAN_PORT=$(new_port)
OPEN_PORT=$(new_port)
OLD_PORT=$(new_port)
STRICT_PORT=$(new_port)
STRICTTLS_PORT=$(new_port)
export LAN_PORT OPEN_PORT OLD_PORT STRICT_PORT STRICTTLS_PORT

AR_ACCOUNT_EXTRA="send_as = alias@example.com, Shared@Example.com"
AR_SECTIONS="[listener lan]
address = 127.0.0.1:$LAN_PORT
mode = plain
networks = 127.0.0.1/32, 127.0.0.3
allow_plaintext_auth = yes

[listener open]
address = 127.0.0.1:$OPEN_PORT
mode = plain

[listener old]
address = 127.0.0.1:$OLD_PORT
mode = tls
tls_min_version = TLSv1

[listener strict]
address = 127.0.0.1:$STRICT_PORT
mode = starttls
networks = 127.0.0.1

[listener stricttls]
address = 127.0.0.1:$STRICTTLS_PORT
mode = tls
networks = 127.0.0.1/32, ::1

[user desk]
password_hash = $AR_HASH
account = sales
networks = 127.0.0.2/32

[user strict]
password_hash = $AR_HASH
account = sales
sender_policy = reject

[user rewriter]
password_hash = $AR_HASH
account = sales
sender_policy = rewrite
rewrite_from_header = yes

[user envonly]
password_hash = $AR_HASH
account = sales
sender_policy = rewrite

[user printer]
auth = none
account = sales
networks = 127.0.0.3/32

[user printer-strict]
auth = none
account = sales
networks = 127.0.0.5/32
sender_policy = reject"
# No connection reuse here: the cases below count the provider connections
# a device's MAIL makes (t_pool.sh tests reuse).
ar_start_daemon relay "upstream_idle_timeout = 0"
for p in $ports; do
	n=$((AR_START_WAIT * 5))
	until ar_port_open "$p"; do
		[ "$n" -gt 0 ] || ar_die "authrelay not listening on $p"
		n=$((n - 1))
		sleep 0.2
	done
done

# --- listeners ---------------------------------------------------------------

ar_pycase "listener networks: a client outside them gets '554 5.7.1 <host> Access denied' and is closed (STARTTLS and implicit TLS listeners)" <<'EOF'
import arlib, os
from arlib import Client
for port, tls in ((int(os.environ["STRICT_PORT"]), False),
                  (int(os.environ["STRICTTLS_PORT"]), True)):
    c = Client(port, tls=tls, source="127.0.0.2")
    if c.greeting.lines != ["554 5.7.1 %s Access denied" % arlib.HOSTNAME]:
        raise SystemExit("tls=%s: greeting %r" % (tls, c.greeting.lines))
    if not c.closed(wait=3):
        raise SystemExit("tls=%s: not closed after the 554" % tls)
    # From inside the networks: a session.
    c = Client(port, tls=tls)
    if c.greeting.code != 220:
        raise SystemExit("tls=%s: greeting from 127.0.0.1 %r" % (tls, c.greeting.lines))
    c.ehlo()
    c.quit()
log = arlib.log_text()
for name in ("strict", "stricttls"):
    if "unknown[127.0.0.2]: access denied: not in the networks of listener %s" % name not in log:
        raise SystemExit("no 'unknown[127.0.0.2]: access denied ... listener %s' in the log" % name)
EOF

ar_pycase "plain listener with allow_plaintext_auth and networks: AUTH offered and working in clear, no STARTTLS, refused outside its networks" <<'EOF'
import arlib, os, smtplib
from arlib import Client
port = int(os.environ["LAN_PORT"])
c = Client(port)
caps = [l[4:].upper() for l in c.ehlo().lines[1:]]
if "AUTH PLAIN LOGIN" not in caps or "AUTH=PLAIN LOGIN" not in caps:
    raise SystemExit("EHLO %r lacks AUTH PLAIN LOGIN / AUTH=PLAIN LOGIN" % caps)
if "STARTTLS" in caps:
    raise SystemExit("a plain listener offers STARTTLS: %r" % caps)
r = c.cmd("STARTTLS")
if r.code != 502:
    raise SystemExit("STARTTLS -> %r, want 502" % r.lines)
c.quit()
before = arlib.msgs()
msg = arlib.message("plain listener", ["AUTH in clear, from the LAN."])
with smtplib.SMTP(arlib.HOST, port, timeout=arlib.TIMEOUT) as s:
    s.login(arlib.USER, arlib.PASS)
    s.sendmail(arlib.USER, [os.environ["RCPT"]], msg)
new = arlib.new_msgs(before)
if len(new) != 1:
    raise SystemExit("stored %d messages" % len(new))
d = arlib.check_stored(new[0], msg, arlib.USER, [os.environ["RCPT"]])
if d:
    raise SystemExit(d)
c = Client(port, source="127.0.0.2")
if c.greeting.code != 554 or not c.closed():
    raise SystemExit("from 127.0.0.2: %r, want 554 and close" % c.greeting.lines)
EOF

ar_pycase "plain listener without allow_plaintext_auth: AUTH never offered, refused with 503; MAIL without AUTH 530" <<'EOF'
import arlib, base64, os
from arlib import Client
c = Client(int(os.environ["OPEN_PORT"]))
caps = [l[4:].upper() for l in c.ehlo().lines[1:]]
if any(x.startswith("AUTH") or x == "STARTTLS" for x in caps):
    raise SystemExit("EHLO offers %r" % caps)
r = c.login()
if r.code != 503 or "5.5.1" not in r.text:
    raise SystemExit("AUTH PLAIN in clear -> %r, want 503 5.5.1" % r.lines)
r = c.cmd("AUTH LOGIN " + base64.b64encode(arlib.USER.encode()).decode())
if r.code != 503:
    raise SystemExit("AUTH LOGIN in clear -> %r, want 503" % r.lines)
r = c.cmd("MAIL FROM:<%s>" % arlib.USER)
if r.code != 530:
    raise SystemExit("MAIL without AUTH -> %r, want 530" % r.lines)
c.quit()
EOF

# openssl s_client speaking TLSv1 only: EHLO and QUIT, given time to answer.
sclient_tls1() {
	{ sleep 1; printf 'EHLO old.device\r\n'; sleep 1; printf 'QUIT\r\n'; sleep 1; } |
	    timeout 20 openssl s_client -connect "127.0.0.1:$1" -tls1 \
	    -cipher 'DEFAULT:@SECLEVEL=0' -CAfile "$AR_CA" -quiet -ign_eof \
	    >"$W/$2.out" 2>&1
}
name="openssl s_client -tls1 against the tls_min_version = TLSv1 listener: handshake, EHLO with AUTH"
sclient_tls1 "$OLD_PORT" tls1-old
if ! grep -q '^220 relay.test ESMTP' "$W/tls1-old.out" ||
    ! grep -q '^250-AUTH PLAIN LOGIN' "$W/tls1-old.out"; then
	not_ok "$name" "no greeting or EHLO over TLSv1" "$W/tls1-old.out" "$DAEMON_LOG"
elif ! grep -q 'tls version=TLSv1 ' "$DAEMON_LOG"; then
	not_ok "$name" "the daemon did not log 'tls version=TLSv1'" "$DAEMON_LOG"
else
	ok "$name"
fi
name="openssl s_client -tls1 against a default listener (TLSv1.2 minimum): refused"
sclient_tls1 "$AR_TLS_PORT" tls1-default
if grep -q '^220 ' "$W/tls1-default.out"; then
	not_ok "$name" "the default listener spoke TLSv1" "$W/tls1-default.out"
elif ! grep -qi 'protocol version\|unsupported protocol' "$W/tls1-default.out" "$DAEMON_LOG"; then
	not_ok "$name" "no protocol version error" "$W/tls1-default.out" "$DAEMON_LOG"
else
	ok "$name"
fi

ar_pycase "the TLSv1 listener still takes modern clients (TLS 1.3) and relays" <<'EOF'
import arlib, os
c = arlib.session(port=int(os.environ["OLD_PORT"]), tls=True)
if c.sock.version() not in ("TLSv1.3", "TLSv1.2"):
    raise SystemExit("negotiated %s" % c.sock.version())
c.expect("MAIL FROM:<%s>" % arlib.USER, 250)
c.quit()
EOF

# --- old clients ---------------------------------------------------------------

# ar_message FILE SUBJECT [BODY LINE...]: a complete message from the
# printer, CRLF line ends, Date and Message-ID there so no client adds them.
ar_message() {
	local f=$1 subject=$2 l
	shift 2
	{
		printf 'From: Printer <printer@printer.lan>\r\n'
		printf 'To: Someone <%s>\r\n' "$RCPT"
		printf 'Subject: %s\r\n' "$subject"
		printf 'Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n'
		printf 'Message-ID: <%s@client.test>\r\n' "${subject// /-}"
		printf '\r\n'
		for l in "$@"; do printf '%s\r\n' "$l"; done
	} >"$f"
}
ar_message "$W/helo.eml" "helo only" "Sent by a HELO-only device." \
    "It cannot authenticate either."
head -c -2 "$W/helo.eml" >"$W/helo.eml.swaks"
name="swaks --protocol SMTP (HELO only) from an auth = none device: delivered, envelope as sent"
before=$(ar_msg_count)
conns=$(ar_mock_count smtp-connections)
AR_CLIENT_LOG=$W/swaks-helo.out
if ! timeout "$AR_CLIENT_WAIT" swaks --server 127.0.0.1 --port "$LAN_PORT" \
    --local-interface 127.0.0.3 --protocol SMTP --helo old.printer \
    --from printer@printer.lan --to "$RCPT" --data "@$W/helo.eml.swaks" \
    --suppress-data >"$AR_CLIENT_LOG" 2>&1; then
	not_ok "$name" "swaks failed" "$AR_CLIENT_LOG" "$DAEMON_LOG"
elif ! grep -q '^ -> HELO old.printer' "$AR_CLIENT_LOG"; then
	not_ok "$name" "swaks did not send HELO" "$AR_CLIENT_LOG"
else
	# ar_check_delivery checks auth-user: the account the device maps to.
	ar_check_delivery "$name" "$before" "$W/helo.eml" printer@printer.lan "$RCPT"
fi
name="auth = none: the provider connection is made at MAIL, and the log names the user"
if [ "$(ar_mock_count smtp-connections)" -ne $((conns + 1)) ]; then
	not_ok "$name" "mock smtp-connections $(ar_mock_count smtp-connections), want $((conns + 1))"
elif ! grep -q 'no AUTH: client=127.0.0.3 mapped to user=printer account=sales' "$DAEMON_LOG" ||
    ! grep -q 'authenticated by network user=printer account=sales client=127.0.0.3' "$DAEMON_LOG"; then
	not_ok "$name" "no mapping lines in the log" "$DAEMON_LOG"
else
	ok "$name"
fi

ar_pycase "a raw client ending every command line with a bare LF: HELO, AUTH LOGIN with the user name on the AUTH line, MAIL, RCPT, DATA, QUIT" <<'EOF'
import arlib, base64, os
from arlib import Client
b64 = lambda s: base64.b64encode(s.encode()).decode()
before = arlib.msgs()
c = Client(int(os.environ["LAN_PORT"]))
def lf(line, code):
    c.send(line + "\n")
    r = c.reply()
    if r.code != code:
        raise SystemExit("%r -> %r, want %d" % (line[:40], r.lines, code))
    return r
lf("HELO old.device", 250)
r = lf("AUTH LOGIN " + b64(arlib.USER), 334)
if r.lines != ["334 UGFzc3dvcmQ6"]:
    raise SystemExit("AUTH LOGIN user -> %r, want the Password: prompt" % r.lines)
lf(b64(arlib.PASS), 235)
lf("MAIL FROM:<%s>" % arlib.USER, 250)
lf("RCPT TO:<%s>" % os.environ["RCPT"], 250)
lf("DATA", 354)
# Body lines end in bare LF too; only the end of data must be CRLF . CRLF
# (a bare-LF "." line is content: the SMTP smuggling defence).
wire = (b"From: Old Device <%s>\nTo: <%s>\nSubject: bare LF\n\nline one\n"
        b".dotted\n.\nlast line\r\n.\r\n") % (arlib.USER.encode(),
                                             os.environ["RCPT"].encode())
c.send(wire)
r = c.reply()
if r.code != 250:
    raise SystemExit("end of DATA -> %r" % r.lines)
lf("QUIT", 221)
new = arlib.new_msgs(before)
if len(new) != 1:
    raise SystemExit("stored %d messages" % len(new))
d = arlib.check_stored(new[0], arlib.gateway_frame(wire), arlib.USER,
                       [os.environ["RCPT"]])
if d:
    raise SystemExit(d)
EOF

ar_pycase "HELO then AUTH PLAIN on the implicit-TLS listener: accepted, mail relayed" <<'EOF'
import arlib, os
from arlib import Client
before = arlib.msgs()
c = Client(arlib.tls_port(), tls=True)
r = c.expect("HELO old.device", 250)
if len(r.lines) != 1:
    raise SystemExit("HELO answered with %r: want one line" % r.lines)
r = c.login()
if r.code != 235:
    raise SystemExit("AUTH after HELO -> %r" % r.lines)
msg = arlib.message("helo then auth", ["HELO, then AUTH PLAIN."])
c.expect("MAIL FROM:<%s>" % arlib.USER, 250)
c.expect("RCPT TO:<%s>" % os.environ["RCPT"], 250)
c.expect("DATA", 354)
c.send(arlib.stuff(msg))
if c.reply().code != 250:
    raise SystemExit("end of DATA refused")
c.quit()
new = arlib.new_msgs(before)
d = arlib.check_stored(new[0], msg, arlib.USER, [os.environ["RCPT"]]) \
    if len(new) == 1 else "stored %d messages" % len(new)
if d:
    raise SystemExit(d)
EOF

# --- devices and their networks ----------------------------------------------

ar_pycase "auth = none from an address no user maps: MAIL gets 530, nothing goes to the provider" <<'EOF'
import arlib, os
from arlib import Client
conns = arlib.counter("smtp-connections")
c = Client(int(os.environ["OPEN_PORT"]), source="127.0.0.4")
c.expect("HELO stranger", 250)
r = c.cmd("MAIL FROM:<printer@printer.lan>")
if r.code != 530 or "5.7.0" not in r.text:
    raise SystemExit("MAIL -> %r, want 530 5.7.0" % r.lines)
r = c.cmd("RCPT TO:<%s>" % os.environ["RCPT"])
if r.code != 530:
    raise SystemExit("RCPT -> %r, want 530" % r.lines)
c.quit()
if arlib.counter("smtp-connections") != conns:
    raise SystemExit("a provider connection was made")
EOF

ar_pycase "auth = none, sender_policy = reject: 553 at MAIL before any provider connection; an owned sender (send_as, any case) is relayed" <<'EOF'
import arlib, os
from arlib import Client
conns = arlib.counter("smtp-connections")
mails = arlib.counter("mail-commands")
before = arlib.msgs()
c = Client(int(os.environ["OPEN_PORT"]), source="127.0.0.5")
c.expect("EHLO printer2", 250)
r = c.cmd("MAIL FROM:<printer@printer.lan>")
if r.lines != ["553 5.7.1 Sender address rejected: not owned by user printer-strict"]:
    raise SystemExit("MAIL -> %r" % r.lines)
if arlib.counter("smtp-connections") != conns or arlib.counter("mail-commands") != mails:
    raise SystemExit("something went to the provider")
c.expect("MAIL FROM:<shared@EXAMPLE.com>", 250)
c.expect("RCPT TO:<%s>" % os.environ["RCPT"], 250)
c.expect("DATA", 354)
msg = arlib.message("printer strict", ["Sent as the shared mailbox."])
c.send(arlib.stuff(msg))
if c.reply().code != 250:
    raise SystemExit("end of DATA refused")
c.quit()
new = arlib.new_msgs(before)
d = arlib.check_stored(new[0], msg, "shared@EXAMPLE.com", [os.environ["RCPT"]]) \
    if len(new) == 1 else "stored %d messages" % len(new)
if d:
    raise SystemExit(d)
if arlib.counter("smtp-connections") != conns + 1:
    raise SystemExit("provider connections %d, want %d" % (arlib.counter("smtp-connections"), conns + 1))
EOF

ar_pycase "per-user networks: desk from 127.0.0.1 gets 535 after the delay and the log says why; from 127.0.0.2 it logs in and relays" <<'EOF'
import arlib, os, time
from arlib import Client
c = Client(arlib.tls_port(), tls=True)
c.ehlo()
t0 = time.time()
r = c.login("desk", arlib.PASS)
took = time.time() - t0
if r.code != 535 or "5.7.8" not in r.text:
    raise SystemExit("AUTH from 127.0.0.1 -> %r, want 535 5.7.8" % r.lines)
if took < 0.4:
    raise SystemExit("535 after %.2fs: no delay" % took)
r = c.cmd("MAIL FROM:<%s>" % arlib.USER)
if r.code != 530:
    raise SystemExit("MAIL after the refused AUTH -> %r, want 530" % r.lines)
c.quit()
if "user desk not allowed from 127.0.0.1" not in arlib.log_text():
    raise SystemExit("no 'user desk not allowed from 127.0.0.1' in the log")
before = arlib.msgs()
c = Client(arlib.tls_port(), tls=True, source="127.0.0.2")
c.ehlo()
r = c.login("desk", arlib.PASS, "LOGIN")
if r.code != 235:
    raise SystemExit("AUTH from 127.0.0.2 -> %r" % r.lines)
msg = arlib.message("desk", ["From the desk's own address."])
c.expect("MAIL FROM:<%s>" % arlib.USER, 250)
c.expect("RCPT TO:<%s>" % os.environ["RCPT"], 250)
c.expect("DATA", 354)
c.send(arlib.stuff(msg))
if c.reply().code != 250:
    raise SystemExit("end of DATA refused")
c.quit()
new = arlib.new_msgs(before)
d = arlib.check_stored(new[0], msg, arlib.USER, [os.environ["RCPT"]]) \
    if len(new) == 1 else "stored %d messages" % len(new)
if d:
    raise SystemExit(d)
EOF

# --- sender rules ----------------------------------------------------------------

ar_pycase "sender_policy = reject: 553 5.7.1 at MAIL with no MAIL sent to the provider (also for <>); own address and send_as relayed" <<'EOF'
import arlib, os
from arlib import Client
c = arlib.session(tls=True, auth=False)
if c.login("strict", arlib.PASS).code != 235:
    raise SystemExit("AUTH strict failed")
mails = arlib.counter("mail-commands")
for sender in ("other@example.org", "sales@example.com.evil", ""):
    r = c.cmd("MAIL FROM:<%s>" % sender)
    if r.lines != ["553 5.7.1 Sender address rejected: not owned by user strict"]:
        raise SystemExit("MAIL FROM:<%s> -> %r" % (sender, r.lines))
if arlib.counter("mail-commands") != mails:
    raise SystemExit("a refused MAIL reached the provider")
for sender in ("SALES@example.com", "ALIAS@example.com"):
    before = arlib.msgs()
    c.expect("MAIL FROM:<%s>" % sender, 250)
    c.expect("RCPT TO:<%s>" % os.environ["RCPT"], 250)
    c.expect("DATA", 354)
    msg = arlib.message("strict " + sender, ["Owned sender."])
    c.send(arlib.stuff(msg))
    if c.reply().code != 250:
        raise SystemExit("end of DATA refused")
    new = arlib.new_msgs(before)
    d = arlib.check_stored(new[0], msg, sender, [os.environ["RCPT"]]) \
        if len(new) == 1 else "stored %d messages" % len(new)
    if d:
        raise SystemExit(d)
c.quit()
EOF

ar_pycase "sender_policy = rewrite with rewrite_from_header: envelope and From rewritten, original From (folded) moved to Reply-To, nothing else changed; over 64 KiB of headers passed unchanged" <<'EOF'
import arlib, os
c = arlib.session(tls=True, auth=False)
if c.login("rewriter", arlib.PASS).code != 235:
    raise SystemExit("AUTH rewriter failed")
rcpt = os.environ["RCPT"]

def send(sender, msg):
    before = arlib.msgs()
    c.expect("MAIL FROM:<%s> BODY=8BITMIME" % sender, 250)
    c.expect("RCPT TO:<%s>" % rcpt, 250)
    c.expect("DATA", 354)
    c.send(arlib.stuff(msg))
    r = c.reply()
    if r.code != 250:
        raise SystemExit("end of DATA -> %r" % r.lines)
    new = arlib.new_msgs(before)
    if len(new) != 1:
        raise SystemExit("stored %d messages" % len(new))
    return new[0]

tail = (b"To: Someone <rcpt@example.org>\r\nSubject: rewrite\r\n"
        b"Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n"
        b"Message-ID: <rewrite-1@client.test>\r\n\r\n"
        b"Body line.\r\nFrom: a body line, not a header\r\n.leading dot\r\n")
# 1: a folded From, no Reply-To.
sent = b"From: \"Scanner on floor 2\"\r\n <scanner@dev.local>\r\n" + tail
want = (b"From: sales@example.com\r\nReply-To: \"Scanner on floor 2\"\r\n"
        b" <scanner@dev.local>\r\n" + tail)
d = arlib.check_stored(send("scanner@dev.local", sent), want, "sales@example.com", [rcpt])
if d:
    raise SystemExit("folded From: " + d)
_, e = arlib.stored(arlib.msgs()[-1])
if e["mail-from"] != ["<sales@example.com> BODY=8BITMIME"]:
    raise SystemExit("mail-from %r: parameters lost" % e["mail-from"])
# 2: a Reply-To already there: kept, the From replaced.
sent = b"Reply-To: <desk@dev.local>\r\nFrom: scanner@dev.local\r\n" + tail
want = b"Reply-To: <desk@dev.local>\r\nFrom: sales@example.com\r\n" + tail
d = arlib.check_stored(send("scanner@dev.local", sent), want, "sales@example.com", [rcpt])
if d:
    raise SystemExit("existing Reply-To: " + d)
# 3: an owned envelope sender: nothing is rewritten, not even the From.
sent = b"From: scanner@dev.local\r\n" + tail
d = arlib.check_stored(send("alias@example.com", sent), sent, "alias@example.com", [rcpt])
if d:
    raise SystemExit("owned sender: " + d)
# 4: 300 KB after the headers: the rewriter streams through the window.
body = b"".join(b"line %06d of a long message body\r\n" % i for i in range(9000))
sent = b"From: scanner@dev.local\r\nSubject: big\r\n\r\n" + body
want = (b"From: sales@example.com\r\nReply-To: scanner@dev.local\r\n"
        b"Subject: big\r\n\r\n" + body)
d = arlib.check_stored(send("scanner@dev.local", sent), want, "sales@example.com", [rcpt])
if d:
    raise SystemExit("big message: " + d)
# 5: a header section over 64 KiB: the envelope is rewritten, the message
# passes unchanged, and the log says so.
pad = b"".join(b"X-Pad-%04d: %s\r\n" % (i, b"p" * 60) for i in range(1000))
sent = b"From: scanner@dev.local\r\n" + pad + b"\r\nbody\r\n"
d = arlib.check_stored(send("scanner@dev.local", sent), sent, "sales@example.com", [rcpt])
if d:
    raise SystemExit("oversized header section: " + d)
c.quit()
log = arlib.log_text()
if "header section over 65536 bytes: message sent with its From unchanged" not in log:
    raise SystemExit("no warning about the oversized header section")
if "sender rewritten user=rewriter from=<scanner@dev.local> to=<sales@example.com> header=From" not in log:
    raise SystemExit("no 'sender rewritten' line in the log")
if "from header rewritten fields=1 reply_to=added" not in log:
    raise SystemExit("no 'from header rewritten' line in the log")
EOF

ar_pycase "sender_policy = rewrite without rewrite_from_header: only the envelope sender is rewritten" <<'EOF'
import arlib, os
c = arlib.session(auth=False)
if c.login("envonly", arlib.PASS).code != 235:
    raise SystemExit("AUTH envonly failed")
before = arlib.msgs()
msg = arlib.message("envelope only", ["The From header stays."])
c.expect("MAIL FROM:<scanner@dev.local>", 250)
c.expect("RCPT TO:<%s>" % os.environ["RCPT"], 250)
c.expect("DATA", 354)
c.send(arlib.stuff(msg))
if c.reply().code != 250:
    raise SystemExit("end of DATA refused")
c.quit()
new = arlib.new_msgs(before)
d = arlib.check_stored(new[0], msg, "sales@example.com", [os.environ["RCPT"]]) \
    if len(new) == 1 else "stored %d messages" % len(new)
if d:
    raise SystemExit(d)
EOF

ar_check_daemon "t_fleet: the daemon survived, exits 0 on SIGTERM"
ar_check_secrets "t_fleet: no secret in the daemon log"
ar_summary
