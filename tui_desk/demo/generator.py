"""One chunk of cases: borrowers, phones, accounts, contact history, holds, complaints."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from tui_desk.db.models import (
    Channel,
    HoldKind,
    Stage,
)
from tui_desk.demo.journeys import JourneyWriter
from tui_desk.demo.reference import (
    ANSWERED,
    CALLBACK,
    CITIES,
    CLOSED,
    COMPANIES,
    COMPLAINTS,
    DEPTH,
    DONE,
    HOLD_KINDS,
    HOLD_REASONS,
    MOBILE_PREFIXES,
    NOTES,
    OPEN,
    PROMISE,
    RESOLUTIONS,
    THIRD_PARTY,
    TZ_OFFSET,
)
from tui_desk.demo.state import Case
from tui_desk.demo.tables import DATA_TABLES, ON_HOLD, OPENED_AT, STARTED_AT, Row
from tui_desk.rules.balance import PaidFacts
from tui_desk.rules.idcard import CHECK_CHARS
from tui_desk.rules.priority import bucket_number, priority_value


class Generator(JourneyWriter):
    """Rows for one stream of chunks; each chunk has its own random stream."""

    def chunk(
        self, index: int, first: int, count: int, forced: dict[int, Stage]
    ) -> dict[str, list[Row]]:
        """Rows for cases ``first`` .. ``first + count - 1`` of the run (chunk ``index``).

        ``forced`` pins the stage of some positions.
        """
        pinned = {position: (stage.value, DEPTH[stage]) for position, stage in forced.items()}
        self.rows = {t: [] for t in DATA_TABLES}
        rng = random.Random(self.seed * 1_000_003 + index)
        r = rng.random
        cal = self.cal
        day, hms = cal.day, cal.hms
        today, now_min = self.today, self.now_min
        ops, n_ops = self.operators, len(self.operators)
        weights = self.weights
        seen = self.seen_ids
        birth8, birth_weight, n_births = self.birth8, self.birth_weight, len(self.birth8)
        seq3, seq_weight = self.seq3, self.seq_weight
        districts, n_districts = self.district_table, len(self.district_table)
        stages, n_stages = self.stage_table, len(self.stage_table)
        products, n_products = self.product_table, len(self.product_table)
        surnames, n_surnames = self.surname_pool, len(self.surname_pool)
        given, n_given = self.given_pool, len(self.given_pool)
        street_numbers = self.street_numbers
        flats, n_flats = self.flats, len(self.flats)
        phone_outcomes, n_po = self.phone_outcomes, len(self.phone_outcomes)
        sms_outcomes, n_so = self.sms_outcomes, len(self.sms_outcomes)
        mobile = self._mobile
        mobile_prefix = [f"+86{prefix}" for prefix in MOBILE_PREFIXES]
        borrowers = self.rows["borrower"]
        phones = self.rows["phone"]
        cases = self.rows["collection_case"]
        loans = self.rows["loan_account"]
        contacts = self.rows["contact_attempt"]
        promises = self.rows["promise_to_pay"]
        payments = self.rows["payment"]
        cal_dates = self.cal.dates
        ids = self.ids
        bid, cid = self.first_borrower + first, self.first_case + first
        pid, lid = ids["phone"], ids["loan_account"]
        seq_low, seq_span = self.seq_low, self.seq_span

        # Registered for the home-visit service from "registered" on, documents complete
        # from "visit_booked" on, until the case is paid.
        reg_low, reg_high = DEPTH[Stage.REGISTERED], DEPTH[Stage.FOLLOW_UP]
        dpd_bounds = self.dpd_bounds
        docs_low = DEPTH[Stage.VISIT_BOOKED]
        docs_depth = DEPTH[Stage.DOCUMENTS]
        for position in range(count):
            stage, depth = pinned.get(position) or stages[int(r() * n_stages)]
            self.docs_ready = False

            # -- borrower, with an ID number that is valid and unique in this run
            ci, di, code, district, region_weight = districts[int(r() * n_districts)]
            city = CITIES[ci]
            name = surnames[int(r() * n_surnames)] + given[int(r() * n_given)]
            b = int(r() * n_births)
            # Region and birth date are drawn; the sequence number keeps the ID unique: the
            # next borrower with the same region and birthday gets the next free one.
            key = di * n_births + b
            seq = seen.get(key, -1)
            seq = int(r() * seq_span) if seq < 0 else (seq + 2) % seq_span
            seen[key] = seq
            seq += seq_low
            id_number = (
                code + birth8[b] + seq3[seq]
                + CHECK_CHARS[(region_weight + birth_weight[b] + seq_weight[seq]) % 11]
            )  # fmt: skip
            streets = street_numbers[di]
            address = streets[int(r() * len(streets))] + flats[int(r() * n_flats)]

            owner: int | None = None
            if depth >= 2 or r() < (0.1 if depth == 0 else 0.6):
                owner = ops[int(r() * n_ops)]

            # -- timeline: the overdue-since day and, for journey cases, their history
            journey: Case | None = None
            promise_paid: list[PaidFacts] = []
            plan_span: dict[str, Any] | None = None
            if depth == 0:
                start = today - 1 - int(r() * r() * 7)
            elif depth == 1:
                u = r()
                if u < 0.72:
                    dpd = 2 + int(r() ** 1.6 * 29)
                elif u < 0.86:
                    dpd = 31 + int(r() * 30)
                elif u < 0.93:
                    dpd = 61 + int(r() * 30)
                elif u < 0.98:
                    dpd = 91 + int(r() * 90)
                else:
                    dpd = 181 + int(r() ** 2 * 540)
                start = today - dpd
            else:
                journey = Case(
                    case_id=cid, depth=depth, city=ci, district=district,
                    address=address, name=name, id_number=id_number,
                    owner=owner if owner is not None else ops[0], total_minor=0,
                    primary_account=lid, borrower_phone=pid, keep_stage=position in pinned,
                )  # fmt: skip
                # A journey's start follows from the span of its milestones.
                plan_span = self._journey_span(r, journey)
                start = journey.start
            opened = start * 1440 + 23 * 60 - TZ_OFFSET
            created = day[opened // 1440] + hms[opened % 1440]

            # -- phones
            borrower_phone = pid
            borrower_e164 = (
                mobile_prefix[int(r() * 14)] + str(100_000_000 + int(r() * 100_000_000))[1:]
            )
            phones.append((
                pid, bid, borrower_e164, "mobile", "borrower", name, r() < 0.7, False, created,
            ))  # fmt: skip
            pid += 1
            guarantor_phone: int | None = None
            if r() < 0.25:
                phones.append((
                    pid, bid, mobile(r), "mobile", "spouse",
                    surnames[int(r() * n_surnames)] + given[int(r() * n_given)],
                    r() < 0.4, r() < 0.03, created,
                ))  # fmt: skip
                pid += 1
            if r() < 0.15:
                dnc = r() < 0.03
                phones.append((
                    pid, bid, mobile(r), "mobile", "guarantor",
                    surnames[int(r() * n_surnames)] + given[int(r() * n_given)],
                    r() < 0.5, dnc, created,
                ))  # fmt: skip
                if not dnc:
                    guarantor_phone = pid
                pid += 1
            if r() < 0.15:
                phones.append((
                    pid, bid, self._landline(r, ci), "work", "employer",
                    COMPANIES[int(r() * len(COMPANIES))], False, r() < 0.05, created,
                ))  # fmt: skip
                pid += 1
            if r() < 0.05:
                phones.append((
                    pid, bid, self._landline(r, ci), "landline", "borrower", name, False, False,
                    created,
                ))  # fmt: skip
                pid += 1

            # -- accounts
            n_accounts = 1 if (u2 := r()) < 0.82 else (2 if u2 < 0.95 else 3)
            settled = depth >= 9
            total = 0
            overdue_since_case: str | None = None
            figures: list[tuple[str, int, int, int, int]] = []
            for k in range(n_accounts):
                product_name, low, steps, step, rates, terms, monthly_fee = products[
                    int(r() * n_products)
                ]
                principal = (low + int(r() * steps) * step) * 100
                rate = rates[int(r() * len(rates))]
                term = terms[int(r() * len(terms))]
                paid_months = int(r() * (term - 1))
                jitter = int(r() * 10_000)
                acc_start = start if k == 0 else start + int(jitter / 10_000 * (today - start))
                acc_dpd = today - acc_start
                opened_on = acc_start - paid_months * 30 - jitter % 28 - 1
                outstanding = principal * (term - paid_months) // term
                months = min(term - paid_months, acc_dpd // 30 + 1)
                overdue_principal = min(outstanding, principal * months // term)
                interest = outstanding * rate * months // 120_000
                penalty = overdue_principal * acc_dpd * 5 // 10_000
                fees = (
                    overdue_principal * 5 // 100
                    if product_name == "credit_card"
                    else months * monthly_fee
                )
                overdue = overdue_principal + interest + penalty + fees
                total += overdue
                figures.append((f"LN{cid:010d}{k}", outstanding, interest, penalty, fees))
                if settled:
                    loans.append((
                        lid, f"LN{cid:010d}{k}", bid, cid, product_name, "settled", principal,
                        0, 0, 0, 0, 0, rate / 10_000, day[opened_on], None,
                    ))  # fmt: skip
                else:
                    since = day[acc_start]
                    if overdue_since_case is None or since < overdue_since_case:
                        overdue_since_case = since
                    loans.append((
                        lid, f"LN{cid:010d}{k}", bid, cid, product_name, "overdue", principal,
                        outstanding, interest, penalty, fees, overdue, rate / 10_000,
                        day[opened_on], since,
                    ))  # fmt: skip
                lid += 1

            borrowers.append((
                bid, f"CU{bid:010d}", name, id_number, address, city.name, district, code,
                created,
            ))  # fmt: skip

            # -- contact history and what comes next
            callback_at: str | None = None
            callback_agent: int | None = None
            broken = 0
            next_action: int | None = None
            closed_at: str | None = None
            close_reason: str | None = None
            if journey is not None and plan_span is not None:
                journey.total_minor = total
                journey.accounts = figures
                journey.phone_e164 = borrower_e164
                next_action, broken, close_minute = self._journey(
                    r, journey, plan_span, guarantor_phone
                )
                if close_minute is not None:
                    closed_at = day[close_minute // 1440] + hms[close_minute % 1440]
                    close_reason = "已全额结清" if depth == DEPTH[Stage.PAID] else "已结清并归档"
                elif journey.missed_lines:
                    # As the ledger leaves a plan with missed instalments: back in the
                    # contact queue, one broken promise per missed line, to be called now.
                    stage = Stage.CONTACTING.value
                    broken += journey.missed_lines
                    next_action = self._local(today, 540 + int(r() * 60))
            elif depth == 1:
                attempts = 1 + (r() < 0.2) + (r() < 0.05)
                span = today - 1 - start
                # Skewed towards the last few days: a case being worked was tried recently.
                when = [
                    (today - 1 - int(r() ** 3 * span)) * 1440 + 540 + int(r() * 660) - TZ_OFFSET
                    for _k in range(attempts)
                ]
                if attempts > 1:
                    when.sort()
                agent = owner if owner is not None else ops[int(r() * n_ops)]
                last_outcome = ""
                last_minute = when[-1]
                callback: int | None = None
                open_promise_due: int | None = None
                paid_count = 0
                for minute in when:
                    contact_id = ids["contact_attempt"]
                    ids["contact_attempt"] = contact_id + 1
                    if r() < 0.8:
                        outcome = phone_outcomes[int(r() * n_po)]
                        channel = "phone"
                    else:
                        outcome = sms_outcomes[int(r() * n_so)]
                        channel = "sms"
                    phone_id = borrower_phone
                    party: str | None = None
                    if outcome in ANSWERED or channel == "sms":
                        party = "borrower"
                    if channel == "phone" and guarantor_phone is not None and r() < 0.3:
                        phone_id = guarantor_phone
                        if party is not None:
                            party = "guarantor"
                    if outcome == THIRD_PARTY:
                        party = "spouse" if r() < 0.6 else "relative"
                    notes = NOTES[outcome]
                    callback = None
                    if outcome == CALLBACK:
                        callback = minute + 120 + int(r() * 1440)
                    contacts.append((
                        contact_id, cid, agent if r() < 0.85 else ops[int(r() * n_ops)],
                        channel, phone_id, party, outcome,
                        notes[int(r() * len(notes))], day[minute // 1440] + hms[minute % 1440],
                        None if callback is None else day[callback // 1440] + hms[callback % 1440],
                    ))  # fmt: skip
                    last_outcome = outcome
                    if outcome == PROMISE and total > 0:
                        promise_day = minute // 1440 + 1 + int(r() * 7)
                        amount = max(10_000, total * (2 + int(r() * 9)) // 1_000 * 100)
                        amount = min(amount, total)
                        resolved: str | None = None
                        if promise_day < today:
                            kept = r() < 0.4
                            status = "kept" if kept else "broken"
                            resolved_minute = self._local(promise_day, 1320)
                            resolved = day[resolved_minute // 1440] + hms[resolved_minute % 1440]
                            if kept:
                                payment_id = ids["payment"]
                                ids["payment"] = payment_id + 1
                                paid_count += 1
                                payments.append((
                                    payment_id, f"PY{cid:010d}{paid_count:02d}", cid, lid - n_accounts,
                                    amount, day[promise_day], "bank_transfer",
                                    f"BT{cid:010d}{paid_count:02d}", None,
                                    day[promise_day] + hms[1200 - TZ_OFFSET],
                                ))  # fmt: skip
                                promise_paid.append(PaidFacts(cal_dates[promise_day], amount))
                            else:
                                broken += 1
                        else:
                            status = "open"
                            open_promise_due = promise_day
                        promises.append((
                            ids["promise_to_pay"], cid, contact_id, amount, day[promise_day],
                            status, agent, day[minute // 1440] + hms[minute % 1440], resolved,
                        ))  # fmt: skip
                        ids["promise_to_pay"] += 1
                if last_outcome == CALLBACK and callback is not None:
                    next_action = callback
                    callback_at = day[callback // 1440] + hms[callback % 1440]
                    callback_agent = agent
                elif open_promise_due is not None:
                    next_action = self._local(open_promise_due + 1, 600)
                else:
                    next_action = self._local(
                        last_minute // 1440 + 1 + int(r() * 3), 540 + int(r() * 120)
                    )
            else:
                next_action = self._local(start + 1, 540 + int(r() * 90))

            status = CLOSED if closed_at is not None else OPEN
            if closed_at is not None:
                next_action_at = None
                priority = 0
                case_total = 0
            else:
                assert next_action is not None
                next_action_at = day[next_action // 1440] + hms[next_action % 1440]
                if journey is not None:
                    case_total = self.ledger_overdue(
                        lid - n_accounts, figures, total, journey.paid, journey.plan_in_force
                    )
                elif promise_paid:
                    case_total = self.ledger_overdue(
                        lid - n_accounts, figures, total, promise_paid, None
                    )
                else:
                    case_total = total
                priority = priority_value(
                    dpd=today - start,
                    overdue_minor=case_total,
                    broken_promises=broken,
                    next_action_due=next_action <= now_min,
                    weights=weights,
                )
            cases.append((
                cid, bid, status, stage, owner, False, priority, overdue_since_case,
                case_total, broken, next_action_at, created, closed_at, close_reason,
                callback_at, callback_agent, reg_low <= depth <= reg_high,
                docs_low <= depth <= reg_high or (depth == docs_depth and self.docs_ready),
                0 if closed_at is not None else bucket_number(today - start, dpd_bounds),
            ))  # fmt: skip
            bid += 1
            cid += 1

        ids.update(borrower=bid, collection_case=cid, phone=pid, loan_account=lid)
        self._holds_and_complaints(rng)
        return self.rows

    # -- holds and complaints over the chunk ------------------------------------------------

    def _office_time(self, r: Callable[[], float], minute: int, days_later: int) -> int:
        """A random office-hours minute (09:00-18:00 local) ``days_later`` local days on."""
        local_day = (minute + TZ_OFFSET) // 1440 + days_later
        return self._local(local_day, 540 + int(r() * 540))

    def _minute_of(self, stamp: str) -> int:
        return self.day_index[stamp[:10]] * 1440 + int(stamp[11:13]) * 60 + int(stamp[14:16])

    def _holds_and_complaints(self, rng: random.Random) -> None:
        r = rng.random
        cal = self.cal
        sups, ops = self.supervisors, self.operators
        cases = self.rows["collection_case"]
        last_contact: dict[int, tuple[int, int, str]] = {}
        for contact in self.rows["contact_attempt"]:
            last_contact[contact[1]] = (contact[0], contact[2], contact[STARTED_AT])
        visits: dict[int, tuple[int, int, str]] = {}
        for appointment in self.rows["appointment"]:
            if appointment[7] == DONE:
                visits[appointment[1]] = (appointment[0], appointment[2], appointment[3])
        # About 0.6% of cases get a hold, 0.3% a released one, 0.3% a complaint; draw
        # those cases directly rather than a number for every case.
        n = len(cases)
        picked = rng.sample(range(n), min(n, round(n * 0.012) + 1))
        held = picked[: len(picked) // 2]
        released_holds = picked[len(picked) // 2 : len(picked) * 3 // 4]
        complained = picked[len(picked) * 3 // 4 :]
        held_set, released_set, complained_set = set(held), set(released_holds), set(complained)
        for i in sorted(held + released_holds + complained):
            case = cases[i]
            case_id, is_open = case[0], case[2] == OPEN
            if i in held_set and is_open:
                kind = HOLD_KINDS[int(r() * len(HOLD_KINDS))]
                since = max(case[OPENED_AT], last_contact.get(case_id, (0, 0, ""))[2])
                set_at = self._office_time(r, self._minute_of(since), 1)
                if set_at < self.now_min:
                    self._add("case_hold", (
                        self._next_id("case_hold"), case_id, kind.value, HOLD_REASONS[kind],
                        sups[int(r() * len(sups))], cal.ts(set_at), None, None, None, None,
                        None,
                    ))  # fmt: skip
                    cases[i] = (*case[:ON_HOLD], True, *case[ON_HOLD + 1 :])
            elif i in released_set:
                kind = (HoldKind.DISPUTE, HoldKind.COMPLAINT)[int(r() * 2)]
                set_at = self._office_time(r, self._minute_of(case[OPENED_AT]), 1)
                released = self._office_time(r, set_at, 1 + int(r() * 7))
                if released < self.now_min:
                    self._add("case_hold", (
                        self._next_id("case_hold"), case_id, kind.value, HOLD_REASONS[kind],
                        sups[0], cal.ts(set_at), sups[-1], cal.ts(released),
                        "核实完毕，恢复正常处理", None, None,
                    ))  # fmt: skip
            if i not in complained_set or case_id not in last_contact:
                continue
            contact_id, against, when = last_contact[case_id]
            appointment_id: int | None = None
            if case_id in visits and r() < 0.5:
                appointment_id, against, when = visits[case_id]
            received = self._office_time(r, self._minute_of(when), 1 + int(r() * 2))
            if received >= self.now_min:
                continue
            status = ("open", "investigating", "resolved", "dismissed")[int(r() * 4)]
            resolved = self._office_time(r, received, 1 + int(r() * 5))
            done = status in ("resolved", "dismissed") and resolved < self.now_min
            if not done and status in ("resolved", "dismissed"):
                status = "investigating"
            self._add("complaint", (
                self._next_id("complaint"), case_id, against, appointment_id,
                contact_id if appointment_id is None else None,
                (Channel.PHONE, Channel.LETTER, Channel.EMAIL)[int(r() * 3)].value,
                COMPLAINTS[int(r() * len(COMPLAINTS))], status, cal.ts(received),
                ops[int(r() * len(ops))],
                RESOLUTIONS[int(r() * len(RESOLUTIONS))] if done else None,
                sups[int(r() * len(sups))] if done else None,
                cal.ts(resolved) if done else None,
            ))  # fmt: skip
