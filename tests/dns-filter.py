#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
# dns-filter.py - a DNS server in front of another (UDP and TCP) that never answers queries for one
# domain and its subdomains, the way a dead or hostile name server holds a lookup; every other query
# is relayed to the upstream server and its answer back. For the Kamailio tests.
#
#   dns-filter.py ADDR PORT UPSTREAM-ADDR UPSTREAM-PORT SILENT-DOMAIN COUNTFILE
# COUNTFILE gets "relayed N silent M" after each query; "listening" on stdout once both sockets are bound.
import asyncio, socket, struct, sys

addr, port, up_addr, up_port, silent, countfile = sys.argv[1], int(sys.argv[2]), sys.argv[3], \
    int(sys.argv[4]), sys.argv[5].lower().rstrip("."), sys.argv[6]
seen = {"relayed": 0, "silent": 0}


def qname(msg):
    """The question's name, lower case, or None when the message does not hold one."""
    labels, i = [], 12
    while i < len(msg):
        n = msg[i]
        if n == 0:
            return ".".join(labels)
        if n & 0xC0:
            return None
        labels.append(msg[i + 1:i + 1 + n].decode("ascii", "replace").lower())
        i += 1 + n
    return None


def held(msg):
    """Whether @msg is a query for the silent domain (counted either way)."""
    name = qname(msg)
    quiet = name is not None and (name == silent or name.endswith("." + silent))
    seen["silent" if quiet else "relayed"] += 1
    with open(countfile, "w") as f:
        f.write("relayed %d silent %d\n" % (seen["relayed"], seen["silent"]))
    return quiet


class Udp(asyncio.DatagramProtocol):
    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, peer):
        if not held(data):
            asyncio.get_running_loop().create_task(self.relay(data, peer))

    async def relay(self, data, peer):
        loop = asyncio.get_running_loop()
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setblocking(False)
        try:
            await loop.sock_connect(s, (up_addr, up_port))
            await loop.sock_sendall(s, data)
            self.transport.sendto(await asyncio.wait_for(loop.sock_recv(s, 65535), 10), peer)
        except (OSError, asyncio.TimeoutError):
            pass
        finally:
            s.close()


async def tcp_client(reader, writer):
    try:
        while True:
            n = struct.unpack("!H", await reader.readexactly(2))[0]
            data = await reader.readexactly(n)
            if held(data):
                continue
            ur, uw = await asyncio.open_connection(up_addr, up_port)
            uw.write(struct.pack("!H", n) + data)
            await uw.drain()
            m = struct.unpack("!H", await ur.readexactly(2))[0]
            writer.write(struct.pack("!H", m) + await ur.readexactly(m))
            await writer.drain()
            uw.close()
    except (OSError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


async def main():
    loop = asyncio.get_running_loop()
    await loop.create_datagram_endpoint(Udp, local_addr=(addr, port))
    server = await asyncio.start_server(tcp_client, addr, port)
    print("listening", flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
