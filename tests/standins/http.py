"""What every local stand-in shares: seeded fault injection, serving on a thread, and a quiet request handler
that reads a request and answers JSON."""

from __future__ import annotations

import json
import random
import sys
import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Faults:
    """Which faults to inject: each request whose path starts with one of `paths` is hit with probability `rate`
    by one of `kinds` (seeded, so a run is repeatable); `injected` counts what was injected."""

    rate: float = 0.0
    kinds: tuple[str, ...] = ()
    paths: tuple[str, ...] = ("/",)
    slow_s: float = 2.0
    seed: int = 7
    injected: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)
        self._lock = threading.Lock()

    def pick(self, path: str) -> str | None:
        if not self.rate or not self.kinds or not path.startswith(self.paths):
            return None
        with self._lock:
            if self._random.random() >= self.rate:
                return None
            kind = self._random.choice(self.kinds)
            self.injected[kind] += 1
            return kind


@dataclass(frozen=True, slots=True)
class Request:
    """One request as received: method, path, query, lower-cased headers and the raw body."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


class JsonHandler(BaseHTTPRequestHandler):
    """Reads each GET/POST into a :class:`Request` for :meth:`serve`; answers with :meth:`send_json`."""

    protocol_version = "HTTP/1.1"
    owner: ClassVar[Any]

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet by default
        pass

    def do_GET(self) -> None:
        self.serve(self._read("GET"))

    def do_POST(self) -> None:
        self.serve(self._read("POST"))

    def _read(self, method: str) -> Request:
        url = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        return Request(method, url.path, dict(parse_qsl(url.query, keep_blank_values=True)), headers, body)

    def serve(self, request: Request) -> None:
        raise NotImplementedError

    def send_json(self, status: int, data: Any) -> None:
        payload = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class _QuietServer(ThreadingHTTPServer):
    """Quiet about clients that hang up (a caller timed out, or its worker was killed): that is their business."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class Served:
    """Serving a stand-in on 127.0.0.1 on a daemon thread; subclasses name their handler in `handler`."""

    handler: ClassVar[type[JsonHandler]]
    _server: ThreadingHTTPServer | None = None

    def start(self, port: int = 0) -> str:
        """Serve on a daemon thread; returns the base URL."""
        handler = type(f"{type(self).__name__}Handler", (self.handler,), {"owner": self})
        self._server = _QuietServer(("127.0.0.1", port), handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
