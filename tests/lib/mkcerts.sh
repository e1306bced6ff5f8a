#!/bin/sh
# mkcerts.sh DIR: owns the test PKI. Makes, with the openssl command line, a
# test CA (DIR/ca.pem, DIR/ca.key) and a server certificate it signed
# (DIR/server.pem, DIR/server.key) for CN=localhost, SAN DNS:localhost and
# IP:127.0.0.1, EC P-256, valid CERT_DAYS days. The mock provider and the
# gateway's listeners use server.pem/server.key; the gateway trusts ca.pem.
#
# Idempotent: does nothing if all four files exist and server.pem is still
# valid for CERT_MIN_LEFT seconds. Concurrent runs on one DIR serialise on a
# lock, and the files are made in a temporary directory and moved in with
# server.pem last, so a reader never sees a key of one run with a
# certificate of another. Quiet unless something fails.
set -eu

CERT_DAYS=7
CERT_MIN_LEFT=86400
LOCK_WAIT=30

if [ $# -ne 1 ]; then
	echo "usage: $0 DIR" >&2
	exit 2
fi
dir=$1
mkdir -p "$dir"

have_certs() {
	[ -s "$dir/ca.pem" ] && [ -s "$dir/ca.key" ] &&
	    [ -s "$dir/server.pem" ] && [ -s "$dir/server.key" ] &&
	    openssl x509 -in "$dir/server.pem" -noout \
	        -checkend "$CERT_MIN_LEFT" >/dev/null 2>&1
}

have_certs && exit 0

# Lock: mkdir is atomic. A lock older than LOCK_WAIT seconds is stale.
lock="$dir/.mkcerts.lock"
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

# Another run may have made them while we waited.
have_certs && exit 0

tmp=$(mktemp -d "$dir/.mkcerts.XXXXXX")
log="$tmp/openssl.log"

run() {
	if ! "$@" >>"$log" 2>&1; then
		echo "mkcerts: failed: $*" >&2
		cat "$log" >&2
		exit 1
	fi
}

cat >"$tmp/ca.ext" <<'EOF'
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EOF
cat >"$tmp/server.ext" <<'EOF'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOF

umask 077
run openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -out "$tmp/ca.key"
run openssl req -new -key "$tmp/ca.key" \
    -subj "/O=authrelay test/CN=authrelay test CA" \
    -out "$tmp/ca.csr"
run openssl x509 -req -in "$tmp/ca.csr" -signkey "$tmp/ca.key" \
    -days "$CERT_DAYS" -sha256 -extfile "$tmp/ca.ext" -out "$tmp/ca.pem"

run openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -out "$tmp/server.key"
run openssl req -new -key "$tmp/server.key" \
    -subj "/O=authrelay test/CN=localhost" \
    -out "$tmp/server.csr"
run openssl x509 -req -in "$tmp/server.csr" -CA "$tmp/ca.pem" \
    -CAkey "$tmp/ca.key" -set_serial "0x$(openssl rand -hex 8)" \
    -days "$CERT_DAYS" -sha256 -extfile "$tmp/server.ext" \
    -out "$tmp/server.pem"
run openssl verify -CAfile "$tmp/ca.pem" "$tmp/server.pem"

# Certificates are public; keys stay 0600.
chmod 644 "$tmp/ca.pem" "$tmp/server.pem"
for f in ca.key ca.pem server.key server.pem; do
	mv -f "$tmp/$f" "$dir/$f"
done
