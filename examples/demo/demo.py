#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""demo.py - the federated call demo (./bootstrap.sh demo, tests/demo.sh).

On loopback: Knot serving the DNSSEC-signed test hierarchy, two sipdance-proxy
instances (a.example, b.example) federating over TLS with DANE, alice = our
example UA (DTLS-SRTP media from stun/), bob = baresip, a STIR verifier as the
E.164 next hop. This file starts and stops all of them and runs the scenarios
of scenarios.py, each checking its expected outcome; it prints one line per
step and a summary table, and report.py writes an HTML report with a ladder
diagram per scenario. Exit 0 only when every step passed.

    demo.py [--build DIR] [--keep] [--report FILE] [--no-color] [--patience N]
    (or SIPDANCE_BUILD=DIR; default: ../../build from here)
"""
import argparse
import datetime
import json
import os
import re
import secrets
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import report
from report import COMPACT, Trace, fingerprints, hget, sip_headers
from scenarios import ORIG_TN, SCENARIOS, X5U, Scenarios

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))


class Interrupted(Exception):
    """SIGINT/SIGTERM: unwind, stop everything, exit 130"""


# ---------------------------------------------------------------- output

class Out:
    """the live transcript: one line per step"""

    def __init__(self, color):
        self.color = color

    def c(self, code, s):
        return "\033[%sm%s\033[0m" % (code, s) if self.color else s

    def head(self, s):
        print(self.c("1", s), flush=True)

    def step(self, state, text, detail=""):
        mark = {"pass": self.c("32", "\u2714"), "fail": self.c("31", "\u2718"),
                "info": self.c("36", "\u00b7")}[state]
        line = "  %s %s" % (mark, text)
        if detail:
            line += self.c("2", " \u2014 " + detail)
        print(line, flush=True)


# ---------------------------------------------------------------- the demo

class Demo(Scenarios):
    """the running demo: its processes, ports, logs and transcript; the scenarios (scenarios.py)
    are its methods"""

    def __init__(self, args):
        self.args = args
        self.build = os.path.abspath(args.build)
        self.patience = args.patience
        # the proxies' TLS handshake limit, what "refused fast" is measured against
        self.handshake_ms = int(2000 * args.patience)
        # the verifier's oldest iat (60 s, stretched: scenario 3's PASSporT is replayed in 4d)
        self.max_age = int(60 * args.patience)
        self.proxy_bin = os.path.join(self.build, "sipdance-proxy")
        self.ua_bin = os.path.join(self.build, "examples", "sipdance-ua")
        self.sd_bin = os.path.join(self.build, "sipdance")
        self.client_bin = os.path.join(self.build, "tests", "sip-tls-client")
        self.out = Out(args.color)
        self.dir = tempfile.mkdtemp(prefix="sipdance-demo.")
        self.procs = []          # (name, Popen)
        self.threads_stop = threading.Event()
        self.tb = None
        self.results = []        # scenario dicts
        self.scn = None
        self.extra_msgs = []     # Traces from the relays and the verifier
        self.t0 = time.time()
        d = datetime.datetime.utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
        self.day0 = d.replace(tzinfo=datetime.timezone.utc).timestamp()
        base = free_base()
        self.p = dict(a_sip=base, a_tls=base + 1, b_sip=base + 2, b_tls=base + 3, dns=base + 4,
                      alice=base + 10, bob=base + 12, bob_ctrl=base + 17, vrf=base + 20,
                      relay=base + 22, rtp=base + 30)

    # ------------------------------------------------ processes

    def start(self, name, argv, env=None, cwd=None, append=False):
        log = open(os.path.join(self.dir, name + ".log"), "a" if append else "w")
        e = dict(os.environ)
        e.update(env or {})
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             env=e, cwd=cwd, start_new_session=True)
        log.close()
        self.procs.append((name, p))
        return p

    def stop(self, p, sig=signal.SIGTERM, wait=3.0):
        if p.poll() is None:
            try:
                os.killpg(p.pid, sig)
            except ProcessLookupError:
                pass
            try:
                p.wait(wait * self.patience)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()
        self.procs = [(n, q) for n, q in self.procs if q is not p]

    def cleanup(self):
        self.threads_stop.set()
        for _, p in list(self.procs):
            self.stop(p, wait=2.0)
        if self.tb:
            subprocess.run([os.path.join(SRC, "tests/testbed/testbed.sh"), "stop", self.tb],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def log(self, name):
        try:
            return open(os.path.join(self.dir, name + ".log"), errors="replace").read()
        except OSError:
            return ""

    def wait_for(self, name, pattern, timeout, proc=None, offset=0):
        """the first match of @pattern in log @name after @offset, waiting up to @timeout s"""
        end = time.time() + timeout * self.patience
        rx = re.compile(pattern, re.M)
        while time.time() < end:
            m = rx.search(self.log(name)[offset:])
            if m:
                return m
            if proc is not None and proc.poll() is not None:
                return rx.search(self.log(name)[offset:])
            time.sleep(0.05)
        return None

    def reap(self, p, timeout):
        """wait up to @timeout s (times --patience) for @p to exit by itself, else stop it"""
        try:
            p.wait(timeout * self.patience)
        except subprocess.TimeoutExpired:
            self.stop(p)

    def talk(self, name, ua, until):
        """alice's call: wait for her media (or a line of @until that ends it), let it flow until
        her UA has received and sent 100 packets (--expect; the checks ask for 50 each way: her
        first packets may come before bob's DTLS is done), bob hangs up, her UA exits, bob's
        packet counts are logged"""
        bs = len(self.log("baresip"))
        up = self.wait_for(name, until, 10, ua)
        if up and "media secure" in up.group(0):
            self.wait_for(name, r"media flowing|media failed|call ended", 10, ua)
        self.ctrl("hangup")
        self.reap(ua, 8)
        self.wait_for("baresip", r"^packets:", 5, offset=bs)

    def run(self, argv, **kw):
        return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)

    # ------------------------------------------------ scenario bookkeeping

    def begin(self, key, title, expected, ladder=None):
        """a scenario starts; @ladder: how report.py draws its messages (see report.ladder_msgs)"""
        self.scn = dict(key=key, title=title, expected=expected, steps=[], t0=time.time(), t1=None,
                        observed="", ladder=ladder or {})
        self.results.append(self.scn)
        self.out.head("%s  %s" % (key, title))

    def step(self, ok, text, detail=""):
        state = "pass" if ok else "fail"
        self.scn["steps"].append((state, text, detail))
        self.out.step(state, text, detail)
        return ok

    def info(self, text):
        self.scn["steps"].append(("info", text, ""))
        self.out.step("info", text)

    def end(self, observed):
        """close the scenario; what was observed is the first failed step when there is one"""
        self.scn["t1"] = time.time()
        bad = [(t, d) for st, t, d in self.scn["steps"] if st == "fail"]
        self.scn["observed"] = ("NOT AS EXPECTED: %s (%s)" % bad[0]) if bad else observed

    # ------------------------------------------------ setup

    def setup(self):
        for b, make in ((self.proxy_bin, ""), (self.ua_bin, ""), (self.sd_bin, ""),
                        (self.client_bin, " tests/sip-tls-client")):
            if not os.access(b, os.X_OK):
                raise SystemExit("demo: %s is not built (make -C %s%s)" % (b, self.build, make))
        self.begin("0", "setup", "servers up, users registered")
        p = self.p
        # records live an hour: no cached answer expires and no RFC 9102 chain is refreshed
        # during the demo, however slow the run (scenario 3 counts Knot's queries); the
        # attacks that change a zone flush a's cache (SIGHUP) instead of waiting for a TTL
        env = dict(TB_TTL="3600", TB_A_TLS_PORT=str(p["a_tls"]), TB_A_SIP_PORT=str(p["a_sip"]),
                   TB_B_TLS_PORT=str(p["b_tls"]), TB_B_SIP_PORT=str(p["b_sip"]),
                   TB_C_TLS_PORT=str(p["a_tls"] + 40), TB_C_SIP_PORT=str(p["a_sip"] + 40),
                   TB_INSECURE_TLS_PORT=str(p["a_tls"] + 42), TB_INSECURE_SIP_PORT=str(p["a_sip"] + 42))
        self.tb = os.path.join(self.dir, "tb")
        r = self.run([os.path.join(SRC, "tests/testbed/testbed.sh"), "start", self.tb, str(p["dns"])],
                     env=dict(os.environ, **env))
        if r.returncode != 0:
            self.step(False, "Knot DNS testbed", r.stdout.strip()[-300:])
            raise SystemExit(1)
        self.env = self.load_env()
        zones = [ln.split() for ln in open(self.env["TB_ZONES"]) if ln.strip()]
        self.step(True, "Knot serves the DNSSEC-signed hierarchy on 127.0.0.1@%d" % p["dns"],
                  "%d zones, private root trust anchor; fresh keys and certificates" % len(zones))
        self.stir_pki()
        self.users()
        self.start_proxies()
        self.start_verifier()
        self.start_baresip()
        self.end("ready")

    def load_env(self):
        r = self.run(["sh", "-c", '. "$1/env.sh"; env', "-", self.tb])
        env = {}
        for ln in r.stdout.split("\n"):
            if ln.startswith("TB_") and "=" in ln:
                k, v = ln.split("=", 1)
                env[k] = v
        return env

    def stir_pki(self):
        """an STI-CA root and a SHAKEN certificate (TNAuthList) for a.example's signer"""
        d = os.path.join(self.dir, "stir")
        os.makedirs(d)
        cnf = os.path.join(d, "ext.cnf")
        with open(cnf, "w") as f:
            f.write("[ee]\nbasicConstraints=critical,CA:false\n"
                    "keyUsage=critical,digitalSignature\nsubjectKeyIdentifier=hash\n"
                    "1.3.6.1.5.5.7.1.26=DER:30:08:a0:06:16:04:31:32:33:34\n")
        cmds = [
            ["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "root.key"],
            ["openssl", "req", "-new", "-x509", "-key", "root.key", "-subj", "/CN=demo STI-CA", "-days", "2",
             "-addext", "basicConstraints=critical,CA:true",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", "root.pem"],
            ["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "shaken.key"],
            ["openssl", "req", "-new", "-key", "shaken.key", "-subj", "/CN=SHAKEN 1234 a.example",
             "-out", "shaken.csr"],
            ["openssl", "x509", "-req", "-in", "shaken.csr", "-CA", "root.pem", "-CAkey", "root.key",
             "-CAcreateserial", "-days", "2", "-extfile", cnf, "-extensions", "ee", "-out", "shaken.pem"],
        ]
        for c in cmds:
            r = self.run(c, cwd=d)
            if r.returncode:
                self.step(False, "STIR certificates", r.stdout[-300:])
                raise SystemExit(1)
        cache = os.path.join(d, "x5u-cache")
        os.makedirs(cache)
        shutil.copy(os.path.join(d, "shaken.pem"), os.path.join(cache, X5U.replace("://", "_").replace("/", "_")))
        self.stir = dict(key=os.path.join(d, "shaken.key"), root=os.path.join(d, "root.pem"), cache=cache)
        self.step(True, "STIR: a demo STI-CA and a SHAKEN certificate with TNAuthList for a.example",
                  "x5u %s served from the verifier's cache" % X5U)

    def users(self):
        """--users files: alice (a.example, her number) and bob (b.example), MD5 HA1 only:
        baresip 1.0 and sofia-sip 1.12 (sipdance-ua) compute MD5 only and give up on a challenge
        that offers SHA-256, so the proxies offer them what their lines hold"""
        d = os.path.join(self.dir, "users")
        os.makedirs(d)
        self.pw = {u: secrets.token_hex(8) for u in ("alice", "bob")}
        for dom, user, numbers in (("a", "alice", [ORIG_TN]), ("b", "bob", [])):
            r = subprocess.run([self.sd_bin, "user-digest", user, "%s.example" % dom] + numbers,
                               input=self.pw[user] + "\n", stdout=subprocess.PIPE, text=True)
            line = r.stdout.strip().split(":")
            ok = r.returncode == 0 and len(line) >= 4
            if ok:
                line[3] = ""  # no SHA-256 HA1: see above
            path = os.path.join(d, "%s.users" % dom)
            with open(path, "w") as fp:
                fp.write(":".join(line) + "\n")
            os.chmod(path, 0o600)
        with open(os.path.join(d, "alice.digest"), "w") as fp:
            fp.write("alice:%s\n" % self.pw["alice"])
        self.step(ok, "users: alice at a.example (Digest, entitled to +%s), bob at b.example "
                  "(Digest)" % ORIG_TN, "sipdance user-digest; HA1 values only, MD5 (baresip 1.0 and "
                  "sofia-sip 1.12 know no SHA-256)")
        self.client_chains()

    def client_chains(self):
        """alice's DNSSEC chain (sipdance chain build --name), which her UA ships; bob's and a
        tampered one of hers for scenario 4g"""
        self.chains = {}
        ok = True
        for who in ("alice", "bob"):
            f = os.path.join(self.dir, "%s.ext" % who)
            r = subprocess.run([self.sd_bin, "chain", "build", "--trust-anchor", self.env["TB_ANCHOR"],
                                "--resolver", self.env["TB_RESOLVER"], "--name",
                                self.env["TB_USER_" + who.upper()].rstrip("."), "--out", f],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            ok &= r.returncode == 0
            self.chains[who] = f
        if ok:
            # its last octet is in the root DNSKEY RRset's signature: one bit off, it no longer validates
            with open(self.chains["alice"], "rb") as fp:
                data = bytearray(fp.read())
            data[-1] ^= 1
            self.chains["tampered"] = os.path.join(self.dir, "tampered.ext")
            with open(self.chains["tampered"], "wb") as fp:
                fp.write(bytes(data))
        if not self.step(ok, "alice's own DNSSEC chain of her _user TLSA, built through her resolver",
                         "sipdance chain build --name %s... (%d octets); her UA ships it" % (
                             self.env["TB_USER_ALICE"][:16], os.path.getsize(self.chains["alice"]))
                         if ok else r.stdout[-300:]):
            raise SystemExit(1)

    def proxy_argv(self, dom):
        e, p = self.env, self.p
        addr = "127.0.0.1" if dom == "a" else "127.0.0.2"
        argv = [self.proxy_bin, "--domain", "%s.example" % dom,
                "--listen", "sip:%s:%d;transport=udp" % (addr, p[dom + "_sip"]),
                "--listen", "sips:%s:%d;transport=tls" % (addr, p[dom + "_tls"]),
                "--cert", e["TB_CERT_" + dom.upper()], "--key", e["TB_KEY_" + dom.upper()],
                "--resolver", e["TB_RESOLVER"], "--trust-anchor", e["TB_ANCHOR"], "--log-level", "info",
                "--trace", "on", "--handshake-timeout", str(self.handshake_ms),
                "--accept-timeout", str(int(10000 * self.patience))]
        argv += ["--client-name", "sip.%s.example" % dom, "--client-domains", "a.example,b.example"]
        argv += ["--users", os.path.join(self.dir, "users", "%s.users" % dom)]
        if dom == "a":
            argv += ["--e164-route", "sip:127.0.0.1:%d;transport=udp" % p["vrf"]]
            argv += ["--stir", "sign", "--stir-key", self.stir["key"], "--stir-x5u", X5U,
                     "--stir-attest", "A", "--stir-orig-range", ORIG_TN[:7] + "*"]
        return argv

    def start_proxies(self):
        self.pa = self.start("proxy-a", self.proxy_argv("a"))
        self.pb = self.start("proxy-b", self.proxy_argv("b"))
        for n, p, dom in (("proxy-a", self.pa, "a"), ("proxy-b", self.pb, "b")):
            ok = self.wait_for(n, r"serving", 5, p) is not None
            addr = "127.0.0.1" if dom == "a" else "127.0.0.2"
            if not self.step(ok, "sipdance-proxy %s.example: UDP %s:%d, TLS %s:%d" % (
                    dom, addr, self.p[dom + "_sip"], addr, self.p[dom + "_tls"]),
                    "message trace on (--trace), DANE opportunistic (RFC 7672)" if ok else self.log(n)[-300:]):
                raise SystemExit(1)

    # ------------------------------------------------ baresip (bob)

    def start_baresip(self):
        d = os.path.join(self.dir, "baresip")
        os.makedirs(d)
        p = self.p
        with open(os.path.join(d, "config"), "w") as f:
            f.write("\n".join([
                "poll_method epoll", "sip_listen 127.0.0.1:%d" % p["bob"], "call_local_timeout 30",
                "call_max_calls 4", "audio_source ausine,440", "ausrc_srate 48000", "ausrc_channels 2",
                "statmode_default off", "audio_buffer 20-160", "rtp_ports %d-%d" % (p["rtp"], p["rtp"] + 9),
                "rtcp_mux yes", "rtp_stats yes", "jitter_buffer_delay 5-10", "net_interface 127.0.0.1",
                "dns_server 127.0.0.1:%d" % p["dns"], "module_path /usr/lib/baresip/modules", "module g711.so", "module ausine.so",
                "module dtls_srtp.so", "module_tmp account.so", "module_app menu.so",
                "module_app ctrl_tcp.so", "ctrl_tcp_listen 127.0.0.1:%d" % p["bob_ctrl"], ""]))
        with open(os.path.join(d, "accounts"), "w") as f:
            f.write("<sip:bob@b.example>;outbound=\"sip:127.0.0.2:%d;transport=udp\";regint=600;"
                    "answermode=auto;audio_codecs=pcmu;mediaenc=dtls_srtp;auth_pass=%s\n" % (
                        p["b_sip"], self.pw["bob"]))
        self.bs = self.start("baresip", ["baresip", "-f", d, "-v"])
        if not self.wait_for("baresip", r"baresip is ready", 10, self.bs):
            self.step(False, "baresip started", self.log("baresip")[-300:])
            raise SystemExit(1)
        self.events = []
        for _ in range(int(50 * self.patience)):
            try:
                self.ctrl_sock = socket.create_connection(("127.0.0.1", p["bob_ctrl"]), timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        else:
            self.step(False, "baresip ctrl_tcp", "cannot connect")
            raise SystemExit(1)
        threading.Thread(target=self.ctrl_reader, daemon=True).start()
        ok = self.wait_for("proxy-b", r"registrar: REGISTER bob@b\.example: <sip:bob", 5) is not None
        dg = re.search(r"auth: (peer=\S+ user=bob@b\.example method=REGISTER rule=digest verdict=MATCH .*)",
                       self.log("proxy-b"))
        ok = ok and dg is not None
        if not self.step(ok, "bob = baresip %s (auto-answer, DTLS-SRTP) registered at b.example%s" % (
                self.bs_version(), ", authenticated by Digest" if dg else ""),
                dg.group(1) if dg else "outbound proxy 127.0.0.2:%d" % p["b_sip"]):
            raise SystemExit(1)

    def bs_version(self):
        m = re.search(r"baresip v?([0-9.]+)", self.log("baresip"))
        return m.group(1) if m else ""

    def ctrl_reader(self):
        buf = b""
        self.ctrl_sock.settimeout(0.2)
        while not self.threads_stop.is_set():
            try:
                data = self.ctrl_sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            if not data:
                return
            buf += data
            while True:
                m = re.match(rb"(\d+):", buf)
                if not m or len(buf) < m.end() + int(m.group(1)) + 1:
                    break
                n = int(m.group(1))
                js = buf[m.end():m.end() + n]
                buf = buf[m.end() + n + 1:]
                try:
                    ev = json.loads(js)
                except ValueError:
                    continue
                if ev.get("event"):
                    self.events.append((time.time(), ev.get("type"), ev.get("param")))

    def ctrl(self, cmd, params=""):
        j = json.dumps({"command": cmd, "params": params, "token": "t%d" % time.time_ns()})
        self.ctrl_sock.sendall(("%d:%s," % (len(j), j)).encode())

    def bs_event(self, typ, since):
        return [e for e in self.events if e[1] == typ and e[0] >= since]

    def bs_log_since(self, mark):
        return self.log("baresip")[mark:]

    # ------------------------------------------------ E.164 next hop: STIR verifier

    def start_verifier(self):
        self.vsock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.vsock.bind(("127.0.0.1", self.p["vrf"]))
        self.verdicts = []       # (time, call-id, status, reason, identity list)
        self.seen_sigs = {}      # PASSporT signature -> Call-ID that first used it
        threading.Thread(target=self.verifier, daemon=True).start()
        self.step(True, "E.164 next hop: a STIR verification service on 127.0.0.1:%d" % self.p["vrf"],
                  "sipdance passport verify, plus a replay cache of signatures")

    def verifier(self):
        while not self.threads_stop.is_set():
            r, _, _ = select.select([self.vsock], [], [], 0.2)
            if not r:
                continue
            data, addr = self.vsock.recvfrom(65535)
            text = data.decode("utf-8", "replace")
            now = time.time()
            self.extra_msgs.append(Trace(now, "pstn", "recv", "udp", addr, text))
            first, hdrs, body = sip_headers(text)
            if not first.startswith("INVITE "):
                continue
            status, reason = self.verify_invite(hdrs, body)
            self.verdicts.append((now, hget(hdrs, "call-id"), status, reason, hget(hdrs, "identity", True)))
            phrase = "Forbidden" if "replay" in reason else {200: "OK", 480: "Temporarily Unavailable", 428: "Use Identity Header",
                      436: "Bad Identity Info", 437: "Unsupported Credential", 438: "Invalid Identity Header",
                      403: "Stale Date"}.get(status, "Forbidden")
            resp = ["SIP/2.0 %d %s" % (status, phrase)]
            for n, v in hdrs:
                ln = COMPACT.get(n.lower(), n.lower())
                if ln in ("via", "from", "call-id", "cseq"):
                    resp.append("%s: %s" % (n, v))
                elif ln == "to":
                    resp.append("%s: %s;tag=pstn%d" % (n, v, int(now * 1000) % 100000))
            resp.append('Reason: SIP;cause=%d;text="%s"' % (status, reason.replace('"', "'")))
            resp += ["Content-Length: 0", "", ""]
            out = "\r\n".join(resp)
            self.vsock.sendto(out.encode(), addr)
            self.extra_msgs.append(Trace(time.time(), "pstn", "send", "udp", addr, out))

    def verify_invite(self, hdrs, body):
        ids = hget(hdrs, "identity", True)
        if not ids:
            return 428, "no Identity header"
        orig = tn_of(hget(hdrs, "p-asserted-identity") or "") or tn_of(hget(hdrs, "from"))
        dest = tn_of(hget(hdrs, "to"))
        # freshness (RFC 8224 §6.2.1: 60 s) stretched by --patience, as every wait here: under
        # valgrind scenario 3's PASSporT must still be fresh when 4d replays it
        argv = [self.sd_bin, "passport", "verify", "--x5u-cache", self.stir["cache"], "--no-fetch",
                "--ca-file", self.stir["root"], "--max-age", str(self.max_age)]
        if orig:
            argv += ["--orig", orig]
        if dest:
            argv += ["--dest", dest]
        for fp in fingerprints(body.replace("\r\n", "\n")):
            argv += ["--fingerprint", fp.split(":", 1)[1]]
        r = self.run(argv + ids)
        if r.returncode != 0:
            m = re.search(r'status=(\d+) reason="(.*)"', r.stdout)
            return (int(m.group(1)), m.group(2)) if m else (438, r.stdout.strip()[-200:])
        sig = ids[0].split(";")[0].split(".")[-1]
        if sig in self.seen_sigs:
            return 403, "replayed PASSporT: its signature was already used by call %s" % self.seen_sigs[sig]
        self.seen_sigs[sig] = hget(hdrs, "call-id")
        try:
            claims = json.loads(r.stdout)["claims"]
        except (ValueError, KeyError):
            claims = {}
        return 480, "demo PSTN gateway: PASSporT verified (attest %s, orig %s, dest %s%s); no PSTN behind it" % (
            claims.get("attest"), claims.get("orig", {}).get("tn"), ",".join(claims.get("dest", {}).get("tn", [])),
            ", mky matches the SDP" if claims.get("mky") else "")

    # ------------------------------------------------ a hop between alice and a.example

    def relay(self, name, rewrite):
        """a UDP hop between alice and proxy a; @rewrite(text) changes requests from alice"""
        s1 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s1.bind(("127.0.0.1", self.p["relay"]))
        s2 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s2.bind(("127.0.0.1", 0))
        stop = threading.Event()
        proxy = ("127.0.0.1", self.p["a_sip"])

        def loop():
            client = None
            while not stop.is_set() and not self.threads_stop.is_set():
                r, _, _ = select.select([s1, s2], [], [], 0.1)
                for s in r:
                    data, addr = s.recvfrom(65535)
                    text = data.decode("utf-8", "replace")
                    if s is s1:
                        client = addr
                        self.extra_msgs.append(Trace(time.time(), name, "recv", "udp", addr, text))
                        new = rewrite(text)
                        self.extra_msgs.append(Trace(time.time(), name, "send", "udp", proxy, new))
                        s2.sendto(new.encode(), proxy)
                    elif client:
                        self.extra_msgs.append(Trace(time.time(), name, "recv", "udp", proxy, text))
                        self.extra_msgs.append(Trace(time.time(), name, "send", "udp", client, text))
                        s1.sendto(data, client)
            s1.close()
            s2.close()

        th = threading.Thread(target=loop, daemon=True)
        th.start()
        return lambda: (stop.set(), th.join())

    # ------------------------------------------------ alice (our UA)

    def alice(self, name, target, proxy=None, answer=False, duration=12, register=True, aor="sip:alice@a.example",
              tls=False):
        """our UA as alice; @tls: over TLS to a.example, authenticated by dane_clientid and her _user TLSA,
        whose DNSSEC chain she ships"""
        p = self.p
        argv = [self.ua_bin, "--aor", aor, "--listen", "sip:127.0.0.1:%d" % p["alice"],
                "--duration", str(duration), "--expect", "100", "--no-ice"]
        if tls:
            argv += ["--tls-cert", self.env["TB_CERT_ALICE"], "--tls-key", self.env["TB_KEY_ALICE"],
                     "--tls-listen", "sips:127.0.0.1:%d;transport=tls" % (p["alice"] + 1),
                     "--registrar", "sip:127.0.0.1:%d;transport=tls" % p["a_tls"]]
            argv += ["--client-chain-file", self.chains["alice"], "--trust-anchor", self.env["TB_ANCHOR"]]
        elif register:
            argv += ["--registrar", "sip:127.0.0.1:%d" % p["a_sip"]]
        if not tls:
            argv += ["--digest", os.path.join(self.dir, "users", "alice.digest")]
        if proxy:
            argv += ["--proxy", proxy]
        argv += ["--answer"] if answer else ["--call", target]
        return self.start(name, argv)

    # ------------------------------------------------ the testbed and the proxies during a scenario

    def knot_stats(self):
        """Knot's query counters by type"""
        r = self.run(self.env["TB_KNOTC"].split() + ["stats", "mod-stats"])
        out = {}
        for m in re.finditer(r"query-type\[(\w+)\]\s*=\s*(\d+)", r.stdout):
            out[m.group(1)] = out.get(m.group(1), 0) + int(m.group(2))
        return out

    def zone_edit(self, zone, owner, rtype, rdata):
        """@owner's @rtype records in @zone replaced by one with @rdata (signed, served); None or knotc's error"""
        k = self.env["TB_KNOTC"].split()
        cmds = [["zone-begin", zone], ["zone-unset", zone, owner, rtype],
                ["zone-set", zone, owner, self.env.get("TB_TTL", "60"), rtype] + rdata.split(), ["zone-commit", zone]]
        for c in cmds:
            r = self.run(k + c)
            if r.returncode != 0 and c[0] != "zone-unset":
                return r.stdout.strip()
        return None

    def zone_reload(self, zone):
        """the zone as generated again, served when this returns (knotc -b waits)"""
        self.run(self.env["TB_KNOTC"].split() + ["-b", "zone-reload", zone])

    def restart_b(self, extra=()):
        """stop b's proxy and start it again (same log, appended, @extra arguments); its connections close"""
        self.stop(self.pb)
        n = len(self.log("proxy-b"))
        self.pb = self.start("proxy-b", self.proxy_argv("b") + list(extra), append=True)
        self.wait_for("proxy-b", r"serving", 5, self.pb, offset=n)

    def flush_a(self):
        """SIGHUP to a's proxy; returns once it logged its caches flushed"""
        n = len(self.log("proxy-a"))
        os.kill(self.pa.pid, signal.SIGHUP)
        for _ in range(int(40 * self.patience)):
            if "cache flushed" in self.log("proxy-a")[n:]:
                break
            time.sleep(0.05)


def free_base():
    """the first block of 50 ports (32000-41999, starting from one the PID picks) that is free
    on 127.0.0.1 and 127.0.0.2, UDP and TCP: other test suites run beside us"""
    start = os.getpid() % 200
    for i in range(200):
        base = 32000 + ((start + i) % 200) * 50
        try:
            socks = []
            for port in range(base, base + 50):
                for addr in ("127.0.0.1", "127.0.0.2"):
                    for typ in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                        sk = socket.socket(socket.AF_INET, typ)
                        socks.append(sk)
                        sk.bind((addr, port))
            return base
        except OSError:
            continue
        finally:
            for sk in socks:
                sk.close()
    raise SystemExit("demo: no free block of 50 ports on loopback")


def tn_of(uri):
    m = re.search(r"(?:tel:|sips?:)\+?([0-9-]+)", uri or "")
    return m.group(1).replace("-", "") if m else None


def main():
    ap = argparse.ArgumentParser(description="sipdance federated call demo")
    ap.add_argument("--build", default=os.environ.get("SIPDANCE_BUILD", os.path.join(SRC, "build")))
    ap.add_argument("--report", default=None, help="HTML report path (default: in the demo's temp dir)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory (logs) on success")
    ap.add_argument("--no-color", dest="color", action="store_false", default=None)
    ap.add_argument("--patience", type=float, default=1.0,
                    help="multiply every wait by N (a slow machine, or the programs under valgrind)")
    args = ap.parse_args()
    if args.color is None:
        args.color = sys.stdout.isatty() and os.environ.get("NO_COLOR") is None and os.environ.get("TERM") != "dumb"
    for prog in ("baresip", "knotd", "keymgr", "kdig", "ldns-signzone", "openssl"):
        if not shutil.which(prog):
            print("demo: %s is not installed" % prog, file=sys.stderr)
            return 77 if prog == "baresip" else 2

    def on_signal(sig, frame):
        raise Interrupted()
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    demo = Demo(args)
    rc = 1
    try:
        demo.out.head("sipdance federated call demo \u2014 a.example <-> b.example on loopback (%s)" % demo.dir)
        demo.setup()
        for scenario in SCENARIOS:
            try:
                scenario(demo)
            except Interrupted:
                raise
            except Exception as e:  # a broken scenario is a failed one, the others still run
                demo.step(False, "scenario crashed", "%s: %s" % (type(e).__name__, e))
                demo.end("crashed")
        rc = 0
    except Interrupted:
        print("\ndemo: interrupted, stopping everything", file=sys.stderr)
        if demo.scn and demo.scn["t1"] is None:
            demo.scn["steps"].append(("fail", "interrupted", ""))
            demo.end("interrupted")
        rc = 130
    except SystemExit as e:
        rc = e.code if isinstance(e.code, int) else 1
        if not isinstance(e.code, int) and e.code:
            print(e.code, file=sys.stderr)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        demo.cleanup()
    total = time.time() - demo.t0
    failed = sum(1 for s in demo.results for st, _, _ in s["steps"] if st == "fail")
    if rc == 0 and failed:
        rc = 1
    o = demo.out
    if demo.results:
        o.head("\nsummary")
        fmt = "  %-3s %-42s %-10s %6s  %s"
        print(fmt % ("#", "scenario", "result", "time", "observed"))
        for s in demo.results:
            if s["key"] == "0":
                continue
            res = o.c("32", "pass      ") if report.passed(s) else o.c("31", "FAIL      ")
            print(fmt % (s["key"], s["title"][:42], res, "%.1fs" % ((s["t1"] or s["t0"]) - s["t0"]),
                         s["observed"][:80]))
        path = args.report or os.path.join(demo.dir, "report.html")
        try:
            report.write(demo, path, total, failed)
            print("  report: %s" % path)
        except Exception as e:
            print("  report not written: %s" % e)
            rc = rc or 1
        npass = sum(1 for s in demo.results for st, _, _ in s["steps"] if st == "pass")
        print("  %d checks passed, %d failed; %.1f s; exit %d" % (npass, failed, total, rc))
    if rc == 0 and not args.keep and args.report:
        shutil.rmtree(demo.dir, ignore_errors=True)
    elif rc == 0 and not args.keep:
        # the report is in the directory (its path is printed): only the testbed's keys go
        shutil.rmtree(os.path.join(demo.dir, "tb"), ignore_errors=True)
    elif rc != 0:
        print("  logs kept in %s" % demo.dir)
    return rc


if __name__ == "__main__":
    sys.exit(main())
