#!/usr/bin/env bash
# t_limits: the sending limits (proxy/sendlimit.h) with real clients
# (smtplib, and a raw socket for pipelining), one daemon per set-up in front
# of one mock provider. max_messages_per_minute on the account: the third
# MAIL gets the 451 naming the limit and the account, nothing of it reaches
# the mock, status --json and metrics count it; a reload that raises the
# limit applies to new sessions (a session in flight keeps the old one) and
# keeps the counts. max_recipients_per_message: a third RCPT gets 452
# 4.5.3, also pipelined (replies in order), and the message goes to two.
# max_recipients_per_day and max_messages_per_day; a message the provider
# does not accept does not count. A user's own limit, which another user of
# the account does not share. The day survives a restart
# (STATE_DIR/sending.json, mode 0600, written at stop and within a minute
# of a change), the minute does not; a corrupt file is logged and ignored.
# The provider presets (microsoft, google; none for a provider of your
# own) and a [provider microsoft] section that turns one off. About 60 s:
# the periodic write is waited for while the other cases run.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

ar_init
W=$AR_TMP/work
mkdir -p "$W"
export AR_W=$W
OTHER_USER=other@example.com
OTHER_PASS='Pw-other.2b8d4e6f+K'
OTHER_HASH=$(ar_hash_password "$OTHER_PASS") || ar_die "hash-password failed"
export OTHER_USER OTHER_PASS

# lim.py: the smtplib client of these cases, status and metrics.
cat >"$W/lim.py" <<'EOF'
import os
import re
import smtplib
import sys
import time
import urllib.request

sys.path.insert(0, os.environ["AR_LIB_DIR"])
import arlib  # noqa: E402


def connect(user=arlib.USER, password=arlib.PASS):
    """smtplib on the implicit-TLS listener, EHLO and AUTH done."""
    s = smtplib.SMTP_SSL(arlib.HOST, arlib.tls_port(), timeout=20,
                         context=arlib.client_context())
    s.ehlo("client.test")
    s.login(user, password)
    return s


def text(r):
    code, msg = r
    return "%d %s" % (code, msg.decode("utf-8", "replace"))


def send(s, rcpts, subject, sender=arlib.USER):
    """MAIL, each RCPT, and DATA if a RCPT got 250 (else RSET): the replies
    as "CODE text" strings, [MAIL, RCPT..., DATA]."""
    out = [text(s.mail(sender))]
    if not out[0].startswith("250"):
        return out
    took = False
    for r in rcpts:
        out.append(text(s.rcpt(r)))
        took = took or out[-1].startswith("250")
    if took:
        out.append(text(s.data(arlib.message(subject, ["Limits."]))))
    else:
        s.rset()
    return out


def want(what, got, *prefixes):
    """got (a list of reply strings) starts with these, one each."""
    if len(got) != len(prefixes) or any(
            not g.startswith(p) for g, p in zip(got, prefixes)):
        raise SystemExit("%s: replies %r, want %r" % (what, got,
                                                      list(prefixes)))


def mails():
    """MAIL commands the mock saw."""
    return arlib.counter("mail-commands")


def rcpts_of(num):
    _, e = arlib.stored(num)
    return [v.split(" ")[0] for v in e.get("rcpt-to", [])]


def new_stored(before, count, what):
    """The count messages stored since the list before (no more)."""
    new = arlib.new_msgs(before, count)
    if len(new) != count:
        raise SystemExit("%s: the mock stored %d messages, want %d" % (
            what, len(new), count))
    return new


def account(name="sales"):
    for a in arlib.daemon_status()["accounts"]:
        if a["name"] == name:
            return a
    raise SystemExit("status --json has no account %s" % name)


def sending(name="sales", **want_):
    """None if the account's status "sending" object has these values
    (limits as limits={...}), else raises."""
    s = account(name)["sending"]
    for k, v in want_.items():
        got = s.get(k)
        if k == "limits":
            got = {x: got.get(x) for x in v}
        if got != v:
            raise SystemExit("status --json accounts[%s].sending.%s = %r, "
                             "want %r (sending: %r)" % (name, k, got, v, s))


def limits(mm, md, rd, rm):
    return {"max_messages_per_minute": mm, "max_messages_per_day": md,
            "max_recipients_per_day": rd, "max_recipients_per_message": rm}


def scrape():
    with urllib.request.urlopen("http://127.0.0.1:%s/metrics" %
                                os.environ["AR_MP"], timeout=20) as r:
        return r.read().decode()


def metric(body, series):
    """The value of the sample `series` (name{labels} exactly), or None."""
    for l in body.splitlines():
        if l.startswith(series + " "):
            return float(l.split(" ")[1])
    return None


def want_metrics(**series):
    """Each series (given as name_with_labels=value through a dict) has
    its value; None: absent."""
    body = scrape()
    for k, v in series.items():
        got = metric(body, k)
        if got != v:
            raise SystemExit("metrics: %s = %r, want %r" % (k, got, v))


def want_log(pattern, log=None, wait=10.0):
    """The line may still be on its way: the daemon listens before it
    has set up its accounts."""
    end = time.time() + wait
    while True:
        t = arlib.log_text() if log is None else open(log).read()
        if re.search(pattern, t):
            return
        if time.time() > end:
            raise SystemExit("no /%s/ in the daemon log" % pattern)
        time.sleep(0.1)
EOF

ACCT_LIMIT='451 4.7.0 Sending limit reached: %s=%s for account sales, try again later'
export ACCT_LIMIT

# lim_daemon NAME [SERVER LINES]: stop the daemon of the previous set-up
# (it must have survived and exit 0) and start one on the current
# AR_ACCOUNT_EXTRA / AR_USER_LINES / AR_SECTIONS, with metrics on AR_MP.
lim_daemon() {
	local name=$1
	shift
	[ -z "${DAEMON_PID:-}" ] ||
	    ar_check_daemon "$PREV: the daemon survived, exits 0 on SIGTERM"
	AR_MP=$(ar_free_port)
	export AR_MP
	ar_start_daemon "$name" "metrics = 127.0.0.1:$AR_MP" "$@"
	PREV=$name
}

# py NAME: ar_pycase with lim importable.
py() {
	ar_pycase "$1" < <(printf 'import sys, os\nsys.path.insert(0, os.environ["AR_W"])\nimport arlib, lim\nfrom lim import *\n'; cat)
}

ar_start_mock mock

# --- 5. the periodic write: a daemon started first, looked at last ------------

AR_ACCOUNT_EXTRA="max_messages_per_day = 5" ar_start_daemon periodic
PER_T0=$(date +%s)
py "periodic: a message relays (sending.json is looked at once a minute has passed)" <<'EOF2'
before = arlib.msgs()
s = connect()
want("message", send(s, ["w1@example.org"], "periodic"), "250", "250", "250")
s.quit()
new_stored(before, 1, "the message")
EOF2
PER_PID=$DAEMON_PID
PER_DIR=$DAEMON_DIR
DAEMON_PID=
T0=$(date +%s)

# --- 1. max_messages_per_minute on the account --------------------------------

AR_ACCOUNT_EXTRA="max_messages_per_minute = 2" lim_daemon minute

py "max_messages_per_minute = 2: two messages relay, the third MAIL gets 451 naming the limit and the account, and reaches nothing" <<'EOF'
before, m0 = arlib.msgs(), mails()
s = connect()
for i in (1, 2):
    want("message %d" % i, send(s, ["m%d@example.org" % i], "minute %d" % i),
         "250", "250", "250")
new_stored(before, 2, "two messages")
if mails() != m0 + 2:
    raise SystemExit("the mock saw %d MAILs, want 2" % (mails() - m0))
r = text(s.mail(arlib.USER))
exp = os.environ["ACCT_LIMIT"] % ("max_messages_per_minute", 2)
if r != exp:
    raise SystemExit("third MAIL: %r, want %r" % (r, exp))
# Nothing of it went on: no RCPT either (503 from the gateway: no MAIL).
r = text(s.rcpt("m3@example.org"))
if not r.startswith("503"):
    raise SystemExit("RCPT after the refused MAIL: %r, want 503" % r)
s.quit()
time.sleep(0.3)
if mails() != m0 + 2 or len(arlib.msgs()) != len(before) + 2:
    raise SystemExit("after the refused MAIL the mock saw %d MAILs and "
                     "stored %d messages, want 2 and 2" % (
                         mails() - m0, len(arlib.msgs()) - len(before)))
want_log(r"sending limit max_messages_per_minute=2 of account sales reached")
EOF

py "max_messages_per_minute: status --json shows messages_last_minute 2 and the limit" <<'EOF'
sending(messages_last_minute=2, messages_last_day=2, recipients_last_day=2,
        limits=limits(2, 0, 0, 0))
EOF

py "max_messages_per_minute: metrics count the refusal (scope account) and show the window and the limit" <<'EOF'
want_metrics(**{
    'authrelay_sending_limit_reached_total{account="sales",limit="max_messages_per_minute",scope="account"}': 1,
    'authrelay_sending_limit_reached_total{account="sales",limit="max_messages_per_minute",scope="user"}': 0,
    'authrelay_sending_limit_reached_total{account="sales",limit="max_messages_per_day",scope="account"}': 0,
    'authrelay_sending_messages_last_minute{account="sales"}': 2,
    'authrelay_sending_messages_last_day{account="sales"}': 2,
    'authrelay_sending_recipients_last_day{account="sales"}': 2,
    'authrelay_sending_limit{account="sales",limit="max_messages_per_minute"}': 2,
    'authrelay_sending_limit{account="sales",limit="max_messages_per_day"}': None,
})
EOF

# --- 7. a reload changes the limit, the counts stay ---------------------------

# The file changes in place (mode 0600, as ar_write_config leaves it);
# the daemon reads it at the reload, after a session has opened.
AR_ACCOUNT_EXTRA="max_messages_per_minute = 3" \
    ar_write_config "$DAEMON_CONF" minute "metrics = 127.0.0.1:$AR_MP"
py "reload: a session in flight keeps the old limit (2); a new session gets the new one (3) on the counts kept: one more message, then 451 =3" <<'EOF'
old = connect()
gen = arlib.reload_ok()
if gen != 2:
    raise SystemExit("reload applied generation %d, want 2" % gen)
r = text(old.mail(arlib.USER))
exp = os.environ["ACCT_LIMIT"] % ("max_messages_per_minute", 2)
if r != exp:
    raise SystemExit("MAIL in the session opened before the reload: %r, "
                     "want %r" % (r, exp))
old.quit()
before, m0 = arlib.msgs(), mails()
s = connect()
want("new session, third message in the minute",
     send(s, ["m3@example.org"], "minute 3"), "250", "250", "250")
new_stored(before, 1, "the third message")
r = text(s.mail(arlib.USER))
exp = os.environ["ACCT_LIMIT"] % ("max_messages_per_minute", 3)
if r != exp:
    raise SystemExit("fourth MAIL: %r, want %r (counts lost at the reload?)"
                     % (r, exp))
s.quit()
time.sleep(0.2)
if mails() != m0 + 1:
    raise SystemExit("the mock saw %d MAILs, want 1" % (mails() - m0))
sending(messages_last_minute=3, messages_last_day=3,
        limits=limits(3, 0, 0, 0))
want_metrics(**{
    'authrelay_sending_limit_reached_total{account="sales",limit="max_messages_per_minute",scope="account"}': 3,
    'authrelay_sending_limit{account="sales",limit="max_messages_per_minute"}': 3,
})
EOF
# New credentials for the same mailbox (here its provider's ca_file, a copy
# at another path): the account is made anew at the reload, and what it
# sent must still count.
cp "$AR_CA" "$AR_TMP/ca-copy.pem"
AR_CA=$AR_TMP/ca-copy.pem AR_ACCOUNT_EXTRA="max_messages_per_minute = 3" \
    ar_write_config "$DAEMON_CONF" minute "metrics = 127.0.0.1:$AR_MP"
py "reload with new credentials for the mailbox: its account is new, its counts are not: 451 =3 at once" <<'EOF'
gen = arlib.reload_ok()
if gen != 3:
    raise SystemExit("reload applied generation %d, want 3" % gen)
if "account=sales retired" not in arlib.log_text():
    raise SystemExit("the account was kept: no new credentials seen")
s = connect()
r = text(s.mail(arlib.USER))
exp = os.environ["ACCT_LIMIT"] % ("max_messages_per_minute", 3)
if r != exp:
    raise SystemExit("MAIL after new credentials: %r, want %r (counts "
                     "lost with the old account?)" % (r, exp))
s.quit()
sending(messages_last_minute=3, messages_last_day=3,
        limits=limits(3, 0, 0, 0))
EOF
T1=$(date +%s)
[ $((T1 - T0)) -lt 55 ] ||
    echo "# warning: the minute cases took $((T1 - T0))s, close to the window"

# --- 2. max_recipients_per_message --------------------------------------------

AR_ACCOUNT_EXTRA="max_recipients_per_message = 2" lim_daemon permsg

py "max_recipients_per_message = 2: RCPTs get 250, 250, 452 4.5.3; the message goes to the first two only" <<'EOF'
before = arlib.msgs()
s = connect()
got = send(s, ["a1@example.org", "a2@example.org", "a3@example.org"],
           "per message")
want("three RCPTs", got, "250", "250", "250", "452", "250")
exp = "452 4.5.3 Too many recipients (max_recipients_per_message=2)"
if got[3] != exp:
    raise SystemExit("third RCPT: %r, want %r" % (got[3], exp))
s.quit()
n = new_stored(before, 1, "the message")[0]
if rcpts_of(n) != ["<a1@example.org>", "<a2@example.org>"]:
    raise SystemExit("stored envelope rcpt-to %r, want a1, a2" % rcpts_of(n))
want_log(r"sending limit max_recipients_per_message=2 of account sales "
         r"reached")
sending(messages_last_day=1, recipients_last_day=2,
        limits=limits(0, 0, 0, 2))
EOF

py "max_recipients_per_message = 2, pipelined (MAIL, 3 RCPT, DATA in one write): replies in order, the third RCPT 452, the message to two" <<'EOF'
before = arlib.msgs()
c = arlib.session(tls=True)
ehlo = c.cmd("EHLO client.test")
if not any("PIPELINING" in l for l in ehlo.lines):
    raise SystemExit("EHLO does not offer PIPELINING: %r" % ehlo.lines)
c.send("MAIL FROM:<%s>\r\nRCPT TO:<p1@example.org>\r\n"
       "RCPT TO:<p2@example.org>\r\nRCPT TO:<p3@example.org>\r\nDATA\r\n"
       % arlib.USER)
got = [c.reply() for _ in range(5)]
codes = [r.code for r in got]
if codes != [250, 250, 250, 452, 354]:
    raise SystemExit("pipelined replies %r, want 250 250 250 452 354" %
                     [r.lines for r in got])
if "max_recipients_per_message=2" not in got[3].text or \
        "4.5.3" not in got[3].text:
    raise SystemExit("third RCPT: %r" % got[3].lines)
msg = arlib.message("pipelined", ["Two of three."])
c.send(arlib.stuff(msg))
r = c.reply()
c.quit()
if r.code != 250:
    raise SystemExit("end of DATA: %r" % r.lines)
n = new_stored(before, 1, "the message")[0]
if rcpts_of(n) != ["<p1@example.org>", "<p2@example.org>"]:
    raise SystemExit("stored envelope rcpt-to %r, want p1, p2" % rcpts_of(n))
_, e = arlib.stored(n)
print("envelope-reads %s" % e.get("envelope-reads"))
sending(messages_last_day=2, recipients_last_day=4)
EOF

# --- 3. max_recipients_per_day, max_messages_per_day -------------------------

AR_ACCOUNT_EXTRA="max_recipients_per_day = 3" lim_daemon rcptday

py "max_recipients_per_day = 3: messages to 2 then 2: the second message's 2nd RCPT gets 451, it goes to one; then MAIL gets 451" <<'EOF'
before, m0 = arlib.msgs(), mails()
s = connect()
want("first message", send(s, ["d1@example.org", "d2@example.org"], "day 1"),
     "250", "250", "250", "250")
got = send(s, ["d3@example.org", "d4@example.org"], "day 2")
want("second message", got, "250", "250", "451", "250")
exp = os.environ["ACCT_LIMIT"] % ("max_recipients_per_day", 3)
if got[2] != exp:
    raise SystemExit("second message's 2nd RCPT: %r, want %r" % (got[2], exp))
new = new_stored(before, 2, "two messages")
if rcpts_of(new[1]) != ["<d3@example.org>"]:
    raise SystemExit("second message stored to %r, want d3 only" %
                     rcpts_of(new[1]))
r = text(s.mail(arlib.USER))
if r != exp:
    raise SystemExit("MAIL once the day's recipients are used: %r, want %r"
                     % (r, exp))
s.quit()
time.sleep(0.2)
if mails() != m0 + 2:
    raise SystemExit("the mock saw %d MAILs, want 2" % (mails() - m0))
want_log(r"sending limit max_recipients_per_day=3 of account sales reached")
sending(messages_last_day=2, recipients_last_day=3,
        limits=limits(0, 0, 3, 0))
want_metrics(**{
    'authrelay_sending_limit_reached_total{account="sales",limit="max_recipients_per_day",scope="account"}': 2,
})
EOF

AR_ACCOUNT_EXTRA="max_messages_per_day = 1" lim_daemon msgday

ar_mock_control "smtp-drop-data 1"
py "max_messages_per_day = 1: a message the provider does not accept (it drops the DATA) does not count" <<'EOF'
before = arlib.msgs()
s = connect()
try:
    got = send(s, ["e0@example.org"], "dropped")
    s.quit()
except smtplib.SMTPServerDisconnected as e:
    got = ["(disconnected: %s)" % e]
if got[-1].startswith("250"):
    raise SystemExit("the dropped message got %r" % got)
time.sleep(0.2)
if arlib.msgs() != before:
    raise SystemExit("the mock stored the dropped message")
sending(messages_last_day=0, recipients_last_day=0)
print("the dropped message: %r" % got[-1])
EOF
ar_mock_control

py "max_messages_per_day = 1: the second MAIL gets 451 and reaches nothing" <<'EOF'
before, m0 = arlib.msgs(), mails()
s = connect()
want("first message", send(s, ["e1@example.org"], "msgday 1"),
     "250", "250", "250")
s.quit()
s = connect()
r = text(s.mail(arlib.USER))
exp = os.environ["ACCT_LIMIT"] % ("max_messages_per_day", 1)
if r != exp:
    raise SystemExit("second MAIL: %r, want %r" % (r, exp))
s.quit()
new_stored(before, 1, "one message")
if mails() != m0 + 1:
    raise SystemExit("the mock saw %d MAILs, want 1" % (mails() - m0))
sending(messages_last_day=1, limits=limits(0, 1, 0, 0))
EOF

# --- 4. a user's own limit ------------------------------------------------------

AR_USER_LINES="max_messages_per_minute = 1" AR_SECTIONS="[user $OTHER_USER]
password_hash = $OTHER_HASH
account = sales" lim_daemon user

py "a user's max_messages_per_minute = 1 (none on the account): the user's 2nd MAIL gets 451 for user scanner@example.com; another user of the account is not limited" <<'EOF'
before, m0 = arlib.msgs(), mails()
s = connect()
want("scanner's first", send(s, ["u1@example.org"], "user 1"),
     "250", "250", "250")
r = text(s.mail(arlib.USER))
exp = ("451 4.7.0 Sending limit reached: max_messages_per_minute=1 for "
       "user scanner@example.com, try again later")
if r != exp:
    raise SystemExit("scanner's second MAIL: %r, want %r" % (r, exp))
s.quit()
o = connect(os.environ["OTHER_USER"], os.environ["OTHER_PASS"])
for i in (1, 2):
    want("other's message %d" % i, send(o, ["o%d@example.org" % i],
                                        "other %d" % i,
                                        sender=os.environ["OTHER_USER"]),
         "250", "250", "250")
o.quit()
new_stored(before, 3, "three messages")
if mails() != m0 + 3:
    raise SystemExit("the mock saw %d MAILs, want 3" % (mails() - m0))
s = connect()
r = text(s.mail(arlib.USER))
if r != exp:
    raise SystemExit("scanner's MAIL after other's: %r, want %r" % (r, exp))
s.quit()
want_log(r"sending limit max_messages_per_minute=1 of user "
         r"scanner@example\.com reached")
sending(messages_last_minute=3, limits=limits(0, 0, 0, 0))
want_metrics(**{
    'authrelay_sending_limit_reached_total{account="sales",limit="max_messages_per_minute",scope="user"}': 2,
    'authrelay_sending_limit_reached_total{account="sales",limit="max_messages_per_minute",scope="account"}': 0,
})
EOF

# --- 5. the day survives a restart ------------------------------------------------

AR_ACCOUNT_EXTRA="max_messages_per_day = 2" \
    AR_USER_LINES="max_recipients_per_day = 100" lim_daemon persist
SJ=$DAEMON_DIR/state/sending.json
export SJ

py "persist: max_messages_per_day = 2: two messages relay" <<'EOF'
before = arlib.msgs()
s = connect()
for i in (1, 2):
    want("message %d" % i, send(s, ["s%d@example.org" % i], "persist %d" % i),
         "250", "250", "250")
s.quit()
new_stored(before, 2, "two messages")
EOF

name="persist: on SIGTERM the daemon exits 0 and writes sending.json, mode 0600, with the day of the account and of the user"
ar_stop "$DAEMON_PID"
if [ "$AR_STOP_RC" != 0 ]; then
	not_ok "$name" "exit status $AR_STOP_RC on SIGTERM" "$DAEMON_LOG"
elif [ ! -f "$SJ" ]; then
	not_ok "$name" "no $SJ; the state dir holds: $(echo "$DAEMON_DIR"/state/*)"
elif [ "$(stat -c %a "$SJ")" != 600 ]; then
	not_ok "$name" "mode $(stat -c %a "$SJ"), want 600"
else
	py "$name" <<'EOF'
import json
with open(os.environ["SJ"]) as f:
    j = json.load(f)
def day(slots):
    return (sum(x[1] for x in slots), sum(x[2] for x in slots))
acc = j.get("accounts", {}).get("sales")
if acc is None or day(acc) != (2, 2):
    raise SystemExit("accounts.sales %r, want 2 messages 2 recipients (%s)"
                     % (acc, json.dumps(j)[:300]))
usr = j.get("users", {}).get(arlib.USER)
if usr is None or day(usr) != (2, 2):
    raise SystemExit("users[%s] %r, want 2 messages 2 recipients (%s)"
                     % (arlib.USER, usr, json.dumps(j)[:300]))
EOF
fi

ar_run_daemon "$DAEMON_DIR/authrelay-restart.log"
py "persist: after a restart the day is back (MAIL gets 451 max_messages_per_day=2, nothing reaches the mock); the minute is not" <<'EOF'
before, m0 = arlib.msgs(), mails()
sending(messages_last_minute=0, messages_last_day=2, recipients_last_day=2,
        limits=limits(0, 2, 0, 0))
s = connect()
r = text(s.mail(arlib.USER))
exp = os.environ["ACCT_LIMIT"] % ("max_messages_per_day", 2)
if r != exp:
    raise SystemExit("MAIL after the restart: %r, want %r" % (r, exp))
s.quit()
time.sleep(0.2)
if mails() != m0 or arlib.msgs() != before:
    raise SystemExit("the refused MAIL reached the mock")
EOF

name="persist: a corrupt sending.json is logged and ignored: the daemon starts, counts from zero, relays"
ar_stop "$DAEMON_PID"
printf 'garbage {"accounts": [\n' >"$SJ"
chmod 600 "$SJ"
ar_run_daemon "$DAEMON_DIR/authrelay-corrupt.log"
py "$name" <<'EOF'
want_log(r"sending\.json: .*sending counts start from zero")
sending(messages_last_day=0, recipients_last_day=0)
before = arlib.msgs()
s = connect()
want("message", send(s, ["z1@example.org"], "after corrupt"),
     "250", "250", "250")
s.quit()
new_stored(before, 1, "the message")
sending(messages_last_day=1)
EOF

name="persist: a sending.json of another shape is logged and ignored"
ar_stop "$DAEMON_PID"
printf '{"version": 1, "accounts": [1, 2]}\n' >"$SJ"
ar_run_daemon "$DAEMON_DIR/authrelay-shape.log"
py "$name" <<'EOF'
want_log(r"sending\.json: not a sending counts file: they start from zero")
sending(messages_last_day=0)
EOF

# --- 6. provider presets --------------------------------------------------------

PRESET_ACCOUNTS="[account ms]
provider = microsoft
email = ms@example.com
client_id = 00000000-0000-0000-0000-000000000000

[account gg]
provider = google
email = gg@example.com
client_id = 000000000000-abc.apps.googleusercontent.com
client_secret = gg-secret-9d8c7b6a"
AR_SECTIONS=$PRESET_ACCOUNTS lim_daemon presets

py "presets (no token stored for them: the daemon starts, it warns): status --json: provider microsoft 30/min, 10000 recipients a day, 500 a message; google 2000 a day, 10000, 100; a provider of your own none" <<'EOF'
want_log(r"oauth account=ms cannot get tokens yet")
want_log(r"oauth account=gg cannot get tokens yet")
sending("ms", limits=limits(30, 0, 10000, 500))
sending("gg", limits=limits(0, 2000, 10000, 100))
sending("sales", limits=limits(0, 0, 0, 0))
EOF

py "presets: metrics authrelay_sending_limit shows the set ones" <<'EOF'
L = 'authrelay_sending_limit{account="%s",limit="%s"}'
want_metrics(**{
    L % ("ms", "max_messages_per_minute"): 30,
    L % ("ms", "max_messages_per_day"): None,
    L % ("ms", "max_recipients_per_day"): 10000,
    L % ("ms", "max_recipients_per_message"): 500,
    L % ("gg", "max_messages_per_minute"): None,
    L % ("gg", "max_messages_per_day"): 2000,
    L % ("gg", "max_recipients_per_day"): 10000,
    L % ("gg", "max_recipients_per_message"): 100,
    L % ("sales", "max_messages_per_minute"): None,
})
EOF

AR_SECTIONS="$PRESET_ACCOUNTS

[provider microsoft]
max_messages_per_minute = 0" lim_daemon presets-off

py "presets: [provider microsoft] max_messages_per_minute = 0 turns that limit off for its accounts, the others stay" <<'EOF'
sending("ms", limits=limits(0, 0, 10000, 500))
sending("gg", limits=limits(0, 2000, 10000, 100))
EOF

# --- 5. the periodic write, a minute later --------------------------------------

name="periodic: while the daemon runs, sending.json (mode 0600) holds the message within 60 s of it"
PJ=$PER_DIR/state/sending.json
until [ -f "$PJ" ] || [ "$(date +%s)" -ge $((PER_T0 + 75)) ]; do
	sleep 0.5
done
if ! kill -0 "$PER_PID" 2>/dev/null; then
	not_ok "$name" "the daemon died" "$PER_DIR/authrelay.log"
elif [ ! -f "$PJ" ]; then
	not_ok "$name" "no $PJ $(($(date +%s) - PER_T0))s after the start"
elif [ "$(stat -c %a "$PJ")" != 600 ]; then
	not_ok "$name" "mode $(stat -c %a "$PJ"), want 600"
else
	SJ=$PJ py "$name" <<'EOF2'
import json
with open(os.environ["SJ"]) as f:
    j = json.load(f)
acc = j.get("accounts", {}).get("sales")
if acc is None or (sum(x[1] for x in acc), sum(x[2] for x in acc)) != (1, 1):
    raise SystemExit("accounts.sales %r, want 1 message 1 recipient" % acc)
EOF2
fi
name="periodic: the daemon exits 0 on SIGTERM"
ar_stop "$PER_PID"
if [ "$AR_STOP_RC" = 0 ]; then ok "$name"; else
	not_ok "$name" "exit status $AR_STOP_RC" "$PER_DIR/authrelay.log"; fi

# --- 8. the end -----------------------------------------------------------------

ar_check_daemon "t_limits: the last daemon survived, exits 0 on SIGTERM"
ar_check_sanitizers "t_limits: no sanitizer report in any daemon log"
ar_check_secrets "t_limits: no secret in the daemon logs"
echo "# t_limits: $(($(date +%s) - T0))s after the mock started"
ar_summary
