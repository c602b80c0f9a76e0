"""An event receiver for tests: a real HTTP server that verifies every request with the
`standardwebhooks` library, records what it got, and answers as scripted."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError


@dataclass
class Received:
    webhook_id: str
    verified: bool
    payload: Any
    answered: int | None  # None: the request was held past the sender's timeout
    at: float


@dataclass
class Receiver:
    secret: str = ""
    #: Answers in order, then 200: an int status, or ("hang", seconds).
    script: list[Any] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/hooks"

    def verified(self) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.verified]

    def handle(self, headers: dict[str, str], body: bytes) -> tuple[Any, int | None]:
        try:
            payload = Webhook(self.secret).verify(body, headers) if self.secret else None
            verified = bool(self.secret)
        except WebhookVerificationError:
            payload, verified = json.loads(body or b"null"), False
        with self.lock:
            action = self.script.pop(0) if self.script else 200
            entry = Received(headers.get("webhook-id", ""), verified, payload, None, time.time())
            self.received.append(entry)
        if isinstance(action, tuple):
            time.sleep(action[1])
            return entry, None
        entry.answered = int(action)
        return entry, int(action)


def start_receiver(secret: str = "") -> Iterator[Receiver]:
    receiver = Receiver(secret)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            _, status = receiver.handle(headers, body)
            if status is None:
                self.close_connection = True
                return
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.server = server
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
