#!/usr/bin/python3
# mkvectors.py OUTDIR - the zones of the DNSSEC vectors that dnspython signs
# (called by mkvectors.sh; run by hand). Writes, in OUTDIR, NAME.signed and
# NAME.ds for each zone below, and the crafted files the vectors name:
#   py.example      ECDSA P-384, NSEC; delegates sub.py.example (signed)
#   sub.py.example  ECDSA P-384, NSEC
#   ed448.example   Ed448, NSEC
#   collide.example ECDSA P-256: two keys of one key tag, the TLSA signed
#                   by the second one
#   0.example       ECDSA P-256: the attacker's zone of the crafted denials
#   n3max.example   NSEC3 with 150 iterations and a 255-octet salt
#   n3over.example  NSEC3 with 151 iterations
# (No wildcards here: dnspython 2.3's sign() counts the "*" label in the RRSIG
# labels field, against RFC 4034 §3.1.3; ldns-signzone signs the wildcards.)
# All signatures are valid 2025-01-01 to 2055-01-01.
import datetime
import os
import sys

import dns.dnssec
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
from cryptography.hazmat.primitives.asymmetric import ec, ed448

OUT = sys.argv[1]
UTC = datetime.timezone.utc
INC = datetime.datetime(2025, 1, 1, tzinfo=UTC)
EXP = datetime.datetime(2055, 1, 1, tzinfo=UTC)
TTL = 3600
TLSA = "3 1 1 " + "5a" * 32


def name(text):
    return dns.name.from_text(text)


def rrset(owner, rtype, *rdatas, ttl=TTL):
    return dns.rrset.from_text(owner, ttl, "IN", rtype, *rdatas)


class Key:
    """A private key and its DNSKEY."""

    def __init__(self, alg, flags=257, priv=None):
        self.alg = alg
        if priv is None:
            if alg == dns.dnssec.Algorithm.ED448:
                priv = ed448.Ed448PrivateKey.generate()
            else:
                curve = ec.SECP384R1() if alg == dns.dnssec.Algorithm.ECDSAP384SHA384 else ec.SECP256R1()
                priv = ec.generate_private_key(curve)
        self.priv = priv
        self.dnskey = dns.dnssec.make_dnskey(priv.public_key(), alg, flags=flags)
        self.tag = dns.dnssec.key_id(self.dnskey)


def sign(rs, key, signer, inc=INC, exp=EXP):
    """The RRSIG RRset over rs by key, as zone signer."""
    sig = dns.dnssec.sign(rs, key.priv, name(signer), key.dnskey, inception=inc, expiration=exp)
    out = dns.rrset.RRset(rs.name, dns.rdataclass.IN, dns.rdatatype.RRSIG)
    out.add(sig, rs.ttl)
    return out


def types_text(types):
    return " ".join(sorted(types, key=lambda t: dns.rdatatype.from_text(t)))


class Zone:
    """A small zone signed with one key (CSK) or a KSK and a ZSK."""

    def __init__(self, origin, alg, ksk=None, zsk=None):
        self.origin = origin
        self.apex = name(origin)
        self.ksk = ksk or Key(alg)
        self.zsk = zsk or self.ksk
        # the KSK first: a key-tag collision then makes the validator try it first
        keys = [self.ksk.dnskey.to_text()] + ([self.zsk.dnskey.to_text()] if self.zsk is not self.ksk else [])
        self.rrsets = [rrset(origin, "DNSKEY", *keys)]
        self.add(origin, "SOA", "ns.%s hostmaster.%s 1 3600 600 86400 3600" % (origin, origin))
        self.add(origin, "NS", "ns." + origin)
        self.add("ns." + origin, "A", "127.0.0.1")

    def add(self, owner, rtype, *rdatas):
        self.rrsets.append(rrset(owner, rtype, *rdatas))

    def delegate(self, child):
        """NS and DS of a signed child zone."""
        self.add(child.origin, "NS", "ns." + child.origin)
        self.add(child.origin, "DS", child.ds())

    def ds(self, digest="SHA256"):
        return dns.dnssec.make_ds(self.apex, self.ksk.dnskey, digest).to_text()

    def cuts(self):
        return {rs.name for rs in self.rrsets if rs.rdtype == dns.rdatatype.NS and rs.name != self.apex}

    def occluded(self, owner):
        """Below a delegation: glue, not the zone's data."""
        return any(owner != c and owner.is_subdomain(c) for c in self.cuts())

    def owners(self):
        """Authoritative owner -> the types of its NSEC/NSEC3 bitmap."""
        out = {}
        for rs in self.rrsets:
            if not self.occluded(rs.name):
                out.setdefault(rs.name, set()).add(dns.rdatatype.to_text(rs.rdtype))
        for n, t in out.items():
            if n in self.cuts():
                t &= {"NS", "DS"}
            if n not in self.cuts() or "DS" in t:
                t.add("RRSIG")
        return out

    def nsec(self):
        """The NSEC chain (RFC 4034 §4)."""
        owners = self.owners()
        order = sorted(owners)
        for i, n in enumerate(order):
            self.add(n.to_text(), "NSEC", "%s %s" % (order[(i + 1) % len(order)].to_text(),
                                                     types_text(owners[n] | {"NSEC", "RRSIG"})))

    def nsec3(self, iterations, salt):
        """The NSEC3 chain (RFC 5155 §7.1), empty non-terminals included."""
        self.add(self.origin, "NSEC3PARAM", "1 0 %d %s" % (iterations, salt))
        owners = self.owners()
        for n in list(owners):
            p = n.parent()
            while p != self.apex and p.is_subdomain(self.apex):
                owners.setdefault(p, set())
                p = p.parent()
        hashed = {dns.dnssec.nsec3_hash(n, salt, iterations, 1): t for n, t in owners.items()}
        order = sorted(hashed)
        for i, h in enumerate(order):
            self.add("%s.%s" % (h, self.origin), "NSEC3", "1 0 %d %s %s %s" % (
                iterations, salt, order[(i + 1) % len(order)], types_text(hashed[h])))

    def sign(self):
        """Every authoritative RRset signed (not delegation NS, not glue):
        DNSKEY by the KSK, the rest by the ZSK."""
        out = []
        for rs in self.rrsets:
            out.append(rs)
            if self.occluded(rs.name) or (rs.name in self.cuts() and rs.rdtype == dns.rdatatype.NS):
                continue
            out.append(sign(rs, self.ksk if rs.rdtype == dns.rdatatype.DNSKEY else self.zsk, self.origin))
        self.rrsets = out

    def write(self):
        write(self.origin + "signed", self.rrsets)
        with open(os.path.join(OUT, self.origin + "ds"), "w") as f:
            f.write("%s %d IN DS %s\n" % (self.origin, TTL, self.ds()))


def write(fname, rrsets):
    with open(os.path.join(OUT, fname), "w") as f:
        for rs in rrsets:
            f.write(rs.to_text() + "\n")


def sip_records(z, tlsa=TLSA):
    o = z.origin
    z.add(o, "NAPTR", '10 10 "S" "SIPS+D2T" "" _sips._tcp.%s' % o)
    z.add("_sips._tcp." + o, "SRV", "10 10 5061 sip." + o)
    z.add("sip." + o, "A", "127.0.0.1")
    z.add("_5061._tcp.sip." + o, "TLSA", tlsa)


def collide():
    """Two P-256 keys of one key tag: a KSK (257) and a ZSK (256)."""
    ksks, zsks = {}, {}
    while True:
        k = Key(dns.dnssec.Algorithm.ECDSAP256SHA256, 257)
        z = Key(dns.dnssec.Algorithm.ECDSAP256SHA256, 256)
        ksks[k.tag] = k
        zsks[z.tag] = z
        if k.tag in zsks:
            return k, zsks[k.tag]
        if z.tag in ksks:
            return ksks[z.tag], z


def main():
    p384 = dns.dnssec.Algorithm.ECDSAP384SHA384
    p256 = dns.dnssec.Algorithm.ECDSAP256SHA256

    sub = Zone("sub.py.example.", p384)
    sip_records(sub)
    sub.nsec()
    sub.sign()
    sub.write()

    py = Zone("py.example.", p384)
    sip_records(py)
    py.delegate(sub)
    py.nsec()
    py.sign()
    py.write()

    ed = Zone("ed448.example.", dns.dnssec.Algorithm.ED448)
    sip_records(ed)
    ed.nsec()
    ed.sign()
    ed.write()

    ksk, zsk = collide()
    co = Zone("collide.example.", p256, ksk, zsk)
    sip_records(co)
    co.nsec()
    co.sign()
    co.write()

    for origin, iterations, salt in (("n3max.example.", 150, "ab" * 255), ("n3over.example.", 151, "abcd")):
        # NSEC3 hashes, 150 iterations (the most RFC 9276 lets us accept) and 151
        z = Zone(origin, p256)
        sip_records(z)
        z.nsec3(iterations, salt)
        z.sign()
        z.write()

    att = Zone("0.example.", p256)
    att.add("zzz.0.example.", "A", "127.0.0.1")
    att.nsec()
    att.sign()
    att.write()

    # Wrong signers: sub.py.example data signed by the key of its parent
    # (signer py.example.); py.example data signed by its child and by a
    # sibling (signers not ancestors of the owner).
    t = rrset("_5061._tcp.sip.sub.py.example.", "TLSA", TLSA)
    write("signer-parent.zone", [t, sign(t, py.zsk, "py.example.")])
    t = rrset("_5061._tcp.sip.py.example.", "TLSA", TLSA)
    write("signer-child.zone", [t, sign(t, sub.zsk, "sub.py.example.")])
    write("signer-sibling.zone", [t, sign(t, att.zsk, "0.example.")])

    # A denial forged by the owner of 0.example: its NSEC spans the TLSA
    # name of a.example, with a junk RRSIG claiming the root in front.
    n = rrset("zzz.0.example.", "NSEC", "zzz.sip.a.example. A NSEC RRSIG")
    junk = dns.rrset.from_text("zzz.0.example.", TTL, "IN", "RRSIG",
                               "NSEC 13 3 3600 20550101000000 20250101000000 1 . " +
                               "WldaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWg==")
    write("forged-denial.zone", [junk, n, sign(n, att.zsk, "0.example.")])
    # An NSEC of 0.example whose next name lies in a.example.
    n = rrset("0.example.", "NSEC", "zzz.sip.a.example. NS SOA RRSIG NSEC DNSKEY")
    write("nsec-next-outside.zone", [n, sign(n, att.zsk, "0.example.")])



if __name__ == "__main__":
    main()
