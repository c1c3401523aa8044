#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
# hostile.py - raw SIP and raw TLS clients for tests/proxy-hostile.sh: each
# subcommand is one attack on sipdance-proxy, or a small server the attacks
# aim at, and prints what it saw (one line per fact) for the script to assert.
#
#   hostile.py stall-cert ADDR PORT LPORT CERT KEY --hold HOLDFILE [--rst]
#       TLS 1.3 from local port LPORT: send CERT, then stop before
#       CertificateVerify; hold the connection until HOLDFILE exists, then
#       close it (with --rst: a reset, so that the port is free at once)
#   hostile.py tls ADDR PORT LPORT REQUEST [--cert C --key K] [--hold HOLDFILE [--then REQUEST2]]
#       one request over TLS (LPORT 0: any), print the final status line;
#       --hold keeps the connection open until HOLDFILE exists (with --then:
#       then sends REQUEST2 on it and prints its final status line too)
#   hostile.py udp|tcp ADDR PORT REQUEST [--wait S] [--first] [--bind IP] [--source PORT]
#       send a request (a file, CRLF line ends), print every response's line
#       1 and size (until the first final one with --first)
#   --auth USER:PASSWORD (udp, tcp, invite, tls-ua, stray): answer a Digest
#       challenge once (MD5, qop=auth), as USER of the proxy's --users
#   hostile.py sink udp|tcp ADDR PORT COUNTFILE [--silent]
#       a UAS that answers every request with 200 (To tag, Record-Route
#       copied; --silent: no answer at all) and writes the number of messages
#       it got (and their sizes) to COUNTFILE, the last one to COUNTFILE.last;
#       SIGTERM ends it
#   hostile.py invite ADDR PORT RURI DIALOGFILE
#       INVITE over UDP, ACK the 200; DIALOGFILE gets a BYE of that dialog
#       (Route set from Record-Route, tags, Call-ID) to send later
#   hostile.py tls-ua ADDR PORT AOR COUNTFILE --hold HOLDFILE
#       a user over TLS without a certificate: REGISTER AOR on the connection,
#       then answer every request that comes over it with 200 (counted in
#       COUNTFILE) until HOLDFILE exists
#   hostile.py stray ADDR PORT RURI UASPORT SINKPORT
#       a UAC and the UAS of RURI (at 127.0.0.2:UASPORT): INVITE, 200, then
#       the UAS retransmits the 200 (a stray the proxy must relay), and sends
#       forged ones: the Via under the proxy's pointing at SINKPORT, and a
#       foreign top Via over a stack ending there (both must be dropped);
#       prints how many 200s the UAC got
#   hostile.py conns ADDR PORT N --hold HOLDFILE [--bind IP...] [--send BYTES]
#       open N TCP connections (spread over the --bind addresses), send
#       nothing (or BYTES, hex) and print "open=K closed=M" whenever the
#       server closes some, until HOLDFILE exists
#   hostile.py handshakes ADDR PORT N [--bind IP]
#       open N TCP connections at once, then a TLS handshake on each; print
#       "handshakes ok=K refused=M"
# Request files may hold @LOCAL@ (this socket's ip:port) and @BRANCH@.
import argparse, hashlib, os, random, re, select, signal, socket, ssl, sys, time

# the one factor for time limits (tests/timeout.sh sets VG_SLOW under valgrind)
SLOW = max(1, int(os.environ.get("VG_SLOW") or 1))


def load(path, local):
    with open(path, "rb") as f:
        data = f.read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    data = data.replace(b"@LOCAL@", ("%s:%d" % local).encode())
    return data.replace(b"@BRANCH@", b"z9hG4bK-h%08x" % random.getrandbits(32))


def status_lines(data):
    return [l for l in data.split(b"\r\n") if l.startswith(b"SIP/2.0 ")]


def challenged(data, auth, method_uri):
    """Request @data again, answering the Digest challenge in response @method_uri[2]
    as USER:PASSWORD @auth (MD5, qop=auth; RFC 2617), or None if it is no challenge."""
    resp = method_uri[2]
    if not auth or not resp or int(resp.split()[1]) not in (401, 407):
        return None
    name = b"WWW-Authenticate" if int(resp.split()[1]) == 401 else b"Proxy-Authenticate"
    m = re.search(rb"(?im)^" + name + rb":\s*Digest\s+(.*)$", resp)
    if not m:
        return None
    ch = dict((k.lower(), v.strip(b'"')) for k, v in re.findall(rb'(\w+)=("[^"]*"|[^,\s]+)', m.group(1)))
    user, pw = auth.split(":", 1)
    realm, nonce = ch[b"realm"].decode(), ch[b"nonce"].decode()
    cnonce, nc = "%08x" % random.getrandbits(32), "00000001"
    md5 = lambda t: hashlib.md5(t.encode()).hexdigest()
    ha1, ha2 = md5("%s:%s:%s" % (user, realm, pw)), md5("%s:%s" % method_uri[:2])
    qop = b"qop" in ch
    r = md5("%s:%s:%s:%s:auth:%s" % (ha1, nonce, nc, cnonce, ha2) if qop else "%s:%s:%s" % (ha1, nonce, ha2))
    hdr = 'Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", algorithm=MD5' % (
        user, realm, nonce, method_uri[1], r)
    if qop:
        hdr += ", qop=auth, nc=%s, cnonce=\"%s\"" % (nc, cnonce)
    if b"opaque" in ch:
        hdr += ', opaque="%s"' % ch[b"opaque"].decode()
    hname = b"Authorization" if name == b"WWW-Authenticate" else b"Proxy-Authorization"
    data = re.sub(rb"(?m)^(CSeq:\s*)(\d+)", lambda x: x.group(1) + b"%d" % (int(x.group(2)) + 1), data, 1)
    data = re.sub(rb"branch=[^;\r\n]+", b"branch=z9hG4bK-h%08x" % random.getrandbits(32), data, 1)
    return data.replace(b"\r\nContent-Length:", b"\r\n" + hname + b": " + hdr.encode() +
                        b"\r\nContent-Length:", 1)


def start_line(data):
    """(method, request URI) of request @data."""
    parts = data.split(b"\r\n", 1)[0].split()
    return parts[0].decode(), parts[1].decode()


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
    s.settimeout(10 * SLOW)
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
    while not os.path.exists(a.hold):
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
    raw.settimeout(10 * SLOW)
    raw.connect((a.addr, a.port))
    s = ctx.wrap_socket(raw)
    finals = None
    for n, req in enumerate([a.request] + ([a.then] if a.then else [])):
        if n:
            hold(a.hold, s)
        s.sendall(load(req, s.getsockname()))
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
    if a.hold and not a.then:
        hold(a.hold, s)
    return 0 if finals else 2


def send(a):
    """A raw request over UDP or TCP; print each response's first line and size."""
    kind = socket.SOCK_DGRAM if a.proto == "udp" else socket.SOCK_STREAM
    s = socket.socket(socket.AF_INET, kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a.bind, a.source))
    s.settimeout(a.wait)
    s.connect((a.addr, a.port))
    req = load(a.request, s.getsockname())
    s.sendall(req)
    end = time.time() + a.wait
    while time.time() < end:
        try:
            data = s.recv(65536)
        except (socket.timeout, OSError):
            break
        if not data:
            break
        again = challenged(req, a.auth, start_line(req) + (data,))
        if again:
            req, a.auth = again, None
            s.sendall(req)
            continue
        for l in status_lines(data):
            print("%s size=%d" % (l.decode(), len(data)))
            sys.stdout.flush()
            if a.first and int(l.split()[1]) >= 200:
                return 0
    return 0


def headers(data):
    """(first line, [(name, value)], body) of a SIP message."""
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    hs = []
    for l in lines[1:]:
        if l[:1] in (b" ", b"\t") and hs:
            hs[-1] = (hs[-1][0], hs[-1][1] + b" " + l.strip())
        elif b":" in l:
            n, v = l.split(b":", 1)
            hs.append((n.strip().lower(), v.strip()))
    return lines[0], hs, body


SHORT = {b"v": b"via", b"f": b"from", b"t": b"to", b"i": b"call-id", b"m": b"contact"}


def values(hs, name):
    return [v for n, v in hs if SHORT.get(n, n) == name]


def answer(data, tag, extra=b""):
    """A 200 for request @data: Via, From, To (with @tag), Call-ID, CSeq, Record-Route copied."""
    first, hs, _ = headers(data)
    out = [b"SIP/2.0 200 OK"]
    for n, v in hs:
        n = SHORT.get(n, n)
        if n == b"to" and b";tag=" not in v:
            v += b";tag=" + tag
        if n in (b"via", b"from", b"to", b"call-id", b"cseq", b"record-route"):
            out.append(n.title() + b": " + v)
    return b"\r\n".join(out) + b"\r\n" + extra + b"Content-Length: 0\r\n\r\n"


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
        with open(a.countfile + ".last", "wb") as f:
            f.write(data)
        with open(a.countfile + ".tmp", "w") as f:
            f.write("%d %s\n" % (len(seen), " ".join(map(str, seen[-50:]))))
        os.rename(a.countfile + ".tmp", a.countfile)
        if a.silent or data.startswith(b"SIP/2.0") or data.startswith(b"ACK "):
            return
        reply(answer(data, b"sink%d" % len(seen),
                     b"Contact: <sip:sink@%s:%d>\r\n" % (a.addr.encode(), a.port)))

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


def request(method, ruri, local, tp="UDP", callid=None, extra=b"", cseq=1, ftag=None, user="caller"):
    return (b"%s %s SIP/2.0\r\nVia: SIP/2.0/%s %s:%d;branch=z9hG4bK-h%08x;rport\r\n"
            b"Max-Forwards: 70\r\nFrom: <sip:%s@b.example>;tag=%s\r\nTo: <%s>\r\n"
            b"Call-ID: %s\r\nCSeq: %d %s\r\nContact: <sip:caller@%s:%d>\r\n%s"
            b"Content-Length: 0\r\n\r\n") % (
                method.encode(), ruri.encode(), tp.encode(), local[0].encode(), local[1],
                random.getrandbits(32), user.encode(), ftag or b"f%08x" % random.getrandbits(32),
                ruri.encode(),
                callid or b"h%016x@hostile" % random.getrandbits(64), cseq, method.encode(),
                local[0].encode(), local[1], extra)


def final(sock, wait=5.0):
    """The first final response on UDP socket @sock (provisional ones skipped), or None."""
    end = time.time() + wait
    while time.time() < end:
        sock.settimeout(max(0.05, end - time.time()))
        try:
            data = sock.recv(65536)
        except (socket.timeout, OSError):
            return None
        if data.startswith(b"SIP/2.0 ") and int(data.split()[1]) >= 200:
            return data
    return None


def ack_of(req, resp):
    """The ACK of a non-2xx final response @resp to INVITE @req (RFC 3261 §17.1.1.3)."""
    _, hs, _ = headers(resp)
    first = req.split(b"\r\n", 1)[0].split()
    keep = [l for l in req.split(b"\r\n\r\n")[0].split(b"\r\n")[1:]
            if l.split(b":")[0].lower() in (b"via", b"from", b"call-id", b"max-forwards")]
    cseq = values(hs, b"cseq")[0].split()[0]
    return b"\r\n".join([b"ACK " + first[1] + b" SIP/2.0"] + keep + [
        b"To: " + values(hs, b"to")[0], b"CSeq: " + cseq + b" ACK", b"Content-Length: 0", b"", b""])


def authenticate(sock, req, auth):
    """Send @req on connected UDP @sock and answer its Digest challenge with
    @auth (the challenge of an INVITE ACKed); the request finally sent."""
    sock.send(req)
    resp = final(sock)
    again = challenged(req, auth, start_line(req) + (resp,))
    if not again:
        return req
    if req.startswith(b"INVITE "):
        sock.send(ack_of(req, resp))
    sock.send(again)
    return again


def ask(sock, req, auth, wait=5.0):
    """@req on connected UDP @sock, authenticated with @auth: (final response, request sent)."""
    req = authenticate(sock, req, auth) if auth else (sock.send(req), req)[1]
    return final(sock, wait), req


def ok200(sock, wait=5.0):
    """Whether the next final response on @sock is a 200."""
    resp = final(sock, wait)
    return bool(resp and resp.startswith(b"SIP/2.0 200"))


def user_of(auth):
    return auth.split(":")[0] if auth else "caller"


def invite(a):
    """A dialog through the proxy: INVITE, 200, ACK; a BYE template for later."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.connect((a.addr, a.port))
    local = s.getsockname()
    resp, req = ask(s, request("INVITE", a.ruri, local, user=user_of(a.auth)), a.auth)
    if not resp or not resp.startswith(b"SIP/2.0 200"):
        print("INVITE: %s" % (resp.split(b"\r\n")[0].decode() if resp else "no final response"))
        return 2
    _, hs, _ = headers(resp)
    _, rq, _ = headers(req)
    route = b", ".join(reversed(values(hs, b"record-route")))
    target = values(hs, b"contact")[0].strip(b"<>").split(b">")[0]
    common = b"From: %s\r\nTo: %s\r\nCall-ID: %s\r\n" % (
        values(rq, b"from")[0], values(hs, b"to")[0], values(hs, b"call-id")[0])
    rt = b"Route: %s\r\n" % route if route else b""
    ack = (b"ACK %s SIP/2.0\r\nVia: SIP/2.0/UDP %s:%d;branch=z9hG4bK-a%08x;rport\r\n"
           b"Max-Forwards: 70\r\n%s%sCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n") % (
               target, local[0].encode(), local[1], random.getrandbits(32), rt, common)
    s.send(ack)
    with open(a.dialogfile, "wb") as f:
        f.write(b"BYE %s SIP/2.0\r\nVia: SIP/2.0/@TP@ @LOCAL@;branch=@BRANCH@;rport\r\n"
                b"Max-Forwards: 70\r\n%s%sCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n" % (
                    target, rt, common))
    print("INVITE: 200, Route %s" % route.decode())
    return 0


def tls_ua(a):
    """A user on TLS: REGISTER over the connection, then answer whatever comes on it."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    s = ctx.wrap_socket(socket.create_connection((a.addr, a.port), timeout=10 * SLOW))
    local = s.getsockname()
    user, domain = a.aor.split("@")
    reg = (request("REGISTER", "sip:" + domain, local, "TLS",
                   extra=b"Expires: 300\r\n").replace(
        b"To: <sip:%s>" % domain.encode(), b"To: <sip:%s>" % a.aor.encode()).replace(
        b"From: <sip:caller@b.example>", b"From: <sip:%s>" % a.aor.encode()).replace(
        b"Contact: <sip:caller@", b"Contact: <sip:%s@" % user.encode()).replace(
        b">\r\nContent-Length", b";transport=tls>\r\nContent-Length"))
    s.sendall(reg)
    n = 0
    buf = b""
    s.settimeout(0.1)
    while not os.path.exists(a.hold):
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            continue
        except (ssl.SSLError, OSError):
            break
        if not chunk:
            break
        buf += chunk
        while b"\r\n\r\n" in buf:
            msg, buf = buf.split(b"\r\n\r\n", 1)
            msg += b"\r\n\r\n"
            if msg.startswith(b"SIP/2.0 "):
                again = challenged(reg, a.auth, start_line(reg) + (msg,))
                if again:
                    reg, a.auth = again, None
                    s.sendall(reg)
                    continue
                print("registered: %s" % msg.split(b"\r\n")[0].decode())
                sys.stdout.flush()
                continue
            n += 1
            with open(a.countfile, "w") as f:
                f.write("%d\n" % n)
            if not msg.startswith(b"ACK "):
                s.sendall(answer(msg, b"ua%d" % n, b"Contact: <sip:%s@%s:%d;transport=tls>\r\n" % (
                    user.encode(), local[0].encode(), local[1])))
    return 0


def stray(a):
    """Stray responses: the proxy relays a real one back where the request came from, nothing else."""
    uac = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    uac.bind(("127.0.0.1", 0))
    uac.connect((a.addr, a.port))
    uas = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    uas.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    uas.bind(("127.0.0.2", a.uasport))
    uas.settimeout(5 * SLOW)
    req = request("INVITE", a.ruri, uac.getsockname(), user=user_of(a.auth))
    if a.auth:
        authenticate(uac, req, a.auth)
    else:
        uac.send(req)
    try:
        inv, proxy = uas.recvfrom(65536)
    except socket.timeout:
        print("the INVITE never reached the UAS")
        return 2
    ok = answer(inv, b"uas1", b"Contact: <sip:uas@127.0.0.2:%d>\r\n" % a.uasport)
    uas.sendto(ok, proxy)
    got = ok200(uac)
    # the proxy's transaction is over: this one is a stray, the proxy must relay it
    uas.sendto(ok, proxy)
    got += ok200(uac, 2)
    first, hs, _ = headers(ok)
    vias = values(hs, b"via")
    sink = b"SIP/2.0/UDP 127.0.0.2:%d;branch=z9hG4bK-sink;rport=%d;received=127.0.0.2" % (
        a.sinkport, a.sinkport)
    # the proxy's own Via on top, the next one changed to point at the sink
    forged = ok.replace(vias[1], sink, 1)
    uas.sendto(forged, proxy)
    # a top Via that is not the proxy's at all over a stack that ends at the sink
    fake = ok.replace(b"Via: " + vias[0], b"Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-x\r\n"
                      b"Via: SIP/2.0/UDP 192.0.2.2:5060;branch=z9hG4bK-y\r\nVia: " + sink, 1)
    uas.sendto(fake, proxy)
    got += ok200(uac, 1)
    print("uac got %d 200s" % got)
    return 0


def conns(a):
    """Silent (or almost silent) connections: which ones the server closes, and when."""
    socks, closed, last = [], set(), None
    for i in range(a.n):
        s = socket.socket()
        s.bind((a.bind[i % len(a.bind)], 0))
        s.settimeout(10 * SLOW)
        try:
            s.connect((a.addr, a.port))
        except OSError:
            closed.add(i)
            continue
        if a.send:
            s.send(bytes.fromhex(a.send))
        socks.append((i, s))
    while not os.path.exists(a.hold):
        state = "open=%d closed=%d" % (a.n - len(closed), len(closed))
        if state != last:
            print(state)
            sys.stdout.flush()
            last = state
        r, _, _ = select.select([s for i, s in socks if i not in closed], [], [], 0.1)
        for s in r:
            i = next(i for i, x in socks if x is s)
            try:
                gone = not s.recv(4096)
            except OSError:
                gone = True
            if gone:
                closed.add(i)
    return 0


def handshakes(a):
    """N connections opened at once, then a TLS handshake on each."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    socks, ok = [], 0
    for _ in range(a.n):
        s = socket.socket()
        s.bind((a.bind, 0))
        s.settimeout(10 * SLOW)
        s.connect((a.addr, a.port))
        socks.append(s)
    for s in socks:
        try:
            ctx.wrap_socket(s).close()
            ok += 1
        except (ssl.SSLError, OSError):
            s.close()
    print("handshakes ok=%d refused=%d" % (ok, a.n - ok))
    return 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("stall-cert")
    for n in ("addr", "port", "lport", "cert", "key"):
        c.add_argument(n, type=int if "port" in n else str)
    c.add_argument("--hold", required=True)
    c.add_argument("--rst", action="store_true")
    c = sub.add_parser("tls")
    for n in ("addr", "port", "lport", "request"):
        c.add_argument(n, type=int if "port" in n else str)
    c.add_argument("--cert")
    c.add_argument("--key")
    c.add_argument("--hold")
    c.add_argument("--then", help="a second request on the connection, once HOLDFILE exists")
    for proto in ("udp", "tcp"):
        c = sub.add_parser(proto)
        c.set_defaults(proto=proto)
        c.add_argument("addr")
        c.add_argument("port", type=int)
        c.add_argument("request")
        c.add_argument("--wait", type=float, default=2.0)
        c.add_argument("--source", type=int, default=0, help="source port")
        c.add_argument("--bind", default="127.0.0.1", help="source address")
        c.add_argument("--first", action="store_true", help="stop at the first final response")
        c.add_argument("--auth", help="USER:PASSWORD answering a Digest challenge")
    c = sub.add_parser("sink")
    c.add_argument("proto", choices=["udp", "tcp"])
    c.add_argument("addr")
    c.add_argument("port", type=int)
    c.add_argument("countfile")
    c.add_argument("--silent", action="store_true")
    c = sub.add_parser("invite")
    for n in ("addr", "port", "ruri", "dialogfile"):
        c.add_argument(n, type=int if n == "port" else str)
    c.add_argument("--auth")
    c = sub.add_parser("tls-ua")
    for n in ("addr", "port", "aor", "countfile"):
        c.add_argument(n, type=int if n == "port" else str)
    c.add_argument("--hold", required=True)
    c.add_argument("--auth")
    c = sub.add_parser("stray")
    for n in ("addr", "port", "ruri", "uasport", "sinkport"):
        c.add_argument(n, type=int if "port" in n else str)
    c.add_argument("--auth")
    c = sub.add_parser("conns")
    for n in ("addr", "port", "n"):
        c.add_argument(n, type=int if n in ("port", "n") else str)
    c.add_argument("--hold", required=True)
    c.add_argument("--bind", nargs="+", default=["127.0.0.1"])
    c.add_argument("--send")
    c = sub.add_parser("handshakes")
    for n in ("addr", "port", "n"):
        c.add_argument(n, type=int if n in ("port", "n") else str)
    c.add_argument("--bind", default="127.0.0.1")
    a = p.parse_args()
    return {"stall-cert": stall_cert, "tls": tls, "udp": send, "tcp": send, "sink": sink,
            "invite": invite, "tls-ua": tls_ua, "stray": stray, "conns": conns,
            "handshakes": handshakes}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
