"""The bank's standard agreement: templates, merging, required clauses, deviations, hashes.

Pure: templates arrive as parsed TOML, variables as strings. An agreement's content is a
structured document (title, parties, ordered sections, schedule) kept as canonical JSON,
so what is hashed at signing is exactly what is stored, printed and checked again later.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from tui_desk.i18n import N_, _

# Clause kinds (the values the PDF renderer knows).
BALANCE = "balance"
RIGHTS = "rights_and_obligations"
TERM = "term_and_frequency"
INTEREST_DURING = "interest_during_repayment"
UNDERTAKINGS = "borrower_undertakings"
BREACH = "breach_liability"
REMEDIES = "legal_remedies"
SPECIAL_TERMS = "special_terms"
OTHER = "other"

# Every agreement states these (process step 6); the CN profile adds three more.
REQUIRED: tuple[str, ...] = (RIGHTS, TERM, BREACH, REMEDIES)
REQUIRED_BY_PROFILE: dict[str, tuple[str, ...]] = {
    "cn": (*REQUIRED, BALANCE, INTEREST_DURING, UNDERTAKINGS),
}
KIND_LABELS: dict[str, str] = {
    BALANCE: N_("balance owed and its structure"),
    RIGHTS: N_("rights and obligations of both parties"),
    TERM: N_("repayment term and frequency"),
    INTEREST_DURING: N_("interest and fees during repayment"),
    UNDERTAKINGS: N_("borrower's undertakings"),
    BREACH: N_("liability for breach"),
    REMEDIES: N_("legal remedies"),
    SPECIAL_TERMS: N_("special terms"),
    OTHER: N_("other"),
}


class TemplateError(ValueError):
    """A template or a merge that cannot make an agreement; the message says why."""


@dataclass(frozen=True)
class Clause:
    kind: str
    heading: str
    body: str


@dataclass(frozen=True)
class Template:
    name: str
    version: str
    language: str
    title: str
    issuer: str
    form_code: str
    preamble: str
    bank: str
    borrower: str
    borrower_details: tuple[str, ...]
    clauses: tuple[Clause, ...]

    @property
    def key(self) -> str:
        return f"{self.name} v{self.version} ({self.language})"


def parse_template(raw: Mapping[str, Any]) -> Template:
    try:
        parties = raw["parties"]
        clauses = tuple(
            Clause(str(c["kind"]), str(c["heading"]), str(c["body"])) for c in raw["sections"]
        )
        template = Template(
            name=str(raw["name"]),
            version=str(raw["version"]),
            language=str(raw["language"]),
            title=str(raw["title"]),
            issuer=str(raw.get("issuer", "")),
            form_code=str(raw.get("form_code", "")),
            preamble=str(raw.get("preamble", "")),
            bank=str(parties["bank"]),
            borrower=str(parties["borrower"]),
            borrower_details=tuple(str(d) for d in parties.get("borrower_details", ())),
            clauses=clauses,
        )
    except (KeyError, TypeError) as exc:
        raise TemplateError(f"invalid agreement template: missing {exc}") from exc
    unknown = [c.kind for c in clauses if c.kind not in KIND_LABELS]
    if unknown:
        raise TemplateError(f"invalid agreement template: unknown clause kinds {unknown}")
    return template


def template_variables(template: Template) -> set[str]:
    """Every ``{name}`` the template uses."""
    texts = [
        template.title,
        template.preamble,
        template.bank,
        template.borrower,
        *template.borrower_details,
        *(c.heading for c in template.clauses),
        *(c.body for c in template.clauses),
    ]
    names: set[str] = set()
    for text in texts:
        for _literal, name, _spec, _conv in string.Formatter().parse(text):
            if name:
                names.add(name)
    return names


@dataclass(frozen=True)
class Content:
    """An agreement's text as stored, hashed and printed (no signatures, no copy label)."""

    template: str  # "repayment v1 (zh_CN)"
    language: str
    number: str
    title: str
    issuer: str
    form_code: str
    preamble: str
    bank: str
    borrower: str
    borrower_details: tuple[str, ...]
    clauses: tuple[Clause, ...]
    schedule: tuple[tuple[str, str, str, str, str], ...] = ()
    schedule_total: tuple[str, str, str, str, str] | None = None
    special_terms: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        """Canonical JSON: sorted keys, no spaces, UTF-8 text; the hashed form."""
        payload = {
            "template": self.template,
            "language": self.language,
            "number": self.number,
            "title": self.title,
            "issuer": self.issuer,
            "form_code": self.form_code,
            "preamble": self.preamble,
            "bank": self.bank,
            "borrower": self.borrower,
            "borrower_details": list(self.borrower_details),
            "clauses": [[c.kind, c.heading, c.body] for c in self.clauses],
            "schedule": [list(row) for row in self.schedule],
            "schedule_total": list(self.schedule_total) if self.schedule_total else None,
            "special_terms": self.special_terms,
            "extra": dict(sorted(self.extra.items())),
        }
        return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Content:
        try:
            data = json.loads(text)
            total = data.get("schedule_total")
            return cls(
                template=str(data["template"]),
                language=str(data["language"]),
                number=str(data["number"]),
                title=str(data["title"]),
                issuer=str(data.get("issuer", "")),
                form_code=str(data.get("form_code", "")),
                preamble=str(data.get("preamble", "")),
                bank=str(data["bank"]),
                borrower=str(data["borrower"]),
                borrower_details=tuple(str(d) for d in data.get("borrower_details", ())),
                clauses=tuple(Clause(str(k), str(h), str(b)) for k, h, b in data["clauses"]),
                schedule=tuple(_row(r) for r in data.get("schedule", ())),
                schedule_total=_row(total) if total else None,
                special_terms=str(data.get("special_terms", "")),
                extra={str(k): str(v) for k, v in data.get("extra", {}).items()},
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise TemplateError(f"stored agreement content is not readable: {exc}") from exc

    def with_special_terms(self, text: str) -> Content:
        return replace(self, special_terms=text.strip())

    @property
    def all_clauses(self) -> tuple[Clause, ...]:
        """The standard clauses, then the special terms as a clause of their own."""
        if not self.special_terms:
            return self.clauses
        heading = _("Special terms") if self.language != "zh_CN" else "特别约定"
        return (*self.clauses, Clause(SPECIAL_TERMS, heading, self.special_terms))


def _row(values: Sequence[Any]) -> tuple[str, str, str, str, str]:
    a, b, c, d, e = (str(v) for v in values)
    return (a, b, c, d, e)


def _fill(text: str, variables: Mapping[str, str], missing: set[str]) -> str:
    for _literal, name, _spec, _conv in string.Formatter().parse(text):
        if name and name not in variables:
            missing.add(name)
    if missing:
        return text
    return text.format_map(dict(variables))


def merge(
    template: Template,
    variables: Mapping[str, str],
    *,
    number: str,
    schedule: Sequence[tuple[str, str, str, str, str]] = (),
    schedule_total: tuple[str, str, str, str, str] | None = None,
    special_terms: str = "",
) -> Content:
    """Fill the template; refuse (naming them) if any variable is missing."""
    missing: set[str] = set()
    fill = _fill
    content = Content(
        template=template.key,
        language=template.language,
        number=number,
        title=fill(template.title, variables, missing),
        issuer=template.issuer,
        form_code=template.form_code,
        preamble=fill(template.preamble, variables, missing),
        bank=fill(template.bank, variables, missing),
        borrower=fill(template.borrower, variables, missing),
        borrower_details=tuple(fill(d, variables, missing) for d in template.borrower_details),
        clauses=tuple(
            Clause(c.kind, fill(c.heading, variables, missing), fill(c.body, variables, missing))
            for c in template.clauses
        ),
        schedule=tuple(schedule),
        schedule_total=schedule_total,
        special_terms=special_terms.strip(),
    )
    if missing:
        raise TemplateError(
            _("the template needs values the case does not have: {names}").format(
                names=", ".join(sorted(missing))
            )
        )
    return content


def missing_required(content: Content, profile: str) -> list[str]:
    """Required clause kinds that are absent or empty (labels, for a refusal)."""
    required = REQUIRED_BY_PROFILE.get(profile, REQUIRED)
    present = {c.kind for c in content.clauses if c.body.strip()}
    return [_(KIND_LABELS[kind]) for kind in required if kind not in present]


def deviations(content: Content, standard: Content) -> list[str]:
    """Headings of standard clauses whose text differs from the merged template."""
    by_kind = {c.kind: c for c in standard.clauses}
    changed = []
    for clause in content.clauses:
        reference = by_kind.get(clause.kind)
        if reference is None or (clause.heading, clause.body) != (
            reference.heading,
            reference.body,
        ):
            changed.append(clause.heading)
    kinds = {c.kind for c in content.clauses}
    changed += [c.heading for c in standard.clauses if c.kind not in kinds]
    return changed


def content_hash(content_json: str) -> str:
    """SHA-256 of the stored canonical JSON (hex): printed on each copy, checked on open."""
    return hashlib.sha256(content_json.encode("utf-8")).hexdigest()


def as_text(content: Content) -> str:
    """The agreement as plain text for the desk's panel (and for comparing versions)."""
    lines = [content.title, f"{content.number}", ""]
    if content.preamble:
        lines += [content.preamble, ""]
    lines += [content.bank, content.borrower, *(f"  {d}" for d in content.borrower_details), ""]
    for clause in content.all_clauses:
        lines += [clause.heading, clause.body, ""]
    if content.schedule:
        for row in content.schedule:
            lines.append("  ".join(row))
        if content.schedule_total:
            lines.append("  ".join(content.schedule_total))
    return "\n".join(lines).rstrip() + "\n"


def compare(old: Content, new: Content) -> list[str]:
    """A unified diff of two versions' text (empty when they say the same)."""
    return list(
        difflib.unified_diff(
            as_text(old).splitlines(),
            as_text(new).splitlines(),
            fromfile="old",
            tofile="new",
            lineterm="",
            n=1,
        )
    )
