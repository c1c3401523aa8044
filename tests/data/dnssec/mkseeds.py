#!/usr/bin/python3
# mkseeds.py - the seeds of the fuzz-dnssec target (tests/fuzz/fuzz_dnssec.c):
# one file per vector of vectors.in, in the target's input format: qtype (2
# octets), the clock (4), the name asked (wire), the anchor's length (2) and
# records, then the records, all uncompressed wire. Run by mkvectors.sh (or
# by hand) from any directory.
import calendar
import io
import os
import struct

import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.zonefile

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "fuzz", "corpus", "dnssec")


def wire(files):
    """The records of files joined with '+', uncompressed wire."""
    out = io.BytesIO()
    for f in files.split("+"):
        with open(os.path.join(HERE, f)) as fh:
            text = fh.read()
        if f.startswith("rfc9102"):  # multi-line records, as the RFC prints them
            for rs in dns.zonefile.read_rrsets(text, origin=dns.name.root, relativize=False, rdclass=None,
                                               default_ttl=3600):
                rs.to_wire(out)
            continue
        for line in text.splitlines():  # "owner ttl IN type rdata", as mkvectors.sh writes them
            if line.strip() and not line.startswith(";"):
                owner, ttl, _, rtype, rdata = line.split(None, 4)
                dns.rrset.from_text(owner, int(ttl), "IN", rtype, rdata).to_wire(out)
    return out.getvalue()


def main():
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(HERE, "vectors.in")) as fh:
        for line in fh:
            if not line.strip() or line.startswith("#"):
                continue
            name, records, anchor, day, qname, qtype = line.split()[:6]
            y, m, d = (int(x) for x in day.split("-"))
            anchor_wire = wire(anchor)
            seed = struct.pack(">HI", dns.rdatatype.from_text(qtype), calendar.timegm((y, m, d, 0, 0, 0)))
            seed += dns.name.from_text(qname).to_wire() + struct.pack(">H", len(anchor_wire))
            seed += anchor_wire + wire(records)
            with open(os.path.join(OUT, name), "wb") as out:
                out.write(seed)


if __name__ == "__main__":
    main()
