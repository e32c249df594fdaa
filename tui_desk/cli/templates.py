"""`templates`: the bank's standard agreement forms."""

from __future__ import annotations

import argparse

from tui_desk.cli.common import acting_agent, policy_profile
from tui_desk.clock import utcnow
from tui_desk.config import Settings
from tui_desk.db.engine import Database
from tui_desk.i18n import _
from tui_desk.services.context import Context


def cmd_templates(args: argparse.Namespace, db: Database, settings: Settings) -> None:
    from pathlib import Path

    from tui_desk.services import agreements

    if args.templates_command == "install":
        actor = acting_agent(db, settings)
        target = agreements.install_template(
            Context(db, actor, utcnow, policy_profile(settings)), Path(args.file)
        )
        print(_("installed {path}").format(path=target))
        return
    for language in ("zh_CN", "en"):
        versions = agreements.template_versions("repayment", language)
        print(f"repayment  {language:<6} " + ", ".join(f"v{v}" for v in versions))
