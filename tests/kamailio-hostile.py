#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
# kamailio-hostile.py - the attacks of tests/kamailio-hostile.sh, as raw SIP over UDP, TCP, TLS and
# WebSocket against examples/kamailio/kamailio.cfg (b.example) and examples/webrtc/kamailio-edge.cfg
# (c.example) as shipped. Each check asserts a status code and what reached a recording listener: a.example's
# server (A_LOG) and an arbitrary address (X_LOG_UDP, X_LOG_TCP) that nothing may ever reach. Every request
# carries "X-Test: <id>"; the listeners log it. Prints ok/FAIL lines.
#
#   kamailio-hostile.py b|c      (environment: see tests/kamailio-hostile.sh)
import importlib.util, os, re, socket, sys

spec = importlib.util.spec_from_file_location("kamsip", os.path.join(os.path.dirname(__file__), "kamailio-sip.py"))
kamsip = importlib.util.module_from_spec(spec)
spec.loader.exec_module(kamsip)
Conn, Client = kamsip.Conn, kamsip.Client
E = os.environ
fails = 0
XADDR, XPORT = E["X_ADDR"], int(E["X_PORT"])


def ok(what, detail=None):
    print("ok - " + what, flush=True)


def bad(what, detail=None):
    global fails
    fails += 1
    print("FAIL - " + what, flush=True)
    if detail:
        print("\n".join("    " + l for l in str(detail).splitlines()[:14]), flush=True)


def code(r):
    return r.split(" ", 2)[1] if r else "none"


def expect(what, r, codes, reason=None):
    """@r's status is one of @codes (a regex), and its Reason header matches @reason."""
    good = r is not None and re.fullmatch(codes, code(r))
    if good and reason:
        good = re.search(r"^Reason:.*%s" % reason, r, re.M)
    (ok if good else bad)("%s: %s" % (what, r.split("\r\n", 1)[0] if r else "no response"), None if good else r)
    return bool(good)


def log_has(path, tid):
    with open(path) as f:
        return any("| X-Test: %s |" % tid in l for l in f)


def reached(what, tid, want=True, log=None):
    """Whether the request tagged @tid reached a.example's server (or @log)."""
    got = log_has(log or E["A_LOG"], tid)
    (ok if got == want else bad)("%s: %s" % (what, "reached it" if got else "nothing reached it"))


def client(proto, who, auth=None, bind=None, cert=None, key=None, side="b"):
    """A user agent on a new connection to b's Kamailio (udp/tcp/tls) or c's edge (ws/tcp/tls)."""
    addr = E["KB_ADDR"] if side == "b" else E["KC_ADDR"]
    port = {("b", "udp"): E["KB_SIP"], ("b", "tcp"): E["KB_SIP"], ("b", "tls"): E["KB_TLS"],
            ("c", "ws"): E["KC_WS"], ("c", "tcp"): E["KC_WS"], ("c", "tls"): E["KC_TLS"]}[(side, proto)]
    return Client(Conn(proto, addr, int(port), bind, cert, key), who, auth)


def xuri(proto="udp"):
    return "sip:+15551234@%s:%d;transport=%s" % (XADDR, XPORT, proto)


A_CERT, A_KEY = E["TB_CERT_A"], E["TB_KEY_A"]
BOB = ("bob", E["PW_BOB"])
ALICE_B = ("alice", E["PW_ALICE_B"])


def side_b():
    print("# examples/kamailio/kamailio.cfg (b.example)")
    # 1. in-dialog-looking requests from anyone: a To tag and our Route, aimed elsewhere
    u = client("udp", "sip:mallory@evil.example")
    expect("UDP INVITE sip:+15551234@127.0.0.9 with a To tag and Route <sip:b.example;lr>: refused",
           u.request("INVITE", xuri(), to_tag="f00", route=["<sip:b.example;lr>"], hdrs=["X-Test: b1"]), "4[0-9][0-9]")
    u = client("tls", "sip:mallory@evil.example")
    expect("TLS without certificate, in-dialog-looking MESSAGE sip:x@127.0.0.9 over TCP: refused",
           u.request("MESSAGE", xuri("tcp"), to_tag="f00", route=["<sip:b.example;lr>"], hdrs=["X-Test: b2"]),
           "4[0-9][0-9]")
    u = client("tls", "sip:ceo@c.example")
    expect("TLS without certificate, Route b then a, From ceo@c.example: refused",
           u.request("MESSAGE", "sip:alice@a.example", to_tag="f00",
                     route=["<sip:b.example;lr>", "<sip:a.example;lr>"], hdrs=["X-Test: b3"]), "4[0-9][0-9]")
    u = client("tls", "sip:alice@a.example", cert=A_CERT, key=A_KEY)
    expect("a.example's authenticated peer, in-dialog-looking INVITE to 127.0.0.9 (no such dialog): 481",
           u.request("INVITE", xuri(), to_tag="f00", route=["<sip:b.example;lr>"], hdrs=["X-Test: b4"]), "481")
    # 2. "local user" decided by the From domain alone; REGISTER without authentication
    u = client("udp", "sip:mallory@b.example")
    expect("UDP INVITE From mallory@b.example to alice@a.example without credentials: 407",
           u.request("INVITE", "sip:alice@a.example", hdrs=["X-Test: b5"]), "407")
    u = client("udp", "sip:mallory@b.example", BOB)
    expect("the same with bob's credentials (Digest user bob, From mallory): 403",
           u.request("INVITE", "sip:alice@a.example", hdrs=["X-Test: b6"]), "403", "not the authenticated user")
    u = client("udp", "sip:bob@b.example", ("bob", "wrong"))
    expect("bob with a wrong password: challenged again (407)",
           u.request("INVITE", "sip:alice@a.example", hdrs=["X-Test: b7"]), "407")
    u = client("tcp", "sip:mallory@b.example")
    expect("TCP MESSAGE From mallory@b.example to alice@a.example without credentials: 407",
           u.request("MESSAGE", "sip:alice@a.example", hdrs=["X-Test: b8"]), "407")
    u = client("tls", "sip:bob@b.example", cert=E["TB_CERT_ALICE"], key=E["TB_KEY_ALICE"])
    expect("TLS From bob@b.example with alice@a.example's DANCE certificate: 407 (not bob's)",
           u.request("MESSAGE", "sip:alice@a.example", hdrs=["X-Test: b9"]), "407")
    u = client("udp", "sip:bob@b.example")
    expect("REGISTER bob without credentials: 401",
           u.request("REGISTER", "sip:b.example", to="sip:bob@b.example", contact=xuri(), hdrs=["X-Test: b10"]), "401")
    u = client("udp", "sip:bob@b.example", ALICE_B)
    expect("REGISTER bob with alice's credentials: 403",
           u.request("REGISTER", "sip:b.example", to="sip:bob@b.example", contact=xuri(), hdrs=["X-Test: b11"]), "403")
    u = client("tls", "sip:bob@b.example", cert=E["TB_CERT_BOB"], key=E["TB_KEY_BOB"])
    expect("REGISTER alice's address over TLS with bob's DANCE certificate: 403",
           u.request("REGISTER", "sip:b.example", to="sip:alice@b.example", hdrs=["X-Test: b11d"]), "403",
           "its own address")
    u = client("udp", "sip:alice@b.example", ALICE_B)
    expect("REGISTER alice (authenticated) with Contact ...;received=\"sip:127.0.0.9\": 403",
           u.request("REGISTER", "sip:b.example", to="sip:alice@b.example", contact="", hdrs=[
               "X-Test: b11r", 'Contact: <sip:alice@127.0.0.1:9>;received="sip:%s:%d"' % (XADDR, XPORT)]),
           "403", "received")
    u = client("udp", "sip:bob@b.example", BOB)
    expect("then a MESSAGE to alice: 404 (no binding was made)",
           u.request("MESSAGE", "sip:alice@b.example", hdrs=["X-Test: b11m"]), "404")
    u = client("udp", "sip:alice@b.example", ALICE_B)
    expect("then a call to bob: 404 (no binding was made)",
           u.request("INVITE", "sip:bob@b.example", hdrs=["X-Test: b12"]), "404")
    # the positive cases: an authenticated local user reaches the federation (Digest, and DANCE over TLS)
    u = client("udp", "sip:alice@b.example", ALICE_B)
    expect("alice (Digest) MESSAGE to alice@a.example: relayed (200 from a.example's server)",
           u.request("MESSAGE", "sip:alice@a.example", hdrs=["X-Test: b13"]), "200")
    reached("alice's MESSAGE", "b13")
    u = client("tls", "sip:bob@b.example", cert=E["TB_CERT_BOB"], key=E["TB_KEY_BOB"])
    expect("bob over TLS with his DANCE certificate (_user TLSA): relayed without Digest (200)",
           u.request("MESSAGE", "sip:alice@a.example", hdrs=["X-Test: b14"]), "200")
    reached("bob's MESSAGE", "b14")
    # never to an address, an unparsable host or another reading of the URI
    u = client("udp", "sip:alice@b.example", ALICE_B)
    expect("alice (authenticated) INVITE sip:+15551234@127.0.0.9: 403, federation by domain name",
           u.request("INVITE", xuri(), hdrs=["X-Test: b15"]), "403", "by domain name")
    u = client("udp", "sip:alice@b.example", ALICE_B)
    expect("alice (authenticated) INVITE sip:bob@[a.example]: refused",
           u.request("INVITE", "sip:bob@[a.example]", hdrs=["X-Test: b16"]), "4[0-9][0-9]|5[0-9][0-9]")
    u = client("udp", "sip:alice@b.example", ALICE_B)
    expect("alice (authenticated) MESSAGE sip:x@nodane.example..: refused",
           u.request("MESSAGE", "sip:x@nodane.example..", hdrs=["X-Test: b17"]), "4[0-9][0-9]|5[0-9][0-9]")
    u = client("udp", "sip:alice@b.example", ALICE_B)
    expect("alice (authenticated) MESSAGE sip:a.example;@badsig.example: 503 BOGUS (the host Kamailio routes to)",
           u.request("MESSAGE", "sip:a.example;@badsig.example", hdrs=["X-Test: b18"]), "503", "BOGUS")
    u = client("tls", "sip:mallory@[b.example]", cert=E["TB_CERT_B"], key=E["TB_KEY_B"])
    expect("From sip:mallory@[b.example] over TLS with b's own certificate: 403",
           u.request("MESSAGE", "sip:bob@b.example", hdrs=["X-Test: b19"]), "403")
    u = client("udp", "sip:alice@b.example", ALICE_B)
    expect("Max-Forwards: 0: 483", u.request("MESSAGE", "sip:alice@a.example", hdrs=["X-Test: b20", "Max-Forwards: 0"]),
           "483")
    u = client("udp", "sip:alice@b.example", ALICE_B)
    expect("SUBSCRIBE (no dialogs but INVITE's are routed): 405",
           u.request("SUBSCRIBE", "sip:alice@a.example", hdrs=["X-Test: b21", "Event: presence"]), "405")
    # the module on hostile input: long identities are refused, never truncated; the server lives on
    u = client("tls", "sip:%s@%s.a.example" % ("x" * 200, ".".join(["l%02d" % i for i in range(95)])),
               cert=A_CERT, key=A_KEY)
    expect("From with a 389-octet domain over TLS: 403", u.request("MESSAGE", "sip:bob@b.example", hdrs=["X-Test: b22"]),
           "403")
    u = client("tls", "sip:%s@b.example" % ("y" * 900), cert=E["TB_CERT_BOB"], key=E["TB_KEY_BOB"])
    expect("From with a 900-octet user of b.example, bob's certificate: challenged, not authenticated (407)",
           u.request("MESSAGE", "sip:alice@a.example", hdrs=["X-Test: b23"]), "407")
    dialog_b()
    u = client("tls", "sip:bob@b.example", cert=E["TB_CERT_BOB"], key=E["TB_KEY_BOB"])
    expect("REGISTER bob's own address over TLS with his DANCE certificate: 200",
           u.request("REGISTER", "sip:b.example", to="sip:bob@b.example", hdrs=["X-Test: b24", "Expires: 60"]), "200")
    u = client("udp", "sip:probe@b.example")
    expect("Kamailio still answers (keepalive)", u.request("OPTIONS", "sip:b.example"), "200")


def dialog_b():
    """A real dialog bob -> alice@a.example, then requests forged into it."""
    bob = client("udp", "sip:bob@b.example", BOB)
    if not expect("bob calls alice@a.example: 200 from a.example's server",
                  bob.request("INVITE", "sip:alice@a.example", hdrs=["X-Test: d1"]), "200"):
        return
    bob.ack()
    tags = dict(to_tag=bob.to_tag, from_tag=bob.tag)
    other = client("udp", "sip:bob@b.example")
    other.callid = bob.callid
    expect("in-dialog MESSAGE as bob from another socket: 403 (not sent by the dialog party)",
           other.request("MESSAGE", bob.remote, to="sip:alice@a.example", route=bob.route, hdrs=["X-Test: d2"], **tags),
           "403", "not sent by the dialog party")
    expect("in-dialog MESSAGE from bob's socket with From ceo@c.example: 403 (not a party)",
           bob.in_dialog("MESSAGE", from_uri="sip:ceo@c.example", hdrs=["X-Test: d3"]), "403", "not a party")
    ours = [r for r in bob.route if "a.example" not in r]
    expect("in-dialog MESSAGE from bob to sip:x@127.0.0.9 with only our Route: goes by the dialog (200 from a)",
           bob.in_dialog("MESSAGE", xuri(), route=ours, hdrs=["X-Test: d4"]), "200")
    reached("that MESSAGE, at a.example's server (the dialog's next hop)", "d4")
    fake = client("tls", "sip:alice@a.example")
    fake.callid = bob.callid
    expect("in-dialog MESSAGE as alice@a.example over TLS without certificate: 403",
           fake.request("MESSAGE", "sip:bob@b.example", to="sip:bob@b.example", from_tag=bob.to_tag, to_tag=bob.tag,
                        route=["<sip:b.example;lr>"], hdrs=["X-Test: d5"]), "403")
    fake = client("tls", "sip:alice@a.example", cert=E["TB_CERT_C"], key=E["TB_KEY_C"])
    fake.callid = bob.callid
    expect("the same from c.example's DANE-authenticated peer: 403 (not a.example)",
           fake.request("MESSAGE", "sip:bob@b.example", to="sip:bob@b.example", from_tag=bob.to_tag, to_tag=bob.tag,
                        route=["<sip:b.example;lr>"], hdrs=["X-Test: d5c"]), "403")
    other.c.send(other.build("ACK", xuri(), to="sip:alice@a.example", to_tag=bob.to_tag, from_tag=bob.tag,
                             route=bob.route, cseq=bob.invite_cseq, contact="", hdrs=["X-Test: d5a"]))
    fake = client("udp", "sip:alice@a.example")
    fake.callid = bob.callid
    expect("the same over UDP: 403", fake.request(
        "MESSAGE", "sip:bob@b.example", to="sip:bob@b.example", from_tag=bob.to_tag, to_tag=bob.tag,
        route=["<sip:b.example;lr>"], hdrs=["X-Test: d6"]), "403")
    peer = client("tls", "sip:alice@a.example", cert=A_CERT, key=A_KEY)
    peer.callid = bob.callid
    peer.c.send(peer.build("MESSAGE", "sip:bob@%s:%d" % tuple(bob.c.local), to="sip:bob@b.example",
                           from_tag=bob.to_tag, to_tag=bob.tag, route=["<sip:b.example;lr>"], hdrs=["X-Test: d7"]))
    try:
        got = bob.c.recv().decode(errors="replace")
    except (OSError, socket.timeout):
        got = ""
    (ok if got.startswith("MESSAGE ") and "X-Test: d7" in got else bad)(
        "in-dialog MESSAGE from a.example's authenticated peer reaches bob", got)
    if got.startswith("MESSAGE "):
        bob.c.send(("SIP/2.0 200 OK\r\n" + "\r\n".join(
            l for l in got.split("\r\n\r\n")[0].split("\r\n")[1:] if re.match(r"(Via|From|To|Call-ID|CSeq):", l))
            + "\r\nContent-Length: 0\r\n\r\n").encode())
        expect("its 200 goes back to a.example's peer", peer.final(), "200")
    expect("bob hangs up: BYE reaches a.example's server (200)", bob.in_dialog("BYE", hdrs=["X-Test: d8"]), "200")


def side_c():
    print("# examples/webrtc/kamailio-edge.cfg (c.example)")
    alice = ("alice", E["PW_ALICE_C"])
    w = client("ws", "sip:mallory@c.example", side="c")
    expect("WebSocket INVITE From mallory@c.example to alice@a.example without credentials: 407",
           w.request("INVITE", "sip:alice@a.example", hdrs=["X-Test: c1"]), "407")
    w = client("ws", "sip:alice@c.example", side="c")
    expect("WebSocket REGISTER alice without credentials: 401",
           w.request("REGISTER", "sip:c.example", to="sip:alice@c.example", hdrs=["X-Test: c2"]), "401")
    w = client("ws", "sip:alice@c.example", alice, side="c")
    expect("WebSocket REGISTER alice (authenticated) with Contact ...;received=\"sip:127.0.0.9\": 403",
           w.request("REGISTER", "sip:c.example", to="sip:alice@c.example", contact="", hdrs=[
               "X-Test: c2r", 'Contact: <sip:alice@x.invalid;transport=ws>;received="sip:%s:%d;transport=tcp"'
               % (XADDR, XPORT)]), "403", "received")
    w = client("ws", "sip:mallory@c.example", alice, side="c")
    expect("WebSocket INVITE From mallory@c.example with alice's credentials: 403",
           w.request("INVITE", "sip:alice@a.example", hdrs=["X-Test: c3"]), "403")
    w = client("ws", "sip:mallory@evil.example", side="c")
    expect("WebSocket in-dialog-looking INVITE sip:x@a.example, Route <sip:c.example;lr>: refused",
           w.request("INVITE", "sip:x@a.example", to_tag="f00", route=["<sip:c.example;lr>"], hdrs=["X-Test: c4"]),
           "4[0-9][0-9]")
    w = client("ws", "sip:mallory@evil.example", side="c")
    expect("WebSocket in-dialog-looking MESSAGE to sip:x@127.0.0.9 over TCP: refused",
           w.request("MESSAGE", xuri("tcp"), to_tag="f00", route=["<sip:c.example;lr>"], hdrs=["X-Test: c5"]),
           "4[0-9][0-9]")
    t = client("tcp", "sip:alice@c.example", alice, side="c")
    expect("raw SIP over TCP on the WebSocket port From alice@c.example: 403",
           t.request("MESSAGE", "sip:alice@a.example", hdrs=["X-Test: c6"]), "403", "WebSocket")
    t = client("tls", "sip:ceo@b.example", side="c")
    expect("TLS without certificate From ceo@b.example: 403", t.request("MESSAGE", "sip:alice@c.example",
                                                                      hdrs=["X-Test: c7"]), "403")
    w = client("ws", "sip:alice@c.example", alice, side="c")
    expect("alice (WebSocket, Digest) MESSAGE to alice@a.example: relayed (200)",
           w.request("MESSAGE", "sip:alice@a.example", hdrs=["X-Test: c8"]), "200")
    reached("alice's MESSAGE from the browser side", "c8")
    expect("alice (authenticated) INVITE sip:+15551234@127.0.0.9: 403", w.request("INVITE", xuri(), hdrs=["X-Test: c9"]),
           "403", "by domain name")
    w = client("ws", "sip:alice@c.example", alice, side="c")
    if expect("alice calls alice@a.example over WebSocket: 200", w.request("INVITE", "sip:alice@a.example",
                                                                        hdrs=["X-Test: c10"]), "200"):
        w.ack()
        other = client("ws", "sip:alice@c.example", side="c")
        other.callid = w.callid
        expect("in-dialog MESSAGE as alice from another WebSocket connection: 403",
               other.request("MESSAGE", w.remote, to="sip:alice@a.example", to_tag=w.to_tag, from_tag=w.tag,
                             route=w.route, hdrs=["X-Test: c11"]), "403")
        expect("in-dialog MESSAGE to sip:x@127.0.0.9 from alice's connection: by the dialog (200 from a)",
               w.in_dialog("MESSAGE", xuri("tcp"), hdrs=["X-Test: c12"]), "200")
        expect("alice hangs up (200)", w.in_dialog("BYE", hdrs=["X-Test: c13"]), "200")
    t = client("ws", "sip:probe@c.example", side="c")
    expect("the edge still answers (keepalive)", t.request("OPTIONS", "sip:c.example"), "200")


def fence():
    """Nothing tagged by an attack reached a.example's server; nothing reached the arbitrary address."""
    want = {"b13", "b14", "d1", "d4", "d8", "c8", "c10", "c12", "c13"}
    with open(E["A_LOG"]) as f:
        seen = {m.group(1) for m in re.finditer(r"\| X-Test: (\S+) \|", f.read())}
    extra = sorted(seen - want - {"-"})
    (ok if not extra else bad)("a.example's server received only the authenticated requests%s" %
                               (": also " + ", ".join(extra) if extra else ""))
    for p in (E["X_LOG_UDP"], E["X_LOG_TCP"]):
        with open(p) as f:
            lines = f.read().strip()
        (ok if not lines else bad)("nothing ever reached %s:%d (%s)" % (XADDR, XPORT, p.rsplit(".", 2)[-2]), lines)


if sys.argv[1] == "b":
    side_b()
elif sys.argv[1] == "c":
    side_c()
else:
    fence()
sys.exit(1 if fails else 0)
