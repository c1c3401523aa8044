#!/bin/sh
# enable-deb-src.sh - make `apt-get source` work: unless some deb-src entry exists already, add one
# (/etc/apt/sources.list.d/sipdance-deb-src.sources, derived from the existing Debian deb entries)
# and apt-get update. Used by kamailio/get-source.sh and sip/sofia-sip/build.sh. Root only when it
# has something to add; otherwise it says what to add by hand.
set -eu

srcfile=/etc/apt/sources.list.d/sipdance-deb-src.sources

# die MSG - explain and stop
die() {
	echo "enable-deb-src.sh: $*" >&2
	exit 1
}

if grep -Rqs -e '^[[:space:]]*deb-src[[:space:]]' -e '^Types:.*deb-src' /etc/apt/sources.list /etc/apt/sources.list.d/; then
	exit 0
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
	srcfile=${srcfile%.sources}.list
	sed -n 's/^[[:space:]]*deb[[:space:]]\(.*debian.*\)$/deb-src \1/p' /etc/apt/sources.list >"$srcfile.tmp"
fi
[ -s "$srcfile.tmp" ] || {
	rm -f "$srcfile.tmp"
	die "found no Debian entry in /etc/apt/sources.list* to derive a deb-src entry from; add one by hand"
}
mv "$srcfile.tmp" "$srcfile"
echo "enable-deb-src.sh: enabled Debian source packages in $srcfile" >&2
apt-get update -qq || die "apt-get update failed after enabling deb-src ($srcfile)"
