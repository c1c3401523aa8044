# SPDX-License-Identifier: BSD-2-Clause
"""scenarios.py - the federated call demo's scenarios (demo.py runs them in the order of SCENARIOS).

A scenario is a method of Scenarios, which demo.Demo inherits: self is the running demo (its
processes, ports, logs and transcript; see demo.py). It calls self.begin(KEY, TITLE, EXPECTED)
first and self.end(OBSERVED) last, and in between does what it shows and checks each outcome with
self.step(OK, TEXT, DETAIL) (one transcript line, pass or fail; self.info for a line that is not a
check). self.begin(..., ladder=dict(...)) tells report.py how to draw the scenario's messages
(report.ladder_msgs). A scenario that raises is a failed one; the next still runs. To add one: a
method here and its entry in SCENARIOS at the bottom.
"""
import os
import re
import select
import socket
import time

from report import fingerprints, hget, parse_tport_log, sip_headers

# alice's number (a.example signs for ORIG_TN's range) and the one she calls in scenario 3
ORIG_TN, DEST_TN = "12025551000", "12025552000"
# where a.example's SHAKEN certificate is said to be (the verifier has it cached)
X5U = "https://sti.a.example/shaken.pem"


class Scenarios:
    """the scenarios and the checks they share, mixed into demo.Demo"""

    # ------------------------------------------------ scenarios

    def s1(self):
        self.begin("1", "alice calls bob",
                   "DANE both ways, fingerprints byte-identical, DTLS-SRTP verified on both ends, SRTP both ways")
        since = time.time()
        ma, mb, mbs = self.marks()
        ua = self.alice("alice-1", "sip:bob@b.example", duration=15, tls=True)
        self.talk("alice-1", ua, r"media secure|call failed|media failed")
        ua_log = self.log("alice-1")
        alog = self.a_log_since(ma)
        blog = self.log("proxy-b")[mb:]
        self.step("registered sip:alice@a.example" in ua_log and re.search(r"registrar: REGISTER alice@a\.example: <sips?:", alog),
                  "alice = sipdance-ua registered at a.example (TLS)")
        m = re.search(r"auth: peer=\S+ user=alice@a\.example method=(INVITE) rule=dane-clientid verdict=MATCH "
                      r"\(([^)]*)", alog)
        self.step(m is not None, "a.example authenticated alice (REGISTER and INVITE) by dane_clientid and her "
                  "_user TLSA", "INVITE " + m.group(2) if m else "no dane-clientid MATCH for alice's INVITE")
        ch = re.search(r"tls: inbound \S+: dane_clientid \S+ MATCH via=client-chain \(([^)]*)\)", alog)
        self.step(ch is not None and m is not None and "via=client-chain" in m.group(2),
                  "alice shipped her own DNSSEC chain: a.example validated it offline (via=client-chain), "
                  "no lookup of her name", ch.group(1) if ch else "no via=client-chain line")
        m = re.search(r"fed: new TLS connection to (\S+) for b\.example \(SNI (\S+), rule ([\w-]+)\)", alog)
        self.step(m is not None and m.group(3) == "secure-tlsa",
                  "a.example located b.example with DNSSEC (NAPTR -> SRV -> A) and chose DANE",
                  "TLS to %s, SNI %s, rule %s" % m.groups() if m else "no new TLS connection logged")
        m = self.auth(alog, "b.example", outbound=True)
        self.step(m is not None and m["verdict"] == "MATCH",
                  "DANE: a.example authenticated b.example's proxy inside the TLS handshake",
                  "rule %s, %s" % (m["rule"], m["text"]) if m else "no auth line")
        ch = re.findall(r"chain: (sip\.b\.example:\d+ authenticated by its DNSSEC chain[^\n]*)", alog)
        self.step(m is not None and m["via"] == "rfc9102" and bool(ch),
                  "RFC 9102: b.example's proxy served its DNSSEC chain, a validated it offline (no TLSA query)",
                  ch[0] if ch else "no chain line")
        m = self.auth(blog, "a.example", outbound=False)
        self.step(m is not None and m["verdict"] == "MATCH",
                  "b.example authenticated a.example's proxy as TLS client before trusting From a.example",
                  "rule %s, %s" % (m["rule"], m["text"]) if m else "no auth line")
        self.step(m is not None and m["rule"] == "dane-clientid",
                  "a.example's proxy named itself sip.a.example (dane_clientid); b matched its client TLSA")
        ok, detail, _, _ = self.sdp_identical(since, "alice", r"INVITE ")
        self.step(ok, "SDP offer and answer arrived byte-identical (a=fingerprint, a=setup)", detail)
        _, a_rx, b_rx = self.media_checks(ua_log, mbs)
        bye = self.msgs("proxy-b", "recv", r"BYE ", since)
        self.step(bool(bye) and ("call ended by peer" in ua_log) and ua.returncode == 0,
                  "bob hung up after a few seconds; alice's UA exit 0", "BYE from baresip, ua exit %s" % ua.returncode)
        self.step(*self.over_flow(since, r"BYE ", "bob's BYE"))
        self.end("media authenticated both ends; alice got %d, bob %d SRTP packets" % (a_rx, b_rx))

    def s2(self):
        self.begin("2", "bob calls alice",
                   "b authenticates a (its RFC 9102 chain), media verified both ends")
        since = time.time()
        ma, mb, mbs = self.marks()
        k0 = self.knot_stats()
        ua = self.alice("alice-2", None, answer=True, duration=15, tls=True)
        if not self.wait_for("alice-2", r"waiting for a call", 5, ua):
            self.step(False, "alice registered and waiting", self.log("alice-2")[-200:])
        k1 = self.knot_stats()
        reg = re.search(r"user=alice@a\.example method=REGISTER rule=dane-clientid verdict=MATCH \(([^)]*via="
                        r"client-chain)", self.a_log_since(ma))
        self.step(reg is not None and k0 == k1,
                  "alice registers over TLS with her own DNSSEC chain: authenticated via=client-chain, and Knot "
                  "answered no DNS query meanwhile", "%s; Knot queries %d -> %d" % (
                      reg.group(1) if reg else "no via=client-chain REGISTER", sum(k0.values()), sum(k1.values())))
        self.ctrl("dial", "sip:alice@a.example")
        self.talk("alice-2", ua, r"media secure|media failed|refusing")
        ua_log = self.log("alice-2")
        blog = self.log("proxy-b")[mb:]
        # b's connection to a may predate this call (bob's BYE in scenario 1 opened it): the
        # latest outbound authentication of a.example in b's whole log is the one in use
        ball = self.log("proxy-b")
        fresh = re.search(r"fed: new TLS connection to \S+ for a\.example", blog) is not None
        au = self.auth(ball, "a.example", outbound=True, last=True)
        sent = self.msgs("proxy-b", "send", r"INVITE ", since)
        self.step(au is not None and au["verdict"] == "MATCH" and any(m.transport == "tls" for m in sent),
                  "DANE: b.example authenticated a.example's proxy (TLS server) before sending the INVITE",
                  "rule %s, %s%s" % (au["rule"], au["text"], "" if fresh else
                                     "; connection opened for bob's BYE in scenario 1, reused") if au else
                  "no authentication logged")
        ch = re.findall(r"chain: (sip\.a\.example:\d+ authenticated by its DNSSEC chain[^\n]*)", ball)
        self.step(au is not None and au["via"] == "rfc9102" and bool(ch),
                  "RFC 9102: a.example's proxy served its DNSSEC chain; b validated it offline, no TLSA query",
                  ch[-1] if ch else "no chain line")
        au = self.auth(self.log("proxy-a"), "b.example", outbound=False, last=True)
        self.step(au is not None and au["verdict"] == "MATCH",
                  "a.example accepted From bob@b.example only from a TLS client authenticated for b.example",
                  "rule %s, %s" % (au["rule"], au["text"]) if au else "no inbound authentication of b.example")
        self.step(*self.over_flow(since, r"INVITE ", "bob's INVITE"))
        ok, detail, _, _ = self.sdp_identical(since, "bob", r"INVITE ")
        self.step(ok, "SDP offer and answer arrived byte-identical", detail)
        _, a_rx, b_rx = self.media_checks(ua_log, mbs)
        self.step(("call ended by peer" in ua_log) and ua.returncode == 0,
                  "bob hung up; alice's UA exit 0", "ua exit %s" % ua.returncode)
        self.end("media authenticated both ends; alice got %d, bob %d SRTP packets" % (a_rx, b_rx))

    def s3(self):
        self.begin("3", "alice calls +1 202 555 2000",
                   "SHAKEN PASSporT signed, routed to the E.164 next hop, verified there, Identity unchanged, no DANE lookup")
        since = time.time()
        ma, _, _ = self.marks()
        k0 = self.knot_stats()
        target = "<sip:+%s@a.example;user=phone>" % DEST_TN
        aor = "<sip:+%s@a.example;user=phone>" % ORIG_TN
        self.info("alice calls as her number +%s (From %s)" % (ORIG_TN, aor))
        ua = self.alice("alice-3", target, duration=3, register=False, aor=aor,
                        proxy="sip:127.0.0.1:%d" % self.p["a_sip"])
        self.reap(ua, 10)
        k1 = self.knot_stats()
        alog = self.a_log_since(ma)
        ua_log = self.log("alice-3")
        v = [x for x in self.verdicts if x[0] >= since]
        into_a = [m for m in self.msgs("proxy-a", "recv", r"INVITE sip:\+", since) if m.peer[0] == "127.0.0.1"]
        out_a = self.msgs("proxy-a", "send", r"INVITE sip:\+", since)
        self.step(bool(v) and bool(out_a) and out_a[0].peer[1] == self.p["vrf"],
                  "proxy a routed the number to its --e164-route next hop (127.0.0.1:%d)" % self.p["vrf"],
                  "no INVITE reached the verifier" if not v else "INVITE %s" % target)
        id_in = hget(into_a[0].hdrs, "identity", True) if into_a else []
        id_out = hget(out_a[0].hdrs, "identity", True) if out_a else []
        id_v = v[0][4] if v else []
        dg = re.search(r"auth: peer=\S+ (user=alice@a\.example method=INVITE rule=digest verdict=MATCH attest=A .*)",
                       alog)
        self.step(dg is not None, "proxy a authenticated alice by Digest, entitled to her number: attestation A",
                  dg.group(1) if dg else "no Digest MATCH for alice's INVITE")
        sg = re.search(r"stir: (sign .*)", alog)
        self.step(bool(id_out) and not id_in, "proxy a signed a SHAKEN PASSporT and added the Identity header",
                  sg.group(1) if sg else short_id(id_out))
        self.step(bool(id_v) and id_v == id_out, "the Identity header arrived at the next hop unchanged")
        self.step(bool(v) and v[0][2] == 480 and "verified" in v[0][3],
                  "next hop verified the PASSporT (sipdance passport verify): signature, STI-CA chain, "
                  "TNAuthList, iat, orig/dest, mky",
                  "%d %s" % (v[0][2], v[0][3]) if v else "no verdict")
        dq = {t: k1.get(t, 0) - k0.get(t, 0) for t in ("NAPTR", "SRV", "TLSA", "A", "AAAA")}
        fed = re.search(r"^.*(fed: |auth: peer=\S+ domain=).*$", alog, re.M)  # DANE decisions, not user auth
        self.step(bool(k0) and sum(dq.values()) == 0 and fed is None, "no DNS/DANE lookup for the number",
                  "Knot counted %s new NAPTR/SRV/TLSA/A/AAAA queries; no DANE decision at a" % sum(dq.values())
                  if k0 else "Knot's query counters unavailable")
        m = re.search(r"call failed: (\d+) (.*)", ua_log)
        self.info("alice's UA: %s" % (m.group(0) if m else ua_log.strip().split("\n")[-1:]))
        self.s3_identity = id_v[0] if id_v else None
        self.s3_fps = fingerprints(out_a[0].body) if out_a else []
        self.end("Identity verified at the next hop (attest A, mky), no DNS lookup" if v and v[0][2] == 480
                 else "not verified: %s" % (v[0][3] if v else "nothing reached the next hop"))

    def s4a(self):
        self.begin("4a", "attack: a hop rewrites a=fingerprint",
                   "bob's DTLS refuses alice's certificate, no media, call torn down")
        since = time.time()
        ma, mb, mbs = self.marks()
        stop_relay = self.relay("mitm", self.mitm_fingerprint)
        ua = self.alice("alice-4a", "sip:bob@b.example", proxy="sip:127.0.0.1:%d" % self.p["relay"],
                        register=False, duration=4)
        self.reap(ua, 12)
        stop_relay()
        self.wait_for("baresip", r"Call with .* terminated", 5, offset=mbs)
        ua_log = self.log("alice-4a")
        bsl = self.bs_log_since(mbs)
        sent = [m for m in self.extra_msgs if m.who == "mitm" and m.dir == "recv" and m.t >= since
                and m.first.startswith("INVITE")]
        got = self.msgs("proxy-b", "send", r"INVITE sip:bob", since)
        f_sent = fingerprints(sent[0].body) if sent else []
        f_got = fingerprints(got[0].body) if got else []
        self.step(bool(f_sent) and bool(f_got) and f_sent != f_got,
                  "the offer reached bob with a rewritten a=fingerprint (the proxies carried what they got)",
                  "alice sent %s, bob got %s" % (short_fp(f_sent), short_fp(f_got)))
        mm = re.search(r"fingerprint mismatch", bsl)
        self.step(mm is not None, "bob (baresip) refused the DTLS handshake: certificate does not match a=fingerprint",
                  "dtls_srtp: SHA-256 fingerprint mismatch" if mm else "no mismatch logged")
        bsp = re.findall(r"^packets:\s+(\d+)\s+(\d+)", bsl, re.M)
        pk = re.findall(r"packets sent (\d+) received (\d+)", ua_log)
        rx = int(pk[-1][1]) if pk else 0
        self.step(rx == 0 and (not bsp or int(bsp[-1][1]) == 0) and ua.returncode not in (0, None),
                  "no SRTP accepted on either side, call torn down",
                  "alice received %d, bob received %s, alice's UA exit %s" % (rx, bsp[-1][1] if bsp else 0, ua.returncode))
        self.end("media refused: bob's fingerprint check failed")

    def s4b(self):
        self.begin("4b", "attack: b's TLSA replaced by a wrong key",
                   "a refuses to send: fast 502 with a Reason naming the mismatch")
        owner = "_%d._tcp.sip.b.example." % self.p["b_tls"]
        err = self.zone_edit("b.example.", owner, "TLSA", "3 1 1 " + self.env["TB_SPKI_WRONG"])
        self.info("knotc: %s TLSA 3 1 1 %s... (signed, valid DNSSEC, wrong key)"
                  % (owner, self.env["TB_SPKI_WRONG"][:12]) if not err else "knotc failed: " + err)
        # a keeps using a live connection it authenticated before the change: b's proxy
        # restarts (closing it) and a's cache is flushed (SIGHUP), as after the TTL. b's proxy
        # refuses to serve an RFC 9102 chain whose TLSA names another key (it would not start):
        # it serves none, and a judges b by the TLSA records in DNS
        self.restart_b(["--chain", "off"])
        self.flush_a()
        self.info("b.example's proxy restarted (a's connection to it closed), a's DNS cache flushed (SIGHUP)")
        since = time.time()
        ma, _, _ = self.marks()
        st, reason, at_b, ms, ua = self.refused_call("alice-4b", since)
        alog = self.a_log_since(ma)
        au = self.auth(alog, "b.example", outbound=True)
        self.step(au is not None and au["verdict"] == "NOMATCH",
                  "a.example: b's certificate does not match the TLSA now published",
                  "rule %s, %s" % (au["rule"], au["text"]) if au else "no auth line")
        self.step(st in ("502", "503") and reason is not None and "mismatch" in reason and ms < self.handshake_ms,
                  "alice's call refused fast (within the %d ms handshake limit) with a Reason header"
                  % self.handshake_ms, "%s in %d ms, Reason: %s" % (st, ms, reason))
        self.step(not at_b, "b.example never received the INVITE")
        # back to the generated zone; b restarts to serve an RFC 9102 chain of the right TLSA
        self.zone_reload("b.example.")
        self.restart_b()
        self.flush_a()
        self.end('%s "%s" in %d ms' % (st, reason_text(reason), ms))

    def s4c(self):
        self.begin("4c", "attack: b.example's zone made bogus",
                   "DNSSEC says BOGUS: a refuses, Reason names bogus")
        r = self.run(["kdig", "@127.0.0.1", "-p", str(self.p["dns"]), "+short", "b.example.", "DS"])
        ds = r.stdout.strip().split("\n")[0].split()
        if len(ds) >= 4:
            dig = ds[3:]
            d = "".join(dig)
            bad = ("0" if d[0] != "0" else "1") + d[1:]
            err = self.zone_edit("example.", "b.example.", "DS", " ".join(ds[:3] + [bad]))
        else:
            err = "no DS for b.example: %s" % r.stdout
        self.info("knotc: b.example. DS %s ... in example. (signed by example.) now matches no key of b.example%s"
                  % (" ".join(ds[:3]), "" if not err else " (failed: %s)" % err))
        self.flush_a()
        since = time.time()
        ma, _, _ = self.marks()
        st, reason, at_b, ms, ua = self.refused_call("alice-4c", since)
        alog = self.a_log_since(ma)
        au = self.auth(alog, "b.example")
        self.step(au is not None and "BOGUS" in (au["why"].upper() + au["verdict"]),
                  "a.example: DNSSEC validation of b.example fails (BOGUS)",
                  "rule %s, %s" % (au["rule"], au["text"]) if au else "no auth line")
        self.step(st in ("502", "503") and reason is not None and "bogus" in reason.lower(),
                  "alice's call refused with a Reason header", "%s in %d ms, Reason: %s" % (st, ms, reason))
        self.step(not at_b and "new TLS connection to 127.0.0.2" not in alog,
                  "no connection to b.example was even attempted")
        self.zone_reload("example.")
        self.flush_a()
        self.end('%s "%s" in %d ms' % (st, reason_text(reason), ms))

    def s4d(self):
        self.begin("4d", "attack: stale and replayed PASSporTs",
                   "403 Stale Date for an old iat; a replay of a used PASSporT refused", ladder=dict(verifier="attacker"))
        dst = ("127.0.0.1", self.p["vrf"])
        ruri = "sip:+%s@127.0.0.1:%d;user=phone" % (DEST_TN, self.p["vrf"])
        frm = "<sip:+%s@a.example;user=phone>" % ORIG_TN
        to = "<sip:+%s@a.example;user=phone>" % DEST_TN
        stale = self.sign(iat=time.time() - 5 * self.max_age)
        first, reason = self.sip_uac(dst, ruri, frm, to, ["Identity: %s" % stale])
        self.step(first is not None and first.startswith("SIP/2.0 403") and reason and "old" in reason,
                  "a PASSporT signed %d minutes ago (captured, replayed late): refused as stale" % (5 * self.max_age // 60),
                  "%s, Reason: %s" % (first, reason))
        ident = getattr(self, "s3_identity", None)
        if ident:
            first, reason = self.sip_uac(dst, ruri, frm, to, ["Identity: %s" % ident])
            self.step(first is not None and first.startswith("SIP/2.0 438") and reason and "mky" in reason,
                      "scenario 3's fresh PASSporT replayed with the attacker's own SDP: mky refuses it",
                      "%s, Reason: %s" % (first, reason))
            fps = "".join("%s\r\n" % f for f in getattr(self, "s3_fps", []))
            first, reason = self.sip_uac(dst, ruri, frm, to, ["Identity: %s" % ident], fps)
            self.step(first is not None and first.startswith("SIP/2.0 403") and reason and "replay" in reason,
                      "the same PASSporT replayed with alice's a=fingerprint copied too: the replay cache refuses it",
                      "%s, Reason: %s" % (first, reason))
        else:
            self.step(False, "replay of scenario 3's PASSporT", "scenario 3 produced no PASSporT to replay")
        self.end("stale: 403 Stale Date; replayed: 438 (mky), 403 (replay cache)")

    def s4e(self):
        self.begin("4e", "attack: alice claims another's address",
                   "403 with a Reason header", ladder=dict(alice="alice (attacker)"))
        first, reason = self.sip_uac(("127.0.0.1", self.p["a_sip"]), "sip:bob@b.example",
                                     "<sip:ceo@b.example>", "<sip:bob@b.example>", [])
        self.step(first is not None and first.startswith("SIP/2.0 403") and reason and "forged" in reason,
                  "alice sends From ceo@b.example through a.example: refused, b.example never vouched for it",
                  "%s, Reason: %s" % (first, reason))
        first, reason = self.sip_uac(("127.0.0.2", self.p["b_sip"]), "sip:bob@b.example",
                                     "<sip:alice@a.example>", "<sip:bob@b.example>", [])
        self.step(first is not None and first.startswith("SIP/2.0 403") and reason and "forged" in reason,
                  "a host that is not a.example's proxy sends From alice@a.example straight to b.example: refused",
                  "%s, Reason: %s" % (first, reason))
        ma, _, _ = self.marks()
        ua = self.alice("alice-4e", "sip:bob@b.example", duration=2, tls=True)
        self.reap(ua, 10)
        alog = self.a_log_since(ma)
        m = re.search(r"auth: peer=\S+ user=alice@a\.example method=(INVITE) rule=dane-clientid verdict=MATCH "
                      r"\(([^)]*)", alog)
        self.step(m is not None and "TLS client identity" in self.log("alice-4e"),
                  "alice's own UA over TLS (sipdance-ua --tls-cert): her INVITE is authenticated as alice@a.example "
                  "by dane_clientid and her _user TLSA", "INVITE " + m.group(2) if m else "no dane-clientid MATCH for her INVITE")
        self.user_claims()
        self.end('403 "forged domain"; 403 "identity mismatch"')

    def s4f(self):
        self.begin("4f", "attack: no authentication, no vouching",
                   "an unauthenticated REGISTER and INVITE are challenged, nothing is bound, routed or signed",
                   ladder=dict(alice="attacker", register=True))
        ma, mb, _ = self.marks()
        a = ("127.0.0.1", self.p["a_sip"])
        first, reason = self.sip_req(a, "REGISTER", "sip:a.example", "<sip:alice@a.example>",
                                     "<sip:alice@a.example>", "sip:alice@192.0.2.66:5060")
        alog = self.a_log_since(ma)
        self.step(first is not None and first.startswith("SIP/2.0 401") and
                  not re.search(r"registrar: .*192\.0\.2\.66", alog),
                  "an attacker's REGISTER of alice's address to his own contact: challenged, no binding made",
                  "%s, Reason: %s" % (first, reason))
        first, reason = self.sip_req(a, "INVITE", "sip:bob@b.example", "<sip:alice@a.example>",
                                     "<sip:bob@b.example>")
        # a negative check: a wrongly routed INVITE is given a moment to show up at b
        time.sleep(0.3 * self.patience)
        blog = self.log("proxy-b")[mb:]
        self.step(first is not None and first.startswith("SIP/2.0 407") and "INVITE sip:bob@b.example" not in blog,
                  "an INVITE From alice@a.example from anywhere: challenged, never routed to b.example",
                  "%s, Reason: %s" % (first, reason))
        first, reason = self.sip_req(a, "INVITE", "sip:+%s@a.example;user=phone" % DEST_TN,
                                     "<sip:+%s@203.0.113.5;user=phone>" % ORIG_TN,
                                     "<sip:+%s@a.example;user=phone>" % DEST_TN)
        self.step(first is not None and first.startswith("SIP/2.0 407") and "stir: sign" not in self.a_log_since(ma),
                  "alice's number From an IP literal (no domain): challenged, nothing signed",
                  "%s, Reason: %s" % (first, reason))
        alog = self.a_log_since(ma)
        lines = re.findall(r"auth: (peer=\S+ user=\? method=\S+ rule=digest verdict=CHALLENGE .*)", alog)
        self.step(len(lines) >= 3, "a.example logged each decision (peer, user, method, rule, verdict)",
                  lines[0] if lines else "no auth line")
        self.end("REGISTER 401, INVITE 407, numbers 407: nothing bound, routed or signed")

    # ------------------------------------------------ helpers for checks

    def refused_call(self, name, since):
        """alice calls bob via a; the final response alice got and its Reason"""
        t = time.time()
        ua = self.alice(name, "sip:bob@b.example", duration=3,
                        proxy="sip:127.0.0.1:%d" % self.p["a_sip"], register=False)
        self.reap(ua, 15)
        ms = int((time.time() - t) * 1000)
        # the refusal (not the 407 challenge before it), once a's trace shows it
        end = time.time() + 2 * self.patience
        while True:
            resp = [m for m in self.msgs_now("proxy-a", "send", r"SIP/2.0 [3-6]", since, "127.0.0.1")
                    if "INVITE" in (hget(m.hdrs, "cseq") or "") and not re.match(r"SIP/2.0 40[17]", m.first)]
            if resp or time.time() >= end:
                break
            time.sleep(0.05)
        st = resp[0].first.split(" ", 2)[1] if resp else None
        reason = hget(resp[0].hdrs, "reason") if resp else None
        inv_at_b = self.msgs("proxy-b", "recv", r"INVITE sip:bob", since, wait=0)
        # time from the INVITE entering a to the refusal leaving it
        inv = self.msgs("proxy-a", "recv", r"INVITE sip:bob", since, "127.0.0.1")
        inv = [m for m in inv if hget(m.hdrs, "proxy-authorization")] or inv  # the authenticated one
        rt = int((resp[0].t - inv[0].t) * 1000) if resp and inv else ms
        return st, reason, inv_at_b, rt, ua

    def sip_uac(self, dst, ruri, from_, to, extra, sdp_extra=""):
        """one INVITE from a raw UDP client; the final status line and Reason"""
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        cid = "atk%d@127.0.0.1" % time.time_ns()
        br = "z9hG4bK%d" % time.time_ns()
        sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\n" + sdp_extra
        msg = ("INVITE %s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;rport;branch=%s\r\nMax-Forwards: 70\r\n"
               "From: %s;tag=atk\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: 1 INVITE\r\nContact: <sip:127.0.0.1:%d>\r\n%s"
               "Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s") % (
            ruri, port, br, from_, to, cid, port, "".join(h + "\r\n" for h in extra), len(sdp), sdp)
        s.sendto(msg.encode(), dst)
        end = time.time() + 5 * self.patience
        first, hdrs = None, []
        while time.time() < end:
            r, _, _ = select.select([s], [], [], 0.2)
            if not r:
                continue
            data, _ = s.recvfrom(65535)
            first, hdrs, _ = sip_headers(data.decode("utf-8", "replace"))
            if re.match(r"SIP/2.0 [2-6]", first):
                to_t = hget(hdrs, "to")
                ack = ("ACK %s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;rport;branch=%s\r\nMax-Forwards: 70\r\n"
                       "From: %s;tag=atk\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n") % (
                    ruri, port, br, from_, to_t, cid)
                s.sendto(ack.encode(), dst)
                break
        s.close()
        return first, hget(hdrs, "reason") if hdrs else None

    def sip_req(self, dst, method, ruri, from_, to, contact=None):
        """one request from a raw UDP client (no credentials); the final status line and Reason"""
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        msg = ("%s %s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;rport;branch=z9hG4bK%d\r\nMax-Forwards: 70\r\n"
               "From: %s;tag=atk\r\nTo: %s\r\nCall-ID: atk%d@127.0.0.1\r\nCSeq: 1 %s\r\nContact: <%s>\r\n%s"
               "Content-Length: 0\r\n\r\n") % (method, ruri, port, time.time_ns(), from_, to, time.time_ns(), method,
                                            contact or "sip:127.0.0.1:%d" % port,
                                            "Expires: 3600\r\n" if method == "REGISTER" else "")
        s.sendto(msg.encode(), dst)
        end = time.time() + 5 * self.patience
        first, reason = None, None
        while time.time() < end and first is None:
            r, _, _ = select.select([s], [], [], 0.2)
            if r:
                data, _ = s.recvfrom(65535)
                f, hdrs, _ = sip_headers(data.decode("utf-8", "replace"))
                if re.match(r"SIP/2.0 [2-6]", f):
                    first, reason = f, hget(hdrs, "reason")
        s.close()
        return first, reason

    def s4g(self):
        self.begin("4g", "attack: another's chain, a tampered one",
                   "both refused in the TLS handshake, with their reason, and nothing looked up instead")
        name = self.env["TB_USER_ALICE"].rstrip(".")
        req = os.path.join(self.dir, "chain4g.req")
        with open(req, "w") as fp:
            fp.write("REGISTER sip:a.example SIP/2.0\nVia: SIP/2.0/TLS 127.0.0.1:5999;branch=z9hG4bK-4g%d;rport\n"
                     "From: <sip:alice@a.example>;tag=4g\nTo: <sip:alice@a.example>\nCall-ID: 4g-%d@demo\n"
                     "CSeq: 1 REGISTER\nContact: <sip:alice@127.0.0.1:5999;transport=tls>\nMax-Forwards: 70\n"
                     "Expires: 60\nContent-Length: 0\n\n" % (os.getpid(), os.getpid()))
        seen = []
        for what, chain, why in (("bob's chain under alice's name", "bob", r"BOGUS: client chain does not validate"),
                                 ("alice's chain with one bit changed", "tampered",
                                  r"BOGUS: client chain does not validate: .*signature does not verify")):
            ma, _, _ = self.marks()
            k0 = self.knot_stats()
            # the client sends the file's bytes as its chain, whatever they hold (SHIP)
            r = self.run([self.client_bin, "127.0.0.1", str(self.p["a_tls"]), self.env["TB_CERT_ALICE"],
                          self.env["TB_KEY_ALICE"], name, req], timeout=20 * self.patience,
                         env=dict(os.environ, SHIP=self.chains[chain]))
            k1 = self.knot_stats()
            m = re.search(r"clientid: \S+: (%s[^\n]*)" % why, self.a_log_since(ma))
            ok = "shipped" in r.stdout and "handshake failed: handshake failure" in r.stdout and m is not None
            self.step(ok and k0 == k1, "%s: refused in the handshake, no DNS query instead" % what,
                      "%s; Knot queries %d -> %d" % (m.group(1)[:150] if m else r.stdout.strip()[-150:],
                                                     sum(k0.values()), sum(k1.values())))
            seen.append("refused" if ok else "accepted?")
        self.end("another's chain: %s; tampered: %s (handshake_failure)" % tuple(seen))

    def user_claims(self):
        """4e with dane_clientid: alice's own name authenticates, another user's address does not"""
        ma, _, _ = self.marks()
        since = time.time()
        name = self.env["TB_USER_ALICE"].rstrip(".")
        reqs = []
        for i, (method, ruri, frm, to) in enumerate((
                ("REGISTER", "sip:a.example", "sip:alice@a.example", "sip:alice@a.example"),
                ("INVITE", "sip:bob@b.example", "sip:carol@a.example", "sip:bob@b.example"))):
            f = os.path.join(self.dir, "claim%d.req" % i)
            with open(f, "w") as fp:
                fp.write("%s %s SIP/2.0\nVia: SIP/2.0/TLS 127.0.0.1:5999;branch=z9hG4bK-claim%d;rport\n"
                         "From: <%s>;tag=c%d\nTo: <%s>\nCall-ID: claim%d-%d@demo\nCSeq: 1 %s\n"
                         "Contact: <sip:alice@127.0.0.1:5999;transport=tls>\nMax-Forwards: 70\n%s"
                         "Content-Length: 0\n\n" % (method, ruri, i, frm, i, to, i, os.getpid(), method,
                                                     "Expires: 60\n" if method == "REGISTER" else ""))
            reqs.append(f)
        r = self.run([self.client_bin, "127.0.0.1", str(self.p["a_tls"]), self.env["TB_CERT_ALICE"], self.env["TB_KEY_ALICE"],
                      name] + reqs, timeout=20 * self.patience)
        with open(os.path.join(self.dir, "claims.out"), "w") as fp:
            fp.write(r.stdout)
        out = r.stdout.split("\n")
        alog = self.a_log_since(ma)
        au = re.search(r"auth: peer=\S+ user=alice@a\.example method=REGISTER rule=dane-clientid verdict=MATCH \((.*?)\)$", alog, re.M)
        self.step(bool(out) and out[0].startswith("SIP/2.0 200") and au is not None,
                  "alice over TLS names herself (dane_clientid %s...): her _user TLSA matches, REGISTER 200" % name[:12],
                  au.group(0).split(" ", 1)[1] if au else r.stdout.strip()[:200])
        st = [ln for ln in out if ln.startswith("SIP/2.0")]
        # the Reason as a.example sent it (its message trace)
        rs = [ln for ln in out if ln.startswith("Reason:")]
        if not rs:
            rs = ["Reason: " + hget(m.hdrs, "reason") for m in self.msgs("proxy-a", "send", r"SIP/2.0 403", since)
                  if m.transport == "tls" and (hget(m.hdrs, "call-id") or "").startswith("claim1")
                  and hget(m.hdrs, "reason")]
        if not rs:
            # what a answered, from its log: the Reason text is the refusal it logs
            m = re.search(r"proxy: INVITE \S+ -> 403 Forbidden \((.*)\)$", self.a_log_since(ma), re.M)
            rs = ['Reason (a\'s log): text="%s"' % m.group(1)] if m else []
        self.step(len(st) >= 2 and st[1].startswith("SIP/2.0 403") and rs and "carol" in rs[-1],
                  "alice, so authenticated, claims From carol@a.example: refused",
                  "%s, %s" % (st[1] if len(st) > 1 else "no answer", rs[-1] if rs else "no Reason"))

    def over_flow(self, since, first_re, what):
        """(ok, title, detail): a request a.example sent to alice went over the TLS connection she
        registered on (from her side's ephemeral port), not a new connection to her address"""
        sent = self.msgs("proxy-a", "send", first_re, since, "127.0.0.1")
        m = sent[0] if sent else None
        ok = m is not None and m.transport == "tls" and m.peer[1] != self.p["alice"] + 1
        return (ok, "a.example sent %s to alice over the TLS connection she registered on (RFC 5626 flow)" % what,
                "tls to 127.0.0.1:%d, a connection alice opened (her listener is :%d)" % (m.peer[1], self.p["alice"] + 1)
                if ok else "sent over %s to %s" % ((m.transport, m.peer) if m else ("nothing", "-")))

    def auth(self, text, domain, outbound=None, last=False):
        """the proxy's auth lines for @domain: dicts peer, rule, verdict, via, tls, why"""
        out = []
        for m in re.finditer(r"auth: peer=(\S+) domain=%s rule=(\S+) verdict=(\w+)(?: via=(\S+))?(?: tls=(\S+))? "
                             r"\((.*)\)$" % re.escape(domain), text, re.M):
            d = dict(peer=m.group(1), rule=m.group(2), verdict=m.group(3), via=m.group(4) or "",
                     tls=m.group(5) or "", why=m.group(6))
            d["text"] = "%s (%s%s%s)" % (d["verdict"], d["why"], ", via " + d["via"] if d["via"] else "",
                                         ", " + d["tls"] if d["tls"] not in ("", "-") else "")
            if outbound is None or outbound == (not d["why"].startswith("inbound")):
                out.append(d)
        if last:
            return out[-1] if out else None
        return out[0] if out else None

    def a_log_since(self, mark):
        return self.log("proxy-a")[mark:]

    def marks(self):
        return len(self.log("proxy-a")), len(self.log("proxy-b")), len(self.log("baresip"))

    def msgs(self, who, direction, first_re, since, peer_ip=None, wait=1.0):
        """messages of a proxy's trace since @since; waits up to @wait s for one to appear
        (the trace is written as the proxy goes)"""
        end = time.time() + wait * self.patience
        while True:
            r = self.msgs_now(who, direction, first_re, since, peer_ip)
            if r or time.time() >= end:
                return r
            time.sleep(0.05)

    def msgs_now(self, who, direction, first_re, since, peer_ip=None):
        tr = parse_tport_log(os.path.join(self.dir, who + ".log"), who, self.day0)
        return [m for m in tr if m.dir == direction and re.match(first_re, m.first) and m.t >= since - 0.01
                and (peer_ip is None or m.peer[0] == peer_ip)]

    def media_checks(self, ua_log, bs_from):
        """the DTLS-SRTP and SRTP checks shared by scenarios 1 and 2"""
        ok_all = True
        m = re.search(r"media secure: (\S+), fingerprint (\w+) \(([^)]*)\)", ua_log)
        ok_all &= self.step(bool(m) and m.group(2) == "MATCH",
                            "alice: DTLS-SRTP up, bob's certificate matches the a=fingerprint that crossed the federation",
                            m.group(0)[len("media secure: "):] if m else "no 'media secure' line")
        bsl = self.bs_log_since(bs_from)
        ok = re.search(r"verified sha-256 fingerprint OK", bsl, re.I) is not None
        comp = re.search(r"DTLS-SRTP complete \(audio/RTP\) Profile=(\S+)", bsl)
        ok_all &= self.step(ok and comp is not None,
                            "bob (baresip): alice's DTLS certificate matches her a=fingerprint, DTLS-SRTP complete",
                            "verified SHA-256 fingerprint OK, %s" % (comp.group(1) if comp else "no DTLS-SRTP complete"))
        pk = re.findall(r"packets sent (\d+) received (\d+) bad (\d+) gaps (\d+) auth-fail (\d+)", ua_log)
        bsp = re.findall(r"^packets:\s+(\d+)\s+(\d+)", bsl, re.M)
        a_rx = int(pk[-1][1]) if pk else 0
        a_tx = int(pk[-1][0]) if pk else 0
        bad = int(pk[-1][2]) + int(pk[-1][4]) if pk else 1
        b_tx, b_rx = (int(bsp[-1][0]), int(bsp[-1][1])) if bsp else (0, 0)
        ok_all &= self.step(a_rx >= 50 and bad == 0 and b_rx >= 50,
                            "SRTP both ways, every packet authenticated",
                            "alice sent %d, received %d (bad/auth-fail %d); bob sent %d, received %d" % (
                                a_tx, a_rx, bad, b_tx, b_rx))
        return ok_all, a_rx, b_rx

    def sdp_identical(self, since, caller_side, invite_re):
        """offer and answer SDP as sent by one end and as received by the other"""
        if caller_side == "alice":
            off_sent = self.msgs("proxy-a", "recv", invite_re, since, "127.0.0.1")
            off_recv = self.msgs("proxy-b", "send", invite_re, since)
            ans_sent = self.msgs("proxy-b", "recv", r"SIP/2.0 200", since)
            ans_recv = self.msgs("proxy-a", "send", r"SIP/2.0 200", since, "127.0.0.1")
        else:
            off_sent = self.msgs("proxy-b", "recv", invite_re, since)
            off_recv = self.msgs("proxy-a", "send", invite_re, since, "127.0.0.1")
            ans_sent = self.msgs("proxy-a", "recv", r"SIP/2.0 200", since, "127.0.0.1")
            ans_recv = self.msgs("proxy-b", "send", r"SIP/2.0 200", since)
        off_sent = [m for m in off_sent if m.body.strip()]
        off_recv = [m for m in off_recv if m.body.strip()]
        ans_sent = [m for m in ans_sent if "INVITE" in (hget(m.hdrs, "cseq") or "")]
        ans_recv = [m for m in ans_recv if "INVITE" in (hget(m.hdrs, "cseq") or "")]
        if not (off_sent and off_recv and ans_sent and ans_recv):
            return False, "offer/answer not found in the proxies' message traces", None, None
        o1, o2, a1, a2 = off_sent[0].body, off_recv[0].body, ans_sent[0].body, ans_recv[0].body
        fo, fa = fingerprints(o1), fingerprints(a1)
        ok = o1 == o2 and a1 == a2 and fo and fa
        detail = "offer %s, answer %s" % (short_fp(fo), short_fp(fa)) if ok else \
            "offer %s -> %s, answer %s -> %s" % (short_fp(fo), short_fp(fingerprints(o2)), short_fp(fa),
                                                 short_fp(fingerprints(a2)))
        return ok, detail, (fo, fingerprints(o2)), (fa, fingerprints(a2))

    def sign(self, iat):
        """a PASSporT from alice's number to DEST_TN with @iat, signed with a.example's SHAKEN key"""
        r = self.run([self.sd_bin, "passport", "sign", "--key", self.stir["key"], "--x5u", X5U,
                      "--orig", ORIG_TN, "--dest", DEST_TN, "--attest", "A", "--iat", str(int(iat))])
        return r.stdout.strip() if r.returncode == 0 else None

    def mitm_fingerprint(self, text):
        """4a's rewrite: every a=fingerprint of alice's INVITE altered"""
        first, hdrs, body = sip_headers(text)
        if not first.startswith("INVITE ") or "a=fingerprint" not in text:
            return text

        def flip(m):
            hexes = m.group(2).split(":")
            hexes = ["%02X" % (int(h, 16) ^ 0x5A) for h in hexes]
            return m.group(1) + ":".join(hexes)
        return re.sub(r"(a=fingerprint:\S+ )([0-9A-Fa-f:]+)", flip, text)


def reason_text(r):
    m = re.search(r'text="([^"]*)"', r or "")
    return m.group(1) if m else (r or "no Reason")


def short_fp(fps):
    if not fps:
        return "none"
    v = fps[0].split(" ", 1)[-1]
    return "%s %s..%s" % (fps[0].split(" ")[0].split(":", 1)[1], v[:8], v[-5:])


def short_id(ids):
    if not ids:
        return "none"
    return "%s... (%d bytes)" % (ids[0][:24], len(ids[0]))


# The scenarios, in the order they run (a later one may use what an earlier one left: 4d replays
# scenario 3's PASSporT).
SCENARIOS = (Scenarios.s1, Scenarios.s2, Scenarios.s3, Scenarios.s4a, Scenarios.s4b, Scenarios.s4c, Scenarios.s4d,
             Scenarios.s4e, Scenarios.s4f, Scenarios.s4g)
