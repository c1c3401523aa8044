#!/usr/bin/python3
# mkattacks.py OUTDIR - hostile chains, each a vector of vectors.in (the
# attack-* lines) that must not validate as what it claims. Written to
# attack a validator that trusts one signer: our own key hierarchy, with the
# anchor attack-root.ds: . -> t. -> v.t. (the victim: TLSA 3 1 1 aa..) and
# e.t. (a zone the attacker owns, validly signed). Run by mkvectors.sh.
# Signatures are valid 2025-01-01 to 2055-01-01.
import datetime
import io
import os
import sys
import dns.dnssec
import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.rrset
from cryptography.hazmat.primitives.asymmetric import ec

OUT = sys.argv[1]
UTC = datetime.timezone.utc
INC = datetime.datetime(2025, 1, 1, tzinfo=UTC)
EXP = datetime.datetime(2055, 1, 1, tzinfo=UTC)
P256 = dns.dnssec.Algorithm.ECDSAP256SHA256


class Key:
    def __init__(self, flags=257):
        self.priv = ec.generate_private_key(ec.SECP256R1())
        self.dnskey = dns.dnssec.make_dnskey(self.priv.public_key(), P256, flags=flags)


def rr(owner, rtype, *rd, ttl=3600):
    return dns.rrset.from_text(owner, ttl, "IN", rtype, *rd)


def sig(rs, key, signer, labels=None):
    s = dns.dnssec.sign(rs, key.priv, dns.name.from_text(signer), key.dnskey, inception=INC, expiration=EXP)
    out = dns.rrset.RRset(rs.name, dns.rdataclass.IN, dns.rdatatype.RRSIG)
    out.add(s, rs.ttl)
    return out


def signed(rs, key, signer):
    return [rs, sig(rs, key, signer)]


K = {z: Key() for z in (".", "t.", "v.t.", "e.t.", "c.v.t.")}


def keys(z):
    r = rr(z, "DNSKEY", K[z].dnskey.to_text())
    return signed(r, K[z], z)


def ds(child, parent):
    r = rr(child, "DS", dns.dnssec.make_ds(dns.name.from_text(child), K[child].dnskey, "SHA256").to_text())
    return signed(r, K[parent], parent)


CHAIN_V = keys(".") + ds("t.", ".") + keys("t.") + ds("v.t.", "t.") + keys("v.t.")
CHAIN_E = keys(".") + ds("t.", ".") + keys("t.") + ds("e.t.", "t.") + keys("e.t.")
TLSA = "3 1 1 " + "aa" * 32
EVIL = "3 1 1 " + "ee" * 32
Q = "_5061._tcp.sip.v.t."


def write(fname, rrsets):
    with open(os.path.join(OUT, fname), "w") as f:
        for rs in rrsets:
            f.write(rs.to_text() + "\n")


with open(os.path.join(OUT, "attack-root.ds"), "w") as f:
    f.write(". 3600 IN DS %s\n" % dns.dnssec.make_ds(dns.name.root, K["."].dnskey, "SHA256").to_text())



def case(name, rrsets):
    """one vector file; vectors.in says what it must not prove"""
    write("attack-%s.zone" % name, rrsets)


good = rr(Q, "TLSA", TLSA)
# baseline
case("baseline", CHAIN_V + signed(good, K["v.t."], "v.t."))
# 1. an extra unsigned TLSA record added to the signed RRset
case("inject-tlsa", CHAIN_V + [rr(Q, "TLSA", TLSA, EVIL), sig(good, K["v.t."], "v.t.")])
# 2. TLSA signed by the attacker's zone key, signer claims v.t.
evil = rr(Q, "TLSA", EVIL)
case("signer-claim", CHAIN_V + CHAIN_E + [evil, sig(evil, K["e.t."], "e.t.")])
# 3. attacker's key put into v.t.'s DNSKEY RRset (unsigned by v.t.'s KSK)
ek = rr("v.t.", "DNSKEY", K["v.t."].dnskey.to_text(), K["e.t."].dnskey.to_text())
case("key-inject", CHAIN_V[:-2] + [ek] + [CHAIN_V[-1]] + [evil, sig(evil, K["e.t."], "v.t.")])
# 4. a second DNSKEY RRset self-signed by the attacker's key at v.t.
ekr = rr("v.t.", "DNSKEY", K["e.t."].dnskey.to_text())
case("dnskey-selfsigned", CHAIN_V[:-2] + [ekr, sig(ekr, K["e.t."], "v.t.")] + [evil, sig(evil, K["e.t."], "v.t.")])
# 5. wildcards expanded to the victim name: the attacker's own wildcard, and
#    one of the parent t. (signed with its key: a registry's wildcard)


def expanded(wild, zone):
    """TLSA at wild, signed by zone, as a server would answer it at Q"""
    s = sig(rr(wild, "TLSA", EVIL), K[zone], zone)
    out = dns.rrset.RRset(dns.name.from_text(Q), dns.rdataclass.IN, dns.rdatatype.RRSIG)
    out.add(s[0], 3600)
    return [rr(Q, "TLSA", EVIL), out]


nsec_all = rr("e.t.", "NSEC", "e.t. NSEC RRSIG")
case("wild-foreign", CHAIN_V + CHAIN_E + expanded("*.e.t.", "e.t.") + signed(nsec_all, K["e.t."], "e.t."))
tn = rr("t.", "NSEC", "v.t. NS SOA RRSIG NSEC DNSKEY")
vn = rr("v.t.", "NSEC", "t. NS DS RRSIG NSEC")
case("wild-parent-with-cut", CHAIN_V + expanded("*.t.", "t.") + signed(tn, K["t."], "t.") + signed(vn, K["t."], "t."))
# 7. NSEC of e.t. whose next name is in v.t., covering the victim name
n = rr("e.t.", "NSEC", "zzz.sip.v.t. NS SOA RRSIG NSEC DNSKEY")
case("nsec-next-outside", CHAIN_V + CHAIN_E + signed(n, K["e.t."], "e.t."))
# 8. NSEC of v.t. (genuine key) but owner outside v.t.? signed as v.t. over an e.t. owner
n2 = rr("zzz.e.t.", "NSEC", "zzz.sip.v.t. NSEC RRSIG")
case("nsec-owner-outside", CHAIN_V + signed(n2, K["v.t."], "v.t."))
# 9. NSEC3 variants from e.t. spanning everything, and from v.t. with bad parameters
def n3(zone, key, flags, it, salt, nexthash, owner_label=None, alg=1):
    h = owner_label or dns.dnssec.nsec3_hash(zone, salt, it, 1)
    r = rr("%s.%s" % (h, zone), "NSEC3", "%d %d %d %s %s A RRSIG" % (alg, flags, it, salt or "-", nexthash))
    return signed(r, key, zone)
zero = "0" * 32
for label, args in {
    "n3-alg2": dict(alg=2, flags=0, it=0, salt=""),
    "n3-flags2": dict(flags=2, it=0, salt=""),
    "n3-iter65535": dict(flags=0, it=65535, salt=""),
}.items():
    rs = []
    for zn in ("v.t.", "sip.v.t."):
        rs += n3("v.t.", K["v.t."], nexthash=zero, owner_label=dns.dnssec.nsec3_hash(zn, "", 0, 1) if label != "n3-iter65535" else None, **args)
    case(label, CHAIN_V + rs)
# NSEC3 "covering everything": owner hash = next hash (a one-record chain)
one = dns.dnssec.nsec3_hash("v.t.", "", 0, 1)
r1 = rr("%s.v.t." % one, "NSEC3", "1 0 0 - %s NS SOA RRSIG DNSKEY NSEC3PARAM" % one)
case("n3-single-ring", CHAIN_V + signed(r1, K["v.t."], "v.t."))
# NSEC3 two labels below the zone
deep = []
for zn in ("v.t.", "sip.v.t."):
    h = dns.dnssec.nsec3_hash(zn, "", 0, 1)
    deep += signed(rr("%s.x.v.t." % h, "NSEC3", "1 0 0 - %s A RRSIG" % zero), K["v.t."], "v.t.")
case("n3-too-deep", CHAIN_V + deep)
# 10. DNAME at v.t. itself to the attacker's zone, signed by e.t.
d = rr("sip.v.t.", "DNAME", "e.t.")
e2 = rr("_5061._tcp.e.t.", "TLSA", EVIL)
case("dname-foreign", CHAIN_V + CHAIN_E + [d, sig(d, K["e.t."], "e.t.")] + signed(e2, K["e.t."], "e.t."))
# 11. CNAME loop and a long CNAME chain
c1 = rr(Q, "CNAME", "a.v.t.")
c2 = rr("a.v.t.", "CNAME", Q)
case("cname-loop", CHAIN_V + signed(c1, K["v.t."], "v.t.") + signed(c2, K["v.t."], "v.t."))
# 12. DNAME substitution past 255 octets
long = ".".join(["a" * 63] * 3) + ".v.t."
d2 = rr("tcp.sip.v.t.", "DNAME", long)
q2 = "x" * 50 + "." + "y" * 50 + ".tcp.sip.v.t."
case("dname-overflow", CHAIN_V + signed(d2, K["v.t."], "v.t."))
# 13. revoked key of v.t. (flags 385) in its DNSKEY RRset signs a TLSA
rk = Key(385)
kr = rr("v.t.", "DNSKEY", K["v.t."].dnskey.to_text(), rk.dnskey.to_text())
case("revoked-signs", CHAIN_V[:-2] + signed(kr, K["v.t."], "v.t.") + [evil, sig(evil, rk, "v.t.")])
# 14. a non-zone key (flags 0) of v.t.
nz = Key(0)
kr2 = rr("v.t.", "DNSKEY", K["v.t."].dnskey.to_text(), nz.dnskey.to_text())
case("nonzone-signs", CHAIN_V[:-2] + signed(kr2, K["v.t."], "v.t.") + [evil, sig(evil, nz, "v.t.")])
# 15. the child's zone signs its parent's DS? DS of v.t. signed by v.t.
dsv = rr("v.t.", "DS", dns.dnssec.make_ds(dns.name.from_text("v.t."), K["e.t."].dnskey, "SHA256").to_text())
case("ds-self-signed", CHAIN_V[:4] + keys("t.") + [dsv, sig(dsv, K["v.t."], "v.t.")] +
     signed(rr("v.t.", "DNSKEY", K["e.t."].dnskey.to_text()), K["e.t."], "v.t.") + [evil, sig(evil, K["e.t."], "v.t.")])
# 16. unsigned delegation claim: NSEC of t. at v.t. without DS (replayed from a time
#     before v.t. was signed would be genuine; here t.'s key signs it: the registry lies)
ns = rr("v.t.", "NSEC", "w.t. NS RRSIG NSEC")
case("registry-unsigned-claim", CHAIN_V + signed(ns, K["t."], "t."))
# 17. duplicated TLSA records and mixed-case owner with the genuine signature
dup = rr(Q.upper(), "TLSA", TLSA, TLSA)
case("dup-case", CHAIN_V + [dup, sig(good, K["v.t."], "v.t.")])

