"""Drives Python's `websockets` client against a WebSocket echo server for the interop tests.

Usage: /usr/bin/python3 websockets_client.py <config.json>
config: {"url": "ws://...", "compression": "deflate" | null, "timeout": 30,
         "deflate": {ClientPerMessageDeflateFactory keyword arguments} (optional: replaces the default offer),
         "messages": [{"file": "/abs/path", "text": true}, ...]}
Sends each message in turn, waits for its echo, checks it byte-exact and of the same type, closes with 1000, and
prints one JSON line: {ok, extensions, messages, error?}. Exit code 0 only if every echo matched.
"""

import asyncio
import json
import sys
import traceback

import websockets
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory


async def run(config, summary):
    options = {"compression": config.get("compression")}
    if config.get("deflate") is not None:
        options = {"compression": None, "extensions": [ClientPerMessageDeflateFactory(**config["deflate"])]}
    # max_size=None: the default 1 MiB would refuse the 16 MiB echoes.
    async with websockets.connect(config["url"], max_size=None, open_timeout=10, close_timeout=10, **options) as socket:
        summary["extensions"] = socket.response_headers.get("Sec-WebSocket-Extensions")
        for index, message in enumerate(config["messages"]):
            with open(message["file"], "rb") as f:
                payload = f.read()
            await socket.send(payload.decode("utf-8") if message["text"] else payload)
            echo = await socket.recv()
            if isinstance(echo, str) != message["text"]:
                raise AssertionError(f"message {index}: sent {'text' if message['text'] else 'binary'}, echoed {type(echo).__name__}")
            data = echo.encode("utf-8") if isinstance(echo, str) else echo
            if data != payload:
                raise AssertionError(f"message {index} ({message['file']}): echo of {len(data)} bytes differs from the {len(payload)} sent")
            summary["messages"] += 1
        await socket.close(1000, "done")
        if socket.close_code != 1000:
            raise AssertionError(f"closed with {socket.close_code}")
    summary["ok"] = True


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        config = json.load(f)
    summary = {"ok": False, "extensions": None, "messages": 0}
    try:
        asyncio.run(asyncio.wait_for(run(config, summary), config.get("timeout", 30)))
    except BaseException:  # report everything, including timeouts, in the summary
        summary["ok"] = False
        summary["error"] = traceback.format_exc()
    print(json.dumps(summary))
    sys.exit(0 if summary["ok"] else 1)


if __name__ == "__main__":
    main()
