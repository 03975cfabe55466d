"""Opens N WebSocket connections to ws://127.0.0.1:PORT/PATH from this process (so the test process holds only the
server's side of each), echoes one masked 10-byte binary message on each, prints "open N echoed M", keeps them all
open until a line arrives on stdin, then closes them and prints "closed"."""
import asyncio, base64, os, struct, sys

PAYLOAD = b"0123456789"

async def one(port, path, gate):
    async with gate:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101"):
            return writer, False
        mask = os.urandom(4)
        writer.write(bytes([0x82, 0x80 | len(PAYLOAD)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(PAYLOAD)))
        frame = await reader.readexactly(2 + len(PAYLOAD))
        return writer, frame[0] == 0x82 and frame[1] == len(PAYLOAD) and frame[2:] == PAYLOAD

async def main(port, path, count):
    gate = asyncio.Semaphore(128)
    results = await asyncio.gather(*(one(port, path, gate) for _ in range(count)), return_exceptions=True)
    writers = [r[0] for r in results if isinstance(r, tuple)]
    echoed = sum(1 for r in results if isinstance(r, tuple) and r[1])
    errors = [repr(r) for r in results if not isinstance(r, tuple)]
    print(f"open {len(writers)} echoed {echoed}" + (f" first error {errors[0]}" if errors else ""), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    for w in writers:
        w.close()
    print("closed", flush=True)

asyncio.run(main(int(sys.argv[1]), sys.argv[2], int(sys.argv[3])))
