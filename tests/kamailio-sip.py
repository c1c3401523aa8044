#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
# kamailio-sip.py - send one SIP request over UDP, TCP, TLS (optionally with a client certificate) or
# WebSocket and print the final response, for the Kamailio tests (Debian's SIPp has no TLS). A 401/407
# is answered once with Digest credentials (--auth). Also a module: tests/kamailio-hostile.py imports
# Conn/Client for dialogs and replays.
#
#   kamailio-sip.py udp|tcp|tls|ws ADDR PORT METHOD REQUEST-URI FROM-URI [--cert C --key K] [--sni NAME]
#                   [--hdr "Name: v"]... [--to URI] [--to-tag T] [--contact URI] [--auth USER:PASSWORD]
#                   [--bind ADDR[:PORT]]
# Exit 0 with the response on stdout; 2 when no response arrived within 5 s (times VG_SLOW).
import argparse, base64, hashlib, os, random, re, socket, ssl, struct, sys

WAIT = 5.0 * float(os.environ.get("VG_SLOW", "1"))


def rand(bits=32):
    return "%0*x" % (bits // 4, random.getrandbits(bits))


class Conn:
    """One client transport: a UDP socket, or a TCP/TLS/WebSocket connection."""

    def __init__(self, transport, addr, port, bind=None, cert=None, key=None, sni=None):
        self.transport, self.buf = transport, b""
        family = socket.AF_INET6 if ":" in addr else socket.AF_INET
        if transport == "udp":
            self.s = socket.socket(family, socket.SOCK_DGRAM)
        else:
            self.s = socket.socket(family, socket.SOCK_STREAM)
        if bind:
            self.s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.s.bind(bind)
        self.s.settimeout(WAIT)
        self.s.connect((addr, port))
        if transport == "tls":
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE  # the tests are about the server authenticating us
            if cert:
                ctx.load_cert_chain(cert, key)
            self.s = ctx.wrap_socket(self.s, server_hostname=sni)
        elif transport == "ws":
            k = base64.b64encode(os.urandom(16)).decode()
            self.s.sendall(("GET / HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                            "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: sip"
                            "\r\n\r\n" % (addr, port, k)).encode())
            head = self._until(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 101"):
                raise OSError("WebSocket handshake refused: %s" % head.split(b"\r\n", 1)[0].decode())
        self.local = self.s.getsockname()[:2]

    def via(self):
        return {"udp": "UDP", "tcp": "TCP", "tls": "TLS", "ws": "WS"}[self.transport]

    def _until(self, mark):
        while mark not in self.buf:
            chunk = self.s.recv(65535)
            if not chunk:
                raise OSError("connection closed")
            self.buf += chunk
        i = self.buf.index(mark) + len(mark)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def _exact(self, n):
        while len(self.buf) < n:
            chunk = self.s.recv(65535)
            if not chunk:
                raise OSError("connection closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def send(self, data):
        if self.transport == "ws":  # one masked text frame
            mask, n = os.urandom(4), len(data)
            head = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else struct.pack("!BH", 0x80 | 126, n))
            data = head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        self.s.sendall(data) if self.transport != "udp" else self.s.send(data)

    def recv(self):
        """The next SIP message (bytes); socket.timeout when none comes."""
        if self.transport == "udp":
            return self.s.recv(65535)
        if self.transport == "ws":
            while True:
                b0, b1 = self._exact(2)
                n = b1 & 0x7F
                if n == 126:
                    n = struct.unpack("!H", self._exact(2))[0]
                elif n == 127:
                    n = struct.unpack("!Q", self._exact(8))[0]
                payload = self._exact(n)
                if b0 & 0x0F in (1, 2):
                    return payload
                if b0 & 0x0F == 8:
                    raise OSError("WebSocket closed")
        head = self._until(b"\r\n\r\n")
        m = re.search(rb"^(?:Content-Length|l)\s*:\s*(\d+)", head, re.M | re.I)
        return head + self._exact(int(m.group(1)) if m else 0)

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def header(msg, name):
    """The first value of header @name (long name) in @msg (str), or None."""
    m = re.search(r"^%s\s*:\s*(.*?)\r?$" % re.escape(name), msg, re.M | re.I)
    return m.group(1) if m else None


def digest(challenge, method, uri, user, password, nc):
    """An Authorization/Proxy-Authorization value answering @challenge (MD5, qop=auth when offered)."""
    p = dict(re.findall(r'(\w+)="?([^",]*)"?', challenge))
    ha1 = hashlib.md5(("%s:%s:%s" % (user, p["realm"], password)).encode()).hexdigest()
    ha2 = hashlib.md5(("%s:%s" % (method, uri)).encode()).hexdigest()
    v = 'Digest username="%s", realm="%s", nonce="%s", uri="%s", algorithm=MD5' % (user, p["realm"], p["nonce"], uri)
    if "auth" in p.get("qop", "").split(","):
        cnonce = rand(64)
        resp = hashlib.md5(("%s:%s:%08x:%s:auth:%s" % (ha1, p["nonce"], nc, cnonce, ha2)).encode()).hexdigest()
        v += ', qop=auth, nc=%08x, cnonce="%s"' % (nc, cnonce)
    else:
        resp = hashlib.md5(("%s:%s:%s" % (ha1, p["nonce"], ha2)).encode()).hexdigest()
    v += ', response="%s"' % resp
    if "opaque" in p:
        v += ', opaque="%s"' % p["opaque"]
    return v


class Client:
    """A user agent on one Conn: requests with Digest retries, and the dialog an INVITE makes."""

    def __init__(self, conn, from_uri, auth=None):
        self.c, self.from_uri, self.auth = conn, from_uri, auth
        self.tag, self.callid, self.cseq, self.nc = rand(), "%s@sipdance-test" % rand(64), 0, 0
        self.route, self.remote, self.to_tag = [], None, None

    def build(self, method, ruri, to=None, to_tag=None, hdrs=(), contact=None, body="", cseq=None, branch=None,
              from_uri=None, from_tag=None, route=()):
        local = "%s:%d" % tuple(self.c.local) if ":" not in self.c.local[0] else "[%s]:%d" % tuple(self.c.local)
        if contact is None:
            contact = "sip:test@%s;transport=%s" % (local, self.c.transport)
        lines = ["%s %s SIP/2.0" % (method, ruri),
                 "Via: SIP/2.0/%s %s;branch=%s;rport" % (self.c.via(), local, branch or "z9hG4bK" + rand())]
        if not any(h.lower().startswith("max-forwards:") for h in hdrs):
            lines.append("Max-Forwards: 70")
        lines += ["From: <%s>;tag=%s" % (from_uri or self.from_uri, from_tag or self.tag),
                  "To: <%s>%s" % (to or ruri, ";tag=" + to_tag if to_tag else ""),
                  "Call-ID: %s" % self.callid,
                  "CSeq: %d %s" % (cseq if cseq is not None else self.cseq, method)]
        lines += ["Route: %s" % r for r in route]
        if contact:
            lines.append("Contact: <%s>" % contact)
        lines += list(hdrs) + ["Content-Length: %d" % len(body.encode()), "", body]
        return "\r\n".join(lines).encode()

    def final(self, method=None):
        """The next final response (str), skipping 1xx; None when nothing comes."""
        try:
            while True:
                m = self.c.recv().decode(errors="replace")
                if m.startswith("SIP/2.0 1"):
                    continue
                if m.startswith("SIP/2.0 "):
                    return m
        except (OSError, socket.timeout):
            return None

    def request(self, method, ruri, **kw):
        """Send one request (and its Digest retry); the final response, or None."""
        self.cseq += 1
        branch = "z9hG4bK" + rand()
        self.c.send(self.build(method, ruri, branch=branch, **kw))
        r = self.final()
        code = r.split(" ", 2)[1] if r else ""
        if code in ("401", "407") and self.auth:
            if method == "INVITE":  # the ACK of the challenge: same branch, hop by hop
                kw2 = dict(kw, to_tag=re.search(r";tag=([^;>\s]+)", header(r, "To") or "").group(1))
                kw2.pop("body", None)
                self.c.send(self.build("ACK", ruri, branch=branch, cseq=self.cseq, contact="", **{
                    k: v for k, v in kw2.items() if k in ("to", "to_tag", "from_uri", "from_tag")}))
            chal = header(r, "WWW-Authenticate" if code == "401" else "Proxy-Authenticate")
            self.nc += 1
            hdr = "%s: %s" % ("Authorization" if code == "401" else "Proxy-Authorization",
                              digest(chal, method, ruri, self.auth[0], self.auth[1], self.nc))
            self.cseq += 1
            kw = dict(kw, hdrs=list(kw.get("hdrs", ())) + [hdr])
            self.c.send(self.build(method, ruri, **kw))
            r = self.final()
        if r and method == "INVITE" and r.startswith("SIP/2.0 2"):
            self.invite_cseq = self.cseq
            self.to_tag = re.search(r";tag=([^;>\s]+)", header(r, "To")).group(1)
            self.route = list(reversed([v.strip() for h in re.findall(r"^Record-Route\s*:\s*(.*?)\r?$", r, re.M | re.I)
                                        for v in h.split(",")]))
            m = re.search(r"<([^>]+)>", header(r, "Contact") or "")
            self.remote = m.group(1) if m else ruri
            self.to_uri = kw.get("to") or ruri
        return r

    def in_dialog(self, method, ruri=None, **kw):
        """An in-dialog request (the route set and remote target of the INVITE's 2xx); the final response."""
        self.cseq += 1
        kw.setdefault("route", self.route)
        kw.setdefault("to_tag", self.to_tag)
        self.c.send(self.build(method, ruri or self.remote, to=self.to_uri, **kw))
        return self.final()

    def ack(self):
        """The ACK of the INVITE's 2xx (end to end, along the route set)."""
        self.c.send(self.build("ACK", self.remote, to=self.to_uri, to_tag=self.to_tag, route=self.route,
                               cseq=self.invite_cseq, contact=""))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("transport", choices=["udp", "tcp", "tls", "ws"])
    p.add_argument("addr"); p.add_argument("port", type=int)
    p.add_argument("method"); p.add_argument("ruri"); p.add_argument("from_uri")
    p.add_argument("--cert"); p.add_argument("--key"); p.add_argument("--sni")
    p.add_argument("--hdr", action="append", default=[])
    p.add_argument("--to", help="To URI (default: the request URI)")
    p.add_argument("--to-tag", help="To tag (an in-dialog-looking request)")
    p.add_argument("--contact", help="Contact URI (default: this socket)")
    p.add_argument("--auth", help="USER:PASSWORD for a 401/407 challenge")
    p.add_argument("--bind", help="local ADDR[:PORT]")
    a = p.parse_args()
    bind = None
    if a.bind:
        h, _, port = a.bind.rpartition(":") if a.bind.count(":") == 1 else (a.bind, "", "0")
        bind = (h, int(port or 0))
    try:
        c = Conn(a.transport, a.addr, a.port, bind, a.cert, a.key, a.sni)
    except (OSError, ssl.SSLError) as e:
        print("no response: %s" % e)
        sys.exit(2)
    ua = Client(c, a.from_uri, tuple(a.auth.split(":", 1)) if a.auth else None)
    r = ua.request(a.method, a.ruri, to=a.to, to_tag=a.to_tag, hdrs=a.hdr, contact=a.contact)
    c.close()
    if r is None:
        print("no response")
        sys.exit(2)
    sys.stdout.write(r)


if __name__ == "__main__":
    main()
