#!/bin/sh
# demo.sh BUILD_DIR: "make demo". Starts the mock provider (an OAuth2 token
# endpoint and an XOAUTH2 SMTP server) and authrelay in front of it, with a
# generated test certificate, all on 127.0.0.1; sends one message through
# the gateway with swaks (AUTH PLAIN over STARTTLS); shows the SMTP
# transcript, then the message and envelope as the provider stored them,
# and the daemon's status as an admin sees it; stops everything. Exits
# non-zero if the message was not delivered.

# Started by "sh" from the Makefile: the rest is bash.
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi
set -u

AR_BUILD=${1:-build}
export AR_BUILD
AR_LOG_LEVEL=info
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/integration/lib.sh"

heading() {
	printf '\n==== %s\n\n' "$*"
}

command -v swaks >/dev/null || { echo "demo: swaks is not installed" >&2; exit 1; }
ar_init
ar_standard_env
sleep 0.2	# the start-up probes' log lines are in
startup_lines=$(wc -l <"$DAEMON_LOG")

heading "Set-up"
cat <<EOF
mock provider   token endpoint https://127.0.0.1:$MOCK_HTTP_PORT/token
                SMTP (implicit TLS, XOAUTH2 only) 127.0.0.1:$MOCK_SMTP_PORT
authrelay       STARTTLS listener 127.0.0.1:$AR_STARTTLS_PORT, implicit TLS 127.0.0.1:$AR_TLS_PORT
                user $AR_USER (local password) -> account $AR_EMAIL (OAuth2)
EOF

MSG=$AR_TMP/demo.eml
{
	printf 'From: Scanner <%s>\r\n' "$AR_USER"
	printf 'To: Demo Recipient <someone@example.org>\r\n'
	printf 'Subject: authrelay demo\r\n'
	printf 'Date: %s\r\n' "$(LC_ALL=C date -R)"
	printf 'Message-ID: <demo.%s@client.test>\r\n' "$(date +%s)"
	printf '\r\n'
	printf 'Hello from a device that only knows AUTH PLAIN.\r\n'
	printf 'authrelay relayed this to the provider with AUTH XOAUTH2.\r\n'
	printf '.A line that starts with a dot survives too.'
} >"$MSG"

heading "SMTP transcript (swaks -> authrelay, AUTH PLAIN over STARTTLS)"
timeout 60 swaks --server 127.0.0.1 --port "$AR_STARTTLS_PORT" --tls \
    --tls-verify --tls-ca-path "$AR_CA" --helo client.test \
    --auth PLAIN --auth-user "$AR_USER" --auth-password "$AR_PASS" \
    --auth-hide-password --from "$AR_USER" --to someone@example.org \
    --data "@$MSG" 2>&1
rc=$?

if [ "$rc" -ne 0 ] || ! ar_wait_msgs 1 5; then
	heading "NOT DELIVERED (swaks exit $rc)"
	echo "authrelay log:"
	tail -n 30 "$DAEMON_LOG"
	echo "mock provider log:"
	tail -n 30 "$MOCK_LOG"
	exit 1
fi
p=$(ar_last_msg)

heading "The message as the provider stored it ($p.eml)"
tr -d '\r' <"$p.eml"

heading "Its envelope ($p.env)"
cat "$p.env"

heading "What authrelay logged for it"
tail -n +$((startup_lines + 1)) "$DAEMON_LOG"

heading "What an admin sees: authrelay status"
"$AUTHRELAY" -c "$DAEMON_CONF" status

heading "Delivered. Stopping."
exit 0
