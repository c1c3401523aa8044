#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# fault-dns-down.sh - the DNS server is killed under a running federation
# (queries refused at once: ICMP port unreachable), then the same knotd is
# started again; the checks are dns_outage's (tests/fault-lib.sh).
. "${srcdir:-.}/tests/fault-lib.sh"
dns_outage down
