#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
# mkchain.py - an RFC 9102 extension_data built with dnspython, independently
# of libsipdance: the TLSA RRset at NAME (or the NSEC denial of it) with its
# RRSIGs, then each zone's DNSKEY RRset and its DS RRset with their RRSIGs up
# to the root, as the server (the testbed's knotd) serves them. Nothing is
# validated: a broken zone gives a broken chain. --tamper flips one bit of the
# first TLSA record's data after signing; --lifetime sets ExtSupportLifetime;
# --ask DS starts from the DS answer at NAME instead (at an unsigned
# delegation: its signed denial, a chain proving every name below NAME is in
# an unsigned zone).
# usage: mkchain.py --resolver ADDR@PORT --name NAME [--ask TYPE] [--lifetime H] [--tamper] OUT
import argparse
import io
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rdatatype
import dns.rrset


def ask(addr, port, name, rtype):
    q = dns.message.make_query(name, rtype, want_dnssec=True)
    q.flags |= dns.flags.CD
    r = dns.query.udp(q, addr, port=port, timeout=5)
    if r.flags & dns.flags.TC:
        r = dns.query.tcp(q, addr, port=port, timeout=5)
    return r


def signer(rrsets):
    for rs in rrsets:
        if rs.rdtype == dns.rdatatype.RRSIG:
            return rs[0].signer
    raise SystemExit("mkchain.py: no RRSIG in the answer")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--resolver", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--lifetime", type=int, default=0)
    ap.add_argument("--tamper", action="store_true")
    ap.add_argument("--ask", default="TLSA")
    ap.add_argument("out")
    a = ap.parse_args()
    addr, port = a.resolver.split("@")
    port = int(port)
    r = ask(addr, port, a.name, a.ask)
    sets = list(r.answer) or [rs for rs in r.authority if rs.rdtype != dns.rdatatype.SOA and
                              not (rs.rdtype == dns.rdatatype.RRSIG and rs.covers == dns.rdatatype.SOA)]
    if a.tamper:
        for i, rs in enumerate(sets):
            if rs.rdtype == dns.rdatatype.TLSA:
                t = rs[0]
                cert = bytearray(t.cert)
                cert[0] ^= 1
                bad = dns.rrset.from_rdata_list(rs.name, rs.ttl, [t.replace(cert=bytes(cert))] + list(rs)[1:])
                sets[i] = bad
                break
        else:
            raise SystemExit("mkchain.py: no TLSA record to tamper with")
    zone = signer(sets)
    while True:
        sets += ask(addr, port, zone, "DNSKEY").answer
        if zone == dns.name.root:
            break
        ds = ask(addr, port, zone, "DS").answer
        sets += ds
        zone = signer(ds)
    buf = io.BytesIO()
    for rs in sets:
        rs.to_wire(buf)
    with open(a.out, "wb") as f:
        f.write(a.lifetime.to_bytes(2, "big") + buf.getvalue())


main()
