#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
# redis-hold.py - a relay in front of a Redis server that can hold writes: after SIGUSR1, a write
# (HSET, HDEL, EVAL, EVALSHA) naming a key that contains KEY-PART stops its connection, that command
# and the ones after it waiting in order, until SIGUSR2 sends them on; reads and other keys pass. For
# tests/proxy-state.sh: two nodes that have both read an AOR's bindings before either writes.
#
#   redis-hold.py ADDR PORT UPSTREAM-ADDR UPSTREAM-PORT KEY-PART COUNTFILE
# COUNTFILE gets "held N" (writes held so far); on stdout "listening" once bound, "holding" after
# SIGUSR1, "releasing" after SIGUSR2.
import asyncio, signal, sys

addr, port, up_addr, up_port, part, countfile = sys.argv[1], int(sys.argv[2]), sys.argv[3], \
    int(sys.argv[4]), sys.argv[5].encode(), sys.argv[6]
WRITES = {b"HSET", b"HDEL", b"EVAL", b"EVALSHA"}
gate = None  # asyncio.Event, set while writes pass
held = 0


async def command(reader):
    """One RESP command (an array of bulk strings, as hiredis sends them): its bytes and arguments."""
    line = await reader.readuntil(b"\r\n")
    if not line.startswith(b"*"):
        raise ValueError("not a RESP array")
    raw, args = [line], []
    for _ in range(int(line[1:-2])):
        head = await reader.readuntil(b"\r\n")
        data = await reader.readexactly(int(head[1:-2]) + 2)
        raw += [head, data]
        args.append(data[:-2])
    return b"".join(raw), args


async def pipe(reader, writer):
    """Redis's replies back to the client, as they come."""
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()


async def client(reader, writer):
    """One client's commands to Redis, a write of KEY-PART held while the gate is closed."""
    global held
    up_reader, up_writer = await asyncio.open_connection(up_addr, up_port)
    back = asyncio.get_running_loop().create_task(pipe(up_reader, writer))
    try:
        while True:
            raw, args = await command(reader)
            if not gate.is_set() and args and args[0].upper() in WRITES and any(part in a for a in args[1:]):
                held += 1
                with open(countfile, "w") as f:
                    f.write("held %d\n" % held)
                await gate.wait()
            up_writer.write(raw)
            await up_writer.drain()
    except (OSError, ValueError, asyncio.IncompleteReadError):
        pass
    finally:
        up_writer.close()
        await back


def hold(on):
    """SIGUSR1 (@on) holds the writes from now on, SIGUSR2 sends them on."""
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
    server = await asyncio.start_server(client, addr, port)
    print("listening", flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
