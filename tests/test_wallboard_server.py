"""The wallboard server's sign-in, cookie, throttle, origin checks and viewer cap, on both
engines (no viewer process is started here: see test_wallboard_browser.py)."""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select
from textual_serve.download_manager import DownloadManager

from tests.factories import Factory
from tui_desk.config import Settings
from tui_desk.db.engine import Database
from tui_desk.db.models import AuditEvent, Role
from tui_desk.services.web_sign_in import set_password
from tui_desk.web.server import COOKIE, BoardServer, ViewerProcess
from tui_desk.web.throttle import SignInThrottle

NOW = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)
PASSWORD = "correct horse battery"
ORIGIN = {"Origin": "http://evil.example"}

Make = Callable[..., "Any"]


@pytest.fixture
def office(db: Database) -> Database:
    f = Factory(db, now=NOW)
    f.agent(login="sue", name="Sue", role=Role.SUPERVISOR)
    f.agent(login="ann", name="Ann")
    set_password(db, "sue", PASSWORD, actor=None, now=NOW)
    return db


@pytest.fixture
async def make_client(office: Database) -> AsyncIterator[Callable[..., Any]]:
    clients: list[TestClient[Any, Any]] = []

    async def make(**options: Any) -> tuple[TestClient[Any, Any], BoardServer]:
        server = BoardServer(
            office, Settings(database_url="sqlite://"), clock=lambda: NOW, **options
        )
        client: TestClient[Any, Any] = TestClient(TestServer(server.make_app()))
        await client.start_server()
        clients.append(client)
        return client, server

    yield make
    for client in clients:
        await client.close()


async def sign_in(
    client: TestClient[Any, Any], password: str = PASSWORD, login: str = "sue"
) -> Any:
    return await client.post(
        "/login", data={"login": login, "password": password}, allow_redirects=False
    )


def cookie_of(response: Any) -> str:
    return str(response.cookies[COOKIE].value)


def actions(db: Database) -> list[str]:
    with db.read() as s:
        return list(s.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


async def test_a_stranger_gets_the_form_never_the_board(make_client: Callable[..., Any]) -> None:
    client, _server = await make_client()
    for path in ("/", "/board/wall", "/board/desk"):
        response = await client.get(path)
        assert response.status == 401
        page = await response.text()
        assert 'action="/login"' in page and "textual.js" not in page
    assert (await client.get("/ws/wall")).status == 403
    forged = {"Cookie": f"{COOKIE}=c3Vl.9999999999.abc.def"}
    assert (await client.get("/ws/desk", headers=forged)).status == 403
    assert (await client.get("/board/wall", headers=forged)).status == 401
    assert (await client.get("/board/nothing")).status == 404


async def test_sign_in_sets_a_strict_http_only_cookie(
    make_client: Callable[..., Any], office: Database
) -> None:
    client, _server = await make_client()
    refused = await sign_in(client, "not it at all")
    assert refused.status == 401
    assert "wrong login or password" in await refused.text()
    assert COOKIE not in refused.cookies

    granted = await sign_in(client)
    assert granted.status == 303 and granted.headers["Location"] == "/"
    header = granted.headers["Set-Cookie"]
    assert "HttpOnly" in header and "SameSite=Strict" in header and "Secure" not in header
    assert actions(office)[-2:] == ["agent.web_sign_in_refused", "agent.web_sign_in"]

    headers = {"Cookie": f"{COOKIE}={cookie_of(granted)}"}
    choice = await client.get("/", headers=headers)
    assert choice.status == 200 and "Signed in as Sue" in await choice.text()
    board = await client.get("/board/wall", headers=headers)
    page = await board.text()
    assert "textual.js" in page and "/ws/wall" in page
    assert "frame-ancestors 'none'" in board.headers["Content-Security-Policy"]

    # A new password ends the session.
    set_password(office, "sue", PASSWORD + "!", actor=None, now=NOW)
    assert (await client.get("/", headers=headers)).status == 401

    secure_client, _ = await make_client(secure_cookie=True)
    assert "Secure" in (await sign_in(secure_client, PASSWORD + "!")).headers["Set-Cookie"]


async def test_sign_out_clears_the_cookie(make_client: Callable[..., Any]) -> None:
    client, _server = await make_client()
    granted = await sign_in(client)
    out = await client.post(
        "/logout", headers={"Cookie": f"{COOKIE}={cookie_of(granted)}"}, allow_redirects=False
    )
    assert out.status == 303 and out.cookies[COOKIE].value == ""


async def test_other_sites_may_not_post_the_form_or_open_the_socket(
    make_client: Callable[..., Any],
) -> None:
    client, _server = await make_client()
    response = await client.post(
        "/login", data={"login": "sue", "password": PASSWORD}, headers=ORIGIN
    )
    assert response.status == 403
    granted = await sign_in(client)
    headers = {"Cookie": f"{COOKIE}={cookie_of(granted)}", **ORIGIN}
    assert (await client.get("/ws/wall", headers=headers)).status == 403


async def test_sign_ins_are_throttled_per_login_and_per_address(
    make_client: Callable[..., Any], office: Database
) -> None:
    client, _server = await make_client(throttle=SignInThrottle(per_login=3, per_address=5))
    for _n in range(3):
        assert (await sign_in(client, "wrong password")).status == 401
    throttled = await sign_in(client)
    assert throttled.status == 429 and "Retry-After" in throttled.headers
    assert "Too many failed attempts" in await throttled.text()
    # The throttled attempt never reached the password check: three refusals audited,
    # and the hold once, however many attempts it turns away.
    assert (await sign_in(client)).status == 429
    assert actions(office).count("agent.web_sign_in_refused") == 3
    assert actions(office).count("agent.web_sign_in_throttled") == 1
    # Other logins from the same address: two more failures and the address is held too.
    for login in ("ann", "nobody"):
        assert (await sign_in(client, "x" * 12, login=login)).status == 401
    assert (await sign_in(client, "x" * 12, login="someone")).status == 429


def test_the_throttle_forgets_after_its_window() -> None:
    throttle = SignInThrottle(per_login=2, per_address=10, window=dt.timedelta(minutes=15))
    throttle.failed("sue", "a", NOW)
    throttle.failed("sue", "b", NOW + dt.timedelta(minutes=1))
    wait = throttle.retry_after("sue", "c", NOW + dt.timedelta(minutes=2))
    assert wait == dt.timedelta(minutes=13)
    assert throttle.retry_after("sue", "c", NOW + dt.timedelta(minutes=15)) is None
    throttle.failed("sue", "a", NOW + dt.timedelta(minutes=16))
    throttle.succeeded("sue")
    assert throttle.retry_after("sue", "a", NOW + dt.timedelta(minutes=16)) is None


async def test_a_full_board_says_so(make_client: Callable[..., Any]) -> None:
    client, server = await make_client(max_viewers=1)
    granted = await sign_in(client)
    headers = {"Cookie": f"{COOKIE}={cookie_of(granted)}"}
    server.viewers.add(
        ViewerProcess(
            ["true"],
            {},
            write_bytes=_noop,
            write_str=_noop,
            close=_noop_close,
            download_manager=server.download_manager,
        )
    )
    page = await client.get("/board/wall", headers=headers)
    assert page.status == 503 and "The board is full" in await page.text()
    assert (await client.get("/ws/wall", headers=headers)).status == 503


async def _noop(_data: Any) -> None:
    return None


async def _noop_close() -> None:
    return None


async def test_a_board_process_that_dies_closes_the_browser_socket(
    make_client: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        "tui_desk.web.server.viewer_argv",
        lambda mode: [sys.executable, "-c", "import sys; sys.exit(3)"],
    )
    client, server = await make_client()
    granted = await sign_in(client)
    socket = await client.ws_connect(
        "/ws/wall", headers={"Cookie": f"{COOKIE}={cookie_of(granted)}"}
    )
    closing = (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING, WSMsgType.ERROR)
    for _n in range(100):  # whatever came before the close (nothing is expected)
        message = await asyncio.wait_for(socket.receive(), 30)
        if message.type in closing:
            break
    assert message.type in closing
    for _n in range(1500):
        if not server.viewers:
            break
        await asyncio.sleep(0.02)
    assert not server.viewers


async def test_a_viewer_is_counted_out_even_when_closing_it_fails(
    make_client: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        "tui_desk.web.server.viewer_argv",
        lambda mode: [sys.executable, "-c", "import sys; sys.exit(3)"],
    )

    async def broken_close(self: ViewerProcess) -> None:
        raise RuntimeError("the process table is gone")

    monkeypatch.setattr(ViewerProcess, "close", broken_close)
    client, server = await make_client()
    granted = await sign_in(client)
    socket = await client.ws_connect(
        "/ws/wall", headers={"Cookie": f"{COOKIE}={cookie_of(granted)}"}
    )
    for _n in range(100):
        message = await asyncio.wait_for(socket.receive(), 30)
        if message.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING):
            break
    for _n in range(1500):
        if not server.viewers:
            break
        await asyncio.sleep(0.02)
    assert not server.viewers


async def test_closing_a_viewer_whose_reader_was_cancelled_still_ends_its_process() -> None:
    viewer = ViewerProcess(
        [sys.executable, "-c", "import time; time.sleep(60)"],
        {},
        write_bytes=_noop,
        write_str=_noop,
        close=_noop_close,
        download_manager=DownloadManager(),
    )
    process = await viewer._open_app_process()
    reader: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    reader.cancel()  # as when the server shuts down under it
    viewer._task = reader  # type: ignore[assignment]
    await viewer.close()  # no CancelledError escapes: this close was not cancelled
    assert process.returncode is not None
