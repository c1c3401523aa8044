#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
# sip-digest.py - a SIP client that answers Digest challenges (RFC 3261 §22,
# RFC 7616/8760: SHA-256 and MD5, qop=auth) and can misbehave on purpose, for
# the authentication tests. Hashes come from Python's hashlib, not from the
# proxy's code. One line per final response on stdout:
#   STATUS stale=0|1 algs=SHA-256,MD5 reason="..."
#
#   sip-digest.py PROXY-ADDR PORT METHOD REQUEST-URI --from URI [options]
# Options: --to URI[;tag=T], --transport udp|tcp, --bind ADDR, --user U --password P,
#   --algorithm SHA-256|MD5 (default: the first challenge offered),
#   --qop auth|none|auth-int, --uri URI (digest uri), --realm R, --username U,
#   --nonce N (instead of the challenge's), --nonce-out FILE (write the nonce got),
#   --again N (N more requests, nc counting up), --replay (the same
#   Authorization again in a new transaction), --replay-to PORT (the same
#   Authorization again, to the proxy at PORT of PROXY-ADDR), --hdr "Name: value",
#   --expires S, --contact URI, --no-auth (never answer a challenge),
#   --nc STR (the first nc as sent), --call-id ID, --tag TAG (of From),
#   --save FILE (every final response appended, whole).
import argparse, hashlib, os, random, re, socket, sys

p = argparse.ArgumentParser()
p.add_argument("addr"); p.add_argument("port", type=int)
p.add_argument("method"); p.add_argument("ruri")
p.add_argument("--from", dest="from_uri", required=True)
p.add_argument("--to"); p.add_argument("--transport", default="udp", choices=["udp", "tcp"])
p.add_argument("--bind", default="127.0.0.1")
p.add_argument("--user"); p.add_argument("--password", default="")
p.add_argument("--algorithm"); p.add_argument("--qop", default="auth")
p.add_argument("--uri"); p.add_argument("--realm"); p.add_argument("--username")
p.add_argument("--nonce"); p.add_argument("--nonce-out")
p.add_argument("--again", type=int, default=0); p.add_argument("--replay", action="store_true")
p.add_argument("--replay-to", type=int)
p.add_argument("--hdr", action="append", default=[])
p.add_argument("--expires"); p.add_argument("--contact"); p.add_argument("--no-auth", action="store_true")
p.add_argument("--body-file")
p.add_argument("--nc"); p.add_argument("--call-id"); p.add_argument("--tag"); p.add_argument("--save")
a = p.parse_args()

H = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}
tag = a.tag or "%08x" % random.getrandbits(32)
to_uri, _, to_tag = (a.to or a.ruri).partition(";tag=")  # --to URI;tag=T: a To tag
callid = a.call_id or "%016x@sip-digest" % random.getrandbits(64)
cseq = 0



def connect(port):
    c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if a.transport == "udp" else socket.SOCK_STREAM)
    c.bind((a.bind, 0))
    c.connect((a.addr, port))
    c.settimeout(8 * max(1, int(os.environ.get("VG_SLOW") or 1)))  # times VG_SLOW under valgrind
    return c, c.getsockname()


s, local = connect(a.port)
buf = b""


def h(alg, text):
    return H[alg](text.encode()).hexdigest()


def request(auth=None):
    global cseq
    cseq += 1
    body = open(a.body_file, "rb").read() if a.body_file else b""
    lines = [
        "%s %s SIP/2.0" % (a.method, a.ruri),
        "Via: SIP/2.0/%s %s:%d;branch=z9hG4bK%08x;rport" % (a.transport.upper(), local[0], local[1],
                                                           random.getrandbits(32)),
        "Max-Forwards: 70",
        "From: <%s>;tag=%s" % (a.from_uri, tag),
        "To: <%s>%s" % (to_uri, ";tag=" + to_tag if to_tag else ""),
        "Call-ID: %s" % callid,
        "CSeq: %d %s" % (cseq, a.method),
        "Contact: <%s>" % (a.contact or "sip:test@%s:%d;transport=%s" % (local[0], local[1], a.transport)),
    ] + a.hdr
    if a.expires is not None:
        lines.append("Expires: %s" % a.expires)
    if body:
        lines.append("Content-Type: application/sdp")
    if auth:
        lines.append(auth)
    lines += ["Content-Length: %d" % len(body), "", ""]
    return "\r\n".join(lines).encode() + body


def recv_msg():
    global buf
    if a.transport == "udp":
        return s.recv(65535).decode(errors="replace")
    while True:
        i = buf.find(b"\r\n\r\n")
        if i >= 0:
            m = re.search(rb"\r\nContent-Length:\s*(\d+)", buf[:i], re.I)
            n = i + 4 + (int(m.group(1)) if m else 0)
            if len(buf) >= n:
                msg, buf = buf[:n], buf[n:]
                return msg.decode(errors="replace")
        chunk = s.recv(65535)
        if not chunk:
            raise OSError("connection closed")
        buf += chunk


def final(msg):
    """send, ACK a non-2xx INVITE answer, return the final response"""
    s.send(msg)
    while True:
        r = recv_msg()
        st = int(r.split(" ", 2)[1])
        if st >= 200:
            if a.method == "INVITE":
                ack = msg.decode().split("\r\n")
                via = [l for l in ack if l.startswith("Via:")][0]
                to = re.search(r"^To:.*$", r, re.M).group(0).rstrip("\r")
                s.send(("ACK %s SIP/2.0\r\n%s\r\nMax-Forwards: 70\r\nFrom: <%s>;tag=%s\r\n%s\r\n"
                        "Call-ID: %s\r\nCSeq: %d ACK\r\nContent-Length: 0\r\n\r\n" %
                        (a.ruri, via, a.from_uri, tag, to, callid, cseq)).encode())
            return st, r


def challenges(r):
    out = []
    for m in re.finditer(r"^(?:WWW|Proxy)-Authenticate:\s*Digest\s+(.*)$", r, re.M | re.I):
        params = dict((k.lower(), v.strip('"')) for k, v in
                      re.findall(r'(\w+)=("[^"]*"|[^,\s]+)', m.group(1)))
        out.append(params)
    return out


def report(st, r):
    if a.save:
        open(a.save, "a").write(r)
    ch = challenges(r)
    reason = re.search(r'^Reason:.*text="([^"]*)"', r, re.M)
    print('%d stale=%d algs=%s reason="%s"' % (st, int(any(c.get("stale") == "true" for c in ch)),
          ",".join(c.get("algorithm", "MD5") for c in ch), reason.group(1) if reason else ""))
    sys.stdout.flush()


def authorization(ch, r, nc):
    alg = a.algorithm or ch.get("algorithm", "MD5")
    realm = a.realm or ch["realm"]
    nonce = a.nonce or ch["nonce"]
    uri = a.uri or a.ruri
    user = a.username or a.user
    ha1 = h(alg if alg in H else "MD5", "%s:%s:%s" % (a.user, ch["realm"], a.password))
    ha2 = h(alg if alg in H else "MD5", "%s:%s" % (a.method, uri))
    cnonce = "%016x" % random.getrandbits(64)
    if a.qop == "none":
        resp = h(alg if alg in H else "MD5", "%s:%s:%s" % (ha1, nonce, ha2))
        qop = ""
    else:
        ncs = a.nc if a.nc and nc == 1 else "%08x" % nc
        resp = h(alg if alg in H else "MD5", "%s:%s:%s:%s:%s:%s" % (ha1, nonce, ncs, cnonce, a.qop, ha2))
        qop = ', qop=%s, nc=%s, cnonce="%s"' % (a.qop, ncs, cnonce)
    name = "Authorization" if st == 401 else "Proxy-Authorization"
    return '%s: Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", algorithm=%s%s' % (
        name, user, realm, nonce, uri, resp, alg, qop)


try:
    st, r = final(request())
    report(st, r)
    if st in (401, 407) and not a.no_auth:
        chs = challenges(r)
        ch = next((c for c in chs if not a.algorithm or c.get("algorithm", "MD5") == a.algorithm), chs[0])
        if a.nonce_out:
            open(a.nonce_out, "w").write(ch["nonce"])
        auth = authorization(ch, r, 1)
        st2, r2 = final(request(auth))
        report(st2, r2)
        if a.replay:
            st3, r3 = final(request(auth))
            report(st3, r3)
        if a.replay_to:
            s, local = connect(a.replay_to)
            st3, r3 = final(request(auth))
            report(st3, r3)
        for i in range(a.again):
            st3, r3 = final(request(authorization(ch, r, 2 + i)))
            report(st3, r3)
except (OSError, socket.timeout) as e:
    print("000 no response: %s" % e)
    sys.exit(2)
