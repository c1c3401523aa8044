#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# add-user.sh DIR USER DOMAIN [PASSWORD] - add (or replace) a Digest user in the db_text users database
# DIR that examples/kamailio/kamailio.cfg and examples/webrtc/kamailio-edge.cfg read
# (SD_AUTH_DB=text://DIR, an absolute DIR). Only HA1 hashes are stored: MD5(user:domain:password) and
# MD5(user@domain:domain:password); the realm is the domain. Without PASSWORD it is read from stdin.
set -eu
[ $# -ge 3 ] || { echo "usage: add-user.sh DIR USER DOMAIN [PASSWORD]" >&2; exit 2; }
dir=$1 user=$2 domain=$3
if [ $# -ge 4 ]; then pw=$4; else IFS= read -r pw; fi
case "$user$domain" in *[!A-Za-z0-9._+-]*) echo "add-user.sh: user and domain: letters, digits, . _ + - only" >&2; exit 2 ;; esac
md5() { printf '%s' "$1" | md5sum | cut -d' ' -f1; }
ha1=$(md5 "$user:$domain:$pw")
ha1b=$(md5 "$user@$domain:$domain:$pw")
mkdir -p "$dir"
f=$dir/subscriber
[ -s "$f" ] || echo "id(int,auto) username(string) domain(string) ha1(string) ha1b(string) " >"$f"
# drop an earlier entry of the user, renumber nothing: ids are only row keys
awk -F: -v u="$user" -v d="$domain" 'NR == 1 || !($2 == u && $3 == d)' "$f" >"$f.new"
n=$(awk -F: 'NR > 1 && $1 + 0 > m { m = $1 + 0 } END { print m + 1 }' "$f.new")
echo "$n:$user:$domain:$ha1:$ha1b" >>"$f.new"
mv "$f.new" "$f"
