"""The wallboard server's few HTML pages (every value escaped; no outside resources)."""

from __future__ import annotations

from html import escape

from tui_desk.i18n import _
from tui_desk.views.safe import clean

_STYLE = """
body { background: #0c181f; color: #e8eef2; font-family: sans-serif; margin: 0; }
main { max-width: 28em; margin: 12vh auto; padding: 2em; background: #12232d; }
h1 { font-size: 1.4em; margin-top: 0; }
label { display: block; margin: 1em 0 0.3em; }
input { width: 100%; padding: 0.5em; font-size: 1em; box-sizing: border-box; }
button, a.button { margin-top: 1.2em; padding: 0.6em 1.4em; font-size: 1em; background: #5e0ba7;
  color: #fff; border: none; cursor: pointer; text-decoration: none; display: inline-block; }
p.error { color: #ff8a80; font-weight: bold; }
ul.choices { list-style: none; padding: 0; }
ul.choices li { margin: 1em 0; }
small { color: #9fb3c0; }
"""


def _page(title: str, body: str, *, lang: str) -> str:
    html_lang = "zh-CN" if lang.startswith("zh") else "en"
    return (
        f'<!DOCTYPE html><html lang="{html_lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )


def _t(text: str) -> str:
    return escape(text)


def sign_in_page(*, lang: str, error: str | None = None, login: str = "") -> str:
    message = f'<p class="error" id="error">{escape(error)}</p>' if error else ""
    heading = _t(_("tui-desk wallboard: sign in"))
    login_label = _t(_("Login"))
    password_label = _t(_("Password"))
    button = _t(_("Sign in"))
    note = _t(_("Supervisors and administrators only."))
    body = (
        f"<h1>{heading}</h1>{message}"
        '<form method="post" action="/login">'
        f'<label for="login">{login_label}</label>'
        f'<input id="login" name="login" value="{escape(login)}" '
        'autocomplete="username" required autofocus>'
        f'<label for="password">{password_label}</label>'
        '<input id="password" name="password" type="password" '
        'autocomplete="current-password" required>'
        f'<button type="submit" id="sign-in">{button}</button></form>'
        f"<p><small>{note}</small></p>"
    )
    return _page(_("Sign in"), body, lang=lang)


def choice_page(*, lang: str, name: str) -> str:
    heading = _t(_("Signed in as {name}").format(name=clean(name)))
    wall = _t(_("Wallboard"))
    wall_note = _t(_("Large type, read-only, the sections take turns: for a wall screen"))
    desk = _t(_("Supervisor board"))
    desk_note = _t(_("The ordinary board with its keys: for a desk"))
    sign_out = _t(_("Sign out"))
    body = (
        f"<h1>{heading}</h1>"
        '<ul class="choices">'
        f'<li><a class="button" id="wall" href="/board/wall">{wall}</a><br>'
        f"<small>{wall_note}</small></li>"
        f'<li><a class="button" id="desk" href="/board/desk">{desk}</a><br>'
        f"<small>{desk_note}</small></li>"
        "</ul>"
        '<form method="post" action="/logout">'
        f'<button type="submit" id="sign-out">{sign_out}</button></form>'
    )
    return _page(_("Wallboard"), body, lang=lang)


def full_page(*, lang: str, limit: int) -> str:
    heading = _t(_("The board is full"))
    text = _t(
        _(
            "{n} browsers are showing the board already, the most this server allows. "
            "Close one of them, or try again later."
        ).format(n=limit)
    )
    again = _t(_("Try again"))
    body = f'<h1>{heading}</h1><p>{text}</p><a class="button" href="/">{again}</a>'
    return _page(_("The board is full"), body, lang=lang)


def terminal_page(
    *, lang: str, title: str, websocket_url: str, static_url: str, font_size: int
) -> str:
    """The page that runs textual-serve's terminal client against ``websocket_url``."""
    html_lang = "zh-CN" if lang.startswith("zh") else "en"
    ended = escape(_("The board has closed."))
    again = escape(_("Open it again"))
    return (
        f'<!DOCTYPE html><html lang="{html_lang}"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title>"
        f'<link rel="stylesheet" href="{escape(static_url)}css/xterm.css">'
        f'<script src="{escape(static_url)}js/textual.js"></script>'
        "<style>html, body { margin: 0; height: 100%; background: #0c181f; }"
        " #terminal { position: absolute; inset: 0; }"
        " .closed { display: none; position: absolute; inset: 0; z-index: 10;"
        " align-items: center; justify-content: center; flex-direction: column;"
        " background: #0c181f; color: #fff; font-family: sans-serif; font-size: 1.5em; }"
        " body.-closed .closed { display: flex; }"
        " .closed a { color: #fff; margin-top: 1em; }</style></head><body>"
        f'<div class="closed"><p>{ended}</p><a href="">{again}</a></div>'
        f'<div id="terminal" class="textual-terminal" data-session-websocket-url='
        f'"{escape(websocket_url)}" data-font-size="{font_size}"></div>'
        "</body></html>"
    )
