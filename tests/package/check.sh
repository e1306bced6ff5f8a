#!/bin/sh
# tests/package/check.sh: the Debian package and make install, the last step
# of make check. Builds the package (make deb), runs lintian on it (an error
# fails, warnings are printed), checks what it holds and its maintainer
# scripts, that debian/changelog has the version in VERSION, and that
# make install / make uninstall put in and take out exactly their files.
#
# With AUTHRELAY_THROWAWAY=1, meaning this root file system is a throwaway
# one (.ci/run sets it inside a brand-new Debian root), it also installs the
# package with apt-get, checks the user, the directories, the unit, the
# binary and the man pages, and purges it again. Never set it elsewhere: it
# adds a system user and leaves it there.
#
# Prints "ok - name" / "not ok - name: why" lines, and exits 1 if any case
# failed. Logs: build/package-check/.
set -u
cd "$(dirname "$0")/../.." || exit 1

npass=0
nfail=0
ok() {
	npass=$((npass + 1))
	echo "ok - $1"
}
# not_ok NAME WHY [FILE...]: the tail of each file as "#" lines.
not_ok() {
	name=$1 why=$2
	shift 2
	nfail=$((nfail + 1))
	echo "not ok - $name: $why"
	for f in "$@"; do
		[ -f "$f" ] || continue
		echo "#   --- tail of $f"
		tail -n 15 "$f" | sed 's/^/#   /'
	done
}
finish() {
	echo "# package: $npass passed, $nfail failed"
	[ "$nfail" = 0 ] || exit 1
	exit 0
}

logs=build/package-check
rm -rf "$logs"
mkdir -p "$logs"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# This script runs make itself: nothing of an outer make's command line
# (make check PREFIX=...) may reach it.
unset MAKEFLAGS MFLAGS MAKELEVEL

# The package tools (dpkg-dev, debhelper, lintian) and the build deps, as
# make check installs them; nothing to do when they are there.
if ! sh scripts/deps.sh >"$logs/deps.log" 2>&1; then
	not_ok "deps" "scripts/deps.sh failed" "$logs/deps.log"
	finish
fi

version=$(cat VERSION)
arch=$(dpkg --print-architecture)
deb=build/authrelay_${version}_${arch}.deb

# --- the package ------------------------------------------------------------

clv=$(dpkg-parsechangelog -S Version 2>"$logs/changelog.err")
if [ "$clv" = "$version" ]; then
	ok "debian/changelog has the version in VERSION ($version)"
else
	not_ok "debian/changelog version" \
		"debian/changelog says '$clv', VERSION says '$version'" \
		"$logs/changelog.err"
fi

if make deb >"$logs/deb.log" 2>&1 && [ -f "$deb" ]; then
	ok "make deb builds $deb"
else
	not_ok "make deb" "no $deb (log: $logs/deb.log)" "$logs/deb.log"
	finish
fi

lintian --tag-display-limit 0 --fail-on error "$deb" >"$logs/lintian.txt" 2>&1
lrc=$?
# (Without its note about running as root: make check runs as root.)
grep -v 'running with root privileges' "$logs/lintian.txt" |
	sed 's/^/#   lintian: /'
if [ "$lrc" = 0 ] && ! grep -q '^E: ' "$logs/lintian.txt"; then
	ok "lintian reports no error"
else
	not_ok "lintian" "exit status $lrc, errors: $(grep -c '^E: ' "$logs/lintian.txt")"
fi

dpkg-deb --contents "$deb" >"$logs/contents.txt"
for f in usr/sbin/authrelay usr/share/man/man8/authrelay.8.gz \
    usr/share/man/man5/authrelay.ini.5.gz lib/systemd/system/authrelay.service \
    etc/authrelay/authrelay.ini.example etc/fail2ban/filter.d/authrelay.conf \
    etc/fail2ban/jail.d/authrelay.conf usr/share/authrelay/authrelay-alerts.yml \
    usr/share/authrelay/authrelay-dashboard.json; do
	if awk -v f="./$f" '$6 == f { found = 1 } END { exit !found }' \
	    "$logs/contents.txt"; then
		ok "package holds /$f"
	else
		not_ok "package holds /$f" "not in dpkg-deb --contents" \
			"$logs/contents.txt"
	fi
done
if grep -q '/etc/authrelay/authrelay\.ini$' "$logs/contents.txt"; then
	not_ok "package has no authrelay.ini" "it ships the admin's config file"
else
	ok "package has no authrelay.ini"
fi

dpkg-deb --fsys-tarfile "$deb" | tar -xOf - ./lib/systemd/system/authrelay.service \
	>"$tmp/unit" 2>/dev/null
if grep -qx 'ExecStart=/usr/sbin/authrelay -c /etc/authrelay/authrelay.ini run' \
	"$tmp/unit" &&
    grep -qx 'ConditionPathExists=/etc/authrelay/authrelay.ini' "$tmp/unit" &&
    ! grep -q '@[A-Z]*@' "$tmp/unit"; then
	ok "packaged unit names /usr/sbin and /etc"
else
	not_ok "packaged unit names /usr/sbin and /etc" "paths not substituted" \
		"$tmp/unit"
fi

dpkg-deb -I "$deb" >"$logs/info.txt"
for s in postinst postrm prerm; do
	if dpkg-deb -I "$deb" "$s" >"$tmp/$s" 2>/dev/null && [ -s "$tmp/$s" ]; then
		ok "maintainer script $s is there"
	else
		not_ok "maintainer script $s" "not in dpkg-deb -I" "$logs/info.txt"
	fi
done
if grep -q 'adduser --system --group' "$tmp/postinst" &&
    grep -q 'deb-systemd-helper' "$tmp/postinst" &&
    grep -q '^ Depends:.*adduser' "$logs/info.txt"; then
	ok "postinst adds the user (Depends: adduser) and enables the unit"
else
	not_ok "postinst adds the user and enables the unit" \
		"no adduser, no deb-systemd-helper or adduser not in Depends" \
		"$tmp/postinst"
fi
dpkg-deb -I "$deb" conffiles >"$tmp/conffiles" 2>/dev/null
if grep -qx /etc/authrelay/authrelay.ini.example "$tmp/conffiles" &&
    grep -qx /etc/fail2ban/jail.d/authrelay.conf "$tmp/conffiles"; then
	ok "files in /etc are conffiles"
else
	not_ok "files in /etc are conffiles" "missing from conffiles" \
		"$tmp/conffiles"
fi

# --- make install / make uninstall (staged, from the package's build) -------

src=build/deb-src/authrelay-$version
stage=$tmp/stage
conf=$stage/usr/local/etc/authrelay
cat >"$tmp/expected" <<EOF
$stage/usr/local/etc/authrelay/authrelay.ini.example
$stage/usr/local/etc/fail2ban/filter.d/authrelay.conf
$stage/usr/local/etc/fail2ban/jail.d/authrelay.conf
$stage/usr/local/lib/systemd/system/authrelay.service
$stage/usr/local/sbin/authrelay
$stage/usr/local/share/authrelay/authrelay-alerts.yml
$stage/usr/local/share/authrelay/authrelay-dashboard.json
$stage/usr/local/share/man/man5/authrelay.ini.5
$stage/usr/local/share/man/man8/authrelay.8
EOF
if make -C "$src" install DESTDIR="$stage" >"$logs/install.log" 2>&1 &&
    find "$stage" -type f | sort | diff "$tmp/expected" - >>"$logs/install.log"
then
	ok "make install puts in its files under /usr/local"
else
	not_ok "make install" "wrong set of files" "$logs/install.log"
fi
unit=$stage/usr/local/lib/systemd/system/authrelay.service
if grep -qx 'ExecStart=/usr/local/sbin/authrelay -c /usr/local/etc/authrelay/authrelay.ini run' \
	"$unit" 2>/dev/null && ! grep -q '@[A-Z]*@' "$unit"; then
	ok "installed unit names /usr/local/sbin and /usr/local/etc"
else
	not_ok "installed unit paths" "not substituted for /usr/local" "$unit"
fi
echo "admin's config" >"$conf/authrelay.ini" 2>/dev/null
if make -C "$src" install DESTDIR="$stage" >>"$logs/install.log" 2>&1 &&
    make -C "$src" uninstall DESTDIR="$stage" >>"$logs/install.log" 2>&1 &&
    [ "$(find "$stage" -type f)" = "$conf/authrelay.ini" ] &&
    [ "$(cat "$conf/authrelay.ini")" = "admin's config" ]; then
	ok "make uninstall takes out its files and leaves authrelay.ini"
else
	find "$stage" -type f >>"$logs/install.log"
	not_ok "make uninstall" "left files or touched authrelay.ini" \
		"$logs/install.log"
fi

# --- install on this (throwaway) system -------------------------------------

if [ "${AUTHRELAY_THROWAWAY:-}" != 1 ]; then
	echo "package install check skipped: set AUTHRELAY_THROWAWAY=1 on a throwaway machine"
	finish
fi

export DEBIAN_FRONTEND=noninteractive
ls /var/lib/apt/lists/*_Packages >/dev/null 2>&1 || apt-get update -qq
if apt-get install -y "./$deb" >"$logs/apt-install.log" 2>&1; then
	ok "apt-get install the package"
else
	not_ok "apt-get install" "failed" "$logs/apt-install.log"
	finish
fi

pw=$(getent passwd authrelay)
uid=$(echo "$pw" | cut -d: -f3)
if [ -n "$pw" ] && [ "$uid" -ge 100 ] && [ "$uid" -lt 1000 ] &&
    [ "$(echo "$pw" | cut -d: -f6-)" = "/var/lib/authrelay:/usr/sbin/nologin" ] &&
    getent group authrelay >/dev/null; then
	ok "system user and group authrelay ($pw)"
else
	not_ok "system user authrelay" "getent passwd: '$pw'"
fi
# dir_is DIR "OWNER:GROUP MODE"
dir_is() {
	got=$(stat -c '%U:%G %a' "$1" 2>&1)
	if [ "$got" = "$2" ]; then
		ok "$1 is $2"
	else
		not_ok "$1 is $2" "it is $got"
	fi
}
dir_is /etc/authrelay "root:authrelay 750"
dir_is /var/lib/authrelay "authrelay:authrelay 700"
if [ -f /lib/systemd/system/authrelay.service ] &&
    [ -L /etc/systemd/system/multi-user.target.wants/authrelay.service ]; then
	ok "unit installed and enabled"
else
	not_ok "unit installed and enabled" "no unit file or no wants link"
fi
if [ ! -e /etc/authrelay/authrelay.ini ]; then
	ok "no authrelay.ini after install (the unit waits for it)"
else
	not_ok "no authrelay.ini after install" "the package wrote one"
fi
got=$(/usr/sbin/authrelay --version 2>&1)
if [ "$got" = "authrelay $version" ]; then
	ok "authrelay --version prints $version"
else
	not_ok "authrelay --version" "printed '$got'"
fi
# man -w where man-db is installed (a minimal root has none).
man_pages() {
	if command -v man >/dev/null 2>&1; then
		man -w 8 authrelay >/dev/null 2>&1 &&
			man -w 5 authrelay.ini >/dev/null 2>&1
	else
		[ -f /usr/share/man/man8/authrelay.8.gz ] &&
			[ -f /usr/share/man/man5/authrelay.ini.5.gz ]
	fi
}
if man_pages; then
	ok "man pages authrelay(8) and authrelay.ini(5) installed"
else
	not_ok "man pages installed" "not found"
fi
if [ -f /etc/fail2ban/filter.d/authrelay.conf ] &&
    grep -qx 'enabled = false' /etc/fail2ban/jail.d/authrelay.conf 2>/dev/null; then
	ok "fail2ban filter and disabled jail installed"
else
	not_ok "fail2ban filter and jail installed" "missing"
fi

# The admin's config survives a purge; the stored tokens do not.
echo "admin's config" >/etc/authrelay/authrelay.ini
if apt-get purge -y authrelay >"$logs/apt-purge.log" 2>&1 &&
    [ ! -e /usr/sbin/authrelay ] && [ ! -e /var/lib/authrelay ] &&
    ! dpkg-query -W -f='${Status}' authrelay 2>/dev/null | grep -q 'ok installed'
then
	ok "apt-get purge removes the binary and the state directory"
else
	not_ok "apt-get purge" "binary, state directory or package left" \
		"$logs/apt-purge.log"
fi
if [ "$(cat /etc/authrelay/authrelay.ini 2>&1)" = "admin's config" ]; then
	ok "purge leaves the admin's authrelay.ini"
else
	not_ok "purge leaves the admin's authrelay.ini" "it is gone or changed"
fi
rm -f /etc/authrelay/authrelay.ini
rmdir /etc/authrelay 2>/dev/null
finish
