#!/bin/sh
# kamailio-load.sh - sipdance.so loads into the installed Kamailio (the loader's version and
# compile-flags check), the example config parses, bad parameters stop the start with a reason,
# the server answers with the module loaded, and no worker shares OpenSSL's per-thread state.
. "${srcdir:-.}/tests/kamailio-lib.sh"
need_env
tb_start
kam_env

# flags string in the module == the `flags:` line of `kamailio -V`
flags=$(kamailio -V | sed -n 's/^flags: //p')
if [ -n "$flags" ] && grep -aFq "$flags" "$KAMAILIO_MODULE_DIR/sipdance.so"; then
	ok "module compile flags equal kamailio -V"
else
	bad "module compile flags differ from kamailio -V ($flags)"
fi

if "$kamailio" -c -f "$top/examples/kamailio/kamailio.cfg" >"$tmp/c.log" 2>&1; then
	ok "example config with the module passes kamailio -c"
else
	bad "kamailio -c of the example config" "$tmp/c.log"
fi
if kamailio -c -f "$top/examples/kamailio/kamailio.cfg" -A WITH_TESTHOOKS >"$tmp/c.log" 2>&1; then
	ok "example config with test hooks passes kamailio -c"
else
	bad "kamailio -c with WITH_TESTHOOKS" "$tmp/c.log"
fi

# a missing trust anchor must stop the start (never a fallback to no validation)
SD_ANCHOR=$tmp/no-such-anchor kamailio -f "$top/examples/kamailio/kamailio.cfg" -DD -E -Y "$tmp" -m 64 -M 8 \
	-w "$tmp" >"$tmp/bad.log" 2>&1 &
p=$!
for _ in $(seq $((50 * vg_slow))); do kill -0 $p 2>/dev/null || break; sleep 0.1; done
if kill -0 $p 2>/dev/null; then
	kill $p; wait $p 2>/dev/null
	bad "start with a missing trust anchor was not refused" "$tmp/bad.log"
elif grep -q "sipdance: .*anchor" "$tmp/bad.log"; then
	ok "missing trust anchor refuses the start with a reason"
else
	bad "missing trust anchor: no reason logged" "$tmp/bad.log"
fi

if kam_start -A WITH_TESTHOOKS; then
	ok "kamailio starts with sipdance.so and answers OPTIONS"
	grep -q "sipdance: resolver $TB_RESOLVER" "$tmp/kam.log" && ok "module logs its configuration" ||
		bad "module configuration line missing" "$tmp/kam.log"
	# OpenSSL's per-thread state made before fork lives in shared memory: each worker leaves it behind
	# (a shared error queue corrupts shared memory under load: Kamailio 5.6 with OpenSSL 3)
	n=$(grep -c "OpenSSL thread-local(s) of the main process left, this process makes its own" "$tmp/kam.log")
	[ "$n" -ge 4 ] && ok "every worker makes its own OpenSSL thread state ($n processes)" ||
		bad "workers share the main process's OpenSSL thread state ($n processes said otherwise)" "$tmp/kam.log"
else
	bad "kamailio did not start" "$tmp/kam.log"
fi
kam_stop
finish
