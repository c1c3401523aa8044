#!/bin/sh
# build.sh - Debian's sofia-sip with our fixes: rebuild the newest Debian source package of sofia-sip
# with the patches of this directory added to its debian/patches, and install the resulting library
# packages (libsofia-sip-ua0, libsofia-sip-ua-dev and any other sofia-sip package already installed).
#
#   sip/sofia-sip/build.sh [DIR]     default DIR: /var/tmp/sipdance-sofia-src (outside the repo)
#
# The version is Debian's own plus "+sipdance.<digest of the patches>": idempotent (nothing to do
# when exactly that is installed, the usual case), and a Debian update of sofia-sip, or a change to
# a patch here, makes the next run rebuild. Needs root to install, and the packages bootstrap.sh
# installs (dpkg-dev, debhelper, pkg-kde-tools, libglib2.0-dev, libssl-dev). Why a patched package
# and not a workaround in the proxy: docs/reliability.md ("sofia-sip's TLS connections").
set -eu

here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-/var/tmp/sipdance-sofia-src}

# die MSG - explain and stop
die() {
	echo "sofia-sip/build.sh: $*" >&2
	exit 1
}

patches=$(cd "$here" && ls ./*.patch)
digest=$(cd "$here" && cat $patches | sha256sum | cut -c1-8)
"$here/../../tools/enable-deb-src.sh"

# the newest sofia-sip source Debian offers (security updates included)
base=
for v in $(apt-cache showsrc sofia-sip 2>/dev/null | sed -n 's/^Version: //p'); do
	if [ -z "$base" ] || dpkg --compare-versions "$v" gt "$base"; then base=$v; fi
done
[ -n "$base" ] || die "apt-cache showsrc sofia-sip found no source package (deb-src enabled? apt-get update?)"
want=$base+sipdance.$digest
have=$(dpkg-query -W -f='${Version}' libsofia-sip-ua0 2>/dev/null || true)
havedev=$(dpkg-query -W -f='${Version}' libsofia-sip-ua-dev 2>/dev/null || true)
if [ "$have" = "$want" ] && [ "$havedev" = "$want" ]; then
	echo "sofia-sip $want installed"
	exit 0
fi
[ "$(id -u)" = 0 ] || die "sofia-sip $want is not installed (have ${have:-none}) and I am not root to build and install it"

rm -rf "$dir"
mkdir -p "$dir"
(cd "$dir" && apt-get source -qq "sofia-sip=$base" >apt-get-source.log 2>&1) ||
	die "apt-get source sofia-sip=$base failed (log: $dir/apt-get-source.log)"
tree=$(find "$dir" -mindepth 1 -maxdepth 1 -type d -name 'sofia-sip-*' | head -1)
[ -n "$tree" ] && [ -f "$tree/debian/patches/series" ] || die "apt-get source gave no sofia-sip tree in $dir"

# our patches after Debian's (dpkg-buildpackage applies them); checked here for a clear message
for p in $patches; do
	patch -s --dry-run -d "$tree" -p1 <"$here/$p" >/dev/null || die "$p does not apply to sofia-sip $base"
	cp "$here/$p" "$tree/debian/patches/sipdance-${p#./}"
	echo "sipdance-${p#./}" >>"$tree/debian/patches/series"
done
{
	printf 'sofia-sip (%s) UNRELEASED; urgency=medium\n\n' "$want"
	printf '  * sipdance: %s\n\n' "$(echo $patches | sed 's|\./||g')"
	printf ' -- sipdance <root@localhost>  %s\n\n' "$(date -R)"
	cat "$tree/debian/changelog"
} >"$tree/debian/changelog.new"
mv "$tree/debian/changelog.new" "$tree/debian/changelog"

# the library packages only (-B: no documentation), without debug symbols or upstream tests
(cd "$tree" && DEB_BUILD_OPTIONS="nocheck noddebs parallel=$(nproc)" dpkg-buildpackage -B -uc -us \
	>"$dir/build.log" 2>&1) || die "dpkg-buildpackage failed (log: $dir/build.log)"
debs=
for d in "$dir"/*_"$(echo "$want" | sed 's/^[0-9]*://')"_*.deb; do
	pkg=$(dpkg-deb -f "$d" Package)
	case $pkg in
	libsofia-sip-ua0 | libsofia-sip-ua-dev) debs="$debs $d" ;;
	*) dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" && debs="$debs $d" ;;
	esac
done
[ -n "$debs" ] || die "dpkg-buildpackage made no package (log: $dir/build.log)"
# shellcheck disable=SC2086
dpkg -i $debs >"$dir/install.log" 2>&1 || die "dpkg -i failed (log: $dir/install.log)"
[ "$(dpkg-query -W -f='${Version}' libsofia-sip-ua0)" = "$want" ] || die "libsofia-sip-ua0 $want did not install"
echo "sofia-sip $want built and installed"
