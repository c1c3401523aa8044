# Manual pages and documentation.
dist_man_MANS += docs/sipdance.1 docs/sipdance-proxy.8
EXTRA_DIST += docs/architecture.md docs/HACKING.md docs/check-json.md docs/benchmarks.md docs/reliability.md \
	docs/webrtc-call.png
