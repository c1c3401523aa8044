#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
# dns-filter.py - a DNS server in front of another (UDP and TCP) that never answers queries for one
# domain and its subdomains, the way a dead or hostile name server holds a lookup; every other query
# is relayed to the upstream server and its answer back. SIGUSR1 makes the whole server unresponsive:
# every query is held from then on, until SIGUSR2 relays the held ones and lets the later ones through.
# For the Kamailio tests and tests/proxy-chain.sh.
#
#   dns-filter.py ADDR PORT UPSTREAM-ADDR UPSTREAM-PORT SILENT-DOMAIN COUNTFILE [SWITCHFILE]
# COUNTFILE gets "relayed N held H silent M" after each query (H: those that waited for SIGUSR2);
# on stdout "listening" once both sockets are bound, "holding" after SIGUSR1, "releasing" after SIGUSR2.
# With SWITCHFILE, the domain is silent only while that file exists (its name server stops answering).
import asyncio, os, signal, socket, struct, sys

addr, port, up_addr, up_port, silent, countfile = sys.argv[1], int(sys.argv[2]), sys.argv[3], \
    int(sys.argv[4]), sys.argv[5].lower().rstrip("."), sys.argv[6]
switch = sys.argv[7] if len(sys.argv) > 7 else None
seen = {"relayed": 0, "held": 0, "silent": 0}
gate = None  # asyncio.Event, set while queries are relayed


def count():
    """Write the counts to COUNTFILE."""
    with open(countfile, "w") as f:
        f.write("relayed %d held %d silent %d\n" % (seen["relayed"], seen["held"], seen["silent"]))


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
    quiet = name is not None and (name == silent or name.endswith("." + silent)) and \
        (switch is None or os.path.exists(switch))
    seen["silent" if quiet else "relayed"] += 1
    if not quiet and not gate.is_set():
        seen["held"] += 1
    count()
    return quiet


class Udp(asyncio.DatagramProtocol):
    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, peer):
        if not held(data):
            asyncio.get_running_loop().create_task(self.relay(data, peer))

    async def relay(self, data, peer):
        await gate.wait()
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
            await gate.wait()
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


def hold(on):
    """SIGUSR1 (@on) holds every query from now on, SIGUSR2 relays them."""
    if on:
        gate.clear()
    else:
        gate.set()
    print("holding" if on else "releasing", flush=True)


async def main():
    global gate
    loop = asyncio.get_running_loop()
    gate = asyncio.Event()
    gate.set()
    loop.add_signal_handler(signal.SIGUSR1, hold, True)
    loop.add_signal_handler(signal.SIGUSR2, hold, False)
    await loop.create_datagram_endpoint(Udp, local_addr=(addr, port))
    server = await asyncio.start_server(tcp_client, addr, port)
    print("listening", flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
