#!/bin/sh
# preflight.sh [demo]: checks, before any test starts, that every test tool
# is installed and can do what the tests ask of it, and says in one line per
# missing capability what to install. "demo" checks only what make demo
# uses. Exit status 1 if anything is missing.
set -u

want=${1:-check}
bad=0

miss() {
	echo "preflight: $*" >&2
	bad=1
}

have() {
	command -v "$1" >/dev/null 2>&1
}

# make demo: swaks over STARTTLS, openssl for the test certificates,
# python3 for the mock's helpers.
if ! have swaks; then
	miss "swaks is not installed: install swaks"
elif ! swaks --support 2>&1 | grep -q '^=== TLS supported'; then
	miss "swaks has no TLS support: install libnet-ssleay-perl"
fi
have openssl || miss "openssl is not installed: install openssl"
have timeout || miss "timeout is not installed: install coreutils"
if ! have python3; then
	miss "python3 is not installed: install python3"
elif ! python3 -c 'import ssl, smtplib, http.client' 2>/dev/null; then
	miss "python3 has no ssl/smtplib module: install python3 (Debian's)"
fi

if [ "$want" != demo ]; then
	if ! have curl; then
		miss "curl is not installed: install curl"
	elif ! curl --version | grep -q '^Protocols:.* https' ||
	    ! curl --version | grep -q '^Protocols:.* smtps'; then
		miss "curl cannot speak https and smtps: install curl (Debian's)"
	fi
	if ! have msmtp; then
		miss "msmtp is not installed: install msmtp"
	elif ! msmtp --version | grep -q '^TLS/SSL library: [A-Za-z]'; then
		miss "msmtp has no TLS library: install msmtp (Debian's)"
	fi
	if ! have valgrind; then
		miss "valgrind is not installed: install valgrind"
	elif ! valgrind -q --error-exitcode=9 true 2>/dev/null; then
		miss "valgrind cannot run a program here"
	fi
	have cmp || miss "cmp is not installed: install diffutils"
	have haproxy || miss "haproxy is not installed: install haproxy"
	have fail2ban-regex || miss "fail2ban-regex is not installed: install fail2ban"
	have promtool || miss "promtool is not installed: install prometheus"
fi

[ "$bad" = 0 ] || { echo "preflight: the tests cannot run; run 'make deps' as root" >&2; exit 1; }
exit 0
