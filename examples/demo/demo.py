#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""demo.py - the federated call demo (./bootstrap.sh demo, tests/demo.sh).

On loopback: Knot serving the DNSSEC-signed test hierarchy, two sipdance-proxy
instances (a.example, b.example) federating over TLS with DANE, alice = our
example UA (DTLS-SRTP media from stun/), bob = baresip, a STIR verifier as the
E.164 next hop. Runs the scenarios of issue 9, checks each expected outcome,
prints one line per step, a summary table, and writes an HTML report with a
ladder diagram per scenario. Exit 0 only when every non-pending step passed.

    demo.py [--build DIR] [--keep] [--report FILE] [--no-color] [--patience N]
    (or SIPDANCE_BUILD=DIR; default: ../../build from here)
"""
import argparse
import datetime
import html
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

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))

# Features the issue names that may not exist yet. Each maps to (program,
# option): the step runs when `PROGRAM --help` lists the option, else it is
# shown as pending (neither pass nor fail). Enabling one is a change of this
# table only (None keeps it pending, True turns it on).
FEATURES = {
    # proxy a signs a SHAKEN PASSporT for local callers (issue 5)
    "STIR signing at proxy a": ("proxy", "--stir-key"),
    # proxies name themselves with dane_clientid and check the peer's client TLSA (issue 7)
    "dane_clientid between proxies": ("proxy", "--client-name"),
    # proxy a authenticates users by dane_clientid and their _user TLSA (issue 7)
    "DANE client auth at proxy a": ("proxy", "--client-auth"),
    # alice's UA talks TLS to her proxy with her certificate and dane_clientid (issue 7)
    "sipdance-ua over TLS with dane_clientid": ("ua", "--tls-cert"),
    # a.example reaches a user registered over TLS (requests to alice over her TLS flow: the BYE
    # of scenario 1, the INVITE of scenario 2)
    "sipdance-proxy reaching TLS-registered users": True,
    # RFC 9102: b authenticates a by the DNSSEC chain a serves, no TLSA query (issue 8)
    "RFC 9102 chain in sipdance-proxy": ("proxy", "--chain"),
    # the proxies authenticate their users (Digest from --users, DANCE, trusted peers) before
    # they vouch for them: bob (baresip) and alice over UDP answer Digest challenges
    "Digest authentication at the proxies": ("proxy", "--users"),
}

ORIG_TN, DEST_TN = "12025551000", "12025552000"
X5U = "https://sti.a.example/shaken.pem"


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
                "pending": self.c("33", "\u2026"), "info": self.c("36", "\u00b7")}[state]
        if state == "pending":
            text = "pending: %s" % text
        line = "  %s %s" % (mark, text)
        if detail:
            line += self.c("2", " \u2014 " + detail)
        print(line, flush=True)


# ---------------------------------------------------------------- SIP helpers

def sip_headers(msg):
    """(first line, [(name, value)], body) of a SIP message text"""
    head, _, body = msg.replace("\r\n", "\n").partition("\n\n")
    lines = head.split("\n")
    hdrs = []
    for ln in lines[1:]:
        if ln[:1] in (" ", "\t") and hdrs:
            hdrs[-1] = (hdrs[-1][0], hdrs[-1][1] + " " + ln.strip())
        elif ":" in ln:
            n, v = ln.split(":", 1)
            hdrs.append((n.strip(), v.strip()))
    return lines[0], hdrs, body


COMPACT = {"v": "via", "f": "from", "t": "to", "i": "call-id", "m": "contact", "l": "content-length",
           "c": "content-type", "y": "identity"}


def hget(hdrs, name, all_=False):
    name = name.lower()
    vals = [v for n, v in hdrs if COMPACT.get(n.lower(), n.lower()) == name]
    return vals if all_ else (vals[0] if vals else None)


def fingerprints(sdp):
    return [ln.strip() for ln in sdp.split("\n") if ln.lower().startswith("a=fingerprint:")]


def tn_of(uri):
    m = re.search(r"(?:tel:|sips?:)\+?([0-9-]+)", uri or "")
    return m.group(1).replace("-", "") if m else None


class Trace:
    """one SIP message as seen by a component: time, direction, peer, text"""

    def __init__(self, t, who, direction, transport, peer, text):
        self.t, self.who, self.dir, self.transport, self.peer, self.text = t, who, direction, transport, peer, text
        self.first, self.hdrs, self.body = sip_headers(text)


TPORT_RE = re.compile(r"^(recv|send) \d+ bytes (?:from|to) (\w+)/\[([^\]]+)\]:(\d+) at (\d\d):(\d\d):(\d\d\.\d+):")


def parse_tport_log(path, who, day0):
    """the messages of a proxy's --trace (sofia-sip's message log) in its log"""
    out, cur = [], None
    try:
        lines = open(path, errors="replace").read().split("\n")
    except OSError:
        return out
    for ln in lines:
        m = TPORT_RE.match(ln)
        if m:
            cur = [m, []]
            continue
        if cur is None:
            continue
        if ln.startswith("   ---"):
            if cur[1]:
                m = cur[0]
                t = day0 + int(m.group(5)) * 3600 + int(m.group(6)) * 60 + float(m.group(7))
                out.append(Trace(t, who, m.group(1), m.group(2), (m.group(3), int(m.group(4))),
                                 "\n".join(cur[1]).rstrip("\n") + "\n"))
                cur = None
            continue
        if ln.startswith("   "):
            cur[1].append(ln[3:])
        elif cur[1]:
            cur = None
    return out


# ---------------------------------------------------------------- the demo

class Demo:
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
        self.out = Out(args.color)
        self.dir = tempfile.mkdtemp(prefix="sipdance-demo.")
        self.procs = []          # (name, Popen)
        self.threads_stop = threading.Event()
        self.tb = None
        self.results = []        # scenario dicts
        self.pending = []        # (scenario, feature, what)
        self.scn = None
        self.extra_msgs = []     # Traces from the relays and the verifier
        self.t0 = time.time()
        d = datetime.datetime.utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
        self.day0 = d.replace(tzinfo=datetime.timezone.utc).timestamp()
        base = free_base()
        self.p = dict(a_sip=base, a_tls=base + 1, b_sip=base + 2, b_tls=base + 3, dns=base + 4,
                      alice=base + 10, bob=base + 12, bob_ctrl=base + 17, vrf=base + 20,
                      relay=base + 22, rtp=base + 30)
        self.features = {}

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

    def begin(self, key, title, expected):
        self.scn = dict(key=key, title=title, expected=expected, steps=[], t0=time.time(), t1=None,
                        observed="", notes=[])
        self.results.append(self.scn)
        self.out.head("%s  %s" % (key, title))

    def step(self, ok, text, detail=""):
        state = "pass" if ok else "fail"
        self.scn["steps"].append((state, text, detail))
        self.out.step(state, text, detail)
        return ok

    def pend(self, feature, text):
        self.scn["steps"].append(("pending", "%s (%s)" % (text, feature), ""))
        self.pending.append((self.scn["key"], feature, text))
        self.out.step("pending", "%s: %s" % (feature, text))

    def info(self, text):
        self.scn["steps"].append(("info", text, ""))
        self.out.step("info", text)

    def end(self, observed):
        """close the scenario; what was observed is the first failed step when there is one"""
        self.scn["t1"] = time.time()
        bad = [(t, d) for st, t, d in self.scn["steps"] if st == "fail"]
        self.scn["observed"] = ("NOT AS EXPECTED: %s (%s)" % bad[0]) if bad else observed

    def has(self, feature):
        return self.features.get(feature, False)

    # ------------------------------------------------ setup

    def setup(self):
        for b in (self.proxy_bin, self.ua_bin, self.sd_bin):
            if not os.access(b, os.X_OK):
                raise SystemExit("demo: %s is not built (make in %s)" % (b, self.build))
        helps = {"proxy": self.run([self.proxy_bin, "--help"]).stdout,
                 "ua": self.run([self.ua_bin, "--help"]).stdout}
        for f, v in FEATURES.items():
            self.features[f] = v is True or bool(v) and re.search(r"(^|\s|\[)%s\b" % re.escape(v[1]), helps[v[0]], re.M) is not None
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
        if not self.has("Digest authentication at the proxies"):
            return
        d = os.path.join(self.dir, "users")
        os.makedirs(d)
        self.pw = {u: secrets.token_hex(8) for u in ("alice", "bob")}
        for dom, user, numbers in (("a", "alice", [ORIG_TN]), ("b", "bob", [])):
            r = subprocess.run([self.sd_bin, "user-digest", user, "%s.example" % dom] + numbers,
                               input=self.pw[user] + "\n", stdout=subprocess.PIPE, text=True)
            line = r.stdout.strip().split(":")
            ok = r.returncode == 0 and len(line) >= 4
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

    def proxy_argv(self, dom):
        e, p = self.env, self.p
        addr = "127.0.0.1" if dom == "a" else "127.0.0.2"
        argv = [self.proxy_bin, "--domain", "%s.example" % dom,
                "--listen", "sip:%s:%d;transport=udp" % (addr, p[dom + "_sip"]),
                "--listen", "sips:%s:%d;transport=tls" % (addr, p[dom + "_tls"]),
                "--cert", e["TB_CERT_" + dom.upper()], "--key", e["TB_KEY_" + dom.upper()],
                "--resolver", e["TB_RESOLVER"], "--trust-anchor", e["TB_ANCHOR"], "--log-level", "info",
                "--trace", "on", "--handshake-timeout", str(self.handshake_ms)]
        if self.has("dane_clientid between proxies"):
            argv += ["--client-name", "sip.%s.example" % dom, "--client-domains", "a.example,b.example"]
        if self.has("Digest authentication at the proxies"):
            argv += ["--users", os.path.join(self.dir, "users", "%s.users" % dom)]
        if dom == "a":
            argv += ["--e164-route", "sip:127.0.0.1:%d;transport=udp" % p["vrf"]]
            if self.has("STIR signing at proxy a"):
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
                    "answermode=auto;audio_codecs=pcmu;mediaenc=dtls_srtp%s\n" % (
                        p["b_sip"], ";auth_pass=%s" % self.pw["bob"] if self.has("Digest authentication at the proxies")
                        else ""))
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
        if self.has("Digest authentication at the proxies"):
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

    # ------------------------------------------------ relays: stand-in signer and man in the middle

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

    def sign(self, iat=None, mky=None):
        argv = [self.sd_bin, "passport", "sign", "--key", self.stir["key"], "--x5u", X5U,
                "--orig", ORIG_TN, "--dest", DEST_TN, "--attest", "A"]
        if iat:
            argv += ["--iat", str(int(iat))]
        for fp in mky or []:
            argv += ["--mky", fp.split(":", 1)[1]]
        r = self.run(argv)
        return r.stdout.strip() if r.returncode == 0 else None

    def standin_signer(self, text):
        first, hdrs, body = sip_headers(text)
        if not first.startswith("INVITE ") or ";tag=" in (hget(hdrs, "to") or ""):
            return text
        ident = self.sign(mky=fingerprints(body))
        self.standin_identity = ident
        crlf = "\r\n" if "\r\n" in text else "\n"
        head, sep, rest = text.partition(crlf)
        return head + crlf + "Identity: %s%s" % (ident, crlf) + rest

    def mitm_fingerprint(self, text):
        first, hdrs, body = sip_headers(text)
        if not first.startswith("INVITE ") or "a=fingerprint" not in text:
            return text

        def flip(m):
            hexes = m.group(2).split(":")
            hexes = ["%02X" % (int(h, 16) ^ 0x5A) for h in hexes]
            return m.group(1) + ":".join(hexes)
        return re.sub(r"(a=fingerprint:\S+ )([0-9A-Fa-f:]+)", flip, text)

    # ------------------------------------------------ alice (our UA)

    def alice(self, name, target, proxy=None, answer=False, duration=12, register=True, aor="sip:alice@a.example",
              tls=False):
        """our UA as alice; @tls: over TLS to a.example, authenticated by dane_clientid and her _user TLSA"""
        p = self.p
        argv = [self.ua_bin, "--aor", aor, "--listen", "sip:127.0.0.1:%d" % p["alice"],
                "--duration", str(duration), "--expect", "100", "--no-ice"]
        if tls:
            argv += ["--tls-cert", self.env["TB_CERT_ALICE"], "--tls-key", self.env["TB_KEY_ALICE"],
                     "--tls-listen", "sips:127.0.0.1:%d;transport=tls" % (p["alice"] + 1),
                     "--registrar", "sip:127.0.0.1:%d;transport=tls" % p["a_tls"]]
        elif register:
            argv += ["--registrar", "sip:127.0.0.1:%d" % p["a_sip"]]
        if not tls and self.has("Digest authentication at the proxies"):
            argv += ["--digest", os.path.join(self.dir, "users", "alice.digest")]
        if proxy:
            argv += ["--proxy", proxy]
        argv += ["--answer"] if answer else ["--call", target]
        return self.start(name, argv)

    # ------------------------------------------------ helpers for checks

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

    def knot_stats(self):
        r = self.run(self.env["TB_KNOTC"].split() + ["stats", "mod-stats"])
        out = {}
        for m in re.finditer(r"query-type\[(\w+)\]\s*=\s*(\d+)", r.stdout):
            out[m.group(1)] = out.get(m.group(1), 0) + int(m.group(2))
        return out

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

    # ------------------------------------------------ scenarios

    def s1(self):
        self.begin("1", "alice calls bob",
                   "DANE both ways, fingerprints byte-identical, DTLS-SRTP verified on both ends, SRTP both ways")
        since = time.time()
        ma, mb, mbs = self.marks()
        tls = self.has("sipdance-ua over TLS with dane_clientid") and self.has("sipdance-proxy reaching TLS-registered users")
        ua = self.alice("alice-1", "sip:bob@b.example", duration=15, tls=tls)
        self.talk("alice-1", ua, r"media secure|call failed|media failed")
        ua_log = self.log("alice-1")
        alog = self.a_log_since(ma)
        blog = self.log("proxy-b")[mb:]
        self.step("registered sip:alice@a.example" in ua_log and re.search(r"registrar: REGISTER alice@a\.example: <sips?:", alog),
                  "alice = sipdance-ua registered at a.example (%s)" % ("TLS" if tls else "UDP"))
        if tls:
            m = re.search(r"auth: peer=\S+ user=alice@a\.example method=(INVITE) rule=dane-clientid verdict=MATCH "
                          r"\(([^)]*)", alog)
            self.step(m is not None, "a.example authenticated alice (REGISTER and INVITE) by dane_clientid and her "
                      "_user TLSA", "INVITE " + m.group(2) if m else "no dane-clientid MATCH for alice's INVITE")
        elif not self.has("sipdance-ua over TLS with dane_clientid"):
            self.pend("sipdance-ua over TLS with dane_clientid",
                      "alice's UA registers and calls over TLS, authenticated by her _user TLSA "
                      "(proxy side shown in 4e)")
        else:
            self.pend("sipdance-proxy reaching TLS-registered users",
                      "alice's call over TLS with dane_clientid (her UA does it, see 4e; but a.example cannot "
                      "send bob's BYE back over her TLS connection yet, so this call uses UDP)")
        m = re.search(r"fed: new TLS connection to (\S+) for b\.example \(SNI (\S+), rule ([\w-]+)\)", alog)
        self.step(m is not None and m.group(3) == "secure-tlsa",
                  "a.example located b.example with DNSSEC (NAPTR -> SRV -> A) and chose DANE",
                  "TLS to %s, SNI %s, rule %s" % m.groups() if m else "no new TLS connection logged")
        m = self.auth(alog, "b.example", outbound=True)
        self.step(m is not None and m["verdict"] == "MATCH",
                  "DANE: a.example authenticated b.example's proxy inside the TLS handshake",
                  "rule %s, %s" % (m["rule"], m["text"]) if m else "no auth line")
        if self.has("RFC 9102 chain in sipdance-proxy"):
            ch = re.findall(r"chain: (sip\.b\.example:\d+ authenticated by its DNSSEC chain[^\n]*)", alog)
            self.step(m is not None and m["via"] == "rfc9102" and bool(ch),
                      "RFC 9102: b.example's proxy served its DNSSEC chain, a validated it offline (no TLSA query)",
                      ch[0] if ch else "no chain line")
        m = self.auth(blog, "a.example", outbound=False)
        self.step(m is not None and m["verdict"] == "MATCH",
                  "b.example authenticated a.example's proxy as TLS client before trusting From a.example",
                  "rule %s, %s" % (m["rule"], m["text"]) if m else "no auth line")
        if self.has("dane_clientid between proxies"):
            self.step(m is not None and m["rule"] == "dane-clientid",
                      "a.example's proxy named itself sip.a.example (dane_clientid); b matched its client TLSA")
        else:
            self.pend("dane_clientid between proxies", "a.example's proxy names itself with the dane_clientid extension")
        ok, detail, _, _ = self.sdp_identical(since, "alice", r"INVITE ")
        self.step(ok, "SDP offer and answer arrived byte-identical (a=fingerprint, a=setup)", detail)
        _, a_rx, b_rx = self.media_checks(ua_log, mbs)
        bye = self.msgs("proxy-b", "recv", r"BYE ", since)
        self.step(bool(bye) and ("call ended by peer" in ua_log) and ua.returncode == 0,
                  "bob hung up after a few seconds; alice's UA exit 0", "BYE from baresip, ua exit %s" % ua.returncode)
        if tls:
            self.step(*self.over_flow(since, r"BYE ", "bob's BYE"))
        self.end("media authenticated both ends; alice got %d, bob %d SRTP packets" % (a_rx, b_rx))

    def s2(self):
        self.begin("2", "bob calls alice",
                   "b authenticates a (RFC 9102 chain when available), media verified both ends")
        since = time.time()
        ma, mb, mbs = self.marks()
        tls = self.has("sipdance-ua over TLS with dane_clientid") and self.has("sipdance-proxy reaching TLS-registered users")
        ua = self.alice("alice-2", None, answer=True, duration=15, tls=tls)
        if not self.wait_for("alice-2", r"waiting for a call", 5, ua):
            self.step(False, "alice registered and waiting", self.log("alice-2")[-200:])
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
        if self.has("RFC 9102 chain in sipdance-proxy"):
            ch = re.findall(r"chain: (sip\.a\.example:\d+ authenticated by its DNSSEC chain[^\n]*)", ball)
            self.step(au is not None and au["via"] == "rfc9102" and bool(ch),
                      "RFC 9102: a.example's proxy served its DNSSEC chain; b validated it offline, no TLSA query",
                      ch[-1] if ch else "no chain line")
        else:
            self.pend("RFC 9102 chain in sipdance-proxy", "b.example authenticates a.example by the DNSSEC chain in the handshake, no TLSA query")
        au = self.auth(self.log("proxy-a"), "b.example", outbound=False, last=True)
        self.step(au is not None and au["verdict"] == "MATCH",
                  "a.example accepted From bob@b.example only from a TLS client authenticated for b.example",
                  "rule %s, %s" % (au["rule"], au["text"]) if au else "no inbound authentication of b.example")
        if tls:
            self.step(*self.over_flow(since, r"INVITE ", "bob's INVITE"))
        else:
            self.pend("sipdance-proxy reaching TLS-registered users",
                      "a.example delivers bob's INVITE to alice over her dane_clientid-authenticated TLS "
                      "connection (alice answers on UDP until then)")
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
        stop_relay = None
        self.standin_identity = None
        aor = "<sip:+%s@a.example;user=phone>" % ORIG_TN
        self.info("alice calls as her number +%s (From %s)" % (ORIG_TN, aor))
        if self.has("STIR signing at proxy a"):
            ua = self.alice("alice-3", target, duration=3, register=False, aor=aor,
                            proxy="sip:127.0.0.1:%d" % self.p["a_sip"])
        else:
            self.pend("STIR signing at proxy a",
                      "proxy a signs the PASSporT; until then a stand-in signer hop in front of a "
                      "(sipdance passport sign, attest A, mky = alice's fingerprint)")
            stop_relay = self.relay("signer", self.standin_signer)
            ua = self.alice("alice-3", target, duration=3, register=False, aor=aor,
                            proxy="sip:127.0.0.1:%d" % self.p["relay"])
        self.reap(ua, 10)
        if stop_relay:
            stop_relay()
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
        if self.has("Digest authentication at the proxies"):
            dg = re.search(r"auth: peer=\S+ (user=alice@a\.example method=INVITE rule=digest verdict=MATCH attest=A .*)",
                           alog)
            self.step(dg is not None, "proxy a authenticated alice by Digest, entitled to her number: attestation A",
                      dg.group(1) if dg else "no Digest MATCH for alice's INVITE")
        if self.has("STIR signing at proxy a"):
            sg = re.search(r"stir: (sign .*)", alog)
            self.step(bool(id_out) and not id_in, "proxy a signed a SHAKEN PASSporT and added the Identity header",
                      sg.group(1) if sg else short_id(id_out))
            self.step(bool(id_v) and id_v == id_out, "the Identity header arrived at the next hop unchanged")
        else:
            self.step(bool(id_in) and id_in == id_out == id_v,
                      "the Identity header crossed proxy a byte-identical", short_id(id_in))
        self.step(bool(v) and v[0][2] == 480 and "verified" in v[0][3],
                  "next hop verified the PASSporT (sipdance passport verify): signature, STI-CA chain, "
                  "TNAuthList, iat, orig/dest, mky",
                  "%d %s" % (v[0][2], v[0][3]) if v else "no verdict")
        dq = {t: k1.get(t, 0) - k0.get(t, 0) for t in ("NAPTR", "SRV", "TLSA", "A", "AAAA")}
        fed = re.search(r"^.*(fed: |auth: peer=\S+ domain=).*$", alog, re.M)  # DANE decisions, not user auth
        self.step(sum(dq.values()) == 0 and fed is None, "no DNS/DANE lookup for the number",
                  "Knot counted %s new NAPTR/SRV/TLSA/A/AAAA queries; no DANE decision at a" % sum(dq.values())
                  if k0 else "no DANE decision at a (Knot counters unavailable)")
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

    def zone_edit(self, zone, owner, rtype, rdata):
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
        n = len(self.log("proxy-a"))
        os.kill(self.pa.pid, signal.SIGHUP)
        for _ in range(int(40 * self.patience)):
            if "cache flushed" in self.log("proxy-a")[n:]:
                break
            time.sleep(0.05)

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

    def s4d(self):
        self.begin("4d", "attack: stale and replayed PASSporTs",
                   "403 Stale Date for an old iat; a replay of a used PASSporT refused")
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
                   "403 with a Reason header")
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
        if self.has("sipdance-ua over TLS with dane_clientid") and self.has("DANE client auth at proxy a"):
            ma, _, _ = self.marks()
            ua = self.alice("alice-4e", "sip:bob@b.example", duration=2, tls=True)
            self.reap(ua, 10)
            alog = self.a_log_since(ma)
            m = re.search(r"auth: peer=\S+ user=alice@a\.example method=(INVITE) rule=dane-clientid verdict=MATCH "
                          r"\(([^)]*)", alog)
            self.step(m is not None and "TLS client identity" in self.log("alice-4e"),
                      "alice's own UA over TLS (sipdance-ua --tls-cert): her INVITE is authenticated as alice@a.example "
                      "by dane_clientid and her _user TLSA", "INVITE " + m.group(2) if m else "no dane-clientid MATCH for her INVITE")
        client = os.path.join(self.build, "tests", "sip-tls-client")
        if self.has("DANE client auth at proxy a") and os.access(client, os.X_OK):
            self.user_claims(client)
        elif self.has("DANE client auth at proxy a"):
            self.pend("tests/sip-tls-client", "alice over TLS with dane_clientid claims carol@a.example "
                      "(build it: make tests/sip-tls-client)")
        else:
            self.pend("DANE client auth at proxy a",
                      "alice, authenticated by her _user TLSA, claims carol@a.example at her own proxy: 403")
        self.end('403 "forged domain"' + ('; 403 "identity mismatch"' if self.has("DANE client auth at proxy a") else ""))

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

    def s4f(self):
        self.begin("4f", "attack: no authentication, no vouching",
                   "an unauthenticated REGISTER and INVITE are challenged, nothing is bound, routed or signed")
        if not self.has("Digest authentication at the proxies"):
            self.pend("Digest authentication at the proxies", "a.example authenticates its users before it vouches "
                      "for them: an unauthenticated REGISTER hijack and INVITE are refused")
            self.end("pending")
            return
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

    def user_claims(self, client):
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
        r = self.run([client, "127.0.0.1", str(self.p["a_tls"]), self.env["TB_CERT_ALICE"], self.env["TB_KEY_ALICE"],
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

    # ------------------------------------------------ report

    def ladder_msgs(self, s):
        """the SIP messages of one scenario, each once, as (t, from, to, label, transport)"""
        a = parse_tport_log(os.path.join(self.dir, "proxy-a.log"), "proxy-a", self.day0)
        b = parse_tport_log(os.path.join(self.dir, "proxy-b.log"), "proxy-b", self.day0)
        # [begin, end] of the scenario: every message it causes comes after its begin
        t0, t1 = s["t0"], s["t1"] or time.time()
        p = self.p
        out = []

        def label(m):
            if m.first.startswith("SIP/2.0 "):
                cseq = (hget(m.hdrs, "cseq") or "").split()
                return "%s (%s)" % (m.first[8:], cseq[-1] if cseq else "?")
            return re.sub(r" SIP/2.0$", "", m.first)

        def keep(m):
            cseq = (hget(m.hdrs, "cseq") or "").split()
            return (not (cseq and cseq[-1] in ("REGISTER", "OPTIONS")) or s["key"] == "4f") and \
                not m.first.startswith("SIP/2.0 100")

        relayed = any(m.who in ("mitm", "signer") for m in self.extra_msgs if t0 <= m.t <= t1)

        def name_a(peer, transport):
            ip, port = peer
            if ip == "127.0.0.2":
                return "b.example"
            if port == p["vrf"]:
                return "PSTN verifier"
            if transport == "udp" and port != p["alice"] and relayed:
                return "hop"
            return "alice"

        for m in a:
            if t0 <= m.t <= t1 and keep(m):
                other = name_a(m.peer, m.transport)
                if m.dir == "send":
                    out.append((m.t, "a.example", other, label(m), m.transport))
                else:
                    out.append((m.t, other, "a.example", label(m), m.transport))
        def from_a(m):
            # b's TLS peers: a's proxy (its listener, or its Via on top), else bob (baresip
            # follows b.example's NAPTR to SIPS for in-dialog requests)
            via = (hget(m.hdrs, "via") or "").split(",")[0]
            return m.peer[1] == p["a_tls"] or re.search(r"/TLS 127\.0\.0\.1:%d\b" % p["a_tls"], via) is not None

        for m in b:
            if t0 <= m.t <= t1 and not (m.transport == "tls" and from_a(m)) and keep(m):
                other = "bob" if m.peer[1] == p["bob"] or m.transport == "tls" else "alice"
                if m.dir == "send":
                    out.append((m.t, "b.example", other, label(m), m.transport))
                else:
                    out.append((m.t, other, "b.example", label(m), m.transport))
        for m in self.extra_msgs:
            if t0 <= m.t <= t1 and m.who in ("mitm", "signer") and m.peer[1] != p["a_sip"] and keep(m):
                if m.dir == "recv":
                    out.append((m.t, "alice", "hop", label(m), "udp"))
                else:
                    out.append((m.t, "hop", "alice", label(m), "udp"))
        if s["key"] == "4d":
            for m in self.extra_msgs:
                if t0 <= m.t <= t1 and m.who == "pstn" and keep(m):
                    out.append((m.t, "attacker", "PSTN verifier", label(m), "udp") if m.dir == "recv" else
                               (m.t, "PSTN verifier", "attacker", label(m), "udp"))
        if s["key"] == "4e":
            out = [(t, "alice (attacker)" if f == "alice" else f, "alice (attacker)" if x == "alice" else x, l, tr)
                   for t, f, x, l, tr in out]
        if s["key"] == "4f":
            out = [(t, "attacker" if f == "alice" else f, "attacker" if x == "alice" else x, l, tr)
                   for t, f, x, l, tr in out]
        out.sort(key=lambda o: o[0])
        return out

    def svg(self, msgs):
        cols = []
        order = ["attacker", "alice (attacker)", "alice", "hop", "a.example", "PSTN verifier", "b.example", "bob"]
        for o in order:
            if any(o in (m[1], m[2]) for m in msgs):
                cols.append(o)
        for m in msgs:
            for x in (m[1], m[2]):
                if x not in cols:
                    cols.append(x)
        if not msgs:
            return "<p><em>no SIP messages in this scenario's window</em></p>"
        w, dy, top = 170, 26, 40
        width = w * len(cols) + 40
        height = top + dy * (len(msgs) + 1)
        x = {c: 20 + w // 2 + i * w for i, c in enumerate(cols)}
        s = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="monospace" '
             'font-size="11">' % (width, height),
             '<defs><marker id="ah" markerWidth="8" markerHeight="8" refX="8" refY="4" orient="auto">'
             '<path d="M0,0 L8,4 L0,8 z" fill="context-stroke"/></marker></defs>']
        for c in cols:
            s.append('<text x="%d" y="20" text-anchor="middle" font-weight="bold">%s</text>' % (x[c], html.escape(c)))
            s.append('<line x1="%d" y1="28" x2="%d" y2="%d" stroke="#999" stroke-dasharray="3,3"/>'
                     % (x[c], x[c], height - 5))
        t0 = msgs[0][0]
        for i, (t, f, to, label, tr) in enumerate(msgs):
            y = top + dy * (i + 1)
            proxies = {f, to} <= {"a.example", "b.example"}
            color = ("#1a7f37" if proxies else "#0969da") if tr == "tls" else "#555"
            if re.match(r"[3-6]\d\d ", label):
                color = "#cf222e"
            lab = label[:44]
            s.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="1.5" marker-end="url(#ah)"/>'
                     % (x[f], y, x[to], y, color))
            s.append('<text x="%d" y="%d" text-anchor="middle" fill="%s" stroke="#fff" stroke-width="3" '
                     'paint-order="stroke">%s%s</text>'
                     % ((x[f] + x[to]) // 2, y - 4, color, html.escape(lab), " [TLS]" if tr == "tls" else ""))
            s.append('<text x="4" y="%d" fill="#888" font-size="9">+%d ms</text>' % (y - 4, int((t - t0) * 1000)))
        s.append("</svg>")
        return "\n".join(s)

    def decisions(self, s):
        t0, t1 = s["t0"], s["t1"] or time.time()
        out = []
        for who in ("proxy-a", "proxy-b"):
            for ln in self.log(who).split("\n"):
                m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)Z \w+ (auth|fed|dns|stir|chain|proxy|clientid): (.*)", ln)
                if not m:
                    continue
                ts = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%f").replace(
                    tzinfo=datetime.timezone.utc).timestamp()
                if t0 <= ts <= t1 and m.group(2) != "proxy" or (t0 <= ts <= t1 and "->" in m.group(3)):
                    out.append("%s %s: %s" % (who, m.group(2), m.group(3)))
        for t, cid, st, reason, _ in self.verdicts:
            if t0 <= t <= t1:
                out.append("PSTN verifier: %d %s" % (st, reason))
        return out

    def report(self, path, total, failed):
        rows, body = [], []
        for s in self.results:
            if s["key"] == "0":
                continue
            st = state_of(s)
            rows.append("<tr class=%s><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%.1f s</td></tr>" % (
                st, s["key"], html.escape(s["title"]), html.escape(s["expected"]), html.escape(s["observed"]),
                {"pass": "\u2714 pass", "fail": "\u2718 FAIL", "pending": "\u2714 pass (with pending steps)"}[st],
                (s["t1"] or s["t0"]) - s["t0"]))
        for s in self.results:
            steps = "".join('<li class=%s>%s %s%s</li>' % (
                st, {"pass": "\u2714", "fail": "\u2718", "pending": "\u2026 pending:", "info": "\u00b7"}[st],
                html.escape(t), (" <small>\u2014 %s</small>" % html.escape(d)) if d else "")
                for st, t, d in s["steps"])
            body.append("<h2>%s &nbsp;%s</h2><p><b>expected:</b> %s</p><ul>%s</ul>" % (
                s["key"], html.escape(s["title"]), html.escape(s["expected"]), steps))
            if s["key"] != "0":
                body.append("<h3>SIP ladder</h3>" + self.svg(self.ladder_msgs(s)))
                dec = self.decisions(s)
                body.append("<h3>DNSSEC / DANE / STIR decisions</h3><pre>%s</pre>" % html.escape(
                    "\n".join(dec) if dec else "(none logged in this scenario)"))
        pend = "".join("<li>%s: %s \u2014 %s</li>" % (html.escape(k), html.escape(f), html.escape(t))
                       for k, f, t in self.pending)
        doc = """<!doctype html><html><head><meta charset="utf-8"><title>sipdance federated call demo</title>
<style>body{font-family:sans-serif;max-width:1200px;margin:1em auto;color:#222}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top;font-size:90%%}
tr.fail td{background:#ffebe9}tr.pass td{background:#dafbe1}tr.pending td{background:#fff8c5}
li.pass{color:#1a7f37}li.fail{color:#cf222e}li.pending{color:#9a6700}li.info{color:#555}
pre{background:#f6f8fa;padding:8px;font-size:85%%;white-space:pre-wrap}svg{background:#fff;border:1px solid #eee}</style>
</head><body><h1>sipdance federated call demo</h1>
<p>%s &middot; %.1f s &middot; %s &middot; build %s &middot; logs in %s</p>
<p>Green arrows are TLS between the proxies (authenticated by DANE), blue other TLS (a user and her proxy),
grey UDP inside a domain, red refusals.</p>
<table><tr><th>#</th><th>scenario</th><th>expected</th><th>observed</th><th>result</th><th>time</th></tr>%s</table>
<h3>pending (features not in sipdance-proxy yet; counted neither pass nor fail)</h3><ul>%s</ul>
%s</body></html>""" % (datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M:%SZ"), total,
                       "FAILED (%d steps)" % failed if failed else "all checks passed",
                       html.escape(self.build), html.escape(self.dir), "".join(rows), pend or "<li>none</li>",
                       "\n".join(body))
        with open(path, "w") as f:
            f.write(doc)


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


def state_of(s):
    sts = [st for st, _, _ in s["steps"]]
    if "fail" in sts:
        return "fail"
    return "pending" if "pending" in sts else "pass"


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
        for s in (demo.s1, demo.s2, demo.s3, demo.s4a, demo.s4b, demo.s4c, demo.s4d, demo.s4e, demo.s4f):
            try:
                s()
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
            st = state_of(s)
            res = {"pass": o.c("32", "pass      "), "fail": o.c("31", "FAIL      "),
                   "pending": o.c("33", "pass+pend ")}[st]
            print(fmt % (s["key"], s["title"][:42], res, "%.1fs" % ((s["t1"] or s["t0"]) - s["t0"]),
                         s["observed"][:80]))
        if demo.pending:
            print("  pending (not counted): " + "; ".join(sorted(set(f for _, f, _ in demo.pending))))
        report = args.report or os.path.join(demo.dir, "report.html")
        try:
            demo.report(report, total, failed)
            print("  report: %s" % report)
        except Exception as e:
            print("  report not written: %s" % e)
            rc = rc or 1
        npass = sum(1 for s in demo.results for st, _, _ in s["steps"] if st == "pass")
        print("  %d checks passed, %d failed, %d pending; %.1f s; exit %d" % (
            npass, failed, len(demo.pending), total, rc))
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
