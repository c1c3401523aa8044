#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
# kamailio-sip.py - send one SIP request over UDP or TLS (optionally with a client certificate)
# and print the first response, for the Kamailio tests (Debian's SIPp has no TLS).
#
#   kamailio-sip.py udp|tls ADDR PORT METHOD REQUEST-URI FROM-URI [--cert C --key K] [--hdr "Name: v"]...
#                   [--to URI] [--contact URI] [--bind ADDR]
# Exit 0 with the response on stdout; 2 when no response arrived within 5 s.
import argparse, random, socket, ssl, sys

p = argparse.ArgumentParser()
p.add_argument("transport", choices=["udp", "tls"])
p.add_argument("addr"); p.add_argument("port", type=int)
p.add_argument("method"); p.add_argument("ruri"); p.add_argument("from_uri")
p.add_argument("--cert"); p.add_argument("--key"); p.add_argument("--sni")
p.add_argument("--hdr", action="append", default=[])
p.add_argument("--to", help="To URI (default: the request URI)")
p.add_argument("--contact", help="Contact URI (default: this socket)")
p.add_argument("--bind", help="local address to send from (default: the kernel's choice)")
a = p.parse_args()

tag = "%08x" % random.getrandbits(32)
callid = "%016x@sipdance-test" % random.getrandbits(64)


def request(local):
    via_tp = "UDP" if a.transport == "udp" else "TLS"
    lines = [
        "%s %s SIP/2.0" % (a.method, a.ruri),
        "Via: SIP/2.0/%s %s:%d;branch=z9hG4bK%08x;rport" % (via_tp, local[0], local[1], random.getrandbits(32)),
        "Max-Forwards: 70",
        "From: <%s>;tag=%s" % (a.from_uri, tag),
        "To: <%s>" % (a.to or a.ruri),
        "Call-ID: %s" % callid,
        "CSeq: 1 %s" % a.method,
        "Contact: <%s>" % (a.contact or "sip:test@%s:%d;transport=%s" % (local[0], local[1], a.transport)),
    ] + a.hdr + ["Content-Length: 0", "", ""]
    return "\r\n".join(lines).encode()


try:
    if a.transport == "udp":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(5)
        if a.bind:
            s.bind((a.bind, 0))
        s.connect((a.addr, a.port))
        s.send(request(s.getsockname()))
        data = s.recv(65535)
    else:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE  # the test is about the server authenticating us
        if a.cert:
            ctx.load_cert_chain(a.cert, a.key)
        raw = socket.create_connection((a.addr, a.port), timeout=5)
        s = ctx.wrap_socket(raw, server_hostname=a.sni)
        s.sendall(request(s.getsockname()))
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65535)
            if not chunk:
                break
            data += chunk
        s.close()
except (OSError, ssl.SSLError) as e:
    print("no response: %s" % e)
    sys.exit(2)
sys.stdout.write(data.decode(errors="replace"))
