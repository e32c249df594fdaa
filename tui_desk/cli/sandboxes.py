"""`pbx-sandbox` and `sms-sandbox`: local stand-ins for the phone system and SMS gateway."""

from __future__ import annotations

import argparse
import os

from tui_desk.cli.common import CliError
from tui_desk.i18n import _


def cmd_pbx_sandbox(args: argparse.Namespace) -> int:
    """The PBX stand-in in the foreground; no database is opened."""
    from tui_desk.integrations.pbx_sandbox import PbxSandbox

    # The password the desk sends (pbx_password); a fixed one is fine on 127.0.0.1 only.
    password = os.environ.get("TUI_DESK_PBX_PASSWORD") or "sandbox"
    try:
        sandbox = PbxSandbox(
            host=args.host,
            port=args.port,
            user=args.user,
            password=password,
            echo=lambda line: print(line, flush=True),
        )
    except OSError as exc:
        raise CliError(
            _("cannot listen on {host}:{port}: {error}").format(
                host=args.host, port=args.port, error=exc.strerror or exc
            )
        ) from exc
    print(
        _(
            "PBX sandbox at {url} (user {user}); point the desk at it with "
            "TUI_DESK_PBX_URL={url} TUI_DESK_PBX_USER={user} TUI_DESK_PBX_PASSWORD=...; "
            "Ctrl+C stops it"
        ).format(url=sandbox.url, user=args.user),
        flush=True,
    )
    sandbox.serve_forever()
    return 0


def cmd_sms_sandbox(args: argparse.Namespace) -> int:
    from tui_desk.integrations.sms_sandbox import SmsSandbox

    if not 0.0 <= args.fail_rate <= 1.0:
        raise CliError(_("--fail-rate is a share between 0 and 1"))
    box = SmsSandbox(
        port=args.port,
        token=args.token,
        fail_rate=args.fail_rate,
        deliver_after=args.deliver_after,
        echo=lambda line: print(line, flush=True),
    )
    print(
        _(
            "SMS sandbox on http://127.0.0.1:{port}/ (messages at /); point the worker at it: "
            "TUI_DESK_SMS_GATEWAY_URL=http://127.0.0.1:{port}"
        ).format(port=args.port),
        flush=True,
    )
    try:
        box.serve_forever()
    except OSError as exc:
        raise CliError(
            _("cannot listen on port {port}: {error}").format(port=args.port, error=exc)
        ) from exc
    return 0
