"""Python's websockets as an echo server for the client interop tests.

Usage: python3 websockets_echo_server.py [deflate]
Listens on 127.0.0.1 (a free port) and prints one line "listening <port>". Echoes every message with its type; a text
message "close:<code>:<reason>" makes it close with that code instead. A close from the client is echoed by websockets.
"""
import asyncio
import sys

import websockets


async def echo(socket, path=None):
    try:
        async for message in socket:
            if isinstance(message, str) and message.startswith("close:"):
                _, code, reason = message.split(":", 2)
                await socket.close(int(code), reason)
                return
            await socket.send(message)
    except websockets.ConnectionClosed:
        pass


async def main():
    deflate = len(sys.argv) > 1 and sys.argv[1] == "deflate"
    async with websockets.serve(
        echo,
        "127.0.0.1",
        0,
        compression="deflate" if deflate else None,
        max_size=64 * 1024 * 1024,
        max_queue=None,
        ping_interval=None,
    ) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"listening {port}", flush=True)
        await asyncio.Future()


asyncio.run(main())
