#!/usr/bin/env python3
"""t_esmtp: ESMTP transparency and provider failures. The extensions the
client is offered follow the provider's once the session has a provider
connection; MAIL/RCPT parameters pass through unchanged when the provider
supports them and get 555 5.5.4 here when it does not; a provider that
drops the connection mid-DATA gives the client 451 4.4.2, never 250. Runs
in the standard environment of lib.sh (the mock offers SIZE, 8BITMIME,
ENHANCEDSTATUSCODES, PIPELINING and SMTPUTF8, not DSN).
"""
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import arlib  # noqa: E402

R = arlib.Report()


def exts(reply):
    return [l[4:].upper() for l in reply.lines[1:]]


def t_ehlo_follows_provider():
    c = arlib.session()
    e = exts(c.ehlo())
    c.quit()
    for want in ("SMTPUTF8", "8BITMIME", "ENHANCEDSTATUSCODES",
                 "PIPELINING", "SIZE 35882577"):
        if want not in e:
            return "EHLO after AUTH lacks %s: %r" % (want, e)
    if "DSN" in e:
        return "EHLO after AUTH offers DSN, which the provider lacks: %r" % e
    return None


def t_ehlo_before_auth():
    c = arlib.session(auth=False)
    e = exts(c.ehlo())
    c.quit()
    for bad in ("SMTPUTF8", "DSN"):
        if bad in e:
            return "EHLO before any provider connection offers %s" % bad
    return None


def t_ehlo_before_auth_learned():
    c = arlib.session(auth=False)
    e = exts(c.ehlo())
    c.quit()
    if "SMTPUTF8" not in e or "DSN" in e:
        return ("EHLO before AUTH, once the provider was seen, should offer "
                "SMTPUTF8 and not DSN: %r" % e)
    return None


def t_params_pass_through():
    before = arlib.msgs()
    msg = arlib.message("params", ["with parameters"])
    c = arlib.session()
    c.expect("MAIL FROM:<%s> BODY=8BITMIME SMTPUTF8 SIZE=%d" %
             (arlib.USER, len(msg)), 250)
    c.expect("RCPT TO:<p@example.org>", 250)
    c.expect("DATA", 354)
    c.send(arlib.stuff(msg))
    r = c.reply()
    c.quit()
    if r.code != 250:
        return "end of DATA -> %r" % r.lines
    new = arlib.new_msgs(before)
    _, env = arlib.stored(new[0])
    got = env.get("mail-from", [""])[0]
    want = "<%s> BODY=8BITMIME SMTPUTF8 SIZE=%d" % (arlib.USER, len(msg))
    if got != want:
        return "provider saw mail-from %r, want %r" % (got, want)
    return None


def t_unsupported_params():
    n0 = arlib.counter("mail-commands")
    c = arlib.session()
    r1 = c.cmd("MAIL FROM:<%s> RET=HDRS" % arlib.USER)
    r2 = c.cmd("MAIL FROM:<%s> XFOO=1" % arlib.USER)
    c.expect("MAIL FROM:<%s>" % arlib.USER, 250)
    r3 = c.cmd("RCPT TO:<p@example.org> NOTIFY=NEVER")
    c.quit()
    for what, r in (("RET (DSN)", r1), ("XFOO", r2), ("NOTIFY (DSN)", r3)):
        if r.code != 555 or "5.5.4" not in r.text:
            return "%s -> %r, want 555 5.5.4" % (what, r.lines)
    if arlib.counter("mail-commands") != n0 + 1:
        return "the provider saw a refused MAIL"
    return None


def t_size_over_limit():
    c = arlib.session()
    r = c.cmd("MAIL FROM:<%s> SIZE=999999999" % arlib.USER)
    c.quit()
    if r.code != 552 or "5.3.4" not in r.text:
        return "SIZE over the limit -> %r, want 552 5.3.4" % r.lines
    return None


def control(line):
    d = arlib.mock_dir()
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".control.")
    with os.fdopen(fd, "w") as f:
        f.write(line + "\n")
    os.rename(tmp, os.path.join(d, "control"))


def t_drop_mid_data():
    before = arlib.msgs()
    control("smtp-drop-data 1")
    msg = arlib.message("dropped", ["x" * 70] * 2000)
    c = arlib.session()
    c.expect("MAIL FROM:<%s>" % arlib.USER, 250)
    c.expect("RCPT TO:<p@example.org>", 250)
    c.expect("DATA", 354)
    c.send(arlib.stuff(msg))
    r = c.reply()
    if r.code != 451 or "4.4.2" not in r.text:
        return "provider dropped mid-DATA -> %r, want 451 4.4.2" % r.lines
    # The same session sends the next message over a new connection.
    msg2 = arlib.message("after the drop", ["ok"])
    c.expect("MAIL FROM:<%s>" % arlib.USER, 250)
    c.expect("RCPT TO:<p@example.org>", 250)
    c.expect("DATA", 354)
    c.send(arlib.stuff(msg2))
    r = c.reply()
    c.quit()
    if r.code != 250:
        return "next message -> %r" % r.lines
    new = arlib.new_msgs(before)
    if len(new) != 1:
        return "stored %d messages, want only the second" % len(new)
    return arlib.check_stored(new[0], msg2, arlib.USER, ["p@example.org"])


def t_pipelined_rcpts():
    before = arlib.msgs()
    rcpts = ["r%02d@example.org" % i for i in range(50)]
    msg = arlib.message("fifty recipients", ["one round trip"])
    c = arlib.session()
    cmds = ["MAIL FROM:<%s>" % arlib.USER] + \
        ["RCPT TO:<%s>" % r for r in rcpts] + ["DATA"]
    c.send("".join(l + "\r\n" for l in cmds))     # RFC 2920: one write
    codes = [c.reply().code for _ in cmds]
    if codes != [250] * 51 + [354]:
        return "replies in order: %r" % codes
    c.send(arlib.stuff(msg))
    r = c.reply()
    c.quit()
    if r.code != 250:
        return "end of DATA -> %r" % r.lines
    new = arlib.new_msgs(before)
    d = arlib.check_stored(new[0], msg, arlib.USER, rcpts)
    if d:
        return d
    _, env = arlib.stored(new[0])
    if env.get("envelope-reads") != ["0"]:
        return ("MAIL and the 50 RCPTs took %r extra reads at the provider, "
                "want 0 (one batch)" % env.get("envelope-reads"))
    return None


def t_provider_421():
    control("smtp-421 1")
    c = arlib.session()
    r = c.cmd("MAIL FROM:<%s>" % arlib.USER)
    if r.code != 421 or "Try again later" not in r.text:
        return "MAIL with the provider saying 421 -> %r, want its 421" % \
            r.lines
    if not c.closed():
        return "the session stayed open after the provider's 421"
    return None


def t_provider_432():
    control("smtp-432 1")
    c = arlib.session()
    r = c.cmd("MAIL FROM:<%s>" % arlib.USER)
    if r.code != 432 or "4.3.2 STOREDRV.ClientSubmit" not in r.text:
        return "MAIL with the provider saying 432 -> %r, want its 432" % \
            r.lines
    c.expect("MAIL FROM:<%s>" % arlib.USER, 250)
    c.quit()
    return None


R.case("EHLO on a fresh daemon, before any provider connection, offers "
       "neither SMTPUTF8 nor DSN", t_ehlo_before_auth)
R.case("EHLO after AUTH offers the provider's extensions (SMTPUTF8 yes, "
       "DSN no)", t_ehlo_follows_provider)
R.case("EHLO before AUTH then offers what the provider offered (SMTPUTF8, "
       "not DSN)", t_ehlo_before_auth_learned)
R.case("MAIL parameters the provider supports pass through unchanged",
       t_params_pass_through)
R.case("parameters the provider lacks (RET, NOTIFY) or nobody knows get "
       "555 5.5.4, nothing sent", t_unsupported_params)
R.case("declared SIZE over the limit: 552 5.3.4", t_size_over_limit)
R.case("50 pipelined RCPTs reach the provider with the MAIL in one batch, "
       "replies in order", t_pipelined_rcpts)
R.case("a provider 421 reaches the client unchanged and the session closes",
       t_provider_421)
R.case("Exchange's 432 4.3.2 (sender thread limit) reaches the client "
       "unchanged; the session goes on", t_provider_432)
R.case("provider drops the connection mid-DATA: 451 4.4.2, never 250; "
       "the next message in the session is delivered", t_drop_mid_data)
R.exit()
