#!/usr/bin/env bash
# t_clients: real SMTP clients from Debian (swaks, curl, msmtp) against the
# real daemon and the mock provider, on both listeners, with AUTH PLAIN and
# AUTH LOGIN. Every delivery is checked byte for byte against the prepared
# message, and its envelope.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

ar_init
ar_standard_env
W=$AR_TMP/work
mkdir -p "$W"
FROM=$AR_USER
RCPT=rcpt@example.org

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

# swaks appends a CRLF of its own to data that ends with one: give it the
# message without its last CRLF. It reads "\n" as a line break, so the
# messages here hold no backslash.
swaks_data() {
	head -c -2 "$1" >"$1.swaks"
	echo "@$1.swaks"
}

# swaks_send NAME PORT MODE(starttls|tls) MECH MSGFILE [RCPT...]
swaks_send() {
	local name=$1 port=$2 mode=$3 mech=$4 msg=$5 tlsopt r to=""
	shift 5
	for r in "$@"; do to="${to:+$to,}$r"; done
	case $mode in
	starttls) tlsopt=--tls ;;
	tls) tlsopt=--tls-on-connect ;;
	esac
	AR_CLIENT_LOG=$W/$name.out
	timeout "$AR_CLIENT_WAIT" swaks --server 127.0.0.1 --port "$port" \
	    $tlsopt --tls-verify --tls-ca-path "$AR_CA" --helo client.test \
	    --auth "$mech" --auth-user "$AR_USER" --auth-password "$AR_PASS" \
	    --from "$FROM" --to "$to" --data "$(swaks_data "$msg")" \
	    --suppress-data >"$AR_CLIENT_LOG" 2>&1
}

# curl_send NAME URL MECH MSGFILE [RCPT...] (more curl options in CURL_OPTS)
curl_send() {
	local name=$1 url=$2 mech=$3 msg=$4 r rc
	shift 4
	local rcpts=()
	for r in "$@"; do rcpts+=(--mail-rcpt "$r"); done
	AR_CLIENT_LOG=$W/$name.out
	timeout "$AR_CLIENT_WAIT" curl -sS -v --url "$url" ${CURL_OPTS:-} \
	    --cacert "$AR_CA" --login-options "AUTH=$mech" \
	    --user "$AR_USER:$AR_PASS" --mail-from "$FROM" "${rcpts[@]}" \
	    --upload-file "$msg" >"$AR_CLIENT_LOG" 2>&1
}

# msmtp_send NAME PORT STARTTLS(on|off) MECH(plain|login) MSGFILE [RCPT...]
msmtp_send() {
	local name=$1 port=$2 st=$3 mech=$4 msg=$5 rc=$W/$1.msmtprc
	shift 5
	cat >"$rc" <<EOF
defaults
timeout 30
account relay
host 127.0.0.1
port $port
tls on
tls_starttls $st
tls_trust_file $AR_CA
auth $mech
user $AR_USER
password $AR_PASS
from $FROM
domain client.test
account default : relay
EOF
	chmod 600 "$rc"
	AR_CLIENT_LOG=$W/$name.out
	timeout "$AR_CLIENT_WAIT" msmtp -C "$rc" -d "$@" <"$msg" \
	    >"$AR_CLIENT_LOG" 2>&1
}

# run_case NAME MSGFILE SENDER-FUNCTION ARGS... (RCPTs are the last ones,
# given as RCPTS="a b")
run_case() {
	local name=$1 msg=$2 before rc
	shift 2
	before=$(ar_msg_count)
	"$@"
	rc=$?
	if [ "$rc" -ne 0 ]; then
		not_ok "$name" "client failed (exit $rc)" "$AR_CLIENT_LOG" \
		    "$DAEMON_LOG"
		return
	fi
	# shellcheck disable=SC2086
	ar_check_delivery "$name" "$before" "$msg" "$FROM" $RCPTS
}

ar_message "$W/plain.eml" "normal message" "Hello," "" \
    "a normal message relayed by authrelay." "-- " "The scanner"
ar_message "$W/dots.eml" "dot lines" "." ".." "..." ".leading dot" \
    "..two leading dots" "" " .space then dot" "last line" "."
# swaks takes a last "." line for the end of its data: not that one for it.
ar_message "$W/dots-swaks.eml" "dot lines swaks" "." ".." "..." \
    ".leading dot" "..two leading dots" "" " .space then dot" "last line"

RCPTS="$RCPT"
run_case "swaks STARTTLS AUTH PLAIN" "$W/plain.eml" \
    swaks_send swaks-starttls-plain "$AR_STARTTLS_PORT" starttls PLAIN \
    "$W/plain.eml" $RCPTS
run_case "swaks STARTTLS AUTH LOGIN" "$W/plain.eml" \
    swaks_send swaks-starttls-login "$AR_STARTTLS_PORT" starttls LOGIN \
    "$W/plain.eml" $RCPTS
run_case "swaks implicit TLS AUTH PLAIN" "$W/plain.eml" \
    swaks_send swaks-tls-plain "$AR_TLS_PORT" tls PLAIN "$W/plain.eml" $RCPTS
RCPTS="$RCPT second@example.org"
run_case "swaks implicit TLS AUTH LOGIN, 2 recipients" "$W/plain.eml" \
    swaks_send swaks-tls-login "$AR_TLS_PORT" tls LOGIN "$W/plain.eml" \
    $RCPTS
RCPTS="$RCPT"
run_case "swaks STARTTLS, lines starting with '.'" "$W/dots-swaks.eml" \
    swaks_send swaks-dots "$AR_STARTTLS_PORT" starttls PLAIN \
    "$W/dots-swaks.eml" $RCPTS

CURL_OPTS=--ssl-reqd
run_case "curl smtp:// --ssl-reqd AUTH=PLAIN" "$W/plain.eml" \
    curl_send curl-starttls-plain "smtp://127.0.0.1:$AR_STARTTLS_PORT/client.test" \
    PLAIN "$W/plain.eml" $RCPTS
run_case "curl smtp:// --ssl-reqd AUTH=LOGIN" "$W/plain.eml" \
    curl_send curl-starttls-login "smtp://127.0.0.1:$AR_STARTTLS_PORT/client.test" \
    LOGIN "$W/plain.eml" $RCPTS
CURL_OPTS=
run_case "curl smtps:// AUTH=PLAIN" "$W/plain.eml" \
    curl_send curl-tls-plain "smtps://127.0.0.1:$AR_TLS_PORT/client.test" \
    PLAIN "$W/plain.eml" $RCPTS
RCPTS="$RCPT second@example.org third@example.net"
run_case "curl smtps:// AUTH=LOGIN, 3 recipients" "$W/plain.eml" \
    curl_send curl-tls-login "smtps://127.0.0.1:$AR_TLS_PORT/client.test" \
    LOGIN "$W/plain.eml" $RCPTS
RCPTS="$RCPT"
run_case "curl smtps://, lines starting with '.'" "$W/dots.eml" \
    curl_send curl-dots "smtps://127.0.0.1:$AR_TLS_PORT/client.test" \
    PLAIN "$W/dots.eml" $RCPTS

# 5 MiB: 76-column base64 lines of pseudo-random bytes.
{
	ar_message /dev/stdout "big message" | head -c -2
	printf 'MIME-Version: 1.0\r\nContent-Type: application/octet-stream\r\n'
	printf 'Content-Transfer-Encoding: base64\r\n\r\n'
	head -c $((5 * 1024 * 1024 * 3 / 4)) /dev/urandom | base64 -w 76 |
	    sed 's/$/\r/'
} >"$W/big.eml"
CURL_OPTS=--ssl-reqd
t0=$(date +%s)
run_case "curl smtp:// --ssl-reqd, 5 MiB message: size and checksum" \
    "$W/big.eml" curl_send curl-big \
    "smtp://127.0.0.1:$AR_STARTTLS_PORT/client.test" PLAIN "$W/big.eml" $RCPTS
echo "# 5 MiB via curl in $(($(date +%s) - t0))s, $(wc -c <"$W/big.eml") bytes, sha256 $(sha256sum <"$W/big.eml" | cut -c1-16)"
CURL_OPTS=

run_case "msmtp STARTTLS auth plain" "$W/plain.eml" \
    msmtp_send msmtp-starttls-plain "$AR_STARTTLS_PORT" on plain \
    "$W/plain.eml" $RCPTS
run_case "msmtp implicit TLS auth login" "$W/plain.eml" \
    msmtp_send msmtp-tls-login "$AR_TLS_PORT" off login "$W/plain.eml" $RCPTS
run_case "msmtp STARTTLS auth login, lines starting with '.'" "$W/dots.eml" \
    msmtp_send msmtp-dots "$AR_STARTTLS_PORT" on login "$W/dots.eml" $RCPTS

# A real client with the wrong password: refused, nothing stored.
name="curl with a wrong password: refused (535), nothing stored"
before=$(ar_msg_count)
AR_CLIENT_LOG=$W/curl-wrong.out
timeout "$AR_CLIENT_WAIT" curl -sS -v \
    --url "smtps://127.0.0.1:$AR_TLS_PORT/client.test" --cacert "$AR_CA" \
    --user "$AR_USER:not-the-password" --mail-from "$FROM" \
    --mail-rcpt "$RCPT" --upload-file "$W/plain.eml" >"$AR_CLIENT_LOG" 2>&1
rc=$?
sleep 0.3
if [ "$rc" -eq 0 ]; then
	not_ok "$name" "curl succeeded" "$AR_CLIENT_LOG"
elif ! grep -q '^< 535 5.7.8' "$AR_CLIENT_LOG"; then
	not_ok "$name" "no '535 5.7.8' reply (curl exit $rc)" "$AR_CLIENT_LOG"
elif [ "$(ar_msg_count)" -ne "$before" ]; then
	not_ok "$name" "a message was stored"
else
	ok "$name"
fi

ar_check_daemon "t_clients: the daemon survived, exits 0 on SIGTERM"
ar_check_secrets "t_clients: no secret in the daemon log"
ar_summary
