"""`serve-board`: the supervisors' wallboard in browsers, behind a sign-in."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from tui_desk.i18n import _

if TYPE_CHECKING:
    from tui_desk.config import Settings
    from tui_desk.db.engine import Database


def serve_board_help() -> str:
    return _("serve the supervisors' wallboard to browsers (sign-in required)")


def add_serve_board(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--host", default="127.0.0.1", help=_("address to listen on (default 127.0.0.1)")
    )
    p.add_argument("--port", type=int, default=8080, help=_("port (default 8080)"))
    p.add_argument(
        "--max-viewers",
        type=int,
        metavar="N",
        help=_("browsers showing the board at once (default: setting board_max_viewers, 8)"),
    )
    p.add_argument(
        "--secure-cookie",
        action="store_true",
        help=_("mark the session cookie Secure (served through a TLS reverse proxy)"),
    )
    p.add_argument(
        "--trust-proxy",
        action="store_true",
        help=_("take the client address from X-Real-IP (only behind your reverse proxy)"),
    )
    p.add_argument(
        "--cycle-seconds",
        type=float,
        metavar="S",
        help=_("how long the wallboard shows each section (default 15)"),
    )
    # The process one browser's board runs in; started by the server, refused without
    # the session token the server hands it.
    p.add_argument("--viewer", choices=["wall", "desk"], help=argparse.SUPPRESS)


def cmd_serve_board(args: argparse.Namespace, db: Database, settings: Settings) -> int:
    from tui_desk.cli.common import CliError

    if args.viewer:
        from tui_desk.web.viewer import run_viewer

        return run_viewer(db, settings, args.viewer)
    from tui_desk.logs import configure_worker_logging
    from tui_desk.web.server import BoardServer, serve

    configure_worker_logging()

    limit = args.max_viewers if args.max_viewers is not None else settings.board_max_viewers
    if limit < 1:
        raise CliError(_("--max-viewers must be at least 1"))
    server = BoardServer(
        db,
        settings,
        max_viewers=limit,
        secure_cookie=args.secure_cookie,
        trust_proxy=args.trust_proxy,
        cycle_seconds=args.cycle_seconds,
    )
    print(
        _("serving the wallboard on http://{host}:{port}/ (Ctrl+C to stop)").format(
            host=args.host, port=args.port
        ),
        flush=True,
    )
    serve(server, host=args.host, port=args.port)
    return 0
