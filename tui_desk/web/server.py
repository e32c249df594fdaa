"""The wallboard's web server: sign-in, session cookie, viewer cap, one process per browser.

textual-serve's own ``Server`` serves one command to anyone who reaches it; this server
keeps its process handling (``AppService``: the packet protocol with the Textual web
driver) and its terminal client (``static/js/textual.js``) and puts its own routes in
front:

``GET /login``, ``POST /login``
    the sign-in form; throttled per login and per address (``SignInThrottle``), every
    attempt audited by ``services.web_sign_in.sign_in``.
``GET /``
    signed in: the choice between the wallboard and the ordinary board; else the form.
``GET /board/wall``, ``GET /board/desk``
    the terminal page; ``GET /ws/wall``, ``GET /ws/desk`` its websocket, which starts
    ``tui-desk serve-board --viewer MODE`` with the session token in its environment.
``POST /logout``
    clears the cookie.

Every request but the static files and the form asks the database whether its cookie is
still a valid session (``check_session``); a request without one gets the form (pages)
or 403 (the websocket), never the board. The cookie is HttpOnly and SameSite=Strict
(Secure when asked, or when the request came over TLS); a websocket or form post from
another origin is refused. At most ``max_viewers`` boards run at once; a further browser
gets a page saying so. A viewer whose browser goes away is asked to quit, then
terminated, then killed: nothing is left running.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import WSMsgType, web
from textual_serve.app_service import AppService
from textual_serve.download_manager import DownloadManager

from tui_desk.clock import utcnow
from tui_desk.config import Settings
from tui_desk.db.engine import Database
from tui_desk.i18n import _
from tui_desk.services.context import Actor
from tui_desk.services.web_sign_in import (
    SessionRefused,
    SignInRefused,
    check_session,
    record_throttled,
    sign_in,
)
from tui_desk.web import pages
from tui_desk.web.throttle import SignInThrottle
from tui_desk.web.viewer import CYCLE_ENV, MODES, SESSION_ENV

log = logging.getLogger("tui_desk.web")

COOKIE = "tui_desk_board"
FONT_SIZES = {"wall": 28, "desk": 16}
QUIT_SECONDS = 3.0
"""How long a viewer has to quit after its browser went away, before it is terminated."""


def viewer_argv(mode: str) -> list[str]:
    """The command that runs one browser's board (this interpreter, this package)."""
    return [sys.executable, "-m", "tui_desk", "serve-board", "--viewer", mode]


class ViewerProcess(AppService):
    """One browser's board process: started without a shell, with the session token in
    its environment (never on its command line), and always reaped."""

    def __init__(self, argv: list[str], extra_env: dict[str, str], **kwargs: Any) -> None:
        super().__init__(" ".join(argv), **kwargs)
        self.argv = argv
        self.extra_env = extra_env

    def _build_environment(self, width: int = 80, height: int = 24) -> dict[str, str]:
        env = super()._build_environment(width=width, height=height)
        env.update(self.extra_env)
        return env

    async def _open_app_process(self, width: int = 80, height: int = 24) -> Any:
        self._process = process = await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self._build_environment(width=width, height=height),
            start_new_session=True,
        )
        assert process.stdin is not None
        self._stdin = process.stdin
        return process

    async def ended(self) -> None:
        """Returns when the process's output has ended (it quit, crashed or was refused)."""
        if self._task is not None:
            await asyncio.shield(self._task)

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    async def close(self) -> None:
        """Ask the board to quit; terminate it, then kill it, if it does not."""
        try:
            await asyncio.wait_for(self.stop(), QUIT_SECONDS)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # this close itself is cancelled
            # Else the process's reader was cancelled (the server shutting down): the
            # process is still ended below.
        except Exception:  # a process that failed to start re-raises its failure here
            log.debug("the board's process did not quit when asked", exc_info=True)
        process = self._process
        if process is None or process.returncode is not None:
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, sig)
            try:
                await asyncio.wait_for(process.wait(), QUIT_SECONDS)
                return
            except TimeoutError:
                continue


@dataclass
class BoardServer:
    """The wallboard server around one database."""

    db: Database
    settings: Settings
    max_viewers: int = 8
    secure_cookie: bool = False
    trust_proxy: bool = False
    cycle_seconds: float | None = None
    clock: Callable[[], dt.datetime] = utcnow
    throttle: SignInThrottle = field(default_factory=SignInThrottle)
    viewers: set[ViewerProcess] = field(default_factory=set)
    download_manager: DownloadManager = field(default_factory=DownloadManager)
    _sessions: set[asyncio.Future[None]] = field(default_factory=set)
    _held: dict[tuple[str, str], dt.datetime] = field(default_factory=dict)

    # --- the application ----------------------------------------------------------------

    def make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._headers])
        static = Path(str(resources.files("textual_serve") / "static"))
        app.add_routes(
            [
                web.get("/", self.index),
                web.get("/login", self.login_form),
                web.post("/login", self.login),
                web.post("/logout", self.logout),
                web.get("/board/{mode}", self.board_page),
                web.get("/ws/{mode}", self.websocket),
                web.static("/static", static, show_index=False),
            ]
        )
        app.on_shutdown.append(self._close_all)
        return app

    @web.middleware
    async def _headers(
        self, request: web.Request, handler: Callable[[web.Request], Any]
    ) -> web.StreamResponse:
        response: web.StreamResponse = await handler(request)
        if not isinstance(response, web.WebSocketResponse):
            headers = response.headers
            headers.setdefault("X-Frame-Options", "DENY")
            headers.setdefault("X-Content-Type-Options", "nosniff")
            # Not "no-referrer": Chromium then sends "Origin: null" with the sign-in form.
            headers.setdefault("Referrer-Policy", "same-origin")
            if not request.path.startswith("/static/"):
                headers.setdefault("Cache-Control", "no-store")
                headers.setdefault(
                    "Content-Security-Policy",
                    "default-src 'self'; style-src 'self' 'unsafe-inline'; "
                    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
                    "form-action 'self'",
                )
        return response

    async def _close_all(self, _app: web.Application) -> None:
        await asyncio.gather(*(viewer.close() for viewer in list(self.viewers)))
        await asyncio.gather(*list(self._sessions), return_exceptions=True)

    # --- who is asking ------------------------------------------------------------------

    def _address(self, request: web.Request) -> str:
        if self.trust_proxy:
            forwarded = request.headers.get("X-Real-IP")
            if forwarded:
                return forwarded.strip()[:64]
        return request.remote or "?"

    def _first_hold(self, login: str, address: str, now: dt.datetime) -> bool:
        """Whether this turned-away attempt is the first of its hold (audited once)."""
        key = (login, address)
        last = self._held.get(key)
        if last is not None and now - last < self.throttle.window:
            return False
        if len(self._held) > 10_000:
            self._held.clear()
        self._held[key] = now
        return True

    def _over_tls(self, request: web.Request) -> bool:
        if request.secure:
            return True
        return self.trust_proxy and request.headers.get("X-Forwarded-Proto") == "https"

    def _same_origin(self, request: web.Request) -> bool:
        origin = request.headers.get("Origin")
        if origin is None:
            return True
        return urlsplit(origin).netloc == request.host

    async def _session(self, request: web.Request) -> tuple[Actor, str] | None:
        token = request.cookies.get(COOKIE)
        if not token:
            return None
        try:
            actor = await asyncio.to_thread(check_session, self.db, token, now=self.clock())
        except SessionRefused:
            return None
        return actor, token

    def _html(self, body: str, status: int = 200) -> web.Response:
        return web.Response(text=body, status=status, content_type="text/html", charset="utf-8")

    def _full(self) -> bool:
        return len(self.viewers) >= self.max_viewers

    # --- pages --------------------------------------------------------------------------

    async def index(self, request: web.Request) -> web.StreamResponse:
        session = await self._session(request)
        if session is None:
            return self._html(pages.sign_in_page(lang=self.settings.language), status=401)
        return self._html(pages.choice_page(lang=self.settings.language, name=session[0].name))

    async def login_form(self, request: web.Request) -> web.StreamResponse:
        if await self._session(request) is not None:
            raise web.HTTPSeeOther("/")
        return self._html(pages.sign_in_page(lang=self.settings.language))

    async def login(self, request: web.Request) -> web.StreamResponse:
        lang = self.settings.language
        if not self._same_origin(request):
            raise web.HTTPForbidden(text=_("refused: the form came from another site"))
        form = await request.post()
        login = str(form.get("login", ""))[:64]
        password = str(form.get("password", ""))[:400]
        address = self._address(request)
        now = self.clock()
        wait = self.throttle.retry_after(login, address, now)
        if wait is not None:
            minutes = max(1, int(wait.total_seconds() // 60) + 1)
            log.warning("wallboard sign-in throttled for %r from %s", login, address)
            if self._first_hold(login, address, now):
                await asyncio.to_thread(record_throttled, self.db, login, now=now, address=address)
            error = _("Too many failed attempts; try again in {n} minutes.").format(n=minutes)
            response = self._html(pages.sign_in_page(lang=lang, error=error, login=login), 429)
            response.headers["Retry-After"] = str(int(wait.total_seconds()) + 1)
            return response
        try:
            session = await asyncio.to_thread(
                sign_in, self.db, login, password, now=now, address=address
            )
        except SignInRefused as refused:
            self.throttle.failed(login, address, now)
            page = pages.sign_in_page(lang=lang, error=str(refused), login=login)
            return self._html(page, status=401)
        self.throttle.succeeded(login)
        response = _see_other("/")
        response.set_cookie(
            COOKIE,
            session.token,
            max_age=max(60, int((session.expires_at - now).total_seconds())),
            path="/",
            httponly=True,
            samesite="Strict",
            secure=self.secure_cookie or self._over_tls(request),
        )
        return response

    async def logout(self, request: web.Request) -> web.StreamResponse:
        if not self._same_origin(request):
            raise web.HTTPForbidden()
        response = _see_other("/login")
        response.del_cookie(COOKIE, path="/")
        return response

    def _mode(self, request: web.Request) -> str:
        mode = request.match_info["mode"]
        if mode not in MODES:
            raise web.HTTPNotFound()
        return mode

    async def board_page(self, request: web.Request) -> web.StreamResponse:
        mode = self._mode(request)
        if await self._session(request) is None:
            return self._html(pages.sign_in_page(lang=self.settings.language), status=401)
        if self._full():
            return self._html(
                pages.full_page(lang=self.settings.language, limit=self.max_viewers), 503
            )
        scheme = "wss" if self._over_tls(request) else "ws"
        font = FONT_SIZES[mode]
        with contextlib.suppress(ValueError):
            font = min(64, max(8, int(request.query.get("fontsize", font))))
        title = _("Wallboard") if mode == "wall" else _("Supervisor board")
        return self._html(
            pages.terminal_page(
                lang=self.settings.language,
                title=title,
                websocket_url=f"{scheme}://{request.host}/ws/{mode}",
                static_url="/static/",
                font_size=font,
            )
        )

    # --- the board's websocket ------------------------------------------------------------

    def _viewer_env(self, token: str) -> dict[str, str]:
        env = {
            SESSION_ENV: token,
            "TUI_DESK_DATABASE_URL": self.settings.database_url,
            "TUI_DESK_PROFILE": self.settings.profile,
            "TUI_DESK_LANGUAGE": self.settings.language,
        }
        if self.cycle_seconds is not None:
            env[CYCLE_ENV] = str(self.cycle_seconds)
        return env

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        mode = self._mode(request)
        if not self._same_origin(request):
            raise web.HTTPForbidden(text="cross-origin")
        session = await self._session(request)
        if session is None:
            raise web.HTTPForbidden(text="sign in first")
        if self._full():
            raise web.HTTPServiceUnavailable(text="the board is full")
        actor, token = session
        width = _to_int(request.query.get("width"), 80)
        height = _to_int(request.query.get("height"), 24)
        socket = web.WebSocketResponse(heartbeat=15)
        await socket.prepare(request)
        viewer = ViewerProcess(
            viewer_argv(mode),
            self._viewer_env(token),
            write_bytes=socket.send_bytes,
            write_str=socket.send_str,
            close=socket.close,
            download_manager=self.download_manager,
        )
        self.viewers.add(viewer)
        log.info("board (%s) opened for %s, %d viewers", mode, actor.login, len(self.viewers))
        # The session runs in a task of its own: aiohttp cancels this handler when the
        # browser's connection drops, and the viewer must still be closed and counted out.
        session_task = asyncio.ensure_future(self._run_viewer(socket, viewer, width, height))
        self._sessions.add(session_task)
        session_task.add_done_callback(self._sessions.discard)
        try:
            await asyncio.shield(session_task)
        finally:
            log.info("board (%s) closed for %s", mode, actor.login)
        return socket

    async def _run_viewer(
        self, socket: web.WebSocketResponse, viewer: ViewerProcess, width: int, height: int
    ) -> None:
        try:
            await viewer.start(width, height)
            # Until the browser goes or the board's process ends (a crash or a refusal
            # says no "exit" of its own): then the other side is closed too.
            relay = asyncio.ensure_future(self._relay(socket, viewer))
            ended = asyncio.ensure_future(viewer.ended())
            try:
                await asyncio.wait({relay, ended}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in (relay, ended):
                    task.cancel()
                # The reader must be gone before closing, or close() waits for it.
                await asyncio.gather(relay, ended, return_exceptions=True)
                if not socket.closed:
                    with contextlib.suppress(Exception):
                        await socket.close()
        except Exception:
            log.exception("the board's process failed")
        finally:
            try:
                await viewer.close()
            finally:
                self.viewers.discard(viewer)  # counted out whatever closing it did

    async def _relay(self, socket: web.WebSocketResponse, viewer: ViewerProcess) -> None:
        async for message in socket:
            if message.type != WSMsgType.TEXT:
                continue
            try:
                envelope = json.loads(message.data)
            except ValueError:
                continue
            if not isinstance(envelope, list) or not envelope:
                continue
            kind = envelope[0]
            data = envelope[1] if len(envelope) > 1 else None
            if kind == "stdin" and isinstance(data, str):
                await viewer.send_bytes(data.encode("utf-8"))
            elif kind == "resize" and isinstance(data, dict):
                await viewer.set_terminal_size(
                    _to_int(data.get("width"), 80), _to_int(data.get("height"), 24)
                )
            elif kind == "ping":
                await socket.send_json(["pong", data])
            elif kind == "blur":
                await viewer.blur()
            elif kind == "focus":
                await viewer.focus()


def _see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def _to_int(value: object, default: int) -> int:
    try:
        number = int(str(value))
    except ValueError:
        return default
    return min(max(number, 10), 1000)


def serve(server: BoardServer, *, host: str, port: int) -> None:
    """Serve until interrupted (SIGINT/SIGTERM close every viewer first)."""
    web.run_app(server.make_app(), host=host, port=port, print=None, access_log=None)
