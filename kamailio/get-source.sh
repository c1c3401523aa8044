#!/bin/sh
# get-source.sh - fetch and prepare the Kamailio source tree of the *installed* kamailio package,
# so that kamailio/sipdance.so is compiled against exactly the headers and compile flags of the
# binary that will load it (the loader compares version and flag strings; see docs/kamailio-module.md).
#
#   kamailio/get-source.sh [DIR]    default DIR: /var/tmp/sipdance-kamailio-src (outside the repo)
#
# Idempotent: a tree already prepared for the installed version is reused. Steps:
#   1. enable Debian source packages (a deb-src entry in /etc/apt/sources.list.d/sipdance-deb-src.sources,
#      derived from the existing deb entries), apt-get update;
#   2. apt-get source kamailio=<installed version> into DIR (download, unpack, Debian patches);
#   3. make cfg with the flags debian/rules uses (writes src/config.mak).
# Prints the COREPATH to pass to configure (--with-kamailio-module=DIR/kamailio-<ver>) as its last line.
set -eu

dir=${1:-/var/tmp/sipdance-kamailio-src}
srcfile=/etc/apt/sources.list.d/sipdance-deb-src.sources

# die MSG - explain and stop
die() {
	echo "get-source.sh: $*" >&2
	exit 1
}

ver=$(dpkg-query -W -f='${Version}' kamailio 2>/dev/null) ||
	die "the kamailio package is not installed (apt-get install kamailio kamailio-tls-modules)"
[ -n "$ver" ] || die "the kamailio package is not installed"
upver=${ver#*:}
upver=${upver%-*}
tree=$dir/kamailio-$upver
stamp=$tree/.sipdance-prepared

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$ver" ] && [ -f "$tree/src/config.mak" ]; then
	echo "$tree"
	exit 0
fi
command -v dpkg-source >/dev/null || die "dpkg-source missing: apt-get install dpkg-dev"

# enable_deb_src - add deb-src for the suites the deb entries already use, unless some deb-src exists
enable_deb_src() {
	if grep -Rqs -e '^[[:space:]]*deb-src[[:space:]]' -e '^Types:.*deb-src' \
		/etc/apt/sources.list /etc/apt/sources.list.d/; then
		return 0
	fi
	[ "$(id -u)" = 0 ] || die "Debian source packages are not enabled and I am not root: add a deb-src line \
for your Debian mirror (e.g. 'deb-src http://deb.debian.org/debian bookworm main') and run apt-get update"
	src=
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		grep -q 'debian.org/debian\b\|debian.org/debian$' "$f" || continue
		src=$f
		break
	done
	if [ -n "$src" ]; then
		# deb822: copy the Debian stanzas with Types: deb-src
		awk 'BEGIN { RS = ""; ORS = "\n\n" } /Types:[^\n]*deb/ && /debian\.org/ {
			gsub(/Types:[^\n]*/, "Types: deb-src"); print }' "$src" >"$srcfile.tmp"
	elif [ -f /etc/apt/sources.list ]; then
		sed -n 's/^[[:space:]]*deb[[:space:]]\(.*debian.*\)$/deb-src \1/p' /etc/apt/sources.list >"$srcfile.tmp"
		srcfile=${srcfile%.sources}.list
		mv "$srcfile.tmp" "${srcfile}.tmp" 2>/dev/null || true
	fi
	[ -s "$srcfile.tmp" ] || {
		rm -f "$srcfile.tmp"
		die "found no Debian entry in /etc/apt/sources.list* to derive a deb-src entry from; add one by hand"
	}
	mv "$srcfile.tmp" "$srcfile"
	echo "get-source.sh: enabled Debian source packages in $srcfile" >&2
	apt-get update -qq || die "apt-get update failed after enabling deb-src ($srcfile)"
}

enable_deb_src
mkdir -p "$dir"
rm -rf "$tree"
(cd "$dir" && apt-get source -qq "kamailio=$ver" >"$dir/apt-get-source.log" 2>&1) || {
	# the package lists may predate the deb-src entry
	apt-get update -qq 2>/dev/null || true
	(cd "$dir" && apt-get source -qq "kamailio=$ver" >"$dir/apt-get-source.log" 2>&1)
} || die "apt-get source kamailio=$ver failed (log: $dir/apt-get-source.log); are deb-src entries enabled?"
[ -d "$tree/src" ] || die "apt-get source did not produce $tree"

# The same make cfg arguments as debian/rules, so paths, hardening and flags match the binary.
DEB_BUILD_MAINT_OPTIONS=hardening=+all
export DEB_BUILD_MAINT_OPTIONS
make -s -C "$tree/src" cfg prefix=/usr cfg_target=/etc/kamailio/ FLAVOUR=kamailio \
	LIBDIR="lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)" group_include=kstandard \
	CC_EXTRA_OPTS="$(dpkg-buildflags --get CPPFLAGS) $(dpkg-buildflags --get CFLAGS) -DVERSION_NODATE" \
	LD_EXTRA_OPTS="$(dpkg-buildflags --get LDFLAGS)" >"$dir/make-cfg.log" 2>&1 ||
	die "make cfg failed in $tree/src (log: $dir/make-cfg.log)"
echo "$ver" >"$stamp"
echo "$tree"
