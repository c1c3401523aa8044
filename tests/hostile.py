#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
# hostile.py - raw SIP and raw TLS clients for tests/proxy-hostile.sh: each
# subcommand is one attack on sipdance-proxy, or a small server the attacks
# aim at, and prints what it saw (one line per fact) for the script to assert.
#
#   hostile.py stall-cert ADDR PORT LPORT CERT KEY HOLDFILE [--rst]
#       TLS 1.3 from local port LPORT: send CERT, then stop before
#       CertificateVerify; hold the connection until HOLDFILE exists, then
#       close it (with --rst: a reset, so that the port is free at once)
#   hostile.py tls ADDR PORT LPORT REQUEST [--cert C --key K] [--hold HOLDFILE]
#       one request over TLS (LPORT 0: any), print the final status line;
#       --hold keeps the connection open until HOLDFILE exists
#   hostile.py udp|tcp ADDR PORT REQUEST [--wait S] [--from PORT]
#       send a request (a file, CRLF line ends), print every response line 1
#       and the size of each; --from binds the source port
#   hostile.py sink udp|tcp ADDR PORT COUNTFILE
#       a server that answers every request with 200 and writes the number of
#       messages it got (and their sizes) to COUNTFILE; SIGTERM ends it
# Request files may hold @LOCAL@ (this socket's ip:port) and @BRANCH@.
import argparse, os, random, select, signal, socket, ssl, sys, time


def load(path, local):
    with open(path, "rb") as f:
        data = f.read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    data = data.replace(b"@LOCAL@", ("%s:%d" % local).encode())
    return data.replace(b"@BRANCH@", b"z9hG4bK-h%08x" % random.getrandbits(32))


def status_lines(data):
    return [l for l in data.split(b"\r\n") if l.startswith(b"SIP/2.0 ")]


def records(buf):
    """Split TLS records off @buf: (list of complete records, rest)."""
    out = []
    while len(buf) >= 5:
        n = 5 + int.from_bytes(buf[3:5], "big")
        if len(buf) < n:
            break
        out.append(buf[:n])
        buf = buf[n:]
    return out, buf


def stall_cert(a):
    """Connection 1 of the impersonation: Certificate sent, CertificateVerify held back."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(a.cert, a.key)
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_side=False)
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", a.lport))
    s.connect((a.addr, a.port))
    s.settimeout(10)
    done = False
    while not done:
        try:
            obj.do_handshake()
            done = True
        except ssl.SSLWantReadError:
            pass
        data = out.read()
        if done:
            break
        if data:
            s.sendall(data)
        got = s.recv(65536)
        if not got:
            print("closed during handshake")
            return 1
        inc.write(got)
    # the client's last flight: [ChangeCipherSpec] Certificate CertificateVerify Finished,
    # one record each; send up to the first encrypted one (Certificate) only
    data += out.read()
    recs, _ = records(data)
    n = next(i for i, r in enumerate(recs) if r[0] == 23) + 1
    s.sendall(b"".join(recs[:n]))
    print("stalled before CertificateVerify (%d of %d records sent)" % (n, len(recs)))
    sys.stdout.flush()
    while not os.path.exists(a.holdfile):
        r, _, _ = select.select([s], [], [], 0.1)
        if r and not s.recv(65536):
            print("server closed connection 1")
            sys.stdout.flush()
            break
    if a.rst:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    s.close()
    return 0


def hold(path, s):
    """Keep socket @s open until @path exists or the peer closes it."""
    print("holding")
    sys.stdout.flush()
    while not os.path.exists(path):
        r, _, _ = select.select([s], [], [], 0.1)
        if r:
            try:
                if not s.recv(65536):
                    break
            except (ssl.SSLError, OSError):
                break


def tls(a):
    """One request over TLS, from a chosen local port; print the final response line."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if a.cert:
        ctx.load_cert_chain(a.cert, a.key)
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    raw.bind(("127.0.0.1", a.lport))
    raw.settimeout(10)
    raw.connect((a.addr, a.port))
    s = ctx.wrap_socket(raw)
    s.sendall(load(a.request, s.getsockname()))
    data = b""
    while True:
        try:
            chunk = s.recv(65536)
        except (socket.timeout, ssl.SSLError, OSError):
            break
        if not chunk:
            break
        data += chunk
        if any(int(l.split()[1]) >= 200 for l in status_lines(data)):
            break
    finals = [l for l in status_lines(data) if int(l.split()[1]) >= 200]
    print(finals[0].decode() if finals else "no final response")
    sys.stdout.flush()
    if a.hold:
        hold(a.hold, s)
    return 0 if finals else 2


def send(a):
    """A raw request over UDP or TCP; print each response's first line and size."""
    kind = socket.SOCK_DGRAM if a.proto == "udp" else socket.SOCK_STREAM
    s = socket.socket(socket.AF_INET, kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", a.source))
    s.settimeout(a.wait)
    s.connect((a.addr, a.port))
    s.sendall(load(a.request, s.getsockname()))
    end = time.time() + a.wait
    while time.time() < end:
        try:
            data = s.recv(65536)
        except (socket.timeout, OSError):
            break
        if not data:
            break
        for l in status_lines(data):
            print("%s size=%d" % (l.decode(), len(data)))
            sys.stdout.flush()
            if a.first and int(l.split()[1]) >= 200:
                return 0
    return 0


def sink(a):
    """Answer every request with 200; count what arrives (COUNTFILE: n and sizes)."""
    seen = []
    kind = socket.SOCK_DGRAM if a.proto == "udp" else socket.SOCK_STREAM
    s = socket.socket(socket.AF_INET, kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a.addr, a.port))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    conns = []
    if kind == socket.SOCK_STREAM:
        s.listen(64)

    def note(data, reply):
        seen.append(len(data))
        with open(a.countfile + ".tmp", "w") as f:
            f.write("%d %s\n" % (len(seen), " ".join(map(str, seen[-50:]))))
        os.rename(a.countfile + ".tmp", a.countfile)
        head = data.split(b"\r\n\r\n")[0].split(b"\r\n")
        if head[0].startswith(b"SIP/2.0") or head[0].startswith(b"ACK "):
            return
        keep = [h for h in head[1:] if h.split(b":")[0].strip().lower() in
                (b"via", b"v", b"from", b"f", b"to", b"t", b"call-id", b"i", b"cseq")]
        reply(b"SIP/2.0 200 OK\r\n" + b"\r\n".join(keep) + b"\r\nContent-Length: 0\r\n\r\n")

    while True:
        r, _, _ = select.select([s] + conns, [], [])
        for x in r:
            if x is s and kind == socket.SOCK_STREAM:
                conns.append(s.accept()[0])
            elif x is s:
                data, peer = s.recvfrom(65536)
                note(data, lambda m: s.sendto(m, peer))
            else:
                data = x.recv(65536)
                if not data:
                    conns.remove(x)
                    x.close()
                else:
                    note(data, x.sendall)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("stall-cert")
    for n in ("addr", "port", "lport", "cert", "key", "holdfile"):
        c.add_argument(n, type=int if "port" in n else str)
    c.add_argument("--rst", action="store_true")
    c = sub.add_parser("tls")
    for n in ("addr", "port", "lport", "request"):
        c.add_argument(n, type=int if "port" in n else str)
    c.add_argument("--cert")
    c.add_argument("--key")
    c.add_argument("--hold")
    for proto in ("udp", "tcp"):
        c = sub.add_parser(proto)
        c.set_defaults(proto=proto)
        c.add_argument("addr")
        c.add_argument("port", type=int)
        c.add_argument("request")
        c.add_argument("--wait", type=float, default=2.0)
        c.add_argument("--source", type=int, default=0)
        c.add_argument("--first", action="store_true", help="stop at the first final response")
    c = sub.add_parser("sink")
    c.add_argument("proto", choices=["udp", "tcp"])
    c.add_argument("addr")
    c.add_argument("port", type=int)
    c.add_argument("countfile")
    a = p.parse_args()
    return {"stall-cert": stall_cert, "tls": tls, "udp": send, "tcp": send, "sink": sink}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
