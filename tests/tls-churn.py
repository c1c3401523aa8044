#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""tls-churn.py - TLS connection churn against a SIP proxy, one short connection at a time.

  tls-churn.py client HOST PORT -n N --cert C --key K --sni NAME --from URI --ruri URI [--every K --pid P]
      N fresh TLS connections into a proxy, one after another: each presents the client
      certificate, sends one OPTIONS and closes once a final response came (inbound churn).
  tls-churn.py tcp HOST PORT -n N --from URI --ruri URI [--every K --pid P]
      N OPTIONS over one TCP connection, one after another, each waiting for its final
      response: towards a server that closes every connection (below), each makes the proxy
      open a new one (outbound churn). TCP, not UDP: the proxy keeps no transaction state once
      a request over a reliable transport is answered, so what remains is what a connection
      costs. With --sync LOG (the output of a server with --wait-close), each request waits for the "closed" of the
      previous connection first, so the proxy never finds a connection closing under it.
  tls-churn.py server HOST PORT --cert C --key K [--ready FILE] [--wait-close]
      a TLS SIP server that answers every request 200 and then closes the connection; it
      prints "served N" after each answer, and with --wait-close sends close_notify and prints
      "closed N" once the proxy has closed its side too.

With --pid, after every K connections (--every) a line "at COUNT rss KB" gives the VmRSS of
that process. The last line of client and tcp is "churn ok=N failed=M". Exit status 0 when
every request got a 2xx.
"""
import argparse
import re
import socket
import ssl
import sys
import time
import uuid


def rss_kb(pid):
    """VmRSS of @pid in kB (0 if gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def request(args, transport, local):
    """One OPTIONS from @args.sender to @args.ruri."""
    branch = "z9hG4bK" + uuid.uuid4().hex
    return (f"OPTIONS {args.ruri} SIP/2.0\r\n"
            f"Via: SIP/2.0/{transport} {local[0]}:{local[1]};branch={branch};rport\r\n"
            f"From: <{args.sender}>;tag={uuid.uuid4().hex[:8]}\r\n"
            f"To: <{args.ruri}>\r\nCall-ID: {uuid.uuid4().hex}@churn\r\nCSeq: 1 OPTIONS\r\n"
            "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n").encode()


def final_status(data):
    """The status of the first final response in @data, or None; a failure's Reason is printed."""
    for m in re.finditer(rb"^SIP/2\.0 ([1-6][0-9][0-9]) ", data, re.M):
        st = int(m.group(1))
        if st >= 300:
            why = re.search(rb"^Reason: *(.*?)\r?$", data[m.start():], re.M | re.I)
            print(f"# {st}: {why.group(1).decode(errors='replace') if why else 'no Reason'}", flush=True)
        if st >= 200:
            return st
    return None


def one_tls(args, ctx):
    """One connection, one request: the final status (0 on a failure)."""
    with socket.create_connection((args.host, args.port), timeout=args.timeout) as raw:
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no 40 ms wait for an ACK
        with ctx.wrap_socket(raw, server_hostname=args.sni) as s:
            s.sendall(request(args, "TLS", s.getsockname()))
            data, st = b"", None
            while st is None:
                chunk = s.recv(4096)
                if not chunk:
                    return 0
                data += chunk
                st = final_status(data)
            return st


def one_tcp(args, s):
    """One request over the TCP connection @s: its final status (0 if the connection ends)."""
    msg = request(args, "TCP", s.getsockname())
    call = re.search(rb"Call-ID: (\S+)", msg).group(1)
    s.sendall(msg)
    data = b""
    while True:
        # responses have no body here: one message ends at its empty line
        while b"\r\n\r\n" in data:
            head, data = data.split(b"\r\n\r\n", 1)
            st = final_status(head)
            if st and call in head:
                return st
        chunk = s.recv(65536)
        if not chunk:
            return 0
        data += chunk


class Closed:
    """The server's log: how many connections it has seen closed, read as it grows."""

    def __init__(self, path):
        self.f = open(path)
        self.count = 0
        self.rest = ""

    def wait(self, count, timeout):
        """Until "closed COUNT" is in the log: the proxy has seen that connection end."""
        deadline = time.monotonic() + timeout
        while self.count < count and time.monotonic() < deadline:
            self.rest += self.f.read()
            *lines, self.rest = self.rest.split("\n")
            for line in lines:
                if line.startswith("closed "):
                    self.count = int(line.split()[1])
            if self.count < count:
                time.sleep(0.002)


def run_churn(args):
    """client and tcp modes."""
    ok = failed = 0
    closed = Closed(args.sync) if args.sync else None
    if args.mode == "client":
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.load_cert_chain(args.cert, args.key)
    else:
        tcp = socket.create_connection((args.host, args.port), timeout=args.timeout)
        tcp.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for i in range(1, args.n + 1):
        try:
            st = one_tls(args, ctx) if args.mode == "client" else one_tcp(args, tcp)
        except OSError as e:
            st = 0
            if failed < 5:
                print(f"# connection {i}: {e}", flush=True)
        if closed:
            closed.wait(i, args.timeout)
        if 200 <= st < 300:
            ok += 1
        else:
            failed += 1
            if failed <= 5:
                print(f"# request {i}: status {st}", flush=True)
        if args.pid and args.every and i % args.every == 0:
            print(f"at {i} rss {rss_kb(args.pid)}", flush=True)
    print(f"churn ok={ok} failed={failed}", flush=True)
    return 0 if failed == 0 else 1


def serve(args):
    """server mode: answer each request 200, then close the connection."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    lsn = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsn.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsn.bind((args.host, args.port))
    lsn.listen(64)
    if args.ready:
        with open(args.ready, "w") as f:
            f.write("listening\n")
    n = 0
    while True:
        raw, _ = lsn.accept()
        raw.settimeout(args.timeout)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            with ctx.wrap_socket(raw, server_side=True) as s:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                head = data.split(b"\r\n\r\n", 1)[0].decode(errors="replace").split("\r\n")
                if not head or not head[0].endswith("SIP/2.0") or head[0].startswith("ACK "):
                    continue
                keep = [h for h in head[1:] if re.match(r"(?i)(via|from|call-id|cseq|to):", h)]
                keep = [h + (";tag=churn" if h.lower().startswith("to:") and "tag=" not in h else "")
                        for h in keep]
                s.sendall(("SIP/2.0 200 OK\r\n" + "\r\n".join(keep) +
                           "\r\nContent-Length: 0\r\n\r\n").encode())
                n += 1
                print(f"served {n}", flush=True)
                if not args.wait_close:
                    continue
                # close_notify, then wait until the proxy has closed its side too
                try:
                    plain = s.unwrap()
                except (OSError, ValueError, ssl.SSLError):
                    plain = raw
                try:
                    while plain.recv(4096):
                        pass
                except OSError:
                    pass
                print(f"closed {n}", flush=True)
        except (OSError, ssl.SSLError) as e:
            print(f"# server: {e}", file=sys.stderr, flush=True)
        finally:
            raw.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["client", "tcp", "server"])
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("-n", "--count", dest="n", type=int, default=1)
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--sni")
    p.add_argument("--from", dest="sender", default="sip:churn@b.example")
    p.add_argument("--ruri", default="sip:a.example")
    p.add_argument("--every", type=int, default=0)
    p.add_argument("--pid", type=int, default=0)
    p.add_argument("--timeout", type=float, default=10.0)
    p.add_argument("--ready")
    p.add_argument("--sync")
    p.add_argument("--wait-close", action="store_true")
    args = p.parse_args()
    if args.mode == "server":
        serve(args)
        return 0
    return run_churn(args)


if __name__ == "__main__":
    sys.exit(main())
