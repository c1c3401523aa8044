# Manual pages and documentation.
dist_man_MANS += docs/sipdance.1 docs/sipdance-proxy.8
EXTRA_DIST += docs/architecture.md docs/HACKING.md docs/check-json.md docs/benchmarks.md docs/reliability.md \
	docs/scaling.md \
	docs/webrtc-call.png

# `make doc`: the embedders' reference (HTML) from the public headers, with
# docs/embedding.md as its front page (Debian package doxygen).
doc: docs/Doxyfile
	$(AM_V_GEN)rm -rf doc && mkdir doc && $(DOXYGEN) docs/Doxyfile && \
	if [ -s doc/warnings.log ]; then cat doc/warnings.log; exit 1; fi
.PHONY: doc
EXTRA_DIST += docs/Doxyfile.in docs/doxy-filter.sh docs/embedding.md
clean-local: clean-doc
clean-doc:
	rm -rf doc
.PHONY: clean-doc
