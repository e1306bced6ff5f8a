#!/usr/bin/env bash
# t_reload: configuration reloads (SIGHUP and `authrelay reload`) of the
# real daemon, with real clients: a broken file changes nothing; users,
# password hashes, listeners and a renewed certificate (same path) apply to
# new sessions, while sessions in flight (mid-transaction, mid-DATA, on a
# removed listener, of a removed user) finish under the configuration they
# started with; restart-only keys are reported and kept; 100 reloads under
# load lose no message and make no token request (under ASan in make
# check, and once under valgrind).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

ar_init
ar_start_mock mock
# The daemon gets its own copy of the server certificate and key (the mock
# keeps the originals): case 4 renews them in place.
CA_DIR=$AR_CERTS
AR_CERTS=$AR_TMP/relay-certs
mkdir -p "$AR_CERTS"
cp "$CA_DIR/server.pem" "$CA_DIR/server.key" "$AR_CERTS/"
export AR_CERTS
ar_start_daemon relay
W=$AR_TMP/work
mkdir -p "$W"
FROM=$AR_USER
RCPT=rcpt@example.org

# A second user (present in some configurations), and a new password for
# the first. Distinctive strings: none may reach the log.
USER2=printer@example.com
PASS2='Pw-print.3b8e1d07+Z'
PASS3='Pw-scan.renewed.9d2c4b1a+R'
HASH2=$(ar_hash_password "$PASS2") || ar_die "hash-password failed"
HASH3=$(ar_hash_password "$PASS3") || ar_die "hash-password failed"
export USER2 PASS2 PASS3
USER2_SECTION="[user $USER2]
password_hash = $HASH2
account = sales"

# --- helpers ------------------------------------------------------------------

# relay_conf FILE [EXTRA SERVER LINES...]: a configuration of this daemon
# (its ports, state and control socket) into FILE; the AR_* variables of
# ar_write_config apply.
relay_conf() {
	local f=$1
	shift
	ar_write_config "$f" relay "$@"
}

# install_conf FILE: make FILE the daemon's configuration (atomically).
install_conf() {
	# 0600: the daemon refuses a config open to others.
	cp "$1" "$DAEMON_CONF.new" && chmod 600 "$DAEMON_CONF.new" &&
	    mv -f "$DAEMON_CONF.new" "$DAEMON_CONF"
}

# reload_cli OUT: `authrelay reload`, its stdout and stderr to OUT; its
# exit status.
reload_cli() {
	timeout 60 "$AUTHRELAY" -c "$DAEMON_CONF" reload >"$1" 2>&1
}

# hup_reload: SIGHUP to the daemon, then wait (bounded) for that reload's
# result line in the log. RELOAD_TEXT: the log from the signal on. 0 if
# applied, 1 if refused, 2 if no result came.
hup_reload() {
	local off n=300
	off=$(stat -c %s "$DAEMON_LOG")
	RELOAD_TEXT=""
	kill -HUP "$DAEMON_PID" || return 2
	while [ "$n" -gt 0 ]; do
		RELOAD_TEXT=$(tail -c +$((off + 1)) "$DAEMON_LOG")
		case $RELOAD_TEXT in
		*"reload applied generation="*) return 0 ;;
		*"reload refused: the running configuration stays"*) return 1 ;;
		esac
		n=$((n - 1))
		sleep 0.1
	done
	return 2
}

# status_json: the daemon's status --json. Through base.ini (the same
# control socket): the command reads its file first, and stops if it is
# broken, as the installed one is in case 1.
status_json() {
	timeout 30 "$AUTHRELAY" -c "$W/base.ini" status --json
}

# status_get EXPR: a Python expression over d, the daemon's status --json.
status_get() {
	status_json |
	    python3 -c 'import json, sys
d = json.load(sys.stdin)
print(eval(sys.argv[1]))' "$1"
}

# line_of FILE TEXT: the number of the first line of FILE that is TEXT.
line_of() {
	grep -nxF -- "$2" "$1" | head -n 1 | cut -d: -f1
}

# ar_message FILE SUBJECT [BODY LINE...]: a complete message with CRLF line
# ends; Date and Message-ID are there so that no client adds its own.
ar_message() {
	local f=$1 subject=$2 l
	shift 2
	{
		printf 'From: Scanner <%s>\r\n' "$AR_USER"
		printf 'To: Someone <%s>\r\n' "$RCPT"
		printf 'Subject: %s\r\n' "$subject"
		printf 'Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n'
		printf 'Message-ID: <%s@client.test>\r\n' "${subject// /-}"
		printf '\r\n'
		for l in "$@"; do printf '%s\r\n' "$l"; done
	} >"$f"
}

# swaks_send OUT PORT MODE(starttls|tls) USER PASSWORD MSGFILE: one message
# to RCPT with AUTH LOGIN; swaks's output to OUT, its exit status.
swaks_send() {
	local out=$1 port=$2 mode=$3 user=$4 pass=$5 msg=$6 tlsopt
	case $mode in
	starttls) tlsopt=--tls ;;
	tls) tlsopt=--tls-on-connect ;;
	esac
	# swaks adds a CRLF of its own to data that ends with one.
	head -c -2 "$msg" >"$msg.swaks"
	AR_CLIENT_LOG=$out
	timeout "$AR_CLIENT_WAIT" swaks --server 127.0.0.1 --port "$port" \
	    $tlsopt --tls-verify --tls-ca-path "$AR_CA" --helo client.test \
	    --auth LOGIN --auth-user "$user" --auth-password "$pass" \
	    --from "$user" --to "$RCPT" --data "@$msg.swaks" \
	    --suppress-data >"$out" 2>&1
}

# listen_inode PORT: the inode of the socket listening on 127.0.0.1:PORT.
listen_inode() {
	awk -v a="$(printf '0100007F:%04X' "$1")" \
	    '$2 == a && $4 == "0A" { print $10 }' /proc/net/tcp
}

# served_fp PORT [starttls]: the SHA-256 fingerprint of the certificate a
# new TLS connection is shown, with the chain checked against the test CA
# (empty if the handshake or the check fails).
served_fp() {
	local extra=()
	[ "${2:-}" = starttls ] && extra=(-starttls smtp)
	timeout 20 openssl s_client -connect "127.0.0.1:$1" "${extra[@]}" \
	    -CAfile "$AR_CA" -verify_return_error -verify_ip 127.0.0.1 \
	    </dev/null 2>/dev/null |
	    openssl x509 -noout -fingerprint -sha256 2>/dev/null |
	    sed 's/.*=//'
}

file_fp() {
	openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/.*=//'
}

relay_conf "$W/base.ini"
AR_SECTIONS=$USER2_SECTION relay_conf "$W/user2.ini"
cmp -s "$W/base.ini" "$DAEMON_CONF" ||
    ar_die "the base configuration is not the one the daemon started with"
# A first message: the account has its access token from here on.
ar_pycase "before any reload: a message is relayed" <<'EOF'
import arlib
d = arlib.relay_one("before any reload")
if d:
    raise SystemExit(d)
EOF

# --- 1. a broken file ---------------------------------------------------------

# The user2 configuration (the new user would apply, were the file valid)
# with three errors in two sections.
B=$W/broken.ini
{
	head -n 3 "$W/user2.ini"
	echo "no_such_key = 1"
	echo "max_connections = lots"
	tail -n +4 "$W/user2.ini"
	echo
	echo "[user bad@example.com]"
	echo "password_hash = $HASH2"
	echo "account = nosuch"
} >"$B"
install_conf "$B"
F=$DAEMON_CONF
L1=$(line_of "$F" "no_such_key = 1")
L2=$(line_of "$F" "max_connections = lots")
L3=$(line_of "$F" "account = nosuch")
E1="$F:$L1: [server] no_such_key:"
E2="$F:$L2: [server] max_connections:"
E3="$F:$L3: [user bad@example.com] account:"

name="broken file, SIGHUP: the daemon stays up and logs each error once (FILE:LINE and key), then keeps generation 1"
hup_reload
rc=$?
if [ "$rc" -ne 1 ]; then
	not_ok "$name" "hup_reload returned $rc, want 1 (refused)" "$DAEMON_LOG"
elif ! kill -0 "$DAEMON_PID" 2>/dev/null; then
	not_ok "$name" "the daemon died" "$DAEMON_LOG"
else
	why=""
	for e in "$E1" "$E2" "$E3"; do
		n=$(grep -cF -- "reload refused: $e" <<<"$RELOAD_TEXT")
		[ "$n" = 1 ] || why="$why '$e' logged $n times;"
	done
	e="reload refused: the running configuration stays (generation 1)"
	grep -qF "$e" <<<"$RELOAD_TEXT" || why="$why no '$e' line;"
	! grep -q "reload applied" <<<"$RELOAD_TEXT" ||
	    why="$why a 'reload applied' line;"
	if [ -n "$why" ]; then
		not_ok "$name" "$why" "$DAEMON_LOG"
	else
		ok "$name"
	fi
fi

name="broken file: status --json says generation 1, last reload refused, with the errors"
got=$(status_json |
    python3 -c 'import json, sys
d = json.load(sys.stdin)
r = d["last_reload"]
n = sum(1 for e in sys.argv[1:] if any(l.startswith(e) for l in r["report"]))
print(d["generation"], r["result"], n)' "$E1" "$E2" "$E3" 2>&1)
if [ "$got" = "1 refused 3" ]; then ok "$name"; else
	not_ok "$name" "got '$got', want '1 refused 3'"; fi

ar_message "$W/old-config.eml" "still the old configuration" \
    "Sent while a broken file waits on disk."
name="broken file: the old configuration still serves: swaks logs in and sends"
before=$(ar_msg_count)
if swaks_send "$W/swaks-old.out" "$AR_STARTTLS_PORT" starttls "$AR_USER" \
    "$AR_PASS" "$W/old-config.eml"; then
	ar_check_delivery "$name" "$before" "$W/old-config.eml" "$FROM" "$RCPT"
else
	not_ok "$name" "swaks failed (exit $?)" "$W/swaks-old.out"
fi

name="broken file: nothing of it applied: the user only it adds gets 535"
swaks_send "$W/swaks-u2-broken.out" "$AR_TLS_PORT" tls "$USER2" "$PASS2" \
    "$W/old-config.eml"
rc=$?
if [ "$rc" -eq 0 ]; then
	not_ok "$name" "swaks sent as $USER2" "$W/swaks-u2-broken.out"
elif ! grep -q '^ *<[~*-]* 535' "$W/swaks-u2-broken.out"; then
	not_ok "$name" "no 535 reply (swaks exit $rc)" "$W/swaks-u2-broken.out"
else
	ok "$name"
fi

name="broken file: 'authrelay reload' exits 1 and prints each error with FILE:LINE"
reload_cli "$W/reload-broken.out"
rc=$?
why=""
[ "$rc" -eq 1 ] || why="exit $rc, want 1;"
for e in "$E1" "$E2" "$E3"; do
	grep -qF -- "$e" "$W/reload-broken.out" || why="$why no '$e' line;"
done
[ "$(status_get 'd["generation"]')" = 1 ] || why="$why generation changed;"
if [ -n "$why" ]; then
	not_ok "$name" "$why" "$W/reload-broken.out"
else
	ok "$name"
fi

# --- 2. users added and removed -----------------------------------------------

W2=$W AR_PY_WAIT=60 ar_pycase "reload (SIGHUP) adds a user: it logs in and its message is delivered" <<'EOF'
import arlib, os
U2, P2 = os.environ["USER2"], os.environ["PASS2"]
arlib.reload_ok(os.path.join(os.environ["W2"], "user2.ini"), "hup")
before = arlib.msgs()
msg = arlib.message("new user", ["Sent by a user the reload added."])
c = arlib.session(tls=True, auth=False)
r = c.login(U2, P2)
if r.code != 235:
    raise SystemExit("AUTH as %s -> %r" % (U2, r.lines))
c.expect("MAIL FROM:<%s>" % U2, 250)
c.expect("RCPT TO:<rcpt@example.org>", 250)
c.expect("DATA", 354)
c.send(arlib.stuff(msg))
r = c.reply()
if r.code != 250:
    raise SystemExit("end of DATA -> %r" % r.lines)
c.quit()
new = arlib.new_msgs(before)
if len(new) != 1:
    raise SystemExit("stored %d messages, want 1" % len(new))
d = arlib.check_stored(new[0], msg, U2, ["rcpt@example.org"])
if d:
    raise SystemExit(d)
EOF

W2=$W ar_pycase "reload ('authrelay reload') removes a user: its session opened before sends its next message" <<'EOF'
import arlib, os
U2, P2 = os.environ["USER2"], os.environ["PASS2"]
def send(c, subject):
    before = arlib.msgs()
    msg = arlib.message(subject, ["Sent by %s." % U2])
    c.expect("MAIL FROM:<%s>" % U2, 250)
    c.expect("RCPT TO:<rcpt@example.org>", 250)
    c.expect("DATA", 354)
    c.send(arlib.stuff(msg))
    r = c.reply()
    if r.code != 250:
        raise SystemExit("%s: end of DATA -> %r" % (subject, r.lines))
    new = arlib.new_msgs(before)
    if len(new) != 1:
        raise SystemExit("%s: stored %d messages, want 1" % (subject, len(new)))
    d = arlib.check_stored(new[0], msg, U2, ["rcpt@example.org"])
    if d:
        raise SystemExit("%s: %s" % (subject, d))
c = arlib.session(auth=False)
r = c.login(U2, P2, "LOGIN")
if r.code != 235:
    raise SystemExit("AUTH as %s -> %r" % (U2, r.lines))
send(c, "removed user before")
off = arlib.log_size()
gen = arlib.reload_ok(os.path.join(os.environ["W2"], "base.ini"), "cli")
if "generation=%d listeners=2 accounts=1 users=1" % gen not in arlib.log_since(off):
    raise SystemExit("no 'reload applied ... users=1' line")
send(c, "removed user after")
c.quit()
EOF

ar_pycase "reload removed a user: a new login as it gets 535 (PLAIN and LOGIN); the other user still logs in" <<'EOF'
import arlib, os
U2, P2 = os.environ["USER2"], os.environ["PASS2"]
for mech, tls in (("PLAIN", False), ("LOGIN", True)):
    c = arlib.session(tls=tls, auth=False)
    r = c.login(U2, P2, mech)
    c.quit()
    if r.code != 535:
        raise SystemExit("AUTH %s as the removed user -> %r, want 535"
                         % (mech, r.lines))
d = arlib.relay_one("the other user after the removal")
if d:
    raise SystemExit(d)
EOF

# --- 3. a changed password hash -----------------------------------------------

# The daemon's user, with the hash of PASS3 instead.
sed "s|^password_hash = $AR_HASH\$|password_hash = $HASH3|" "$W/base.ini" \
    >"$W/newpass.ini"
grep -qxF "password_hash = $HASH3" "$W/newpass.ini" ||
    ar_die "could not make newpass.ini"
install_conf "$W/newpass.ini"
name="changed password hash: 'authrelay reload' applies it"
if reload_cli "$W/reload-newpass.out" &&
    grep -q '^reload applied: generation [0-9]' "$W/reload-newpass.out"; then
	ok "$name"
else
	not_ok "$name" "refused or no 'reload applied' line" "$W/reload-newpass.out"
fi
ar_message "$W/newpass.eml" "new password" "Sent with the new password."
name="changed password hash: the old password gets 535 (swaks)"
swaks_send "$W/swaks-oldpass.out" "$AR_TLS_PORT" tls "$AR_USER" "$AR_PASS" \
    "$W/newpass.eml"
rc=$?
if [ "$rc" -eq 0 ]; then
	not_ok "$name" "swaks sent with the old password" "$W/swaks-oldpass.out"
elif ! grep -q '^ *<[~*-]* 535' "$W/swaks-oldpass.out"; then
	not_ok "$name" "no 535 reply (swaks exit $rc)" "$W/swaks-oldpass.out"
else
	ok "$name"
fi
name="changed password hash: the new password logs in and sends (swaks)"
before=$(ar_msg_count)
if swaks_send "$W/swaks-newpass.out" "$AR_STARTTLS_PORT" starttls \
    "$AR_USER" "$PASS3" "$W/newpass.eml"; then
	ar_check_delivery "$name" "$before" "$W/newpass.eml" "$FROM" "$RCPT"
else
	not_ok "$name" "swaks failed (exit $?)" "$W/swaks-newpass.out"
fi
install_conf "$W/base.ini"
hup_reload || ar_die "reload back to the base configuration failed"

# --- 4. a renewed certificate at the same path --------------------------------

# A second server certificate from the test CA, as mkcerts.sh makes them.
cat >"$W/server.ext" <<'EOF'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOF
(
	umask 077
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
	    -out "$W/renewed.key" &&
	openssl req -new -key "$W/renewed.key" \
	    -subj "/O=authrelay test/CN=localhost renewed" -out "$W/renewed.csr" &&
	openssl x509 -req -in "$W/renewed.csr" -CA "$CA_DIR/ca.pem" \
	    -CAkey "$CA_DIR/ca.key" -set_serial "0x$(openssl rand -hex 8)" \
	    -days 2 -sha256 -extfile "$W/server.ext" -out "$W/renewed.pem"
) >"$W/openssl.log" 2>&1 || { cat "$W/openssl.log"; ar_die "openssl failed"; }
OLD_FP=$(file_fp "$AR_CERTS/server.pem")
NEW_FP=$(file_fp "$W/renewed.pem")

name="certificate renewed on disk with a key that does not match: 'authrelay reload' is refused by the daemon (exit 1, FILE:LINE: [server] tls_key); the old certificate is still served"
cp "$W/renewed.pem" "$AR_CERTS/server.pem"
off=$(stat -c %s "$DAEMON_LOG")
reload_cli "$W/reload-mismatch.out"
rc=$?
fp=$(served_fp "$AR_TLS_PORT")
if [ "$rc" -ne 1 ]; then
	not_ok "$name" "exit $rc, want 1" "$W/reload-mismatch.out"
elif ! grep -q "^$DAEMON_CONF:[0-9]*: \[server\] tls_key: " "$W/reload-mismatch.out"; then
	not_ok "$name" "no 'FILE:LINE: [server] tls_key: ...'" "$W/reload-mismatch.out"
elif ! tail -c +$((off + 1)) "$DAEMON_LOG" |
    grep -q "reload refused: the running configuration stays"; then
	not_ok "$name" "the daemon logged no refusal (did the command reach it?)" \
	    "$DAEMON_LOG"
elif [ "$fp" != "$OLD_FP" ]; then
	not_ok "$name" "served '$fp', want the old $OLD_FP"
else
	ok "$name"
fi

# Now the key too: a consistent pair on disk, not yet reloaded.
cp "$W/renewed.key" "$AR_CERTS/server.key"
name="renewed certificate on disk, before the reload: new connections still get the old one"
fp=$(served_fp "$AR_TLS_PORT")
if [ "$fp" = "$OLD_FP" ]; then ok "$name"; else
	not_ok "$name" "served '$fp', want the old $OLD_FP"; fi

name="renewed certificate at the same path: SIGHUP applies it"
if hup_reload; then ok "$name"; else
	not_ok "$name" "not applied: $(tail -n 3 <<<"$RELOAD_TEXT")"; fi
name="renewed certificate: the implicit-TLS listener presents it (SHA-256, verified)"
fp=$(served_fp "$AR_TLS_PORT")
if [ "$fp" = "$NEW_FP" ]; then ok "$name"; else
	not_ok "$name" "served '$fp', want $NEW_FP (old $OLD_FP)"; fi
name="renewed certificate: the STARTTLS listener presents it (SHA-256, verified)"
fp=$(served_fp "$AR_STARTTLS_PORT" starttls)
if [ "$fp" = "$NEW_FP" ]; then ok "$name"; else
	not_ok "$name" "served '$fp', want $NEW_FP (old $OLD_FP)"; fi
ar_pycase "renewed certificate: clients that check the host name relay through both listeners" <<'EOF'
import arlib
for tls in (False, True):
    d = arlib.relay_one("renewed certificate tls=%s" % tls, tls=tls)
    if d:
        raise SystemExit("tls=%s: %s" % (tls, d))
EOF

# --- 5. listeners added and removed -------------------------------------------

P3=$(ar_free_port)
P4=$(ar_free_port)
while [ "$P4" = "$P3" ]; do P4=$(ar_free_port); done
export P3 P4
AR_SECTIONS="[listener extra]
address = 127.0.0.1:$P3
mode = tls" relay_conf "$W/listeners.ini" "listen = 127.0.0.1:$P4 plain"
INO_STARTTLS=$(listen_inode "$AR_STARTTLS_PORT")
INO_TLS=$(listen_inode "$AR_TLS_PORT")
if [ -z "$INO_STARTTLS" ] || [ -z "$INO_TLS" ]; then
	ar_die "no listening socket found in /proc/net/tcp"
fi

W2=$W ar_pycases "listeners added by reload" <<'EOF'
import arlib, os
rep = arlib.Report()
P3, P4 = int(os.environ["P3"]), int(os.environ["P4"])
# A transaction open on a kept listener across the reload.
kept = arlib.session()
kept.expect("MAIL FROM:<%s>" % arlib.USER, 250)
kept.expect("RCPT TO:<kept@example.org>", 250)

def add():
    if not arlib.refused(P3) or not arlib.refused(P4):
        return "something listens on the new ports before the reload"
    off = arlib.log_size()
    arlib.reload_ok(os.path.join(os.environ["W2"], "listeners.ini"), "hup")
    log = arlib.log_since(off)
    for l in ("listening on 127.0.0.1:%d listener=extra mode=tls" % P3,
              "listening on 127.0.0.1:%d listener=127.0.0.1:%d mode=plain"
              % (P4, P4)):
        if l not in log:
            return "no '%s' line" % l
    msg = arlib.message("new tls listener",
                        ["Through a listener the reload added."])
    c = arlib.session(port=P3, tls=True)
    c.expect("MAIL FROM:<%s>" % arlib.USER, 250)
    c.expect("RCPT TO:<rcpt@example.org>", 250)
    d = arlib.finish_message(c, msg, "rcpt@example.org")
    if d:
        return "new [listener extra]: " + d
    c = arlib.Client(P4)
    if c.greeting.code != 220:
        return "new plain listener: greeting %r" % c.greeting.lines
    c.ehlo()
    c.quit()
    ls = sorted(l["address"] for l in arlib.daemon_status()["listeners"])
    want = sorted("127.0.0.1:%s" % p for p in (
        os.environ["AR_STARTTLS_PORT"], os.environ["AR_TLS_PORT"], P3, P4))
    if ls != want:
        return "status lists listeners %r, want %r" % (ls, want)
rep.case("reload adds a [listener] section (tls) and a listen line "
         "(plain): both accept, a message goes through the new one, status "
         "lists 4", add)

def finish():
    msg = arlib.message("kept listener",
                        ["Open across the reload that added listeners."])
    return arlib.finish_message(kept, msg, "kept@example.org")
rep.case("a transaction open on a kept listener across the reload "
         "completes (250, stored)", finish)
rep.exit()
EOF

name="the kept listeners kept their sockets across the reload (same inodes, no second 'listening on' line)"
why=""
[ "$(listen_inode "$AR_STARTTLS_PORT")" = "$INO_STARTTLS" ] ||
    why="$why the STARTTLS listener's socket changed;"
[ "$(listen_inode "$AR_TLS_PORT")" = "$INO_TLS" ] ||
    why="$why the TLS listener's socket changed;"
n=$(grep -c "listening on 127.0.0.1:$AR_TLS_PORT " "$DAEMON_LOG")
[ "$n" = 1 ] || why="$why 'listening on 127.0.0.1:$AR_TLS_PORT' logged $n times;"
if [ -z "$why" ]; then ok "$name"; else not_ok "$name" "$why" "$DAEMON_LOG"; fi

W2=$W ar_pycases "listeners removed by reload" <<'EOF'
import arlib, os
rep = arlib.Report()
P3, P4 = int(os.environ["P3"]), int(os.environ["P4"])
# A transaction open on the listener the reload removes.
doomed = arlib.session(port=P3, tls=True)
doomed.expect("MAIL FROM:<%s>" % arlib.USER, 250)
doomed.expect("RCPT TO:<doomed@example.org>", 250)

def remove():
    off = arlib.log_size()
    arlib.reload_ok(os.path.join(os.environ["W2"], "base.ini"), "cli")
    bad = [p for p in (P3, P4) if not arlib.refused(p)]
    if bad:
        return "still accepting on %r" % bad
    log = arlib.log_since(off)
    for p, n in ((P3, "extra"), (P4, "127.0.0.1:%d" % P4)):
        if "stopped listening on 127.0.0.1:%d listener=%s" % (p, n) not in log:
            return "no 'stopped listening on 127.0.0.1:%d' line" % p
    n = len(arlib.daemon_status()["listeners"])
    if n != 2:
        return "status lists %d listeners, want 2" % n
    d = arlib.relay_one("kept listener after the removal", tls=True)
    if d:
        return "kept TLS listener: " + d
rep.case("reload removes both: new connections are refused, the log says "
         "'stopped listening', status lists 2, the kept ones relay", remove)

def finish():
    msg = arlib.message("removed listener",
                        ["Open on a listener the reload removed."])
    return arlib.finish_message(doomed, msg, "doomed@example.org")
rep.case("a transaction open on a removed listener completes (250, "
         "stored)", finish)
rep.exit()
EOF

# --- 6. a reload during DATA --------------------------------------------------

W2=$W ar_pycase "reloads during DATA ('authrelay reload', then SIGHUP; the config changes): both messages delivered whole with 250" <<'EOF'
import arlib, os, time
W2 = os.environ["W2"]
before = arlib.msgs()
msgs, wires, cs = [], [], []
for i, tls in enumerate((False, True)):
    m = arlib.message("reload during data %d" % i,
                      ["Line %03d of a message cut by a reload. %s"
                       % (k, "x" * 60) for k in range(300)]
                      + [".", "..leading dots"])
    c = arlib.session(tls=tls)
    c.expect("MAIL FROM:<%s>" % arlib.USER, 250)
    c.expect("RCPT TO:<data%d@example.org>" % i, 250)
    c.expect("DATA", 354)
    w = arlib.stuff(m)
    c.send(w[:len(w) // 2])
    msgs.append(m); wires.append(w); cs.append(c)
time.sleep(0.3)
arlib.reload_ok(os.path.join(W2, "user2.ini"), "cli")
cs[0].send(wires[0][len(wires[0]) // 2:])
r = cs[0].reply()
if r.code != 250:
    raise SystemExit("first message (STARTTLS, reload by command): end of "
                     "DATA -> %r" % r.lines)
cs[0].quit()
arlib.reload_ok(os.path.join(W2, "base.ini"), "hup")
cs[1].send(wires[1][len(wires[1]) // 2:])
r = cs[1].reply()
if r.code != 250:
    raise SystemExit("second message (TLS, SIGHUP): end of DATA -> %r"
                     % r.lines)
cs[1].quit()
new = arlib.new_msgs(before, count=2)
if len(new) != 2:
    raise SystemExit("stored %d messages, want 2" % len(new))
for num in new:
    data, e = arlib.stored(num)
    i = int(e["rcpt-to"][0].split(" ")[0][5])
    d = arlib.check_stored(num, msgs[i], arlib.USER, ["data%d@example.org" % i])
    if d:
        raise SystemExit("message %d: %s" % (i, d))
EOF

# --- 7. restart-only keys -----------------------------------------------------

# Three restart-only keys changed, and a user added (which applies).
AR_SECTIONS=$USER2_SECTION relay_conf "$W/restart.ini" "auth_threads = 3" \
    "token_wait_timeout = 45" "refresh_margin = 400"
install_conf "$W/restart.ini"
# restart_line KEY VALUE: the report line of KEY = VALUE in DAEMON_CONF.
restart_line() {
	printf '%s:%s: [server] %s: changed; a restart is needed to apply it (keeping the running value)' \
	    "$DAEMON_CONF" "$(line_of "$DAEMON_CONF" "$1 = $2")" "$1"
}
R1=$(restart_line auth_threads 3)
R2=$(restart_line token_wait_timeout 45)
R3=$(restart_line refresh_margin 400)
off=$(stat -c %s "$DAEMON_LOG")
name="restart-only keys changed: 'authrelay reload' applies (exit 0) and prints each key with FILE:LINE"
reload_cli "$W/reload-restart.out"
rc=$?
why=""
[ "$rc" -eq 0 ] || why="exit $rc;"
grep -q '^reload applied: generation [0-9]' "$W/reload-restart.out" ||
    why="$why no 'reload applied' line;"
for e in "$R1" "$R2" "$R3"; do
	grep -qF -- "$e" "$W/reload-restart.out" ||
	    why="$why no '${e%%: changed*}: changed...' line;"
done
if [ -z "$why" ]; then ok "$name"; else
	not_ok "$name" "$why" "$W/reload-restart.out"; fi

name="restart-only keys changed: the log has each 'restart is needed' line with FILE:LINE, once"
why=""
for e in "$R1" "$R2" "$R3"; do
	n=$(tail -c +$((off + 1)) "$DAEMON_LOG" | grep -cF -- "reload: $e")
	[ "$n" = 1 ] || why="$why '${e%%: changed*}' logged $n times;"
done
tail -c +$((off + 1)) "$DAEMON_LOG" | grep -q 'reload applied generation=' ||
    why="$why no 'reload applied' line;"
if [ -z "$why" ]; then ok "$name"; else not_ok "$name" "$why" "$DAEMON_LOG"; fi

name="restart-only keys changed: status --json last_reload is applied with exactly those lines"
got=$(status_json |
    python3 -c 'import json, sys
r = json.load(sys.stdin)["last_reload"]
want = sorted(sys.argv[1:])
print("ok" if r["result"] == "applied" and sorted(r["report"]) == want
      else "result %s, report %r" % (r["result"], r["report"]))' \
    "$R1" "$R2" "$R3" 2>&1)
if [ "$got" = ok ]; then ok "$name"; else not_ok "$name" "$got"; fi

ar_pycase "restart-only keys changed: the rest of the file applied (the new user logs in)" <<'EOF'
import arlib, os
c = arlib.session(auth=False)
r = c.login(os.environ["USER2"], os.environ["PASS2"])
c.quit()
if r.code != 235:
    raise SystemExit("AUTH as the new user -> %r" % r.lines)
EOF

name="restart-only keys back to their running values: the reload reports nothing"
install_conf "$W/base.ini"
reload_cli "$W/reload-back.out"
rc=$?
got=$(status_get '"%s %d" % (d["last_reload"]["result"],
    len(d["last_reload"]["report"]))')
if [ "$rc" -eq 0 ] && [ "$got" = "applied 0" ] &&
    ! grep -q 'restart' "$W/reload-back.out"; then
	ok "$name"
else
	not_ok "$name" "exit $rc, status last_reload '$got'" "$W/reload-back.out"
fi

# --- 8. 100 reloads under load ------------------------------------------------

# Python: LOAD_THREADS threads send continuously (sessions of two messages,
# SESSION_GAP seconds apart; the last thread, when there are 2 or more, as
# USER2, present only in CONF_A: its AUTH may get 535, then nothing else),
# while N_RELOADS reloads, RELOAD_GAP seconds apart, alternate CONF_A and
# CONF_B, and SIGHUP and `authrelay reload`. Every message that got 250
# must be stored, byte for byte; no other error.
LOAD_PY=$(cat <<'EOF'
import arlib, os, threading, time
N = int(os.environ["N_RELOADS"])
T = int(os.environ["LOAD_THREADS"])
GAP = float(os.environ.get("RELOAD_GAP", "0.05"))
SESSION_GAP = float(os.environ.get("SESSION_GAP", "0"))
CONFS = [os.environ["CONF_A"], os.environ["CONF_B"]]
U2, P2 = os.environ["USER2"], os.environ["PASS2"]
stop = threading.Event()
lock = threading.Lock()
sent = {}                       # subject -> message, for each 250
errors = []
stats = {"sessions": 0, "535": 0}
done = [0] * T

def worker(t):
    u2 = T >= 2 and t == T - 1
    user, pw = (U2, P2) if u2 else (arlib.USER, arlib.PASS)
    i = 0
    while not stop.is_set():
        i += 1
        c = None
        try:
            c = arlib.session(tls=(t % 2 == 1), auth=False)
            r = c.login(user, pw, "LOGIN" if i % 2 else "PLAIN")
            if r.code == 535 and u2:
                with lock:
                    stats["535"] += 1
                c.quit()
                continue
            if r.code != 235:
                raise arlib.SMTPError("AUTH as %s -> %r" % (user, r.lines))
            for k in range(2):
                subj = "load t%d s%05d m%d" % (t, i, k)
                msg = arlib.message(subj, [
                    "Thread %d, session %d, message %d." % (t, i, k), ".dot"])
                c.expect("MAIL FROM:<%s>" % user, 250)
                c.expect("RCPT TO:<load%d@example.org>" % t, 250)
                c.expect("DATA", 354)
                c.send(arlib.stuff(msg))
                r = c.reply()
                if r.code != 250:
                    raise arlib.SMTPError("end of DATA -> %r" % r.lines)
                with lock:
                    sent[subj] = msg
            c.quit()
            with lock:
                stats["sessions"] += 1
                done[t] += 1
            time.sleep(SESSION_GAP)
        except Exception as e:
            with lock:
                errors.append("thread %d session %d: %s: %s"
                              % (t, i, type(e).__name__, e))
            if c is not None:
                c.close()
            time.sleep(0.2)

start_msgs = arlib.msgs()
gen = arlib.reload_ok(CONFS[0], "cli")
threads = [threading.Thread(target=worker, args=(t,), daemon=True)
           for t in range(T)]
for th in threads:
    th.start()
end = time.time() + 60
while min(done) == 0 and time.time() < end and not errors:
    time.sleep(0.05)
if min(done) == 0:
    stop.set()
    raise SystemExit("load did not start: sessions per thread %r; %s"
                     % (done, errors[:1]))
t0 = time.time()
at_start = len(arlib.msgs())
bad = []
for k in range(N):
    conf = CONFS[(k + 1) % 2]
    how = "hup" if k % 4 in (0, 3) else "cli"
    try:
        applied, g, text = arlib.reload_daemon(conf, how)
    except arlib.ReloadError as e:
        bad.append("reload %d (%s): %s" % (k, how, e))
        break
    if not applied:
        bad.append("reload %d (%s) refused: %s" % (k, how, text.strip()[-200:]))
        break
    if g != gen + 1:
        bad.append("reload %d (%s): generation %d after %d" % (k, how, g, gen))
    gen = g
    time.sleep(GAP)
took = time.time() - t0
during = len(arlib.msgs()) - at_start
time.sleep(0.3)
stop.set()
for th in threads:
    th.join(60)
if any(th.is_alive() for th in threads):
    bad.append("a client thread is stuck")
print("%d reloads in %.1fs; %d sessions, %d messages (%d stored during "
      "the reloads), %d AUTH 535 for %s" % (N, took, stats["sessions"],
                                            len(sent), during, stats["535"],
                                            U2))
if bad:
    raise SystemExit("; ".join(bad[:3]))
if errors:
    raise SystemExit("%d client errors; first: %s" % (len(errors), errors[0]))
if during < T:
    raise SystemExit("only %d messages stored during the reloads" % during)
arlib.wait_msgs(len(start_msgs) + len(sent), 15)
time.sleep(0.3)
stored = {}
for num in arlib.msgs():
    if num in start_msgs:
        continue
    data, e = arlib.stored(num)
    subj = [l for l in data.split(b"\r\n") if l.startswith(b"Subject: ")]
    stored[subj[0][9:].decode() if subj else "?" + num] = (num, data)
lost = [s for s in sent if s not in stored]
extra = [s for s in stored if s not in sent]
if lost:
    raise SystemExit("%d messages got 250 but are not stored (first: %s)"
                     % (len(lost), lost[0]))
if extra:
    raise SystemExit("%d stored messages got no 250 (first: %s)"
                     % (len(extra), extra[0]))
for s, m in sent.items():
    if stored[s][1] != m:
        raise SystemExit("stored message %r differs from the one sent" % s)
EOF
)

# Two valid variants: A has USER2 and the defaults; B has no USER2, other
# limits, and the account's provider connections limited to 8 (no more
# than the load needs: no connection has to close).
AR_LOG_LEVEL=info AR_SECTIONS=$USER2_SECTION relay_conf "$W/load-a.ini" \
    "max_connections = 1000"
AR_LOG_LEVEL=info AR_ACCOUNT_EXTRA="max_upstream_connections = 8" \
    relay_conf "$W/load-b.ini" "max_connections = 500" \
    "upstream_idle_timeout = 30" "max_message_size = 10485760"
tokens_before=$(ar_mock_count token-requests)
off=$(stat -c %s "$DAEMON_LOG")
CONF_A=$W/load-a.ini CONF_B=$W/load-b.ini N_RELOADS=100 LOAD_THREADS=4 \
    AR_PY_WAIT=150 ar_pycase "100 reloads under load (4 client threads; SIGHUP and 'authrelay reload'; two configs): all applied, every message that got 250 stored, no client error" \
    <<<"$LOAD_PY"
name="100 reloads under load: no token request, the account kept (not retired)"
tokens_after=$(ar_mock_count token-requests)
if [ "$tokens_after" != "$tokens_before" ]; then
	not_ok "$name" "the mock's token-requests went from $tokens_before to $tokens_after" \
	    "$DAEMON_LOG"
elif l=$(tail -c +$((off + 1)) "$DAEMON_LOG" | grep -m1 retired); then
	not_ok "$name" "an account was retired: $l"
else
	ok "$name"
fi
echo "# mock: smtp-connections $(ar_mock_count smtp-connections)," \
    "auth-count $(ar_mock_count auth-count), token-requests $tokens_after"
ar_check_daemon "after all reloads: the daemon is up, exits 0 on SIGTERM, no sanitizer report"

# --- 9. the same under valgrind -----------------------------------------------

name="100 reloads under valgrind (1 client thread): no error, no definite leak, exit 0"
VG_BIN=$AR_BUILD/authrelay
if ! command -v valgrind >/dev/null; then
	echo "ok - $name # SKIP valgrind is not installed"
elif nm "$VG_BIN" 2>/dev/null | grep -q __asan_init; then
	echo "ok - $name # SKIP $VG_BIN is built with ASan"
else
	VG_DIR=$AR_TMP/vg
	mkdir -p "$VG_DIR"
	VG_LOG=$VG_DIR/valgrind.log
	cat >"$VG_DIR/authrelay" <<EOF
#!/bin/sh
exec valgrind --error-exitcode=9 --leak-check=full \\
    --errors-for-leak-kinds=definite --log-file="$VG_LOG" "$VG_BIN" "\$@"
EOF
	chmod +x "$VG_DIR/authrelay"
	AR_STARTTLS_PORT=$(ar_free_port)
	AR_TLS_PORT=$(ar_free_port)
	while [ "$AR_TLS_PORT" = "$AR_STARTTLS_PORT" ]; do
		AR_TLS_PORT=$(ar_free_port)
	done
	DAEMON_DIR=$VG_DIR
	DAEMON_CONF=$VG_DIR/authrelay.ini
	AR_LOG_LEVEL=info ar_write_config "$DAEMON_CONF" vg
	AR_LOG_LEVEL=info AR_SECTIONS=$USER2_SECTION \
	    ar_write_config "$VG_DIR/load-a.ini" vg "max_connections = 1000"
	AR_LOG_LEVEL=info AR_ACCOUNT_EXTRA="max_upstream_connections = 8" \
	    ar_write_config "$VG_DIR/load-b.ini" vg "max_connections = 500" \
	    "upstream_idle_timeout = 30" "max_message_size = 10485760"
	printf '%s\n' "$AR_REFRESH" | timeout 30 "$AUTHRELAY" -c "$DAEMON_CONF" \
	    set-token sales >"$VG_DIR/set-token.out" 2>&1 ||
	    ar_die "set-token failed: $(cat "$VG_DIR/set-token.out")"
	t0=$(date +%s)
	AR_START_WAIT=40 AUTHRELAY=$VG_DIR/authrelay \
	    ar_run_daemon "$VG_DIR/authrelay.log"
	CONF_A=$VG_DIR/load-a.ini CONF_B=$VG_DIR/load-b.ini N_RELOADS=100 \
	    LOAD_THREADS=1 RELOAD_GAP=0.02 SESSION_GAP=0.3 AR_PY_WAIT=90 AR_SOCK_TIMEOUT=30 \
	    ar_pycase "100 reloads under valgrind with light load: all applied, every message stored, no client error" \
	    <<<"$LOAD_PY"
	if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
		wait "$DAEMON_PID" 2>/dev/null
		not_ok "$name" "the daemon died (status $?)" "$DAEMON_LOG" "$VG_LOG"
		ar_forget "$DAEMON_PID"
	else
		AR_STOP_WAIT=60 ar_stop "$DAEMON_PID"
		if [ "$AR_STOP_RC" != 0 ]; then
			not_ok "$name" "exit status $AR_STOP_RC on SIGTERM (9: valgrind found errors)" \
			    "$VG_LOG"
		elif ! grep -q 'ERROR SUMMARY: 0 errors' "$VG_LOG"; then
			not_ok "$name" "no 'ERROR SUMMARY: 0 errors'" "$VG_LOG"
		elif grep -q 'definitely lost: [1-9]' "$VG_LOG"; then
			not_ok "$name" "$(grep -m1 'definitely lost' "$VG_LOG")" "$VG_LOG"
		else
			ok "$name"
			echo "# valgrind: $(($(date +%s) - t0))s;" \
			    "$(grep -m1 -E 'definitely lost|All heap blocks' \
			    "$VG_LOG" | sed 's/^==[0-9]*== *//')"
		fi
	fi
fi

# --- 10. secrets --------------------------------------------------------------

ar_check_secrets "t_reload: no secret in the daemon logs"
name="t_reload: the other passwords are not in the daemon logs either"
if f=$(grep -rlF -e "$PASS2" -e "$PASS3" -e "$(ar_b64 "$PASS2")" \
    -e "$(ar_b64 "$PASS3")" --include='authrelay*.log' "$AR_TMP"); then
	not_ok "$name" "found in $(head -n 1 <<<"$f")"
else
	ok "$name"
fi
ar_summary
