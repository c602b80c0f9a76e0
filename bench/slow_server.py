"""`python -m bench.slow_server PORT DELAY_SECONDS`: answer every GET after a fixed delay.

A provider stand-in for the I/O-bound benchmark, in its own process (so the bench's own
threads do not delay it), on asyncio so hundreds of held requests cost nothing. It
tracks requests in flight and serves ``/_stats`` (``{"max_in_flight", "served",
"in_flight_seconds"}``: the integral of in-flight requests over time, for the mean).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time


class Stats:
    def __init__(self) -> None:
        self.in_flight = 0
        self.max_in_flight = 0
        self.served = 0
        self.area = 0.0
        self.since = time.monotonic()

    def change(self, delta: int) -> None:
        now = time.monotonic()
        self.area += self.in_flight * (now - self.since)
        self.since = now
        self.in_flight += delta
        self.max_in_flight = max(self.max_in_flight, self.in_flight)


async def main(port: int, delay: float) -> None:
    stats = Stats()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                path = head.split(b" ", 2)[1].decode()
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                if length:
                    await reader.readexactly(length)
                if path == "/_stats":
                    stats.change(0)
                    body = json.dumps(
                        {
                            "max_in_flight": stats.max_in_flight,
                            "served": stats.served,
                            "in_flight_seconds": stats.area,
                        }
                    ).encode()
                else:
                    stats.change(+1)
                    await asyncio.sleep(delay)
                    stats.change(-1)
                    stats.served += 1
                    body = b'{"ok":true}'
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), float(sys.argv[2])))
