"""Reports: a small world with known answers, a seeded smoke test, and the CLI."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from tests.factories import Factory, new_database
from tui_desk import cli
from tui_desk.db.engine import Database, open_database
from tui_desk.db.models import (
    AppointmentStatus,
    Channel,
    CollectionCase,
    Complaint,
    ComplaintStatus,
    ContactAttempt,
    FollowUp,
    FollowUpStatus,
    Outcome,
    Payment,
    PaymentChannel,
    PromiseStatus,
    PromiseToPay,
    Relation,
    Role,
    VisitOutcome,
    VisitReport,
)
from tui_desk.rules.profile import load_profile
from tui_desk.services import reports
from tui_desk.services.errors import ServiceError
from tui_desk.views.reports import ReportTable

NOW = dt.datetime(2026, 3, 10, 4, 0, tzinfo=dt.UTC)  # 12:00 in Beijing
FROM = dt.date(2026, 3, 1)
TO = dt.date(2026, 3, 10)
PROFILE = load_profile("cn")


def utc(day: int, hour: int, minute: int = 0, month: int = 3) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=dt.UTC)


@dataclass
class World:
    op1: int
    op2: int
    col1: int
    col2: int


def build_world(db: Database) -> World:
    f = Factory(db, now=NOW)
    op1 = f.agent(login="op1", name="王芳")
    op2 = f.agent(login="op2", name="李雷")
    col1 = f.collector(login="col1", name="欧阳娜娜")
    col2 = f.collector(login="col2", name="张伟")
    # overdue_since = 2026-03-10 minus the days; bucket on Mar 1 -> bucket on Mar 10.
    case_b = f.case(owner_id=op1, overdue_days=35, name="赵一")  # Feb 3: 1 -> 2
    case_a = f.case(owner_id=op2, overdue_days=45, name="钱二")  # Jan 24: 2 -> 2
    case_c = f.case(owner_id=op1, overdue_days=95, name="孙三")  # Dec 5: 3 -> 4
    case_d = f.case(owner_id=None, overdue_days=20, name="李四")  # Feb 18: 1 -> closed
    f.case(owner_id=op1, overdue_days=5, name="周五")  # opened in the period: not counted

    # Contacts: op1 5 calls (3 connected, 2 right-party), op2 2 calls (2 connected, 1 RPC
    # since the promise came from the spouse), plus an SMS and an old call that don't count.
    for outcome in (
        Outcome.PROMISE,
        Outcome.REFUSED,
        Outcome.NO_ANSWER,
        Outcome.BUSY,
        Outcome.THIRD_PARTY,
    ):
        f.contact(case_b, agent_id=op1, outcome=outcome, minutes_ago=120)
    f.contact(case_a, agent_id=op2, outcome=Outcome.AGREES_VISIT)
    spouse = f.contact(case_a, agent_id=op2, outcome=Outcome.PROMISE)
    f.contact(case_a, agent_id=op2, outcome=Outcome.SENT, channel=Channel.SMS)
    f.contact(case_a, agent_id=op2, outcome=Outcome.PROMISE, minutes_ago=20 * 24 * 60)

    with db.write() as s:
        s.execute(
            update(ContactAttempt).where(ContactAttempt.id == spouse).values(party=Relation.SPOUSE)
        )
        s.execute(
            update(CollectionCase)
            .where(CollectionCase.id == case_d)
            .values(closed_at=NOW - dt.timedelta(days=1))
        )
        promises = [
            (op1, 5, PromiseStatus.KEPT),
            (op1, 6, PromiseStatus.BROKEN),
            (op1, 8, PromiseStatus.BROKEN),
            (op1, 9, PromiseStatus.OPEN),
            (op1, 7, PromiseStatus.CANCELLED),
            (op2, 2, PromiseStatus.KEPT),
        ]
        for agent, day, status in promises:
            s.add(
                PromiseToPay(
                    case_id=case_b,
                    amount_minor=10_000,
                    due_on=dt.date(2026, 3, day),
                    status=status,
                    created_by_id=agent,
                    created_at=utc(1, 2),
                )
            )
        s.add(
            PromiseToPay(
                case_id=case_a,
                amount_minor=10_000,
                due_on=dt.date(2026, 2, 20),
                status=PromiseStatus.KEPT,
                created_by_id=op2,
                created_at=utc(10, 2, month=2),
            )
        )
        payments = [
            (case_b, 2, 1_000_000),  # dpd 27: 1-30
            (case_b, 9, 50_050),  # dpd 34: 31-60
            (case_c, 5, 20_000),  # dpd 90: 61-90
            (case_a, 3, 30_000),  # dpd 38: 31-60
            (case_d, 1, 123),  # dpd 11: 1-30
        ]
        paid_c = None
        for case_id, day, amount in payments:
            pay = Payment(
                case_id=case_id,
                amount_minor=amount,
                paid_on=dt.date(2026, 3, day),
                channel=PaymentChannel.BANK_TRANSFER,
                recorded_at=NOW,
            )
            s.add(pay)
            s.flush()
            if case_id == case_c:
                paid_c = pay.id
        s.add(
            Payment(
                case_id=case_a,
                amount_minor=99_900,
                paid_on=dt.date(2026, 2, 28),
                channel=PaymentChannel.BANK_TRANSFER,
                recorded_at=NOW,
            )
        )

    visits = [
        (col1, case_a, VisitOutcome.PLAN_DISCUSSED, 0, False, utc(3, 2)),
        (col1, case_b, VisitOutcome.PAID_AT_DOOR, 50_000, False, utc(4, 1)),
        (col2, case_c, VisitOutcome.PAID_AT_DOOR, 20_000, True, utc(6, 2)),
        (col2, case_a, VisitOutcome.BORROWER_ABSENT, 0, False, utc(7, 2)),
        (col1, case_d, VisitOutcome.PAID_AT_DOOR, 10_000, False, utc(9, 15)),  # 23:00 local
        (col1, case_b, VisitOutcome.PAID_AT_DOOR, 7_000, False, utc(10, 16, 30)),  # Mar 11 local
    ]
    for n, (collector, case_id, v_outcome, collected, reconciled, at) in enumerate(visits):
        appt = f.appointment(
            case_id,
            collector_id=collector,
            booked_by_id=op1,
            starts_at=at - dt.timedelta(hours=2, minutes=n),
            status=AppointmentStatus.DONE,
        )
        with db.write() as s:
            s.add(
                VisitReport(
                    appointment_id=appt,
                    case_id=case_id,
                    collector_id=collector,
                    work_id_shown=True,
                    name_checked=True,
                    contact_checked=True,
                    address_checked=True,
                    documents_ok=True,
                    collected_minor=collected,
                    reconciled_payment_id=paid_c if reconciled else None,
                    outcome=v_outcome,
                    created_at=at,
                )
            )

    with db.write() as s:
        follow_ups = [
            # 17:00 UTC on Mar 3 is 01:00 on Mar 4 in Beijing: late, though UTC says Mar 3.
            (op1, 3, FollowUpStatus.DONE, utc(3, 17)),
            (op1, 5, FollowUpStatus.DONE, utc(5, 2)),
            (op1, 6, FollowUpStatus.MISSED, None),
            (op1, 9, FollowUpStatus.SCHEDULED, None),
            (op1, 7, FollowUpStatus.CANCELLED, None),
            (op2, 2, FollowUpStatus.DONE, utc(1, 3)),
        ]
        for owner, day, fu_status, done_at in follow_ups:
            s.add(
                FollowUp(
                    case_id=case_b,
                    due_on=dt.date(2026, 3, day),
                    channel=Channel.PHONE,
                    owner_id=owner,
                    status=fu_status,
                    done_at=done_at,
                )
            )
        s.add(
            FollowUp(
                case_id=case_a,
                due_on=dt.date(2026, 2, 27),
                channel=Channel.PHONE,
                owner_id=op2,
                status=FollowUpStatus.MISSED,
            )
        )
        complaints = [
            (col1, ComplaintStatus.OPEN, utc(2, 3)),
            (col1, ComplaintStatus.RESOLVED, utc(4, 3)),
            (op1, ComplaintStatus.INVESTIGATING, utc(5, 3)),
            (None, ComplaintStatus.DISMISSED, utc(6, 3)),
            (op2, ComplaintStatus.OPEN, utc(28, 3, month=2)),  # before the period
        ]
        for against, c_status, at in complaints:
            s.add(
                Complaint(
                    case_id=case_a,
                    against_agent_id=against,
                    channel=Channel.PHONE,
                    description="态度恶劣",
                    status=c_status,
                    received_at=at,
                    recorded_by_id=op2,
                )
            )
    return World(op1=op1, op2=op2, col1=col1, col2=col2)


def run_report(db: Database, name: str) -> ReportTable:
    return reports.REPORTS[name](db, date_from=FROM, date_to=TO, profile=PROFILE)


def test_known_answers(db: Database) -> None:
    build_world(db)

    rpc = run_report(db, "rpc-rate")
    assert rpc.rows == [("op1", "王芳", 5, 3, 2, "40.0"), ("op2", "李雷", 2, 2, 1, "50.0")]
    assert rpc.total == ("total", "", 7, 5, 3, "42.9")

    kept = run_report(db, "promise-kept")
    assert kept.rows == [
        ("op1", "王芳", 5, 1, 2, 1, 1, "33.3"),
        ("op2", "李雷", 1, 1, 0, 0, 0, "100.0"),
    ]
    assert kept.total == ("total", "", 6, 2, 2, 1, 1, "50.0")

    by_agent = run_report(db, "collected-by-agent")
    assert by_agent.rows == [
        ("op1", "王芳", 3, 2, "10700.50"),
        ("op2", "李雷", 1, 1, "300.00"),
        ("(unowned)", "", 1, 1, "1.23"),
    ]
    assert by_agent.total == ("total", "", 5, "", "11001.73")

    by_bucket = run_report(db, "collected-by-bucket")
    assert by_bucket.rows == [
        ("1-30", 2, 2, "10001.23"),
        ("31-60", 2, 2, "800.50"),
        ("61-90", 1, 1, "200.00"),
    ]
    assert by_bucket.total == ("total", 5, "", "11001.73")

    rolls = run_report(db, "roll-rates")
    assert rolls.columns[2:] == (
        "to current",
        "to 1-30",
        "to 31-60",
        "to 61-90",
        "to 91+",
        "closed",
        "roll forward %",
    )
    assert rolls.rows == [
        ("1-30", 2, 0, 0, 1, 0, 0, 1, "50.0"),
        ("31-60", 1, 0, 0, 1, 0, 0, 0, "0.0"),
        ("61-90", 1, 0, 0, 0, 0, 1, 0, "100.0"),
        ("91+", 0, 0, 0, 0, 0, 0, 0, "-"),
    ]

    visits = run_report(db, "visit-outcomes")
    assert visits.rows == [
        ("plan_discussed", 1, "20.0", "0.00"),
        ("paid_at_door", 3, "60.0", "800.00"),
        ("borrower_absent", 1, "20.0", "0.00"),
        ("refused", 0, "0.0", "0.00"),
        ("wrong_address", 0, "0.0", "0.00"),
    ]
    assert visits.total == ("total", 5, "100.0", "800.00")

    follow = run_report(db, "follow-up-compliance")
    assert follow.rows == [
        ("op1", "王芳", 4, 1, 1, 1, 1, "25.0"),
        ("op2", "李雷", 1, 1, 0, 0, 0, "100.0"),
    ]
    assert follow.total == ("total", "", 5, 2, 1, 1, 1, "40.0")

    door = run_report(db, "unreconciled-door")
    assert door.rows == [("col1", "欧阳娜娜", 2, "600.00", "2026-03-04")]
    assert door.total == ("total", "", 2, "600.00", "")

    complaints = run_report(db, "complaints-by-collector")
    assert complaints.rows == [
        ("col1", "欧阳娜娜", 2, 1, 1, 0),
        ("op1", "王芳", 1, 1, 0, 0),
        ("(no agent named)", "", 1, 0, 0, 1),
    ]
    assert complaints.total == ("total", "", 4, 2, 1, 1)


def test_period_edges_follow_the_office_day(db: Database) -> None:
    build_world(db)
    # Mar 11 (office time) holds only the door visit written at 00:30 local on Mar 11.
    one_day = reports.REPORTS["unreconciled-door"](
        db, date_from=dt.date(2026, 3, 11), date_to=dt.date(2026, 3, 11), profile=PROFILE
    )
    assert one_day.rows == [("col1", "欧阳娜娜", 1, "70.00", "2026-03-11")]
    with pytest.raises(ServiceError, match="before it starts"):
        reports.REPORTS["rpc-rate"](db, date_from=TO, date_to=FROM, profile=PROFILE)
    with pytest.raises(ServiceError, match="unknown report"):
        reports.run_report(db, "nope", date_from=FROM, date_to=TO, profile=PROFILE)


def test_csv_and_text_rendering() -> None:
    table = ReportTable(
        title="T",
        columns=("agent", "name", "amount"),
        rows=[("op1", "欧阳娜娜", "1.00"), ("op2", "Li, Lei", "12345.67")],
        total=("total", "", "12346.67"),
    )
    assert reports.to_csv(table) == (
        'agent,name,amount\r\nop1,欧阳娜娜,1.00\r\nop2,"Li, Lei",12345.67\r\ntotal,,12346.67\r\n'
    )
    lines = reports.render_text(table).splitlines()
    assert lines[1] == "agent  name        amount"
    assert lines[3] == "op1    欧阳娜娜      1.00"
    assert lines[4] == "op2    Li, Lei   12345.67"
    assert lines[-1] == "total            12346.67"
    assert reports.yuan(-5) == "-0.05" and reports.yuan(None) == "0.00"


def test_every_report_runs_on_seeded_data_with_consistent_totals(db: Database) -> None:
    from tui_desk.demo.seeder import seed_database

    seed_database(db, cases=300, now=NOW)
    date_from, date_to = NOW.date() - dt.timedelta(days=60), NOW.date()
    tables = {
        name: report(db, date_from=date_from, date_to=date_to, profile=PROFILE, now=NOW)
        for name, report in reports.REPORTS.items()
    }
    with db.read() as s:
        paid = s.execute(
            select(func.count(), func.coalesce(func.sum(Payment.amount_minor), 0)).where(
                Payment.paid_on >= date_from, Payment.paid_on <= date_to
            )
        ).one()
    by_agent, by_bucket = tables["collected-by-agent"], tables["collected-by-bucket"]
    assert by_agent.total is not None and by_bucket.total is not None
    assert by_agent.total[2] == by_bucket.total[1] == paid[0]
    assert by_agent.total[4] == by_bucket.total[3] == reports.yuan(paid[1])
    for table in tables.values():
        for row in [*table.rows, *([table.total] if table.total else [])]:
            assert len(row) == len(table.columns)
        if table.total is not None:
            # Every count column of the totals line is the sum of its rows.
            for i, cell in enumerate(table.total):
                if isinstance(cell, int):
                    assert cell == sum(int(r[i]) for r in table.rows)
        reports.render_text(table)
        reports.to_csv(table)
    rpc = tables["rpc-rate"].total
    assert rpc is not None
    attempts, connected, right_party = (int(c) for c in rpc[2:5])
    assert attempts >= connected >= right_party


# --- the command line ---------------------------------------------------------------------


def cli_run(argv: list[str]) -> int:
    """The command as the supervisor ``boss`` (reports are for supervisors)."""
    if "report" in argv and "--agent" not in argv:
        argv = ["--agent", "boss", *argv]
    try:
        return cli.main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


def _boss(db: Database) -> None:
    Factory(db).agent(login="boss", role=Role.SUPERVISOR)
    db.dispose()


@pytest.fixture
def world_url(tmp_path: Path) -> str:
    url = new_database(tmp_path / "r.db")
    assert cli_run(["--db", url, "agents", "list"]) == 0
    db = open_database(url)
    try:
        build_world(db)
        _boss(db)
    finally:
        db.dispose()
    return url


def test_cli_prints_an_aligned_table(world_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["report", "collected-by-agent", "--from", "2026-03-01", "--to", "2026-03-10"]
    assert cli_run([*argv, "--db", world_url]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Amount collected per agent (case owner)"
    assert "op1        王芳         3      2  10700.50" in out
    assert out[-1] == "total                   5         11001.73"


def test_cli_writes_csv_with_a_bom(
    world_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "door.csv"
    argv = ["report", "unreconciled-door", "--from", "2026-03-01", "--to", "2026-03-10"]
    assert cli_run([*argv, "--csv", str(target), "--db", world_url]) == 0
    assert "wrote unreconciled-door (1 rows)" in capsys.readouterr().out
    raw = target.read_bytes()
    assert target.stat().st_mode & 0o777 == 0o640  # names and amounts: not for others
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw.decode("utf-8-sig").splitlines() == [
        "collector,name,reports,amount,oldest",
        "col1,欧阳娜娜,2,600.00,2026-03-04",
        "total,,2,600.00,",
    ]


def test_cli_lists_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = new_database(tmp_path / "l.db")
    _boss(open_database(url))
    assert cli_run(["--db", url, "report", "list"]) == 0
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert names == list(reports.REPORTS)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["nope", "--from", "2026-03-01", "--to", "2026-03-10"], "unknown report 'nope'"),
        (["rpc-rate", "--from", "2026-13-01", "--to", "2026-03-10"], "invalid date '2026-13-01'"),
        (["rpc-rate", "--from", "2026-03-01"], "needs --from YYYY-MM-DD and --to"),
        (["rpc-rate", "--from", "2026-03-10", "--to", "2026-03-01"], "ends (2026-03-01) before"),
        (
            ["rpc-rate", "--from", "2026-03-01", "--to", "2026-03-10", "--csv", "/no/such/x.csv"],
            "cannot write /no/such/x.csv",
        ),
    ],
)
def test_cli_errors_are_one_line(
    args: list[str], expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = new_database(tmp_path / "e.db")
    _boss(open_database(url))
    assert cli_run(["--db", url, "report", *args]) == 1
    err = capsys.readouterr().err
    assert expected in err
    assert err.count("\n") == 1 and "Traceback" not in err
