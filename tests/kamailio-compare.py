#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
# kamailio-compare.py - compare what one SIPp sent with what another received (-trace_msg
# -message_file logs): the body and the named headers of the first message with the given start
# (e.g. "INVITE" or "SIP/2.0 200"), byte for byte. Prints one line per item; exit 1 on a difference.
#
#   kamailio-compare.py SENT-LOG RECEIVED-LOG START [HEADER...]
import re, sys

sent_log, recv_log, start = sys.argv[1:4]
headers = sys.argv[4:]


def messages(path, direction):
    """The messages of one direction ("sent" or "received") in a SIPp message log, as raw text."""
    text = open(path, "rb").read().decode("latin-1")
    out = []
    for chunk in re.split(r"^-{20,} .*\n", text, flags=re.M):
        m = re.match(r"[A-Z]+ message %s[^\n]*:\n\n" % direction, chunk)
        if m:
            out.append(chunk[m.end():])
    return out


def find(msgs, start, cseq_method):
    for m in msgs:
        if m.startswith(start) and re.search(r"^CSeq: *\d+ %s" % cseq_method, m, re.M | re.I):
            return m
    return None


method = "INVITE"
sent = find(messages(sent_log, "sent"), start, method)
recv = find(messages(recv_log, "received"), start, method)
if sent is None or recv is None:
    print("FAIL - %s: not found (sent %s, received %s)" % (start, sent is not None, recv is not None))
    sys.exit(1)
rc = 0


def split(msg):
    head, _, body = msg.replace("\r\n", "\n").partition("\n\n")
    return head, body.rstrip("\n")


sh, sb = split(sent)
rh, rb = split(recv)
if sb == rb and sb:
    print("ok - %s body identical (%d bytes)" % (start, len(sb)))
else:
    print("FAIL - %s body differs:\n--- sent\n%s\n--- received\n%s" % (start, sb, rb))
    rc = 1
for h in headers:
    pat = re.compile(r"^%s:[ \t]*(.*)$" % re.escape(h), re.M | re.I)
    a, b = pat.findall(sh), pat.findall(rh)
    if a and a == b:
        print("ok - %s %s header identical (%d bytes)" % (start, h, len(a[0])))
    else:
        print("FAIL - %s %s header: sent %r, received %r" % (start, h, a, b))
        rc = 1
sys.exit(rc)
