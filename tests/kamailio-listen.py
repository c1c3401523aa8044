#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
# kamailio-listen.py - a SIP endpoint that records what reaches it, for the Kamailio tests: every
# request becomes one line in LOG ("<start line> | From: ... | X-Test: ... | from ADDR:PORT over PROTO") and is
# answered with CODE (default 200; nothing for ACK). A 2xx to INVITE carries a To tag, a Contact and,
# with --rr URI, that Record-Route before the request's own (a proxy of the domain it stands for).
#
#   kamailio-listen.py udp|tcp|tls ADDR PORT LOG [--code N] [--cert C --key K] [--rr URI]
# Prints "listening" once the socket is bound; runs until killed.
import argparse, random, re, socket, socketserver, ssl, sys, threading

p = argparse.ArgumentParser()
p.add_argument("proto", choices=["udp", "tcp", "tls"])
p.add_argument("addr"); p.add_argument("port", type=int); p.add_argument("log")
p.add_argument("--code", type=int, default=200)
p.add_argument("--cert"); p.add_argument("--key")
p.add_argument("--rr")
a = p.parse_args()
lock = threading.Lock()
REASONS = {200: "OK", 403: "Forbidden", 480: "Temporarily Unavailable", 486: "Busy Here", 503: "Service Unavailable"}


def record(msg, peer):
    first = msg.split("\r\n", 1)[0]
    frm = re.search(r"^(?:From|f)\s*:\s*(.*?)\r?$", msg, re.M | re.I)
    tid = re.search(r"^X-Test\s*:\s*(.*?)\r?$", msg, re.M | re.I)
    with lock, open(a.log, "a") as f:
        f.write("%s | From: %s | X-Test: %s | from %s:%d over %s\n" % (
            first, frm.group(1) if frm else "-", tid.group(1) if tid else "-", peer[0], peer[1], a.proto))


def answer(msg):
    """The response to request @msg (str), or None for an ACK."""
    first = msg.split("\r\n", 1)[0]
    method = first.split(" ", 1)[0]
    if method == "ACK" or first.startswith("SIP/2.0"):
        return None
    heads = [l for l in msg.split("\r\n\r\n", 1)[0].split("\r\n")[1:]]
    keep = [l for l in heads if re.match(r"(Via|v|From|f|Call-ID|i|CSeq|Record-Route)\s*:", l, re.I)]
    out = ["SIP/2.0 %d %s" % (a.code, REASONS.get(a.code, "Test"))]
    for l in heads:
        if re.match(r"(To|t)\s*:", l, re.I):
            out.append(l if ";tag=" in l else l + ";tag=%08x" % random.getrandbits(32))
    if a.code < 300 and method == "INVITE" and a.rr:
        out.append("Record-Route: <%s>" % a.rr)
    out += [l for l in keep if a.code < 300 or not l.lower().startswith("record-route")]
    if a.code < 300 and method in ("INVITE", "SUBSCRIBE"):
        out.append("Contact: <sip:listener@%s:%d;transport=%s>" % (a.addr, a.port, a.proto))
    out += ["Content-Length: 0", "", ""]
    return "\r\n".join(out).encode()


class Stream(socketserver.BaseRequestHandler):
    def handle(self):
        s, buf = self.request, b""
        if a.proto == "tls":
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(a.cert, a.key)
            try:
                s = ctx.wrap_socket(s, server_side=True)
            except (OSError, ssl.SSLError):
                return
        while True:
            while b"\r\n\r\n" not in buf:
                try:
                    chunk = s.recv(65535)
                except (OSError, ssl.SSLError):
                    return
                if not chunk:
                    return
                buf += chunk
            head, _, rest = buf.partition(b"\r\n\r\n")
            m = re.search(rb"^(?:Content-Length|l)\s*:\s*(\d+)", head, re.M | re.I)
            n = int(m.group(1)) if m else 0
            while len(rest) < n:
                chunk = s.recv(65535)
                if not chunk:
                    return
                rest += chunk
            msg, buf = (head + b"\r\n\r\n" + rest[:n]).decode(errors="replace"), rest[n:]
            if msg.strip():
                record(msg, self.client_address)
                r = answer(msg)
                if r:
                    s.sendall(r)


class Dgram(socketserver.BaseRequestHandler):
    def handle(self):
        data, s = self.request
        msg = data.decode(errors="replace")
        if msg.strip():
            record(msg, self.client_address)
            r = answer(msg)
            if r:
                s.sendto(r, self.client_address)


class TCP(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    address_family = socket.AF_INET6 if ":" in a.addr else socket.AF_INET


class UDP(socketserver.UDPServer):
    allow_reuse_address = True
    address_family = socket.AF_INET6 if ":" in a.addr else socket.AF_INET


srv = UDP((a.addr, a.port), Dgram) if a.proto == "udp" else TCP((a.addr, a.port), Stream)
open(a.log, "a").close()
print("listening", flush=True)
srv.serve_forever()
