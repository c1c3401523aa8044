#!/bin/sh
# get-source.sh - fetch and prepare the Kamailio source tree of the *installed* kamailio package,
# so that kamailio/sipdance.so is compiled against exactly the headers and compile flags of the
# binary that will load it (the loader compares version and flag strings; see docs/kamailio-module.md).
#
#   kamailio/get-source.sh [DIR]    default DIR: /var/tmp/sipdance-kamailio-src (outside the repo)
#
# Idempotent: a tree already prepared for the installed version is reused. Steps:
#   1. enable Debian source packages (tools/enable-deb-src.sh);
#   2. apt-get source kamailio=<installed version> into DIR (download, unpack, Debian patches);
#   3. make cfg with the flags debian/rules uses (writes src/config.mak).
# Prints the COREPATH to pass to configure (--with-kamailio-module=DIR/kamailio-<ver>) as its last line.
set -eu

dir=${1:-/var/tmp/sipdance-kamailio-src}

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

"$(dirname "$0")/../tools/enable-deb-src.sh"
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
