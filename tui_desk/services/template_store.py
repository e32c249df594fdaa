"""Templates installed into the shared database: every desk sees a new version at once.

Agreement forms and SMS texts ship as files in the package; what a supervisor or an
administrator installs is stored here (``stored_template``), versioned, with the install
audited in the same transaction. Names, languages and versions are checked before
anything is read further: plain ASCII, no path characters, a whole number of ASCII
digits, and a size cap, so a template can neither reach outside its place nor fill the
database.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tui_desk.db.engine import Database
from tui_desk.db.models import StoredTemplate
from tui_desk.i18n import _
from tui_desk.services import audit
from tui_desk.services.context import Context
from tui_desk.services.errors import ServiceError

AGREEMENT = "agreement"
SMS = "sms"
MAX_TEMPLATE_BYTES = 64 * 1024
MAX_VERSION = 9999
_NAME = re.compile(r"[a-z][a-z0-9_-]{0,39}")
_LANGUAGE = re.compile(r"[a-z]{2}(_[A-Z]{2})?")
_VERSION = re.compile(r"[1-9][0-9]{0,3}")


@dataclass(frozen=True)
class Stored:
    name: str
    language: str
    version: int
    body: str


def check_size(raw: bytes) -> None:
    if len(raw) > MAX_TEMPLATE_BYTES:
        raise ServiceError(
            _("a template is at most {limit} KB ({size} KB given)").format(
                limit=MAX_TEMPLATE_BYTES // 1024, size=len(raw) // 1024
            )
        )


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise ServiceError(
            _(
                "template name {name!r}: lower-case ASCII letters, digits, - and _ only "
                "(at most 40, no dots or slashes)"
            ).format(name=name)
        )
    return name


def check_language(language: str) -> str:
    if not _LANGUAGE.fullmatch(language):
        raise ServiceError(
            _("template language {language!r}: like zh_CN or en").format(language=language)
        )
    return language


def check_version(version: str) -> int:
    if not _VERSION.fullmatch(version):
        raise ServiceError(
            _("template version {version!r}: a whole number 1-{max} in ASCII digits").format(
                version=version, max=MAX_VERSION
            )
        )
    return int(version)


def stored(
    db: Database | Session, kind: str, *, name: str | None = None, language: str | None = None
) -> list[Stored]:
    """Every stored version of ``kind`` (of one name and language when given), oldest
    first. Given a session (a write under way), read in it: a second connection per
    writer would double what a busy PostgreSQL server must accept."""
    stmt = select(
        StoredTemplate.name,
        StoredTemplate.language,
        StoredTemplate.version,
        StoredTemplate.body,
    ).where(StoredTemplate.kind == kind)
    if name is not None:
        stmt = stmt.where(StoredTemplate.name == name)
    if language is not None:
        stmt = stmt.where(StoredTemplate.language == language)
    ordered = stmt.order_by(StoredTemplate.name, StoredTemplate.language, StoredTemplate.version)
    if isinstance(db, Session):
        rows = db.execute(ordered).all()
    else:
        with db.read() as s:
            rows = s.execute(ordered).all()
    return [Stored(name, language, version, body) for name, language, version, body in rows]


def latest_stored_version(session: Session, kind: str, name: str, language: str) -> int:
    found = session.scalar(
        select(func.max(StoredTemplate.version)).where(
            StoredTemplate.kind == kind,
            StoredTemplate.name == name,
            StoredTemplate.language == language,
        )
    )
    return int(found or 0)


def store(
    session: Session,
    ctx: Context,
    *,
    kind: str,
    name: str,
    language: str,
    version: int,
    body: str,
) -> str:
    """Keep one checked version and audit it (in the caller's transaction); its key."""
    check_name(name)
    check_language(language)
    key = f"{name}.v{version}.{language}"
    digest = hashlib.sha256(body.encode("utf-8")).hexdigest()
    row = StoredTemplate(
        kind=kind,
        name=name,
        language=language,
        version=version,
        body=body,
        sha256=digest,
        installed_by_id=ctx.actor.id,
        installed_at=ctx.now(),
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        ctx.actor,
        "template.install",
        "template",
        row.id,
        f"{ctx.actor.login} installed {kind} template {key}",
        now=ctx.now(),
        after={"kind": kind, "template": key, "sha256": digest, "bytes": len(body.encode())},
    )
    return key
