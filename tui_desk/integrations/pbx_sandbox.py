"""A local stand-in for the PBX: the ARI subset the desk uses, over real HTTP.

``tui-desk pbx-sandbox`` runs it in the foreground and prints every call it is asked to
originate; tests start it in a thread on 127.0.0.1 (port 0: a free one) and script
failures with :meth:`PbxSandbox.fail_next`. It rings nothing.

Implemented (see ``tui_desk.integrations.pbx`` for the client's side):

- ``POST /ari/channels`` with basic auth; parameters from the query string (or a JSON
  object body): ``endpoint`` (required, ``TECH/resource``), ``extension``, ``context``,
  ``priority``, ``callerId``, ``timeout``. Answers ``200`` with the channel, including
  ``recording`` (``"rec-<channel id>"``); ``400`` without an endpoint or extension.
- ``GET /ari/channels``: the calls originated so far (newest last).
- ``401`` with ``WWW-Authenticate`` on missing or wrong credentials; ``404`` elsewhere.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import hmac
import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

CHANNELS = "/ari/channels"


@dataclass(frozen=True)
class SandboxCall:
    """One call the sandbox was asked to originate."""

    channel_id: str
    endpoint: str
    extension: str
    context: str
    priority: str
    caller_id: str
    recording: str
    created_at: str


@dataclass(frozen=True)
class _Scripted:
    status: int
    body: str | None
    delay: float


class PbxSandbox:
    """A threaded HTTP server answering like the PBX; ``calls`` lists what it originated."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        user: str = "desk",
        password: str = "sandbox",
        echo: Callable[[str], None] | None = None,
    ) -> None:
        self.user = user
        self.password = password
        self.echo = echo
        self.calls: list[SandboxCall] = []
        self.requests = 0
        self._script: deque[_Scripted] = deque()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._thread: threading.Thread | None = None
        self._server = ThreadingHTTPServer((host, port), _handler_for(self))
        self._server.daemon_threads = True

    # --- running ---------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> PbxSandbox:
        """Serve in a background thread (tests); returns self."""
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="pbx-sandbox", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted (the CLI)."""
        try:
            self._server.serve_forever()
        finally:
            self._server.server_close()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> PbxSandbox:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- scripting failures ---------------------------------------------------------

    def fail_next(self, status: int = 503, body: str | None = None, *, delay: float = 0.0) -> None:
        """Answer the next originate with ``status`` and ``body`` (raw text) after ``delay``
        seconds, without originating anything. ``fail_next(200, "{oops")`` sends malformed
        JSON; a ``delay`` longer than the client's timeout simulates a PBX that hangs."""
        with self._lock:
            self._script.append(_Scripted(status, body, delay))

    # --- the handler's side ---------------------------------------------------------

    def _authorised(self, header: str | None) -> bool:
        if not header or not header.startswith("Basic "):
            return False
        try:
            decoded = base64.b64decode(header[6:], validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        user, _sep, password = decoded.partition(":")
        return hmac.compare_digest(user, self.user) and hmac.compare_digest(password, self.password)

    def _next_scripted(self) -> _Scripted | None:
        with self._lock:
            self.requests += 1
            return self._script.popleft() if self._script else None

    def _originate(self, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        endpoint = params.get("endpoint", "")
        extension = params.get("extension", "")
        if "/" not in endpoint:
            return 400, {"message": "Endpoint parameter is required (TECH/resource)"}
        if not extension:
            return 400, {"message": "Either extension or app must be given"}
        with self._lock:
            n = next(self._ids)
            channel_id = f"{int(time.time())}.{n}"
            call = SandboxCall(
                channel_id=channel_id,
                endpoint=endpoint,
                extension=extension,
                context=params.get("context", "default"),
                priority=params.get("priority", "1"),
                caller_id=params.get("callerId", ""),
                recording=f"rec-{channel_id}",
                created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            )
            self.calls.append(call)
        if self.echo is not None:
            self.echo(
                f"originate {call.endpoint} -> {call.extension} "
                f"(context {call.context}, caller {call.caller_id!r}) "
                f"channel {call.channel_id} recording {call.recording}"
            )
        return 200, _channel_json(call)


def _channel_json(call: SandboxCall) -> dict[str, Any]:
    return {
        "id": call.channel_id,
        "name": f"{call.endpoint}-{call.channel_id.rsplit('.', 1)[-1]:>08}",
        "state": "Down",
        "caller": {"name": call.caller_id, "number": call.endpoint.partition("/")[2]},
        "connected": {"name": "", "number": ""},
        "accountcode": "",
        "dialplan": {
            "context": call.context,
            "exten": call.extension,
            "priority": int(call.priority) if call.priority.isdigit() else 1,
        },
        "creationtime": call.created_at,
        "language": "en",
        "recording": call.recording,
    }


def _handler_for(sandbox: PbxSandbox) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "pbx-sandbox/1"
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return  # the sandbox prints calls, not every request

        def _send(self, status: int, body: object | str) -> None:
            raw = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
            data = raw.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if status == HTTPStatus.UNAUTHORIZED:
                self.send_header("WWW-Authenticate", 'Basic realm="Asterisk REST Interface"')
            self.end_headers()
            self.wfile.write(data)

        def _body_params(self) -> dict[str, str]:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if not raw.strip():
                return {}
            try:
                loaded = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError):
                return {}
            if not isinstance(loaded, dict):
                return {}
            return {str(k): str(v) for k, v in loaded.items() if not isinstance(v, dict)}

        def _route(self) -> str | None:
            path = urlsplit(self.path).path.rstrip("/")
            if path != CHANNELS:
                self._send(404, {"message": "Resource not found"})
                return None
            if not sandbox._authorised(self.headers.get("Authorization")):
                self._send(401, {"message": "Authentication required"})
                return None
            return path

        def do_GET(self) -> None:
            if self._route() is None:
                return
            self._send(200, [_channel_json(c) for c in sandbox.calls])

        def do_POST(self) -> None:
            body_params = self._body_params()
            if self._route() is None:
                return
            scripted = sandbox._next_scripted()
            if scripted is not None:
                if scripted.delay:
                    time.sleep(scripted.delay)
                body = scripted.body
                if body is None:
                    body = json.dumps({"message": HTTPStatus(scripted.status).phrase})
                # The client may have given up waiting (a simulated hang).
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._send(scripted.status, body)
                return
            query = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}
            status, answer = sandbox._originate({**body_params, **query})
            self._send(status, answer)

    return Handler
