#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""http-get.py - a raw HTTP client for the proxy's metrics endpoint.

  http-get.py HOST PORT [REQUEST]   send REQUEST (default "GET /metrics HTTP/1.0\\r\\n\\r\\n",
                                    escapes \\r \\n understood), print the whole response
  http-get.py HOST PORT --silent    connect, send nothing, print "closed" once the server ends it
  http-get.py HOST PORT --flood N   send N bytes of header without an end, print the response
Exit status 0 when the server answered (or closed, with --silent) within --timeout seconds.
"""
import argparse
import socket
import sys


def main():
    p = argparse.ArgumentParser()
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("request", nargs="?", default="GET /metrics HTTP/1.0\\r\\n\\r\\n")
    p.add_argument("--silent", action="store_true")
    p.add_argument("--flood", type=int, default=0)
    p.add_argument("--timeout", type=float, default=10.0)
    a = p.parse_args()
    with socket.create_connection((a.host, a.port), timeout=a.timeout) as s:
        try:
            if a.flood:
                s.sendall(b"GET /metrics HTTP/1.0\r\nX: " + b"a" * a.flood)
            elif not a.silent:
                s.sendall(a.request.encode().decode("unicode_escape").encode("latin-1"))
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        except socket.timeout:
            print("timeout", flush=True)
            return 1
        except ConnectionResetError:
            pass
    if a.silent:
        print("closed")
    else:
        sys.stdout.write(data.decode(errors="replace").replace("\r\n", "\n"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
