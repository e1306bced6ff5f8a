#!/bin/sh
# mkkeys.sh DIR [TOKEN_URI]: owns the test signing keys, made with the
# openssl command line:
#   DIR/sa.key        RSA 2048 private key of a Google service account
#                     (PKCS#8 PEM, mode 0600)
#   DIR/sa.pub.pem    its public half (the mock's --sa-public-key)
#   DIR/sa.json       a Google-style service account key file: type,
#                     project_id, private_key_id, private_key (sa.key's PEM
#                     with \n escapes), client_email
#                     relay@test-project.iam.gserviceaccount.com, client_id,
#                     auth_uri, token_uri, ... (mode 0600)
#   DIR/client.key    RSA 2048 key of a confidential client (mode 0600) and
#   DIR/client.pem    its self-signed certificate (the mock's --client-cert),
#                     for Microsoft-style client assertions
#
# token_uri is TOKEN_URI if given, else https://oauth2.googleapis.com/token
# (a placeholder: tests rewrite it, or pass the mock's URL, e.g.
# https://127.0.0.1:$(cat MOCKDIR/http.port)/token).
#
# Idempotent: keys and the certificate are made only if missing (or the
# certificate expires within CERT_MIN_LEFT seconds); sa.json is rewritten
# only if it is missing or its token_uri differs. Concurrent runs on one
# DIR serialise on a lock; files are made in a temporary directory and
# moved in, each key before the file that depends on it. Quiet unless
# something fails.
set -eu

CERT_DAYS=7
CERT_MIN_LEFT=86400
LOCK_WAIT=30
SA_EMAIL=relay@test-project.iam.gserviceaccount.com
SA_PROJECT=test-project
SA_CLIENT_ID=100000000000000000001
DEFAULT_TOKEN_URI=https://oauth2.googleapis.com/token

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	echo "usage: $0 DIR [TOKEN_URI]" >&2
	exit 2
fi
dir=$1
token_uri=${2:-$DEFAULT_TOKEN_URI}
case $token_uri in
*'"'* | *'\'*)
	echo "mkkeys: TOKEN_URI must not contain \" or \\" >&2
	exit 2
	;;
esac
mkdir -p "$dir"

have_sa_key() {
	[ -s "$dir/sa.key" ] && [ -s "$dir/sa.pub.pem" ]
}
have_client() {
	[ -s "$dir/client.key" ] && [ -s "$dir/client.pem" ] &&
	    openssl x509 -in "$dir/client.pem" -noout \
	        -checkend "$CERT_MIN_LEFT" >/dev/null 2>&1
}
have_sa_json() {
	[ -s "$dir/sa.json" ] &&
	    grep -qF "\"token_uri\": \"$token_uri\"," "$dir/sa.json"
}

have_sa_key && have_client && have_sa_json && exit 0

# Lock: mkdir is atomic. A lock older than LOCK_WAIT seconds is stale.
lock="$dir/.mkkeys.lock"
n=0
until mkdir "$lock" 2>/dev/null; do
	n=$((n + 1))
	if [ "$n" -gt $((LOCK_WAIT * 10)) ]; then
		rmdir "$lock" 2>/dev/null || true
		n=0
	fi
	sleep 0.1
done
tmp=
cleanup() {
	[ -n "$tmp" ] && rm -rf "$tmp"
	rmdir "$lock" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

tmp=$(mktemp -d "$dir/.mkkeys.XXXXXX")
log="$tmp/openssl.log"

run() {
	if ! "$@" >>"$log" 2>&1; then
		echo "mkkeys: failed: $*" >&2
		cat "$log" >&2
		exit 1
	fi
}

umask 077

# Another run may have made them while we waited: test again under lock.
if ! have_sa_key; then
	run openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
	    -out "$tmp/sa.key"
	run openssl pkey -in "$tmp/sa.key" -pubout -out "$tmp/sa.pub.pem"
	chmod 644 "$tmp/sa.pub.pem"
	# The public half goes in last: it says the pair is whole.
	rm -f "$dir/sa.json"
	mv -f "$tmp/sa.key" "$dir/sa.key"
	mv -f "$tmp/sa.pub.pem" "$dir/sa.pub.pem"
fi

if ! have_client; then
	run openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
	    -out "$tmp/client.key"
	run openssl req -new -x509 -key "$tmp/client.key" \
	    -subj "/O=authrelay test/CN=authrelay test client" \
	    -days "$CERT_DAYS" -sha256 -out "$tmp/client.pem"
	chmod 644 "$tmp/client.pem"
	mv -f "$tmp/client.key" "$dir/client.key"
	mv -f "$tmp/client.pem" "$dir/client.pem"
fi

if ! have_sa_json; then
	# private_key_id: stable for one key, like Google's 40 hex digits.
	key_id=$(openssl pkey -pubin -in "$dir/sa.pub.pem" -outform DER |
	    openssl dgst -sha1 -r | cut -c1-40)
	# PEM lines joined with the two characters \ n, as in Google's files.
	pem=$(awk '{ printf "%s\\n", $0 }' "$dir/sa.key")
	email_enc=$(printf '%s' "$SA_EMAIL" | sed 's/@/%40/')
	cat >"$tmp/sa.json" <<EOF
{
  "type": "service_account",
  "project_id": "$SA_PROJECT",
  "private_key_id": "$key_id",
  "private_key": "$pem",
  "client_email": "$SA_EMAIL",
  "client_id": "$SA_CLIENT_ID",
  "auth_uri": "https://accounts.google.com/o/oauth2/auth",
  "token_uri": "$token_uri",
  "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
  "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/$email_enc",
  "universe_domain": "googleapis.com"
}
EOF
	mv -f "$tmp/sa.json" "$dir/sa.json"
fi
