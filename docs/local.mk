# Manual pages and documentation.
dist_man_MANS += docs/sipdance.1
EXTRA_DIST += docs/architecture.md
