"""A local stand-in for the SMS gateway (``tui-desk sms-sandbox``), for the demo and tests.

It speaks the API documented in :mod:`tui_desk.integrations.sms_gateway` on 127.0.0.1
with the standard library's threaded HTTP server: accepts messages, dedupes them by
``Idempotency-Key`` (counting what it delivered per key), prints each new message, lists
them at ``GET /``, and marks them delivered after ``deliver_after`` seconds (failed for a
number in ``undeliverable``).

It can misbehave on purpose, from the tests (the methods below) or over HTTP for a demo
(``POST /control`` with ``{"mode": "ok" | "down" | "429" | "500" | "503" | "garbage" | "slow",
"retry_after": 5, "count": 3}``; ``count`` absent: until changed):

- ``down``: the connection is closed without an answer (a gateway that is away);
- ``429`` / ``503`` / ``500``: answer that status (with ``Retry-After`` when given);
- ``garbage``: answer 202 with a body that is not JSON;
- ``slow``: wait ``slow_seconds`` before answering (the client times out).

``fail_rate`` answers that share of POSTs with 503 (``Retry-After: 1``) at random.
"""

from __future__ import annotations

import html
import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

MODES = ("ok", "down", "429", "500", "503", "garbage", "slow")


@dataclass
class SandboxMessage:
    id: str
    to: str
    body: str
    reference: str
    idempotency_key: str
    accepted_at: float
    status: str = "queued"
    error: str | None = None


@dataclass
class _Fault:
    mode: str
    remaining: int | None  # None: until changed
    retry_after: str | None = None


@dataclass
class SandboxState:
    token: str | None = None
    deliver_after: float = 2.0
    fail_rate: float = 0.0
    slow_seconds: float = 5.0
    undeliverable: set[str] = field(default_factory=set)
    messages: dict[str, SandboxMessage] = field(default_factory=dict)
    by_key: dict[str, str] = field(default_factory=dict)
    posts_by_key: dict[str, int] = field(default_factory=dict)
    faults: list[_Fault] = field(default_factory=list)
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    clock: Callable[[], float] = time.monotonic
    rng: random.Random = field(default_factory=random.Random)

    def next_fault(self) -> _Fault | None:
        with self.lock:
            while self.faults:
                fault = self.faults[0]
                if fault.remaining is None:
                    return fault
                if fault.remaining > 0:
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self.faults.pop(0)
                    return fault
                self.faults.pop(0)
        return None

    def settle(self, message: SandboxMessage) -> None:
        if message.status == "queued" and self.clock() - message.accepted_at >= self.deliver_after:
            if message.to in self.undeliverable:
                message.status, message.error = "failed", "unknown subscriber"
            else:
                message.status = "delivered"


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    # --- helpers ------------------------------------------------------------------------

    def _send(self, code: int, payload: object, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode()
        self._raw(code, body, "application/json", headers)

    def _raw(
        self, code: int, body: bytes, kind: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw or b"{}")
        except ValueError:
            return None

    def _authorised(self) -> bool:
        token = self.server.state.token
        if token and self.headers.get("Authorization") != f"Bearer {token}":
            self._send(401, {"error": "bad or missing token"})
            return False
        return True

    def _fault(self, *, post: bool) -> bool:
        """Misbehave as told; True when the request has been answered (or dropped)."""
        state = self.server.state
        fault = state.next_fault()
        if fault is None and post and state.fail_rate and state.rng.random() < state.fail_rate:
            fault = _Fault("503", 1, "1")
        if fault is None or fault.mode == "ok":
            return False
        if fault.mode == "down":
            self.close_connection = True
            self.connection.shutdown(2)  # socket.SHUT_RDWR: no answer at all
            return True
        if fault.mode in ("429", "500", "503"):
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            self._send(int(fault.mode), {"error": "try again later"}, headers)
            return True
        if fault.mode == "garbage":
            self._raw(202, b"<html>proxy error</html>", "text/html")
            return True
        if fault.mode == "slow":
            time.sleep(state.slow_seconds)
            return False
        return False

    # --- routes -------------------------------------------------------------------------

    def do_GET(self) -> None:
        state = self.server.state
        with state.lock:
            state.requests += 1
        if self.path in ("/", "/index.html"):
            self._raw(200, self.server.page().encode(), "text/html; charset=utf-8")
            return
        if not self.path.startswith("/v1/messages/"):
            self._send(404, {"error": "not found"})
            return
        if not self._authorised() or self._fault(post=False):
            return
        message_id = self.path.rsplit("/", 1)[1]
        with state.lock:
            message = state.messages.get(message_id)
            if message is not None:
                state.settle(message)
                answer: dict[str, object] = {"id": message.id, "status": message.status}
                if message.error:
                    answer["error"] = message.error
        if message is None:
            self._send(404, {"error": "unknown message"})
            return
        self._send(200, answer)

    def do_POST(self) -> None:
        state = self.server.state
        with state.lock:
            state.requests += 1
        if self.path == "/control":
            self._control()
            return
        if self.path != "/v1/messages":
            self._send(404, {"error": "not found"})
            return
        data = self._body()
        if not self._authorised() or self._fault(post=True):
            return
        key = self.headers.get("Idempotency-Key", "").strip()
        if not isinstance(data, dict) or not key:
            self._send(400, {"error": "need a JSON body and an Idempotency-Key"})
            return
        to, body = data.get("to"), data.get("body")
        if not isinstance(to, str) or not isinstance(body, str) or not to or not body:
            self._send(422, {"error": "to and body are required"})
            return
        new = False
        with state.lock:
            state.posts_by_key[key] = state.posts_by_key.get(key, 0) + 1
            existing = state.by_key.get(key)
            if existing is None:
                message = SandboxMessage(
                    id=f"m-{len(state.messages) + 1}",
                    to=to,
                    body=body,
                    reference=str(data.get("reference", "")),
                    idempotency_key=key,
                    accepted_at=state.clock(),
                )
                state.messages[message.id] = message
                state.by_key[key] = message.id
                new = True
            else:
                message = state.messages[existing]
        if new and self.server.echo is not None:
            self.server.echo(f"SMS {message.id} to {message.to} [{message.reference}]: {body}")
        self._send(202, {"id": message.id, "status": message.status})

    def _control(self) -> None:
        data = self._body()
        if not isinstance(data, dict) or data.get("mode") not in MODES:
            self._send(400, {"error": f"mode must be one of {', '.join(MODES)}"})
            return
        count = data.get("count")
        retry = data.get("retry_after")
        self.server.sandbox.set_mode(
            str(data["mode"]),
            count=int(count) if count is not None else None,
            retry_after=str(retry) if retry is not None else None,
        )
        self._send(200, {"mode": data["mode"]})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], sandbox: SmsSandbox) -> None:
        self.sandbox = sandbox
        self.state = sandbox.state
        self.echo = sandbox.echo
        self.verbose = sandbox.verbose
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A connection dropped on purpose ("down") or by an impatient client: not news.
        if self.verbose:
            super().handle_error(request, client_address)

    def page(self) -> str:
        with self.state.lock:
            for message in self.state.messages.values():
                self.state.settle(message)
            rows = "".join(
                f"<tr><td>{html.escape(m.id)}</td><td>{html.escape(m.to)}</td>"
                f"<td>{html.escape(m.status)}</td><td>{html.escape(m.body)}</td></tr>"
                for m in reversed(list(self.state.messages.values()))
            )
        return (
            "<!doctype html><meta charset='utf-8'><title>SMS sandbox</title>"
            "<h1>SMS sandbox</h1><table border='1'><tr><th>id</th><th>to</th>"
            f"<th>status</th><th>text</th></tr>{rows}</table>"
        )


class SmsSandbox:
    """The sandbox server, run on a background thread (``with SmsSandbox() as box:``)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        token: str | None = None,
        deliver_after: float = 2.0,
        fail_rate: float = 0.0,
        slow_seconds: float = 5.0,
        undeliverable: set[str] | None = None,
        echo: Callable[[str], None] | None = None,
        verbose: bool = False,
        seed: int | None = None,
    ) -> None:
        if not 0.0 <= fail_rate <= 1.0:
            raise ValueError("fail_rate is a share between 0 and 1")
        self.state = SandboxState(
            token=token,
            deliver_after=deliver_after,
            fail_rate=fail_rate,
            slow_seconds=slow_seconds,
            undeliverable=set(undeliverable or ()),
            rng=random.Random(seed),
        )
        self.echo = echo
        self.verbose = verbose
        self.host = host
        self.port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> SmsSandbox:
        self._server = _Server((self.host, self.port), self)
        self.port = self._server.server_address[1]
        server = self._server
        # A short poll: stop() (every test's teardown) returns within 50 ms.
        self._thread = threading.Thread(
            target=lambda: server.serve_forever(poll_interval=0.05),
            name="sms-sandbox",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Run in the calling thread (the CLI) until interrupted."""
        self._server = _Server((self.host, self.port), self)
        self.port = self._server.server_address[1]
        try:
            self._server.serve_forever()
        finally:
            self._server.server_close()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def __enter__(self) -> SmsSandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- steering and inspection (tests) -------------------------------------------------

    def set_mode(
        self, mode: str, *, count: int | None = None, retry_after: str | None = None
    ) -> None:
        """Misbehave as ``mode`` for the next ``count`` requests (None: until changed);
        ``ok`` clears every fault."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        with self.state.lock:
            if mode == "ok":
                self.state.faults.clear()
                return
            if count is None:
                self.state.faults = [_Fault(mode, None, retry_after)]
            else:
                self.state.faults.append(_Fault(mode, count, retry_after))

    def deliveries(self) -> dict[str, int]:
        """Messages accepted per idempotency key: 1 each, whatever the retries."""
        with self.state.lock:
            counts: dict[str, int] = {}
            for message in self.state.messages.values():
                counts[message.idempotency_key] = counts.get(message.idempotency_key, 0) + 1
            return counts

    def posts(self) -> dict[str, int]:
        """POSTs that reached the dedupe, per idempotency key (retries included)."""
        with self.state.lock:
            return dict(self.state.posts_by_key)

    def messages(self) -> list[SandboxMessage]:
        with self.state.lock:
            return list(self.state.messages.values())
