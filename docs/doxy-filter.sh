#!/bin/sh
# doxy-filter.sh FILE - the headers' comments name arguments kernel-doc style
# (@name, also @name:@port); Doxygen reads them as \p name. Any other @ (a user
# address such as local@domain) is a literal \@.
exec sed -E -e 's/(^|[[:space:](*":])@([A-Za-z_][A-Za-z0-9_]*)/\1\\p \2/g' \
	-e 's/(\\p [A-Za-z0-9_]*)?([^\\])@/\1\2\\@/g' "$1"
