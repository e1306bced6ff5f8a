#!/bin/sh
# Installs what authrelay needs to build and test, from Debian 12 packages.
# As root on Debian it runs apt-get; otherwise it names the missing packages
# and fails, so a developer knows exactly what to install.
set -eu

# Build: compiler, pkg-config and the libraries' -dev packages.
BUILD="build-essential pkg-config libssl-dev libev-dev libinih-dev check
libsubunit-dev libcurl4-openssl-dev libjansson-dev libcrypt-dev libsystemd-dev
libmicrohttpd-dev"
# Tests and the demo: every client and tool they run. swaks needs
# libnet-ssleay-perl for STARTTLS (a Recommends, so named here: the
# install below takes no recommends).
TEST="openssl ca-certificates curl swaks libnet-ssleay-perl msmtp python3
valgrind diffutils mandoc clang libclang-rt-14-dev fail2ban prometheus haproxy"
# The package (make deb, and its check in make check).
PACKAGE="debhelper dpkg-dev fakeroot lintian"
PKGS="$BUILD $TEST $PACKAGE"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "deps: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	# The tests run fail2ban-regex, haproxy and promtool themselves: the
	# packages' services (fail2ban's sshd jail, a haproxy, a Prometheus
	# server on :9090) must not start on this machine. policy-rc.d is
	# Debian's switch for that (invoke-rc.d, deb-systemd-invoke).
	policy=""
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		policy=/usr/sbin/policy-rc.d
		printf '#!/bin/sh\n# authrelay deps.sh: no service starts.\nexit 101\n' \
		    >"$policy"
		chmod 755 "$policy"
		trap 'rm -f "$policy"' EXIT
	fi
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
	exit 0
fi
echo "deps: missing Debian packages:$missing" >&2
echo "deps: install them with: sudo apt-get install$missing" >&2
exit 1
