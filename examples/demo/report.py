# SPDX-License-Identifier: BSD-2-Clause
"""report.py - the federated call demo's HTML report (demo.py writes it at the end).

Reads SIP messages out of the proxies' message traces (sipdance-proxy --trace:
sofia-sip's message log) and the demo's own relays and verifier, draws one SVG
ladder per scenario, lists the DNSSEC/DANE/STIR decisions the proxies logged
meanwhile, and writes the page with the summary table and every step.
"""
import datetime
import html
import os
import re
import time

# ---------------------------------------------------------------- SIP messages and traces

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


# ---------------------------------------------------------------- the report

def passed(s):
    """whether every step of scenario @s passed"""
    return all(st != "fail" for st, _, _ in s["steps"])


def ladder_msgs(d, s):
    """the SIP messages of scenario @s of demo @d, each once, as (t, from, to, label, transport).
    The scenario's ladder options (Demo.begin): "register": REGISTER and OPTIONS drawn too (left
    out elsewhere); "verifier": who talks to the PSTN verifier directly (its own trace drawn);
    "alice": the name of alice's column (an attacker in her place)"""
    a = parse_tport_log(os.path.join(d.dir, "proxy-a.log"), "proxy-a", d.day0)
    b = parse_tport_log(os.path.join(d.dir, "proxy-b.log"), "proxy-b", d.day0)
    # [begin, end] of the scenario: every message it causes comes after its begin
    t0, t1 = s["t0"], s["t1"] or time.time()
    opt = s["ladder"]
    p = d.p
    out = []

    def label(m):
        if m.first.startswith("SIP/2.0 "):
            cseq = (hget(m.hdrs, "cseq") or "").split()
            return "%s (%s)" % (m.first[8:], cseq[-1] if cseq else "?")
        return re.sub(r" SIP/2.0$", "", m.first)

    def keep(m):
        cseq = (hget(m.hdrs, "cseq") or "").split()
        return (not (cseq and cseq[-1] in ("REGISTER", "OPTIONS")) or opt.get("register")) and \
            not m.first.startswith("SIP/2.0 100")

    # d.extra_msgs: the traces of the verifier ("pstn") and of the relays (any other name)
    relayed = any(m.who != "pstn" for m in d.extra_msgs if t0 <= m.t <= t1)

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
    for m in d.extra_msgs:
        if t0 <= m.t <= t1 and m.who != "pstn" and m.peer[1] != p["a_sip"] and keep(m):
            if m.dir == "recv":
                out.append((m.t, "alice", "hop", label(m), "udp"))
            else:
                out.append((m.t, "hop", "alice", label(m), "udp"))
    if opt.get("verifier"):
        who = opt["verifier"]
        for m in d.extra_msgs:
            if t0 <= m.t <= t1 and m.who == "pstn" and keep(m):
                out.append((m.t, who, "PSTN verifier", label(m), "udp") if m.dir == "recv" else
                           (m.t, "PSTN verifier", who, label(m), "udp"))
    if opt.get("alice"):
        who = opt["alice"]
        out = [(t, who if f == "alice" else f, who if x == "alice" else x, l, tr) for t, f, x, l, tr in out]
    out.sort(key=lambda o: o[0])
    return out

def svg(msgs):
    """the ladder diagram of @msgs (ladder_msgs)"""
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

def decisions(d, s):
    """the proxies' DNSSEC/DANE/STIR log lines and the verifier's verdicts during scenario @s"""
    t0, t1 = s["t0"], s["t1"] or time.time()
    out = []
    for who in ("proxy-a", "proxy-b"):
        for ln in d.log(who).split("\n"):
            m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)Z \w+ (auth|fed|dns|stir|chain|proxy|clientid): (.*)", ln)
            if not m:
                continue
            ts = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%f").replace(
                tzinfo=datetime.timezone.utc).timestamp()
            if t0 <= ts <= t1 and m.group(2) != "proxy" or (t0 <= ts <= t1 and "->" in m.group(3)):
                out.append("%s %s: %s" % (who, m.group(2), m.group(3)))
    for t, cid, st, reason, _ in d.verdicts:
        if t0 <= t <= t1:
            out.append("PSTN verifier: %d %s" % (st, reason))
    return out

def write(d, path, total, failed):
    """the HTML report of demo @d at @path: @total seconds, @failed steps"""
    rows, body = [], []
    for s in d.results:
        if s["key"] == "0":
            continue
        ok = passed(s)
        rows.append("<tr class=%s><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%.1f s</td></tr>" % (
            "pass" if ok else "fail", s["key"], html.escape(s["title"]), html.escape(s["expected"]),
            html.escape(s["observed"]), "\u2714 pass" if ok else "\u2718 FAIL", (s["t1"] or s["t0"]) - s["t0"]))
    for s in d.results:
        steps = "".join('<li class=%s>%s %s%s</li>' % (
            st, {"pass": "\u2714", "fail": "\u2718", "info": "\u00b7"}[st],
            html.escape(t), (" <small>\u2014 %s</small>" % html.escape(detail)) if detail else "")
            for st, t, detail in s["steps"])
        body.append("<h2>%s &nbsp;%s</h2><p><b>expected:</b> %s</p><ul>%s</ul>" % (
            s["key"], html.escape(s["title"]), html.escape(s["expected"]), steps))
        if s["key"] != "0":
            body.append("<h3>SIP ladder</h3>" + svg(ladder_msgs(d, s)))
            dec = decisions(d, s)
            body.append("<h3>DNSSEC / DANE / STIR decisions</h3><pre>%s</pre>" % html.escape(
                "\n".join(dec) if dec else "(none logged in this scenario)"))
    doc = """<!doctype html><html><head><meta charset="utf-8"><title>sipdance federated call demo</title>
<style>body{font-family:sans-serif;max-width:1200px;margin:1em auto;color:#222}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top;font-size:90%%}
tr.fail td{background:#ffebe9}tr.pass td{background:#dafbe1}
li.pass{color:#1a7f37}li.fail{color:#cf222e}li.info{color:#555}
pre{background:#f6f8fa;padding:8px;font-size:85%%;white-space:pre-wrap}svg{background:#fff;border:1px solid #eee}</style>
</head><body><h1>sipdance federated call demo</h1>
<p>%s &middot; %.1f s &middot; %s &middot; build %s &middot; logs in %s</p>
<p>Green arrows are TLS between the proxies (authenticated by DANE), blue other TLS (a user and her proxy),
grey UDP inside a domain, red refusals.</p>
<table><tr><th>#</th><th>scenario</th><th>expected</th><th>observed</th><th>result</th><th>time</th></tr>%s</table>
%s</body></html>""" % (datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M:%SZ"), total,
                   "FAILED (%d steps)" % failed if failed else "all checks passed",
                   html.escape(d.build), html.escape(d.dir), "".join(rows),
                   "\n".join(body))
    with open(path, "w") as f:
        f.write(doc)
