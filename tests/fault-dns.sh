#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# fault-dns.sh - the DNS server stops answering under a running federation
# (knotd SIGSTOPped: every query times out); the checks are dns_outage's
# (tests/fault-lib.sh), tests/fault-dns-down.sh has knotd killed instead.
. "${srcdir:-.}/tests/fault-lib.sh"
dns_outage freeze
