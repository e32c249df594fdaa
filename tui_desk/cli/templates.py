"""`templates`: the bank's standard agreement forms and the SMS templates."""

from __future__ import annotations

import argparse

from tui_desk.cli.common import acting_agent, policy_profile
from tui_desk.clock import utcnow
from tui_desk.config import Settings
from tui_desk.db.engine import Database
from tui_desk.i18n import _
from tui_desk.services.context import Context


def cmd_templates(args: argparse.Namespace, db: Database, settings: Settings) -> None:
    """Install into the shared database (every desk sees it at once), or list."""
    from pathlib import Path

    from tui_desk.services import agreements, sms

    profile = policy_profile(settings)
    if args.templates_command == "install":
        ctx = Context(db, acting_agent(db, settings), utcnow, profile)
        if args.sms:
            key = sms.install_sms_template(ctx, Path(args.file))
        else:
            key = agreements.install_template(ctx, Path(args.file))
        print(_("installed {key} in the shared database").format(key=key))
        return
    for language in ("zh_CN", "en"):
        versions = agreements.template_versions("repayment", language, db)
        print(f"repayment  {language:<6} " + ", ".join(f"v{v}" for v in versions))
    for template in sms.load_sms_templates(profile, db=db).templates:
        print(f"sms        {template.name}")
