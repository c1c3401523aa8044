#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# build.sh [OUTDIR] - build the web phone into OUTDIR (default examples/webrtc/dist): installs the npm
# packages pinned in package-lock.json there (npm ci; jssip, and esbuild + playwright-core for the
# build and the tests), bundles phone.js with JsSIP into OUTDIR/www/phone.bundle.js (esbuild, one
# IIFE, no CDN at run time) and copies index.html next to it. Serve OUTDIR/www with serve.js.
set -eu
src=$(cd "$(dirname "$0")" && pwd)
out=${1:-$src/dist}
mkdir -p "$out/www"
out=$(cd "$out" && pwd)
command -v npm >/dev/null || { echo "build.sh: npm not found (apt-get install nodejs npm)" >&2; exit 1; }
# npm ci again only when the lock file changed
if [ ! -f "$out/node_modules/.sipdance-lock" ] || ! cmp -s "$src/package-lock.json" "$out/node_modules/.sipdance-lock"; then
	if [ "$out" != "$src" ]; then
		cp "$src/package.json" "$src/package-lock.json" "$out/"
	fi
	(cd "$out" && npm ci --no-audit --no-fund --prefer-offline --loglevel=error >/dev/null)
	cp "$src/package-lock.json" "$out/node_modules/.sipdance-lock"
fi
NODE_PATH="$out/node_modules" "$out/node_modules/.bin/esbuild" "$src/phone.js" --bundle --format=iife \
	--target=chrome100 --log-level=warning --outfile="$out/www/phone.bundle.js"
cp "$src/index.html" "$out/www/index.html"
echo "built $out/www (index.html, phone.bundle.js)"
