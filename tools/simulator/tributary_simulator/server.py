"""The HTTP server: stdlib ThreadingHTTPServer, so faults can misuse the socket."""

from __future__ import annotations

import logging
import select
import socket
import struct
import threading
import time
from collections.abc import Callable, Mapping
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from .admin import handle_admin
from .dispatch import Outcome, dispatch
from .messages import SimRequest, SimResponse
from .providers import Provider
from .requestlog import LoggedRequest
from .state import SimulatorState

log = logging.getLogger(__name__)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_GET

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def _serve(self) -> None:
        state = self.server.state
        split = urlsplit(self.path)
        query = parse_qs(split.query, keep_blank_values=True)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if split.path == "/_hub/websub":
            self._send(state.hub.handle(self.command, body))
            return
        if split.path.startswith("/_admin"):
            response = handle_admin(state, self.command, split.path[7:], query, body)
            self._send(response)
            return
        prefix, _, rest = split.path.lstrip("/").partition("/")
        provider = state.providers.get(prefix)
        if provider is None:
            self._send(SimResponse.json(404, {"error": f"no simulated provider {prefix!r}"}))
            return
        request = SimRequest(
            method=self.command,
            provider=prefix,
            path="/" + rest,
            query=query,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        endpoint = state.oauth.route(prefix, request)
        if endpoint is not None:
            answer = state.oauth.handle(prefix, endpoint, request, self._client_gone)
            state.log.append(
                LoggedRequest(
                    time=state.clock(),
                    provider=prefix,
                    account=None,
                    method=request.method,
                    path=request.path,
                    query={},
                    headers={},
                    status=None if answer is None else answer.status,
                )
            )
            if answer is None:
                self._abort(linger=False)
            else:
                self._send(answer)
            return
        self._perform(dispatch(state, provider, request))

    def _client_gone(self) -> bool:
        """Whether the client closed its side (it died or gave up) before we answered."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def _perform(self, outcome: Outcome) -> None:
        stopping = self.server.state.stopping
        if outcome.delay_seconds and stopping.wait(outcome.delay_seconds):
            self._abort(linger=False)
            return
        if outcome.transport_fault == "timeout":
            self._abort(linger=False)
        elif outcome.transport_fault == "reset":
            self._abort(linger=True)
        elif outcome.response is not None:
            self._send(outcome.response, truncate=outcome.transport_fault == "truncated")

    def _send(self, response: SimResponse, *, truncate: bool = False) -> None:
        body = b"" if response.status in (204, 304) or self.command == "HEAD" else response.body
        self.send_response(response.status)
        for name, value in response.headers.items():
            if name.lower() != "content-length":
                self.send_header(name, value)
        declared = len(body) + 512 if truncate else len(body)
        if response.status != 304 or declared:
            self.send_header("Content-Length", str(declared))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2] if truncate else body)
        if truncate:
            self.wfile.flush()
            self._abort(linger=False)

    def _abort(self, *, linger: bool) -> None:
        """Drop the connection; with ``linger`` set to 0 the close sends a TCP reset."""
        self.close_connection = True
        try:
            if linger:
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
            self.connection.close()
        except OSError:
            pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], state: SimulatorState) -> None:
        super().__init__(address, _Handler)
        self.state = state

    def handle_error(self, request: object, client_address: object) -> None:
        log.debug("connection from %s ended abruptly", client_address, exc_info=True)


class SimulatorServer:
    """Run the simulator in a background thread: ``start()``, ``.url``, ``stop()``."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        providers: Mapping[str, Provider] | None = None,
        clock: Callable[[], float] = time.time,
        today: date | None = None,
    ) -> None:
        self.state = SimulatorState(providers, clock=clock, today=today)
        self._httpd = _Server((host, port), self.state)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else host
        return f"http://{name}:{port}"

    def base_url(self, provider: str) -> str:
        return f"{self.url}/{provider}"

    def start(self) -> SimulatorServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._httpd.serve_forever()

    def stop(self) -> None:
        self.state.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
