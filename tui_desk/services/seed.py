"""Demo data: a realistic, deterministic book of overdue borrowers with their case histories.

``seed_database`` fills a migrated database with borrowers, accounts, phones and one case
per borrower, spread over every stage of the home-visit process with consistent history
(contacts, promises, registrations, documents, visits, plans, agreements, follow-ups,
payments, holds, complaints), plus a team of agents. The same ``seed`` and ``now`` give the
same rows.

Seeding appends to whatever is there: ids continue from each table's ``max(id)``, agents
that already exist are kept (matched by login), and the whole load is one transaction, so a
failure leaves the database as it was. ID numbers are unique within one run. Nothing else
should use the database meanwhile: PostgreSQL tables are locked, SQLite holds its write
lock, and a SQLite file nobody else has open is switched to a rollback journal for the load
and back to WAL afterwards.

Speed (a million cases in under a minute on SQLite, two cores) comes from:
- rows generated as plain tuples from precomputed tables, and written through the driver
  in large batches (``executemany`` on SQLite, ``COPY`` on PostgreSQL);
- two generators working at once: a helper process produces the main stream of chunks
  while this process writes them, and generates the tail stream (the last third of the
  chunks) whenever it would otherwise wait; the tail is numbered from 0 and shifted into
  place when written, so the rows do not depend on how the work was shared;
- secondary indexes dropped and rebuilt from their stored definitions in the same
  transaction (always on SQLite, for large loads on PostgreSQL);
- on SQLite, foreign-key and CHECK enforcement, synchronous writes and the small default
  page cache are set aside for the load and restored afterwards.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import marshal
import math
import os
import pickle
import random
import select
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from tui_desk.clock import utcnow
from tui_desk.db.engine import Database
from tui_desk.db.models import (
    AgreementStatus,
    AppointmentStatus,
    Base,
    CaseStatus,
    Channel,
    DocumentChannel,
    DocumentKind,
    DocumentStatus,
    FollowUpStatus,
    HoldKind,
    Outcome,
    PlanStatus,
    Role,
    Stage,
    VisitOutcome,
)
from tui_desk.i18n import _
from tui_desk.rules.adjustments import Changes
from tui_desk.rules.idcard import CHECK_CHARS, WEIGHTS
from tui_desk.rules.priority import bucket_number, priority_score
from tui_desk.rules.profile import PriorityWeights, load_profile
from tui_desk.services import audit
from tui_desk.services.errors import ServiceError
from tui_desk.services.search_index import bulk_name_grams_sql

Row = tuple[Any, ...]
Progress = Callable[[str, int, int], None]

# Rows are generated and written in chunks of this many cases; part of the determinism
# contract (each chunk has its own random stream), so changing it changes the data.
CHUNK_CASES = 25_000
MAX_CASES = 20_000_000
# Below this, starting the helper process costs more than it saves.
PARALLEL_MIN_CASES = 50_000
# From this size on, PostgreSQL indexes are rebuilt after the load rather than kept up to date.
PG_REINDEX_MIN_CASES = 50_000

# Column order of every row tuple, per table, in an order that satisfies foreign keys.
COLUMNS: dict[str, tuple[str, ...]] = {
    "agent": ("id", "login", "name", "role", "active", "extension", "created_at"),
    "collector_schedule": (
        "agent_id", "timezone", "work_start", "work_end", "work_weekdays", "updated_at",
    ),
    "collector_district": ("agent_id", "district"),
    "borrower": (
        "id", "external_id", "name", "id_number", "address", "city", "district",
        "region_code", "created_at",
    ),
    "phone": (
        "id", "borrower_id", "e164", "kind", "relation", "holder_name", "verified",
        "do_not_call", "created_at",
    ),
    "collection_case": (
        "id", "borrower_id", "status", "stage", "owner_id", "on_hold", "priority",
        "overdue_since", "overdue_minor", "broken_promises", "next_action_at", "opened_at",
        "closed_at", "close_reason", "callback_at", "callback_agent_id", "registered",
        "documents_complete", "dpd_bucket",
    ),
    "loan_account": (
        "id", "external_id", "borrower_id", "case_id", "product", "status",
        "principal_minor", "outstanding_principal_minor", "outstanding_interest_minor",
        "outstanding_penalty_minor", "outstanding_fees_minor", "overdue_minor", "annual_rate",
        "opened_on", "overdue_since",
    ),
    "case_hold": (
        "id", "case_id", "kind", "reason", "set_by_id", "set_at", "released_by_id",
        "released_at", "release_reason",
    ),
    "contact_attempt": (
        "id", "case_id", "agent_id", "channel", "phone_id", "party", "outcome", "note",
        "started_at", "callback_at",
    ),
    "promise_to_pay": (
        "id", "case_id", "contact_id", "amount_minor", "due_on", "status", "created_by_id",
        "created_at", "resolved_at",
    ),
    "service_registration": (
        "id", "case_id", "consent_channel", "registered_by_id", "registered_at", "note",
        "cancelled_at", "cancel_reason",
    ),
    "document": (
        "id", "case_id", "kind", "description", "channel", "received_at", "status",
        "reviewed_by_id", "reviewed_at", "reason",
    ),
    "appointment": (
        "id", "case_id", "collector_id", "starts_at", "ends_at", "place", "district",
        "status", "booked_by_id", "booked_at", "rescheduled_from_id", "override_by_id",
        "override_reason", "note",
    ),
    "appointment_change": (
        "id", "appointment_id", "kind", "requested_by_side", "agent_id", "requested_at",
        "notified_at", "notified_how", "old_starts_at", "new_starts_at", "reason",
    ),
    "payment": (
        "id", "external_id", "case_id", "account_id", "amount_minor", "paid_on", "channel",
        "reference", "recorded_by_id", "recorded_at",
    ),
    "visit_report": (
        "id", "appointment_id", "case_id", "collector_id", "work_id_shown", "name_checked",
        "contact_checked", "address_checked", "documents_ok", "mismatches",
        "declared_income_minor", "obligations_minor", "affordable_monthly_minor",
        "collected_minor", "collected_method", "receipt_no", "reconciled_payment_id",
        "outcome", "note", "created_at",
    ),
    "repayment_plan": (
        "id", "case_id", "kind", "frequency", "principal_minor", "annual_rate",
        "instalments", "down_payment_minor", "waiver_minor", "grace_periods", "grace_mode",
        "first_due_on", "status", "created_by_id", "created_at", "approved_by_id",
    ),
    "plan_instalment": (
        "id", "plan_id", "seq", "due_on", "principal_minor", "interest_minor",
        "amount_minor", "paid_minor", "status",
    ),
    "agreement": (
        "id", "case_id", "plan_id", "template_name", "template_version", "language",
        "status", "effective_on", "signed_at", "signed_place", "bank_signatory_id",
        "borrower_confirmation", "borrower_copy_delivery", "content_hash", "created_by_id",
        "created_at", "version",
    ),
    "agreement_version": (
        "id", "agreement_id", "seq", "content", "special_terms", "created_by_id",
        "created_at", "note",
    ),
    "follow_up": (
        "id", "case_id", "agreement_id", "due_on", "channel", "owner_id", "status",
        "done_at", "note",
    ),
    "adjustment": (
        "id", "case_id", "plan_id", "kinds", "details", "reason", "status",
        "requested_by_id", "requested_at", "decided_by_id", "decided_at", "decision_note",
    ),
    "complaint": (
        "id", "case_id", "against_agent_id", "appointment_id", "contact_id", "channel",
        "description", "status", "received_at", "recorded_by_id", "resolution",
        "resolved_by_id", "resolved_at",
    ),
}  # fmt: skip
# Columns with one value in every seeded row: written as SQL literals on SQLite (fewer
# values to generate, ship between processes and bind), added to each row for COPY.
CONSTANTS: dict[str, dict[str, Any]] = {
    "borrower": {"timezone": "Asia/Shanghai"},
    "collection_case": {
        "lease_holder_id": None, "lease_expires_at": None, "stale": False, "version": 1,
    },
    "loan_account": {"currency": "CNY"},
    "contact_attempt": {
        "direction": "outbound", "address_used": None, "override_by_id": None,
        "override_reason": None, "call_ref": None,
    },
}  # fmt: skip
# Written once with the team, not per chunk; no id column of their own.
TEAM_TABLES: tuple[str, ...] = ("collector_schedule", "collector_district")
TABLES: tuple[str, ...] = tuple(t for t in COLUMNS if t not in TEAM_TABLES)
_ON_HOLD = COLUMNS["collection_case"].index("on_hold")
_OPENED_AT = COLUMNS["collection_case"].index("opened_at")
_STARTED_AT = COLUMNS["contact_attempt"].index("started_at")
DATA_TABLES: tuple[str, ...] = TABLES[1:]


@dataclass(frozen=True)
class SeedSummary:
    """What a seed run wrote: rows per table, the new case ids, and where the time went."""

    counts: dict[str, int]
    elapsed_seconds: float
    phase_seconds: dict[str, float]
    case_id_range: tuple[int, int]
    seed: int

    @property
    def total_rows(self) -> int:
        return sum(self.counts.values())


# --- reference data ----------------------------------------------------------------------


@dataclass(frozen=True)
class _City:
    name: str
    area_code: str
    weight: int
    streets: tuple[str, ...]
    districts: tuple[tuple[str, str], ...]  # (GB/T 2260 code, district name)


CITIES: tuple[_City, ...] = (
    _City("北京", "10", 20, ("建国路", "朝阳北路", "中关村大街", "学院路", "西直门外大街", "丰台北路"),
          (("110101", "东城区"), ("110102", "西城区"), ("110105", "朝阳区"), ("110106", "丰台区"),
           ("110107", "石景山区"), ("110108", "海淀区"), ("110112", "通州区"))),
    _City("上海", "21", 20, ("南京西路", "淮海中路", "世纪大道", "漕溪北路", "四川北路", "长宁路"),
          (("310101", "黄浦区"), ("310104", "徐汇区"), ("310105", "长宁区"), ("310106", "静安区"),
           ("310107", "普陀区"), ("310109", "虹口区"), ("310110", "杨浦区"), ("310112", "闵行区"),
           ("310115", "浦东新区"))),
    _City("广州", "20", 14, ("天河路", "中山五路", "江南大道中", "广州大道北", "黄埔大道西"),
          (("440103", "荔湾区"), ("440104", "越秀区"), ("440105", "海珠区"), ("440106", "天河区"),
           ("440111", "白云区"), ("440113", "番禺区"))),
    _City("深圳", "755", 14, ("深南大道", "华强北路", "科技园路", "建设路", "宝安大道"),
          (("440303", "罗湖区"), ("440304", "福田区"), ("440305", "南山区"), ("440306", "宝安区"),
           ("440307", "龙岗区"))),
    _City("成都", "28", 11, ("人民南路", "春熙路", "蜀都大道", "天府大道", "一环路西"),
          (("510104", "锦江区"), ("510105", "青羊区"), ("510106", "金牛区"), ("510107", "武侯区"),
           ("510108", "成华区"))),
    _City("杭州", "571", 10, ("文三路", "延安路", "莫干山路", "江南大道", "天目山路"),
          (("330102", "上城区"), ("330105", "拱墅区"), ("330106", "西湖区"), ("330108", "滨江区"))),
    _City("武汉", "27", 11, ("解放大道", "中山大道", "珞喻路", "武珞路", "建设大道"),
          (("420102", "江岸区"), ("420103", "江汉区"), ("420104", "硚口区"), ("420105", "汉阳区"),
           ("420106", "武昌区"), ("420111", "洪山区"))),
)  # fmt: skip

# Common surnames, weighted roughly by frequency (the first few cover a third of people).
_SURNAMES = (
    "王" * 8
    + "李" * 8
    + "张" * 7
    + "刘" * 6
    + "陈" * 5
    + "杨" * 3
    + "黄" * 2
    + "赵" * 2
    + "吴" * 2
    + "周" * 2
    + "徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶"
    "程魏苏吕丁任卢姚沈钟姜崔谭陆范汪廖石金韦贾夏付方邹熊白孟秦邱侯江尹薛闫段雷龙黎史陶贺毛郝"
    "顾龚邵万覃武钱戴严欧莫孔向常汤康易乔赖文"
)
_COMPOUND_SURNAMES = (
    "欧阳",
    "司马",
    "诸葛",
    "上官",
    "东方",
    "慕容",
    "令狐",
    "皇甫",
    "夏侯",
    "尉迟",
)
_GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰文辉建国红志鹏宇浩婷雪琳晨欣怡子涵梓轩"
    "博思佳雨嘉俊鑫斌飞海燕丹萍阳晓玲慧颖健凯亮波宁岚昊然诗琪瑶晴睿泽彤妍"
)
_COMPANIES = (
    "华信科技有限公司", "恒通物流有限公司", "新锐网络科技有限公司", "鼎盛建设工程有限公司",
    "顺达餐饮管理有限公司", "金源商贸有限公司", "博远教育咨询有限公司", "瑞康医药连锁有限公司",
)  # fmt: skip

MOBILE_PREFIXES = (
    "138", "139", "150", "151", "186", "187", "135", "136", "137", "158", "159", "188",
    "177", "199",
)  # fmt: skip


@dataclass(frozen=True)
class _Product:
    name: str
    low_yuan: int
    steps: int
    step_yuan: int
    rates_bp: tuple[int, ...]  # annual rate in basis points (1/10000)
    terms: tuple[int, ...]
    monthly_fee_minor: int


PRODUCTS: tuple[tuple[_Product, int], ...] = (
    (_Product("credit_card", 5_000, 76, 1_000, (1825,), (12,), 0), 35),
    (_Product("consumer_loan", 10_000, 191, 1_000,
              (435, 599, 720, 899, 1080, 1299, 1540), (12, 24, 36), 5_000), 35),
    (_Product("cash_advance", 2_000, 57, 500, (1825, 2160, 2400), (3, 6, 12), 1_500), 15),
    (_Product("auto_loan", 50_000, 51, 5_000, (350, 420, 499, 580, 650), (24, 36, 60), 0), 15),
)  # fmt: skip

# Share of cases per stage, in 1/10000. Most of a collection book is still being phoned;
# the later steps of the home-visit process hold far fewer cases.
STAGE_SHARES: tuple[tuple[Stage, int], ...] = (
    (Stage.NEW, 1500),
    (Stage.CONTACTING, 7400),
    (Stage.REGISTERED, 250),
    (Stage.DOCUMENTS, 250),
    (Stage.VISIT_BOOKED, 80),
    (Stage.VISITED, 70),
    (Stage.PLAN, 70),
    (Stage.AGREEMENT, 50),
    (Stage.FOLLOW_UP, 150),
    (Stage.PAID, 120),
    (Stage.ARCHIVED, 60),
)
# Depth in the process: NEW=0 ... FOLLOW_UP=8, PAID=9, ARCHIVED=10.
_DEPTH = {s: i for i, s in enumerate(Stage)}

_PHONE_OUTCOMES = (
    (Outcome.NO_ANSWER, 35), (Outcome.BUSY, 8), (Outcome.LEFT_MESSAGE, 7),
    (Outcome.WRONG_NUMBER, 2), (Outcome.THIRD_PARTY, 5), (Outcome.REFUSED, 8),
    (Outcome.PROMISE, 15), (Outcome.CALLBACK, 12),
)  # fmt: skip
_SMS_OUTCOMES = ((Outcome.SENT, 30), (Outcome.DELIVERED, 65), (Outcome.FAILED, 5))
_ANSWERED = frozenset(
    o.value for o in (Outcome.REFUSED, Outcome.PROMISE, Outcome.CALLBACK, Outcome.AGREES_VISIT)
)
_SMS = frozenset(o.value for o, _w in _SMS_OUTCOMES)
# Plain strings in the hot loop: enum attribute access costs more than the rest of a row.
_PROMISE, _CALLBACK = Outcome.PROMISE.value, Outcome.CALLBACK.value
_OPEN, _CLOSED = CaseStatus.OPEN.value, CaseStatus.CLOSED.value
_DONE = AppointmentStatus.DONE.value
_THIRD_PARTY = Outcome.THIRD_PARTY.value
# StrEnum keys hash and compare as their values, so plain strings look these up.
_NOTES: dict[str, tuple[str | None, ...]] = {
    Outcome.NO_ANSWER: ("无人接听", "响铃无人接听", None),
    Outcome.BUSY: ("占线", None),
    Outcome.LEFT_MESSAGE: ("已留言提醒还款", "语音信箱留言"),
    Outcome.WRONG_NUMBER: ("号码已易主，非本人", "对方称打错电话"),
    Outcome.THIRD_PARTY: ("配偶接听，答应转告", "家人接听，称本人外出"),
    Outcome.REFUSED: ("借款人拒绝沟通", "称近期无力还款，挂断电话"),
    Outcome.PROMISE: ("承诺本周内还款", "承诺发工资后还款"),
    Outcome.CALLBACK: ("借款人在开会，约定回电", "要求晚些时候再联系"),
    Outcome.AGREES_VISIT: ("同意上门服务，已介绍流程及所需材料",),
    Outcome.SENT: ("已发送还款提醒短信",),
    Outcome.DELIVERED: ("还款提醒短信已送达",),
    Outcome.FAILED: ("短信发送失败",),
}

_DOC_DESCRIPTIONS = {
    DocumentKind.IDENTITY: ("居民身份证正反面复印件", "居民身份证原件核验", "护照复印件"),
    DocumentKind.RESIDENCE: ("户口簿复印件", "居住证", "房屋租赁合同"),
    DocumentKind.INCOME: ("近六个月工资流水", "单位收入证明", "个税缴纳记录", "近六个月银行流水"),
    DocumentKind.OTHER: ("医疗诊断证明", "失业证明", "房产证复印件", "车辆行驶证"),
}
_DOC_REJECTIONS = (
    "复印件字迹模糊，无法辨认",
    "证明材料已过期，请提供近三个月内的材料",
    "材料缺页，请补齐后重新提交",
    "姓名与登记信息不一致",
)
_VISIT_NOTES = {
    VisitOutcome.PLAN_DISCUSSED.value: "现场核查无误，与借款人讨论分期还款方案",
    VisitOutcome.PAID_AT_DOOR.value: "借款人现场全额还款，已开具收据",
    VisitOutcome.REFUSED.value: "借款人拒绝协商还款方案",
}
_DOC_VERIFIED = ("与原件核对一致", "信息核验无误")
_HOLD_REASONS = {
    HoldKind.DISPUTE: "借款人对逾期金额有异议，账务核实中",
    HoldKind.LITIGATION: "已进入诉讼程序，暂停催收",
    HoldKind.DECEASED: "家属告知借款人已身故，待核实",
    HoldKind.BANKRUPTCY: "借款人申请个人破产，暂停催收",
    HoldKind.COMPLAINT: "借款人投诉催收人员，调查期间暂停",
    HoldKind.CEASE_CONTACT: "借款人书面要求停止电话联系",
    HoldKind.FALSE_DOCUMENTS: "提交材料疑似伪造，暂停上门服务",
}
_HOLD_KINDS = tuple(_HOLD_REASONS)
_COMPLAINTS = (
    "催收员上门时未出示工作证",
    "催收电话过于频繁，影响正常工作",
    "催收人员态度恶劣，言语带有威胁",
    "晚上十点后仍接到催收电话",
    "向家人透露了借款信息",
)
_RESOLUTIONS = (
    "已核实，对相关人员批评教育并向借款人致歉",
    "经调取录音核实，催收过程合规，已向借款人解释",
    "已调整联系频率并更换经办坐席",
)

_SLOTS_LOCAL = (540, 630, 810, 900, 990)  # 09:00 10:30 13:30 15:00 16:30, 60 min + 30 travel
# Slots and ID sequence numbers (low, count) of the main and the tail stream.
_STREAM_SLOTS = ((0, 1, 3), (2, 4))
_STREAM_SEQ = ((0, 800), (800, 200))
_VISIT_MINUTES = 60
_TZ_OFFSET = 480  # Asia/Shanghai is UTC+8 all year (no daylight saving)

_AGREEMENT_TEMPLATE = """个人贷款逾期还款协议
协议编号：{number}

甲方（债权人）：示范银行股份有限公司{city}分行
乙方（借款人）：{name}
身份证号码：{id_number}
住址：{address}

鉴于乙方在甲方处的借款已逾期，截至{as_of}，逾期金额合计人民币{total}元。经双方平等协商，就分期偿还事宜达成如下协议：

第一条 双方的权利与义务
甲方应按本协议约定减免相关罚息、费用，并如实向乙方提供还款明细；甲方不得以暴力、威胁等不当方式催收。
乙方应按期足额还款，保证所提供的个人信息真实有效，联系方式或住址变更时应在七日内书面通知甲方。

第二条 还款期限与频率
乙方{down_payment}自{first_due}起分{instalments}期，按{frequency}偿还本协议项下欠款，每期应还金额以附件《还款计划表》为准。{waiver}

第三条 违约责任
乙方任一期还款逾期超过三十日的，甲方有权解除本协议，要求乙方一次性清偿剩余全部欠款，并恢复计收已减免的利息与费用。

第四条 法律救济
因本协议引起的争议，双方应协商解决；协商不成的，任何一方均可向甲方所在地有管辖权的人民法院提起诉讼。

第五条 其他
本协议一式两份，甲乙双方各执一份，具有同等法律效力，自双方签字（盖章）之日起生效。
"""


def _draw_name(r: Callable[[], float]) -> str:
    """A Chinese full name: mostly two or three characters, now and then a compound surname."""
    given = _GIVEN[int(r() * len(_GIVEN))]
    if r() < 0.62:
        given += _GIVEN[int(r() * len(_GIVEN))]
    if r() < 0.012:
        return _COMPOUND_SURNAMES[int(r() * len(_COMPOUND_SURNAMES))] + given
    return _SURNAMES[int(r() * len(_SURNAMES))] + given


def _weighted_table(pairs: Sequence[tuple[Any, int]]) -> list[Any]:
    """Expand (value, weight) pairs into a lookup table indexed by ``int(random() * len)``."""
    table: list[Any] = []
    for value, weight in pairs:
        table.extend([value] * weight)
    return table


# --- the team ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _TeamMember:
    login: str
    name: str
    role: Role
    extension: str | None
    city: int | None = None


def team_plan(cases: int, names: Callable[[], str]) -> list[_TeamMember]:
    """The agents a seed of ``cases`` cases wants; ``names`` draws a Chinese full name."""
    operators = max(3, min(50, cases // 20_000))
    collectors = max(len(CITIES), min(16 * len(CITIES), cases // 12_500))
    members = [_TeamMember("demo", "演示坐席", Role.OPERATOR, "8000")]
    members += [
        _TeamMember(f"op{i:02d}", names(), Role.OPERATOR, f"8{i:03d}")
        for i in range(1, operators + 1)
    ]
    members += [
        _TeamMember(f"col{i:02d}", names(), Role.COLLECTOR, None, (i - 1) % len(CITIES))
        for i in range(1, collectors + 1)
    ]
    members.append(_TeamMember("sup01", names(), Role.SUPERVISOR, "8900"))
    members.append(_TeamMember("demo-sup", "演示主管", Role.SUPERVISOR, "8999"))
    return members


# --- generation --------------------------------------------------------------------------


def _days_near(day: int, lo: int, hi: int, forward_only: bool) -> Iterator[int]:
    """Days in [lo, hi] by distance from ``day`` (only later ones when ``forward_only``)."""
    if forward_only:
        yield from range(max(day, lo), hi + 1)
        return
    day = min(max(day, lo), hi)
    yield day
    for step in range(1, hi - lo + 1):
        if day - step >= lo:
            yield day - step
        if day + step <= hi:
            yield day + step


class _Calendar:
    """Day and minute arithmetic on plain ints, with every needed string precomputed.

    Day index 0 is ``base``; a minute index counts UTC minutes from ``base`` 00:00 UTC.
    A local (Asia/Shanghai) day ``d`` at local minute ``m`` is minute ``d*1440 + m - 480``.
    """

    def __init__(self, base: dt.date, days: int) -> None:
        self.base = base
        self.base_ordinal = base.toordinal()
        self.dates = [base + dt.timedelta(days=i) for i in range(days)]
        self.day = [d.isoformat() for d in self.dates]
        self.weekday = [d.weekday() for d in self.dates]
        self.hms = [f" {m // 60:02d}:{m % 60:02d}:00.000000" for m in range(1440)]

    def ts(self, minute: int) -> str:
        return self.day[minute // 1440] + self.hms[minute % 1440]

    def add_months(self, day: int, months: int) -> int:
        d = self.dates[day]
        m0 = d.month - 1 + months
        target = dt.date(d.year + m0 // 12, m0 % 12 + 1, min(d.day, 28))
        return target.toordinal() - self.base_ordinal


@dataclass(frozen=True)
class _PlanFacts:
    plan_id: int
    schedule: list[tuple[int, int]]  # (due day, amount) per instalment
    down_minor: int
    waiver_minor: int


@dataclass
class _Case:
    """The facts of one case that its history is built from (journey cases only)."""

    case_id: int
    depth: int
    city: int
    district: str
    address: str
    name: str
    id_number: str
    owner: int
    total_minor: int
    primary_account: int
    borrower_phone: int
    start: int = 0  # overdue-since day
    payments: int = 0


class _Generator:
    def __init__(
        self,
        *,
        seed: int,
        now: dt.datetime,
        next_ids: dict[str, int],
        operators: list[int],
        collectors_by_city: list[list[int]],
        supervisors: list[int],
        weights: PriorityWeights,
        stream: int,
    ) -> None:
        self.seed = seed
        self.weights = weights
        self.dpd_bounds = load_profile("cn").dpd_bounds
        self.operators = operators
        self.collectors_by_city = collectors_by_city
        self.supervisors = supervisors
        self.first_borrower = next_ids["borrower"]
        self.first_case = next_ids["collection_case"]
        # Borrower and case ids follow from a case's position; the main stream numbers the
        # other tables from the database's next ids, the tail stream from 0 (shifted when
        # written, once the main stream's counts are known).
        self.ids = dict(next_ids) if stream == 0 else dict.fromkeys(next_ids, 0)
        # The streams never share a visit slot or an ID sequence number, so they can run in
        # different processes and still never double-book a collector or repeat an ID.
        self.slot_order = _STREAM_SLOTS[stream]
        self.seq_low, self.seq_span = _STREAM_SEQ[stream]
        local_today = (now + dt.timedelta(minutes=_TZ_OFFSET)).date()
        base = local_today - dt.timedelta(days=3000)
        self.cal = _Calendar(base, 3000 + 1500)
        self.today = 3000
        midnight = dt.datetime.combine(base, dt.time(), tzinfo=dt.UTC)
        self.now_min = int((now - midnight).total_seconds() // 60)
        self.day_index = {d: i for i, d in enumerate(self.cal.day)}
        self.slots: dict[tuple[int, int], int] = {}
        self.docs_ready = False  # the current case's documents are all verified
        self.seen_ids: dict[int, int] = {}
        self.rows: dict[str, list[Row]] = {}

        birth_first = local_today.replace(year=local_today.year - 65)
        birth_days = (local_today.replace(year=local_today.year - 22) - birth_first).days
        births = [birth_first + dt.timedelta(days=i) for i in range(birth_days)]
        self.birth8 = [b.strftime("%Y%m%d") for b in births]
        self.birth_weight = [
            sum(int(c) * w for c, w in zip(s, WEIGHTS[6:14], strict=True)) for s in self.birth8
        ]
        self.seq3 = [f"{i:03d}" for i in range(1000)]
        self.seq_weight = [
            sum(int(c) * w for c, w in zip(s, WEIGHTS[14:], strict=True)) for s in self.seq3
        ]
        self.district_table: list[tuple[int, int, str, str, int]] = []
        for ci, city in enumerate(CITIES):
            for code, district in city.districts:
                weight = sum(int(c) * w for c, w in zip(code, WEIGHTS[:6], strict=True))
                per_district = max(1, city.weight * 60 // len(city.districts))
                entry = (ci, int(code), code, district, weight)
                self.district_table += [entry] * per_district
        self.stage_table: list[tuple[str, int]] = _weighted_table(
            [((stage.value, _DEPTH[stage]), share) for stage, share in STAGE_SHARES]
        )
        self.product_table: list[tuple[Any, ...]] = _weighted_table(
            [
                (
                    (
                        p.name,
                        p.low_yuan,
                        p.steps,
                        p.step_yuan,
                        p.rates_bp,
                        p.terms,
                        p.monthly_fee_minor,
                    ),
                    w,
                )
                for p, w in PRODUCTS
            ]
        )
        # Names and addresses are drawn from precomputed pools: one lookup instead of
        # several draws and a format per value.
        self.surname_pool: list[str] = [*_SURNAMES] * 4 + [*_COMPOUND_SURNAMES]
        single = [*_GIVEN] * round(0.38 * len(_GIVEN) / 0.62)
        self.given_pool: list[str] = single + [a + b for a in _GIVEN for b in _GIVEN]
        self.street_numbers: dict[int, list[str]] = {
            int(code): [
                f"{city.name}市{district}{street}{n}号"
                for street in city.streets
                for n in range(1, 400)
            ]
            for city in CITIES
            for code, district in city.districts
        }
        self.flats: list[str] = [
            f"{b}栋{u}单元{f}{d:02d}室"
            for b in range(1, 31)
            for u in range(1, 5)
            for f in range(1, 29)
            for d in range(1, 5)
        ]
        self.phone_outcomes: list[str] = _weighted_table([(o.value, w) for o, w in _PHONE_OUTCOMES])
        self.sms_outcomes: list[str] = _weighted_table([(o.value, w) for o, w in _SMS_OUTCOMES])

    # -- helpers --------------------------------------------------------------------------

    def _mobile(self, r: Callable[[], float]) -> str:
        return f"+86{MOBILE_PREFIXES[int(r() * 14)]}{int(r() * 100_000_000):08d}"

    def _landline(self, r: Callable[[], float], city: int) -> str:
        return f"+86{CITIES[city].area_code}{2 + int(r() * 6)}{int(r() * 10_000_000):07d}"

    def _local(self, day: int, local_minute: int) -> int:
        return day * 1440 + local_minute - _TZ_OFFSET

    def _next_id(self, table: str) -> int:
        value = self.ids[table]
        self.ids[table] = value + 1
        return value

    def _add(self, table: str, row: Row) -> None:
        self.rows[table].append(row)

    def _book_slot(
        self, r: Callable[[], float], city: int, day: int, lo: int, hi: int, forward_only: bool
    ) -> tuple[int, int, int] | None:
        """A free (collector, day, local start) near ``day`` within [lo, hi], or None.

        Collectors keep a fixed grid of visit slots, so two visits of one collector never
        overlap and always leave the travel buffer between them. Sundays are not worked.
        """
        pool = self.collectors_by_city[city]
        weekday = self.cal.weekday
        for candidate in _days_near(day, lo, hi, forward_only):
            if weekday[candidate] == 6:
                continue
            offset = int(r() * len(pool))
            for k in range(len(pool)):
                collector = pool[(offset + k) % len(pool)]
                used = self.slots.get((collector, candidate), 0)
                slots = self.slot_order
                first = int(r() * len(slots))
                for j in range(len(slots)):
                    slot = slots[(first + j) % len(slots)]
                    if not used & (1 << slot):
                        self.slots[(collector, candidate)] = used | (1 << slot)
                        return collector, candidate, _SLOTS_LOCAL[slot]
        return None

    # -- one chunk ------------------------------------------------------------------------

    def chunk(
        self, index: int, first: int, count: int, forced: dict[int, Stage]
    ) -> dict[str, list[Row]]:
        """Rows for cases ``first`` .. ``first + count - 1`` of the run (chunk ``index``).

        ``forced`` pins the stage of some positions.
        """
        pinned = {position: (stage.value, _DEPTH[stage]) for position, stage in forced.items()}
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
        ids = self.ids
        bid, cid = self.first_borrower + first, self.first_case + first
        pid, lid = ids["phone"], ids["loan_account"]
        seq_low, seq_span = self.seq_low, self.seq_span

        # Registered for the home-visit service from "registered" on, documents complete
        # from "visit_booked" on, until the case is paid.
        reg_low, reg_high = _DEPTH[Stage.REGISTERED], _DEPTH[Stage.FOLLOW_UP]
        dpd_bounds = self.dpd_bounds
        docs_low = _DEPTH[Stage.VISIT_BOOKED]
        docs_depth = _DEPTH[Stage.DOCUMENTS]
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
            journey: _Case | None = None
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
                journey = _Case(
                    case_id=cid, depth=depth, city=ci, district=district,
                    address=address, name=name, id_number=id_number,
                    owner=owner if owner is not None else ops[0], total_minor=0,
                    primary_account=lid, borrower_phone=pid,
                )  # fmt: skip
                # A journey's start follows from the span of its milestones.
                plan_span = self._journey_span(r, journey)
                start = journey.start
            opened = start * 1440 + 23 * 60 - _TZ_OFFSET
            created = day[opened // 1440] + hms[opened % 1440]

            # -- phones
            borrower_phone = pid
            phones.append((
                pid, bid, mobile_prefix[int(r() * 14)] + str(100_000_000 + int(r() * 100_000_000))[1:],
                "mobile", "borrower", name, r() < 0.7, False, created,
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
                    _COMPANIES[int(r() * len(_COMPANIES))], False, r() < 0.05, created,
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
                next_action, broken, close_minute = self._journey(
                    r, journey, plan_span, guarantor_phone
                )
                if close_minute is not None:
                    closed_at = day[close_minute // 1440] + hms[close_minute % 1440]
                    close_reason = "已全额结清" if depth == _DEPTH[Stage.PAID] else "已结清并归档"
            elif depth == 1:
                attempts = 1 + (r() < 0.2) + (r() < 0.05)
                span = today - 1 - start
                # Skewed towards the last few days: a case being worked was tried recently.
                when = [
                    (today - 1 - int(r() ** 3 * span)) * 1440 + 540 + int(r() * 660) - _TZ_OFFSET
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
                    if outcome in _ANSWERED or channel == "sms":
                        party = "borrower"
                    if channel == "phone" and guarantor_phone is not None and r() < 0.3:
                        phone_id = guarantor_phone
                        if party is not None:
                            party = "guarantor"
                    if outcome == _THIRD_PARTY:
                        party = "spouse" if r() < 0.6 else "relative"
                    notes = _NOTES[outcome]
                    callback = None
                    if outcome == _CALLBACK:
                        callback = minute + 120 + int(r() * 1440)
                    contacts.append((
                        contact_id, cid, agent if r() < 0.85 else ops[int(r() * n_ops)],
                        channel, phone_id, party, outcome,
                        notes[int(r() * len(notes))], day[minute // 1440] + hms[minute % 1440],
                        None if callback is None else day[callback // 1440] + hms[callback % 1440],
                    ))  # fmt: skip
                    last_outcome = outcome
                    if outcome == _PROMISE and total > 0:
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
                                    day[promise_day] + hms[1200 - _TZ_OFFSET],
                                ))  # fmt: skip
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
                if last_outcome == _CALLBACK and callback is not None:
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

            status = _CLOSED if closed_at is not None else _OPEN
            if closed_at is not None:
                next_action_at = None
                priority = 0
                case_total = 0
            else:
                assert next_action is not None
                next_action_at = day[next_action // 1440] + hms[next_action % 1440]
                case_total = total
                priority = priority_score(
                    dpd=today - start,
                    overdue_minor=total,
                    broken_promises=broken,
                    next_action_due=next_action <= now_min,
                    weights=weights,
                ).value
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

    # -- journey cases (registered and beyond) --------------------------------------------

    def _journey_span(self, r: Callable[[], float], c: _Case) -> dict[str, Any]:
        """Relative days (from the overdue-since day) of every milestone the case reached."""
        depth = c.depth
        path = depth
        if depth >= 9:
            u = r()
            path = 1 if u < 0.45 else (5 if u < 0.65 else 8)
        p: dict[str, Any] = {"path": path}
        pre = sorted(1 + int(r() * 10) for _k in range(int(r() * 3)))
        p["pre"] = pre
        reg = (pre[-1] if pre else 1) + int(r() * r() * 12)
        p["reg"] = reg
        last = reg
        if path == 1:
            p["pay"] = reg + 1 + int(r() * 7)
            last = p["pay"] + 1 + int(r() * 4)
            p["close"] = last
        if path >= 3:
            docs = [reg + 1 + int(r() * 6) for _k in range(3 + (r() < 0.4))]
            p["docs"] = docs
            last = max(docs) + 3
        if path >= 4:
            p["book"] = last + int(r() * 2)
            last = p["book"]
            p["reschedule"] = r() < 0.08
        if path >= 5:
            gap = 3 + int(r() * 5)
            if p["reschedule"]:
                p["old_visit"] = p["book"] + gap
                gap += 3 + int(r() * 4)
            p["visit"] = p["book"] + gap
            last = p["visit"]
            if path == 5 and depth >= 9:
                last += 1 + int(r() * 2)
                p["close"] = last
        if path >= 6:
            p["plan"] = p["visit"] + (0 if r() < 0.6 else 1 + int(r() * 3))
            last = p["plan"]
        if path >= 7:
            p["agree"] = p["plan"] + 1 + int(r() * 5)
            last = p["agree"]
        if path >= 8:
            p["sign"] = p["agree"] + int(r() * 4)
            last = p["sign"]
            if depth >= 9:
                p["instalments"] = 3 + int(r() * 4)
                p["first_due"] = p["sign"] + 10 + int(r() * 20)
                last = p["first_due"] + 31 * (p["instalments"] - 1) + 1 + int(r() * 5)
                p["close"] = last
            else:
                p["follow_ups_done"] = int(r() * 4)
                if p["follow_ups_done"]:
                    last = p["sign"] + 30 + 92 * (p["follow_ups_done"] - 1)
        # Days since the last milestone: cases still moving through the steps were touched
        # lately; agreements under follow-up and closed cases lie further back.
        extra = int(r() ** 2 * (60 if depth <= 7 else 150))
        if depth == 10:
            extra += 30 + int(r() * 200)
        start = self.today - 1 - last - extra
        if path >= 5:
            # The visit must land on a free collector slot; the whole timeline moves with it.
            hi = self.today - 1 - (last - p["visit"])
            found = self._book_slot(r, c.city, start + p["visit"], self.today - 900, hi, False)
            if found is None:
                raise ServiceError(_("no collector slot is free for a past visit"))
            p["slot"] = found
            start = found[1] - p["visit"]
            if "old_visit" in p:
                p["old_slot"] = self._book_slot(
                    r, c.city, start + p["old_visit"], start + p["book"] + 3, found[1] - 3, True
                )
        c.start = start
        return p

    def _contact(
        self,
        case: _Case,
        minute: int,
        outcome: str,
        agent: int,
        r: Callable[[], float],
        phone_id: int | None = None,
    ) -> int:
        contact_id = self._next_id("contact_attempt")
        channel = "sms" if outcome in _SMS else "phone"
        party = "borrower" if outcome in _ANSWERED or channel == "sms" else None
        notes = _NOTES[outcome]
        self._add("contact_attempt", (
            contact_id, case.case_id, agent, channel, phone_id or case.borrower_phone, party,
            outcome, notes[int(r() * len(notes))], self.cal.ts(minute), None,
        ))  # fmt: skip
        return contact_id

    def _payment(
        self,
        case: _Case,
        amount: int,
        paid_day: int,
        channel: str,
        reference: str,
        recorded_by: int | None,
    ) -> int:
        payment_id = self._next_id("payment")
        case.payments += 1
        self._add("payment", (
            payment_id, f"PY{case.case_id:010d}{case.payments:02d}", case.case_id,
            case.primary_account, amount,
            self.cal.day[paid_day], channel, reference, recorded_by,
            self.cal.ts(self._local(paid_day, 1200)),
        ))  # fmt: skip
        return payment_id

    def _journey(
        self, r: Callable[[], float], c: _Case, p: dict[str, Any], guarantor_phone: int | None
    ) -> tuple[int | None, int, int | None]:
        """Write the history of a registered-or-later case.

        Returns (next action minute or None, broken promises, close minute or None).
        """
        cal, s = self.cal, c.start
        sups = self.supervisors
        owner = c.owner
        path = p["path"]
        broken = 0
        self.docs_ready = False
        for rel in p["pre"]:
            outcome = self.phone_outcomes[int(r() * len(self.phone_outcomes))]
            if outcome == _PROMISE:
                outcome = _CALLBACK
            self._contact(c, self._local(s + rel, 540 + int(r() * 600)), outcome, owner, r)
        reg_minute = self._local(s + p["reg"], 540 + int(r() * 600))
        agreed = _PROMISE if path == 1 else Outcome.AGREES_VISIT.value
        agrees = self._contact(c, reg_minute, agreed, owner, r)
        if path == 1:
            # Paid after a phone promise: the promise was kept in full.
            pay_day = s + p["pay"]
            self._add("promise_to_pay", (
                self._next_id("promise_to_pay"), c.case_id, agrees, c.total_minor,
                cal.day[pay_day], "kept", owner, cal.ts(reg_minute),
                cal.ts(self._local(pay_day, 1320)),
            ))  # fmt: skip
            self._payment(c, c.total_minor, pay_day, "bank_transfer", "全额还款", None)
            return None, 0, self._local(s + p["close"], 600)
        self._add("service_registration", (
            self._next_id("service_registration"), c.case_id, "phone", owner,
            cal.ts(reg_minute + 5), "借款人同意上门服务，已告知需提交的材料", None, None,
        ))  # fmt: skip
        if path == 2:
            return self._local(s + p["reg"] + 2 + int(r() * 3), 600), broken, None

        # -- documents
        last_doc = 0
        kinds = (
            DocumentKind.IDENTITY,
            DocumentKind.RESIDENCE,
            DocumentKind.INCOME,
            DocumentKind.OTHER,
        )
        # Half of the cases waiting on documents have them all verified: ready to book.
        ready = path == 3 and r() < 0.5
        self.docs_ready = ready
        for kind, rel in zip(kinds, p["docs"], strict=False):
            received = self._local(s + rel, 540 + int(r() * 540))
            channel = (DocumentChannel.EMAIL, DocumentChannel.POST, DocumentChannel.IN_PERSON)[
                int(r() * 3)
            ]
            descriptions = _DOC_DESCRIPTIONS[kind]
            description = descriptions[int(r() * len(descriptions))]
            reviewer = owner if r() < 0.8 else sups[0]
            reviewed = received + 60 + int(r() * 1440)
            if path == 3 and not ready:
                u = r()
                status = (
                    DocumentStatus.RECEIVED if u < 0.4
                    else DocumentStatus.VERIFIED if u < 0.85 else DocumentStatus.REJECTED
                )  # fmt: skip
            else:
                status = DocumentStatus.VERIFIED
                if r() < 0.1:
                    # The first copy was rejected; a new one came the next day.
                    self._add("document", (
                        self._next_id("document"), c.case_id, kind.value, description,
                        channel.value, cal.ts(received), DocumentStatus.REJECTED.value,
                        reviewer, cal.ts(received + 60 + int(r() * 240)),
                        _DOC_REJECTIONS[int(r() * len(_DOC_REJECTIONS))],
                    ))  # fmt: skip
                    received += 1440
                    reviewed = received + 60 + int(r() * 540)
            if status is DocumentStatus.RECEIVED:
                self._add("document", (
                    self._next_id("document"), c.case_id, kind.value, description,
                    channel.value, cal.ts(received), status.value, None, None, None,
                ))  # fmt: skip
            else:
                reason = (
                    _DOC_VERIFIED[int(r() * len(_DOC_VERIFIED))]
                    if status is DocumentStatus.VERIFIED
                    else _DOC_REJECTIONS[int(r() * len(_DOC_REJECTIONS))]
                )
                self._add("document", (
                    self._next_id("document"), c.case_id, kind.value, description,
                    channel.value, cal.ts(received), status.value, reviewer, cal.ts(reviewed),
                    reason,
                ))  # fmt: skip
            last_doc = max(last_doc, reviewed)
        if path == 3:
            return max(last_doc, self._local(s + max(p["docs"]), 600)) + 1440, broken, None

        # -- appointment(s)
        book_minute = self._local(s + p["book"], 600 + int(r() * 360))
        place, district = c.address, c.district
        if path == 4:
            found = self._book_slot(
                r,
                c.city,
                max(self.today + 1, s + p["book"] + 3) + int(r() * 14),
                self.today + 1,
                self.today + 1400,
                True,
            )
            if found is None:
                raise ServiceError(_("no collector slot is free for a future visit"))
        else:
            found = p["slot"]
        collector, visit_day, local_start = found
        starts = self._local(visit_day, local_start)
        rescheduled_from: int | None = None
        old_slot: tuple[int, int, int] | None = p.get("old_slot")
        if old_slot is not None and r() < 0.35:
            # The borrower was not at home: a wasted trip, reported, and a new booking.
            old_start = self._local(old_slot[1], old_slot[2])
            missed = self._next_id("appointment")
            self._add("appointment", (
                missed, c.case_id, old_slot[0], cal.ts(old_start),
                cal.ts(old_start + _VISIT_MINUTES), place, district,
                AppointmentStatus.NO_SHOW.value, owner, cal.ts(book_minute), None, None, None,
                None,
            ))  # fmt: skip
            self._add("visit_report", (
                self._next_id("visit_report"), missed, c.case_id, old_slot[0], True, False,
                False, True, False, None, None, None, None, 0, None, None, None,
                VisitOutcome.BORROWER_ABSENT.value, "借款人不在家，已留下联系卡",
                cal.ts(old_start + _VISIT_MINUTES + 30),
            ))  # fmt: skip
            book_minute = old_start + _VISIT_MINUTES + 60 + int(r() * 120)
        elif old_slot is not None:
            old_start = self._local(old_slot[1], old_slot[2])
            rescheduled_from = self._next_id("appointment")
            self._add("appointment", (
                rescheduled_from, c.case_id, old_slot[0], cal.ts(old_start),
                cal.ts(old_start + _VISIT_MINUTES), place, district,
                AppointmentStatus.RESCHEDULED.value, owner, cal.ts(book_minute), None, None,
                None, None,
            ))  # fmt: skip
            # Asked one to two days ahead: the notice rule wants at least 24 hours.
            requested = old_start - 1440 - int(r() * 1440)
            by_borrower = r() < 0.7
            self._add("appointment_change", (
                self._next_id("appointment_change"), rescheduled_from, "reschedule",
                "borrower" if by_borrower else "bank", owner, cal.ts(requested),
                cal.ts(requested + 10), "phone", cal.ts(old_start), cal.ts(starts),
                "借款人临时出差，申请改期" if by_borrower else "催收员临时有事，改约时间",
            ))  # fmt: skip
            book_minute = requested + 15
        appointment_id = self._next_id("appointment")
        if path == 4:
            status_value = (
                AppointmentStatus.BOOKED if r() < 0.4 else AppointmentStatus.CONFIRMED
            ).value
        else:
            status_value = AppointmentStatus.DONE.value
        self._add("appointment", (
            appointment_id, c.case_id, collector, cal.ts(starts),
            cal.ts(starts + _VISIT_MINUTES), place, district, status_value, owner,
            cal.ts(book_minute), rescheduled_from, None, None,
            "请携带工作证，出发前电话确认" if r() < 0.3 else None,
        ))  # fmt: skip
        if path == 4:
            return starts, broken, None

        # -- the visit
        report_minute = starts + _VISIT_MINUTES + 30 + int(r() * 90)
        income = (3_000 + int(r() * 270) * 100) * 100
        obligations = income * int(r() * 40) // 100
        affordable = max(50_000, (income - obligations) * 3 // 10 // 100 * 100)
        collected = 0
        method: str | None = None
        receipt: str | None = None
        reconciled: int | None = None
        visit_outcome: str = VisitOutcome.PLAN_DISCUSSED.value
        if path == 5 and c.depth >= 9:
            visit_outcome = VisitOutcome.PAID_AT_DOOR.value
            collected = c.total_minor
            method = "POS刷卡" if r() < 0.7 else "现金"
            receipt = f"RC{c.case_id:010d}"
            reconciled = self._payment(c, collected, visit_day, "door", receipt, collector)
        elif path == 5 and r() < 0.15:
            visit_outcome = VisitOutcome.REFUSED.value
        address_ok = r() < 0.95
        self._add("visit_report", (
            self._next_id("visit_report"), appointment_id, c.case_id, collector, True, True,
            True, address_ok, True, None if address_ok else "门牌号与登记地址不符，已现场更正",
            income, obligations, affordable, collected, method, receipt, reconciled,
            visit_outcome,
            _VISIT_NOTES[visit_outcome],
            cal.ts(report_minute),
        ))  # fmt: skip
        if path == 5:
            if c.depth >= 9:
                return None, broken, self._local(s + p["close"], 600)
            return self._local(visit_day + 2 + int(r() * 2), 600), broken, None

        # -- repayment plan and its schedule
        plan_day = s + p["plan"]
        plan = self._plan(r, c, p, plan_day, collector)
        if path == 6:
            return self._local(plan_day + 2 + int(r() * 3), 600), broken, None

        # -- agreement (one version) and follow-ups
        agree_day = s + p["agree"]
        signed = path >= 8
        agreement_id = self._agreement(r, c, p, plan, agree_day, signed)
        if not signed:
            return self._local(agree_day + 2 + int(r() * 4), 600), broken, None
        sign_day = s + p["sign"]
        close_day = s + p["close"] if "close" in p else None
        limit = close_day if close_day is not None else self.today
        first = sign_day + 20 + int(r() * 10)
        due = first
        k = 0
        while due < limit:
            done = r() < 0.85
            self._add("follow_up", (
                self._next_id("follow_up"), c.case_id, agreement_id, cal.day[due],
                "phone" if r() < 0.8 else "visit", owner,
                (FollowUpStatus.DONE if done else FollowUpStatus.MISSED).value,
                cal.ts(self._local(due, 600 + int(r() * 420))) if done else None,
                "电话回访，借款人按计划还款，无异常" if done else "多次联系未接通",
            ))  # fmt: skip
            k += 1
            due = cal.add_months(first, 3 * k)
        if close_day is not None:
            return None, broken, self._local(close_day, 600)
        self._add("follow_up", (
            self._next_id("follow_up"), c.case_id, agreement_id, cal.day[due], "phone", owner,
            FollowUpStatus.SCHEDULED.value, None, None,
        ))  # fmt: skip
        return self._local(due, 540 + int(r() * 60)), broken, None

    def _plan(
        self, r: Callable[[], float], c: _Case, p: dict[str, Any], plan_day: int, collector: int
    ) -> _PlanFacts:
        """A plan and its instalments (paid ones with their payments)."""
        cal = self.cal
        path, closed = p["path"], c.depth >= 9
        total = c.total_minor
        u = r()
        kind = "annuity" if u < 0.5 else ("equal_principal" if u < 0.8 else "interest_free")
        rate_bp = 0 if kind == "interest_free" else (435, 600, 800, 1000)[int(r() * 4)]
        waiver = total * (5 + int(r() * 15)) // 100 // 100 * 100 if r() < 0.3 else 0
        down = total * (10 + int(r() * 10)) // 100 // 100 * 100 if r() < 0.35 else 0
        principal = total - waiver - down
        if closed:
            n = p["instalments"]
            first_due = c.start + p["first_due"]
        else:
            first_due = plan_day + 20 + int(r() * 15)
            # An active plan still has instalments to come.
            n = min(24, max(3 + int(r() * 10), (self.today - first_due) // 30 + 2))
        # At least 100 yuan an instalment.
        n = max(1, min(n, total // 10_000))
        grace = 0
        grace_mode = "none"
        if not closed and r() < 0.15:
            grace = 1 + int(r() * 2)
            grace_mode = "interest_only" if r() < 0.6 else "capitalised"
        dom = cal.dates[first_due].day
        if dom > 28:
            first_due -= dom - 28
        first_due = cal.add_months(first_due, grace)
        if path == 6:
            status = PlanStatus.DRAFT if r() < 0.6 else PlanStatus.ACTIVE
        elif closed:
            status = PlanStatus.COMPLETED
        else:
            status = PlanStatus.ACTIVE
        needs_approval = waiver > 0 or grace > 0
        approved_by = (
            self.supervisors[int(r() * len(self.supervisors))]
            if (status is not PlanStatus.DRAFT and needs_approval)
            else None
        )
        plan_id = self._next_id("repayment_plan")
        self._add("repayment_plan", (
            plan_id, c.case_id, kind, "monthly", principal, rate_bp / 10_000, n, down, waiver,
            grace, grace_mode, cal.day[first_due], status.value, collector,
            cal.ts(self._local(plan_day, 900 + int(r() * 180))), approved_by,
        ))  # fmt: skip
        monthly = rate_bp / 120_000
        if kind == "annuity" and monthly > 0:
            level = principal * monthly / (1 - (1 + monthly) ** -n)
        else:
            level = principal / n
        remaining = principal
        schedule: list[tuple[int, int]] = []
        for seq in range(1, n + 1):
            due = cal.add_months(first_due, seq - 1)
            interest = remaining * rate_bp // 120_000
            if seq == n:
                part = remaining
            elif kind == "annuity" and monthly > 0:
                part = min(remaining, math.floor(level + 0.5) - interest)
            else:
                part = principal // n
            amount = part + interest
            remaining -= part
            if status is PlanStatus.DRAFT or due >= self.today:
                paid, inst_status = 0, "due"
            else:
                u = r()
                if closed or u < 0.85:
                    paid, inst_status = amount, "paid"
                elif u < 0.9:
                    paid, inst_status = amount // 2, "partial"
                else:
                    paid, inst_status = 0, "missed"
            if paid:
                self._payment(
                    c,
                    paid,
                    due - int(r() * 3),
                    "direct_debit" if r() < 0.6 else "bank_transfer",
                    f"第{seq}期还款",
                    None,
                )
            schedule.append((due, amount))
            self._add("plan_instalment", (
                self._next_id("plan_instalment"), plan_id, seq, cal.day[due], part, interest,
                amount, paid, inst_status,
            ))  # fmt: skip
        if not closed and r() < 0.12:
            self._adjustment(r, c, plan_id, plan_day)
        return _PlanFacts(plan_id, schedule, down, waiver)

    def _adjustment(self, r: Callable[[], float], c: _Case, plan_id: int, plan_day: int) -> None:
        cal = self.cal
        u = r()
        details: dict[str, object]
        # Details as the adjustments service writes them, so a supervisor can decide the
        # seeded requests (the schedule is recomputed from the plan when approved).
        if u < 0.4:
            kinds, details, reason = (
                "suspend_interest",
                {"changes": Changes(suspend_periods=3).as_dict()},
                "借款人因病住院，收入中断",
            )
        elif u < 0.8:
            kinds, details, reason = (
                "extend_term",
                {"changes": Changes(extend_by=6).as_dict()},
                "借款人失业，申请延长还款期限",
            )
        else:
            kinds, details, reason = (
                "early_settlement", {"reward_minor": 20_000}, "借款人按期还款表现良好，申请提前结清优惠"
            )  # fmt: skip
        requested = self._local(min(plan_day + 10 + int(r() * 30), self.today - 1), 600)
        v = r()
        status = "requested" if v < 0.3 else ("approved" if v < 0.8 else "rejected")
        if status == "requested" and kinds == "early_settlement":
            status = "approved"  # a pending quote is made on the desk, with today's figures
        decided = status != "requested"
        self._add("adjustment", (
            self._next_id("adjustment"), c.case_id, plan_id, kinds, json.dumps(details), reason,
            status, c.owner, cal.ts(requested),
            self.supervisors[0] if decided else None,
            cal.ts(requested + 600) if decided else None,
            ("同意" if status == "approved" else "不符合条件") if decided else None,
        ))  # fmt: skip

    def _agreement(
        self,
        r: Callable[[], float],
        c: _Case,
        p: dict[str, Any],
        plan: _PlanFacts,
        agree_day: int,
        signed: bool,
    ) -> int:
        cal = self.cal
        agreement_id = self._next_id("agreement")
        created = self._local(agree_day, 600 + int(r() * 300))
        content = _AGREEMENT_TEMPLATE.format(
            number=f"HK{c.case_id:010d}",
            city=CITIES[c.city].name,
            name=c.name,
            id_number=c.id_number,
            address=c.address,
            as_of=cal.dates[agree_day].strftime("%Y年%m月%d日"),
            total=f"{c.total_minor / 100:,.2f}",
            down_payment=(
                f"于本协议签署之日支付首付款人民币{plan.down_minor / 100:,.2f}元，并"
                if plan.down_minor
                else ""
            ),
            first_due=cal.dates[plan.schedule[0][0]].strftime("%Y年%m月%d日"),
            instalments=len(plan.schedule),
            frequency="月",
            waiver=(
                f"甲方同意减免罚息及费用合计人民币{plan.waiver_minor / 100:,.2f}元。"
                if plan.waiver_minor
                else ""
            ),
        )
        digest = hashlib.sha256(content.encode()).hexdigest()
        if signed:
            sign_day = c.start + p["sign"]
            status = AgreementStatus.SIGNED.value
            signed_at: str | None = cal.ts(self._local(sign_day, 600 + int(r() * 360)))
            effective: str | None = cal.day[sign_day]
            place: str | None = (
                c.address if r() < 0.6 else f"示范银行{CITIES[c.city].name}分行营业部"
            )
            signatory: int | None = self.supervisors[int(r() * len(self.supervisors))]
            confirmation: str | None = "借款人当面签字确认"
            delivery: str | None = "当面交付" if r() < 0.7 else "挂号信邮寄"
        else:
            status = (AgreementStatus.DRAFT if r() < 0.4 else AgreementStatus.READY).value
            signed_at = effective = place = confirmation = delivery = None
            signatory = None
        self._add("agreement", (
            agreement_id, c.case_id, plan.plan_id, "repayment_agreement", "2024.1", "zh_CN", status,
            effective, signed_at, place, signatory, confirmation, delivery, digest, c.owner,
            cal.ts(created), 1,
        ))  # fmt: skip
        self._add("agreement_version", (
            self._next_id("agreement_version"), agreement_id, 1, content, None, c.owner,
            cal.ts(created), "依据标准模板生成",
        ))  # fmt: skip
        return agreement_id

    # -- holds and complaints over the chunk ------------------------------------------------

    def _office_time(self, r: Callable[[], float], minute: int, days_later: int) -> int:
        """A random office-hours minute (09:00-18:00 local) ``days_later`` local days on."""
        local_day = (minute + _TZ_OFFSET) // 1440 + days_later
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
            last_contact[contact[1]] = (contact[0], contact[2], contact[_STARTED_AT])
        visits: dict[int, tuple[int, int, str]] = {}
        for appointment in self.rows["appointment"]:
            if appointment[7] == _DONE:
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
            case_id, is_open = case[0], case[2] == _OPEN
            if i in held_set and is_open:
                kind = _HOLD_KINDS[int(r() * len(_HOLD_KINDS))]
                since = max(case[_OPENED_AT], last_contact.get(case_id, (0, 0, ""))[2])
                set_at = self._office_time(r, self._minute_of(since), 1)
                if set_at < self.now_min:
                    self._add("case_hold", (
                        self._next_id("case_hold"), case_id, kind.value, _HOLD_REASONS[kind],
                        sups[int(r() * len(sups))], cal.ts(set_at), None, None, None,
                    ))  # fmt: skip
                    cases[i] = (*case[:_ON_HOLD], True, *case[_ON_HOLD + 1 :])
            elif i in released_set:
                kind = (HoldKind.DISPUTE, HoldKind.COMPLAINT)[int(r() * 2)]
                set_at = self._office_time(r, self._minute_of(case[_OPENED_AT]), 1)
                released = self._office_time(r, set_at, 1 + int(r() * 7))
                if released < self.now_min:
                    self._add("case_hold", (
                        self._next_id("case_hold"), case_id, kind.value, _HOLD_REASONS[kind],
                        sups[0], cal.ts(set_at), sups[-1], cal.ts(released),
                        "核实完毕，恢复正常处理",
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
                _COMPLAINTS[int(r() * len(_COMPLAINTS))], status, cal.ts(received),
                ops[int(r() * len(ops))],
                _RESOLUTIONS[int(r() * len(_RESOLUTIONS))] if done else None,
                sups[int(r() * len(sups))] if done else None,
                cal.ts(resolved) if done else None,
            ))  # fmt: skip


# --- producing chunks (here or in a helper process) ----------------------------------------


@dataclass(frozen=True)
class _GeneratorSpec:
    """Everything a generator needs, picklable so a helper process can build its own."""

    seed: int
    now: dt.datetime
    next_ids: dict[str, int]
    operators: list[int]
    collectors_by_city: list[list[int]]
    supervisors: list[int]
    weights: PriorityWeights

    def build(self, stream: int) -> _Generator:
        return _Generator(
            seed=self.seed, now=self.now, next_ids=self.next_ids, operators=self.operators,
            collectors_by_city=self.collectors_by_city, supervisors=self.supervisors,
            weights=self.weights, stream=stream,
        )  # fmt: skip


Chunk = tuple[int, int, int, dict[int, Stage]]  # index, first case, cases, pinned stages
Rows = dict[str, list[Row]]
Chunks = Iterator[tuple[Rows, float]]


def _chunk_plan(cases: int, seed: int) -> tuple[list[Chunk], list[Chunk]]:
    """The chunks of the main stream and of the tail stream (the last third of the chunks).

    The split depends only on the number of cases, so the rows are the same whether the
    streams run in one process or two. Every stage appears once seeding allows it.
    """
    stage_rng = random.Random(seed ^ 0x5EED)
    positions = stage_rng.sample(range(min(cases, CHUNK_CASES)), min(cases, len(Stage)))
    pinned = dict(zip(positions, Stage, strict=False))
    chunks = [
        (index, first, min(CHUNK_CASES, cases - first), pinned if index == 0 else {})
        for index, first in enumerate(range(0, cases, CHUNK_CASES))
    ]
    tail = len(chunks) // 3
    return chunks[: len(chunks) - tail], chunks[len(chunks) - tail :]


def _chunks_inline(spec: _GeneratorSpec, plan: list[Chunk], stream: int) -> Chunks:
    generator = spec.build(stream)
    for index, first, count, pinned in plan:
        mark = time.perf_counter()
        rows = generator.chunk(index, first, count, pinned)
        yield rows, time.perf_counter() - mark


def _send(stream: IO[bytes], message: tuple[Any, ...], *, plain: bool = True) -> None:
    # Rows are plain tuples of str/int/float/bool/None: marshal writes and reads them faster
    # than pickle. The spec going the other way is a dataclass and needs pickle.
    payload = marshal.dumps(message, 4) if plain else pickle.dumps(message, 5)
    stream.write(len(payload).to_bytes(8, "little"))
    stream.write(payload)
    stream.flush()


def _read_exact(stream: IO[bytes], size: int) -> bytes:
    parts: list[bytes] = []
    while size:
        part = stream.read(size)
        if not part:
            raise EOFError
        parts.append(part)
        size -= len(part)
    return b"".join(parts)


def _receive(stream: IO[bytes], *, plain: bool = True) -> Any:
    size = int.from_bytes(_read_exact(stream, 8), "little")
    payload = _read_exact(stream, size)
    return marshal.loads(payload) if plain else pickle.loads(payload)


def serve_generator() -> None:
    """Helper-process entry point: read a spec and plan on stdin, send chunks on stdout.

    Each chunk's rows go to a file in the given folder and only its name down the pipe, so
    the helper never waits for the writer to read (a pipe holds 64 KiB; a chunk is ~16 MB).
    """
    out = sys.stdout.buffer
    try:
        spec, plan, folder = _receive(sys.stdin.buffer, plain=False)
        for rows, seconds in _chunks_inline(spec, plan, 0):
            path = os.path.join(folder, f"cases-from-{rows['collection_case'][0][0]}")
            with open(path + ".part", "wb") as fh:
                fh.write(marshal.dumps(rows, 4))
            os.replace(path + ".part", path)
            _send(out, ("rows", path, seconds))
        _send(out, ("done",))
    except BrokenPipeError:
        pass  # the writer gave up; nobody is listening
    except Exception:
        _send(out, ("error", traceback.format_exc()))


class _Helper:
    """A helper process generating the main stream, a chunk ahead of the writer.

    Generating rows and writing them each take about half the time of a large seed, and
    each saturates one core; the writer also generates the tail stream while it would
    otherwise wait. A plain subprocess (not multiprocessing), so that the caller's main
    module is never re-run.
    """

    def __init__(self, spec: _GeneratorSpec, plan: list[Chunk]) -> None:
        self.folder = tempfile.mkdtemp(prefix="tui-desk-seed-")
        env = dict(os.environ)
        package_root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from tui_desk.services.seed import serve_generator as s; s()"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            bufsize=0,  # unbuffered, so select() tells whether rows are waiting
            env=env,
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self.stdout: IO[bytes] = self.process.stdout
        _send(self.process.stdin, (spec, plan, self.folder), plain=False)
        self.process.stdin.close()

    def ready(self) -> bool:
        return bool(select.select([self.stdout], [], [], 0)[0])

    def next(self) -> tuple[Rows, float] | None:
        """The next chunk's rows and generation time; None once the stream is done."""
        try:
            message = _receive(self.stdout)
        except EOFError:
            raise ServiceError(_("the seed generator process stopped unexpectedly")) from None
        if message[0] == "done":
            return None
        if message[0] == "error":
            raise ServiceError(_("generating seed data failed: {error}").format(error=message[1]))
        path = Path(message[1])
        rows = marshal.loads(path.read_bytes())
        path.unlink()
        return rows, message[2]

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.stdout.close()
        shutil.rmtree(self.folder, ignore_errors=True)


# --- writing -----------------------------------------------------------------------------


class _Writer:
    """Bulk rows through the driver connection inside the caller's transaction."""

    def __init__(self, conn: Connection, db: Database) -> None:
        self.sqlite = db.is_sqlite
        raw: Any = conn.connection.driver_connection
        self.cursor: Any = raw.cursor()

    def write(self, table: str, rows: list[Row], shift: dict[str, int] | None = None) -> None:
        """Insert rows; ``shift`` adds a per-table amount to ids and references (tail rows)."""
        if not rows:
            return
        constants = CONSTANTS.get(table, {})
        derived = DERIVED.get(table)
        names = COLUMNS[table]
        if derived is not None:
            names = (*names, derived[0])
            rows = derived[1](rows)
        columns = ", ".join((*names, *constants))
        moved = [
            (i, shift[ref])
            for i, ref in enumerate(_REFERENCES[table])
            if shift and ref is not None and shift.get(ref)
        ]
        if self.sqlite:
            # SQLite adds the shift itself (NULL stays NULL), so rows are bound as they are.
            values = ["?"] * len(names)
            for i, amount in moved:
                values[i] = f"? + {int(amount)}"
            values += [_sql_literal(v) for v in constants.values()]
            self.cursor.executemany(
                f"INSERT INTO {table} ({columns}) VALUES ({', '.join(values)})", rows
            )
            return
        extra = tuple(constants.values())
        with self.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                if moved:
                    values_ = list(row)
                    for i, amount in moved:
                        if values_[i] is not None:
                            values_[i] += amount
                    row = tuple(values_)
                copy.write_row(row + extra)


def _with_id_rev(rows: list[Row]) -> list[Row]:
    # Generated ID numbers are 18 characters with an upper-case X: reversing the string
    # is what rules.search.reverse_digits gives, at a fraction of the cost.
    return [(*row, row[3][::-1]) for row in rows]


def _with_digits_rev(rows: list[Row]) -> list[Row]:
    # Generated numbers are "+" and digits only: drop the "+", reverse the rest.
    return [(*row, row[2][:0:-1]) for row in rows]


# Search columns computed from a row as it is written (one column each).
DERIVED: dict[str, tuple[str, Callable[[list[Row]], list[Row]]]] = {
    "borrower": ("id_rev", _with_id_rev),
    "phone": ("digits_rev", _with_digits_rev),
}


def _referenced_tables() -> dict[str, list[str | None]]:
    """Per seeded table and column: the seeded table whose id the column holds, if any."""
    result: dict[str, list[str | None]] = {}
    for name in COLUMNS:
        table = Base.metadata.tables[name]
        targets: dict[str, str] = {"id": name}
        for fk in table.foreign_keys:
            if fk.column.table.name in DATA_TABLES:
                targets[fk.parent.name] = fk.column.table.name
        result[name] = [targets.get(column) for column in COLUMNS[name]]
    return result


_REFERENCES = _referenced_tables()


def _sql_literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool | int):
        return str(int(value))
    return "'" + str(value).replace("'", "''") + "'"


def _sqlite_pragmas(raw: Any, values: dict[str, Any]) -> dict[str, Any]:
    before = {name: raw.execute(f"PRAGMA {name}").fetchone()[0] for name in values}
    for name, value in values.items():
        raw.execute(f"PRAGMA {name} = {value}")
    return before


def _leave_wal(raw: Any) -> str | None:
    """Use a rollback journal for the load if nobody else has the file open.

    In WAL mode every page of a large load is written twice (to the log, then copied into
    the database); with a rollback journal new pages are written once and only the few
    pages that existed before are journaled. SQLite refuses the switch while another
    connection is open, and then the load simply stays in WAL mode. Returns the mode to
    restore, or None if nothing changed.
    """
    before = str(raw.execute("PRAGMA journal_mode").fetchone()[0]).lower()
    if before != "wal":
        return None
    try:
        after = str(raw.execute("PRAGMA journal_mode = DELETE").fetchone()[0]).lower()
    except sqlite3.OperationalError:
        return None
    return before if after != before else None


def seed_database(
    db: Database,
    *,
    cases: int,
    seed: int = 42,
    now: dt.datetime | None = None,
    progress: Progress | None = None,
    parallel: bool | None = None,
) -> SeedSummary:
    """Add ``cases`` demo cases (one per new borrower) with their history, in one transaction.

    ``progress(phase, done, total)`` is called as the work advances. ``parallel`` generates
    rows in a second process while this one writes (default: for large seeds); the rows
    are the same either way.
    """
    if not 1 <= cases <= MAX_CASES:
        raise ServiceError(
            _("the number of cases must be between 1 and {limit}").format(limit=MAX_CASES)
        )
    now = now or utcnow()
    if now.tzinfo is None:
        raise ServiceError(_("the seed time must carry a timezone"))
    now = now.astimezone(dt.UTC)
    report: Progress = progress or (lambda _phase, _done, _total: None)
    started = time.perf_counter()
    phases: dict[str, float] = {}
    counts = dict.fromkeys(TABLES, 0)

    file_backed = db.is_sqlite and db.url.database not in (None, "", ":memory:")
    journal: str | None = None
    with db.engine.connect() as conn:
        raw: Any = conn.connection.driver_connection
        saved: dict[str, Any] = {}
        if db.is_sqlite:
            saved = _sqlite_pragmas(
                raw,
                # Rows come from the model enums and keys handed out here; the tests run
                # foreign_key_check and integrity_check on seeded data. Checking per row is
                # most of the insert time (an IN-list CHECK is rebuilt for every row).
                {
                    "foreign_keys": 0,
                    "ignore_check_constraints": 1,
                    "synchronous": 0,
                    "cache_size": -1_048_576,
                    "temp_store": 2,
                },
            )
            journal = _leave_wal(raw) if file_backed else None
            conn.execution_options(sqlite_begin="IMMEDIATE")
        try:
            with conn.begin():
                summary_range = _seed_in_transaction(
                    conn, db, cases=cases, seed=seed, now=now, report=report,
                    phases=phases, counts=counts, parallel=parallel,
                )  # fmt: skip
                mark = time.perf_counter()
                with Session(bind=conn) as session:
                    written = {t: n for t, n in counts.items() if n}
                    audit.record(
                        session, None, "seed.bulk", "seed", None,
                        f"seeded {cases} demo cases (seed {seed}): "
                        + ", ".join(f"{t} {n}" for t, n in written.items()),
                        now=now,
                        after={
                            "source": "seed", "seed": seed, "counts": written,
                            "case_id_range": list(summary_range),
                        },
                    )  # fmt: skip
                    session.flush()
                counts["audit_event"] = 1
                phases["audit"] = time.perf_counter() - mark
                report("commit", 0, 1)
                mark = time.perf_counter()
            phases["commit"] = time.perf_counter() - mark
            report("commit", 1, 1)
        finally:
            if db.is_sqlite:
                for name, value in saved.items():
                    raw.execute(f"PRAGMA {name} = {value}")
                if journal is not None:
                    with contextlib.suppress(sqlite3.OperationalError):
                        # If someone opened the file meanwhile, their connection turns WAL
                        # back on (the engine does on connect).
                        raw.execute(f"PRAGMA journal_mode = {journal}")
        if file_backed and journal is None:
            mark = time.perf_counter()
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            phases["checkpoint"] = time.perf_counter() - mark
    return SeedSummary(
        counts=counts,
        elapsed_seconds=time.perf_counter() - started,
        phase_seconds=phases,
        case_id_range=summary_range,
        seed=seed,
    )


def _seed_in_transaction(
    conn: Connection,
    db: Database,
    *,
    cases: int,
    seed: int,
    now: dt.datetime,
    report: Progress,
    phases: dict[str, float],
    counts: dict[str, int],
    parallel: bool | None,
) -> tuple[int, int]:
    mark = time.perf_counter()
    writer = _Writer(conn, db)
    cursor = writer.cursor
    if db.is_postgresql:
        cursor.execute("SET LOCAL TimeZone = 'UTC'")
        cursor.execute(f"LOCK TABLE {', '.join(TABLES)} IN SHARE ROW EXCLUSIVE MODE")
    next_ids: dict[str, int] = {}
    for table in TABLES:
        cursor.execute(f"SELECT max(id) FROM {table}")
        next_ids[table] = (cursor.fetchone()[0] or 0) + 1

    # -- the team (existing logins are kept as they are)
    team_rng = random.Random(seed)
    team = team_plan(cases, lambda: _draw_name(team_rng.random))
    cursor.execute("SELECT id, login, role FROM agent")
    existing = {login: (agent_id, role) for agent_id, login, role in cursor.fetchall()}
    created_at = (now - dt.timedelta(days=1500)).strftime("%Y-%m-%d %H:%M:%S.%f")
    agent_rows: list[Row] = []
    resolved: dict[str, tuple[int, str]] = {}
    for member in team:
        if member.login in existing:
            resolved[member.login] = existing[member.login]
            continue
        agent_id = next_ids["agent"]
        next_ids["agent"] += 1
        agent_rows.append(
            (
                agent_id,
                member.login,
                member.name,
                member.role.value,
                True,
                member.extension,
                created_at,
            )
        )
        resolved[member.login] = (agent_id, member.role.value)
    writer.write("agent", agent_rows)
    counts["agent"] = len(agent_rows)
    # New collectors work Monday to Saturday, 09:00-18:00, over every district of their city.
    schedule_rows: list[Row] = []
    district_rows: list[Row] = []
    new_ids = {row[0] for row in agent_rows}
    for member in team:
        agent_id = resolved[member.login][0]
        if member.role is not Role.COLLECTOR or agent_id not in new_ids or member.city is None:
            continue
        schedule_rows.append(
            (agent_id, "Asia/Shanghai", "09:00:00.000000", "18:00:00.000000", "123456", created_at)
        )
        district_rows.extend((agent_id, name) for _, name in CITIES[member.city].districts)
    writer.write("collector_schedule", schedule_rows)
    writer.write("collector_district", district_rows)
    counts["collector_schedule"] = len(schedule_rows)
    counts["collector_district"] = len(district_rows)

    def of_role(role: Role) -> list[int]:
        return [resolved[m.login][0] for m in team if resolved[m.login][1] == role.value]

    operators, supervisors = of_role(Role.OPERATOR), of_role(Role.SUPERVISOR)
    by_city: list[list[int]] = [[] for _ in CITIES]
    collectors = [m for m in team if resolved[m.login][1] == Role.COLLECTOR.value]
    for i, member in enumerate(collectors):
        by_city[member.city if member.city is not None else i % len(CITIES)].append(
            resolved[member.login][0]
        )
    if not operators or not supervisors or not all(by_city):
        raise ServiceError(_("the demo team is incomplete: logins it needs exist with other roles"))
    phases["setup"] = time.perf_counter() - mark

    # Rebuilding secondary indexes once is much cheaper than updating them row by row; the
    # stored definitions bring them back exactly as the migration made them, in the same
    # transaction. On PostgreSQL DROP INDEX locks readers out until commit, so only for
    # large loads there.
    dropped: list[str] = []
    names = ", ".join(f"'{t}'" for t in DATA_TABLES)
    query: str | None = None
    if db.is_sqlite:
        query = (
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            f"AND tbl_name IN ({names}) ORDER BY name"
        )
    elif cases >= PG_REINDEX_MIN_CASES:
        query = (
            "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
            "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
            "JOIN pg_namespace n ON n.oid = t.relnamespace "
            f"WHERE n.nspname = current_schema() AND t.relname IN ({names}) "
            "AND NOT x.indisunique AND NOT x.indisprimary "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid) "
            "ORDER BY i.relname"
        )
    if query is not None:
        cursor.execute(query)
        for name, definition in cursor.fetchall():
            cursor.execute(f'DROP INDEX "{name}"')
            dropped.append(definition)

    spec = _GeneratorSpec(
        seed=seed, now=now, next_ids=next_ids, operators=operators,
        collectors_by_city=by_city, supervisors=supervisors, weights=load_profile("cn").priority,
    )  # fmt: skip
    first_case = next_ids["collection_case"]
    main_plan, tail_plan = _chunk_plan(cases, seed)
    if parallel is None:
        parallel = cases >= PARALLEL_MIN_CASES
    timing = dict.fromkeys(("generate", "wait", "insert"), 0.0)
    done = 0

    def write(rows: Rows, shift: dict[str, int] | None) -> None:
        nonlocal done
        mark = time.perf_counter()
        for table in DATA_TABLES:
            writer.write(table, rows[table], shift)
            counts[table] += len(rows[table])
        done += len(rows["collection_case"])
        timing["insert"] += time.perf_counter() - mark
        report("cases", done, cases)

    report("cases", 0, cases)
    tail_rows: list[Rows] = []
    tail = _chunks_inline(spec, tail_plan, 1)
    if parallel:
        helper = _Helper(spec, main_plan)
        try:
            tail_left = len(tail_plan)
            while True:
                if tail_left and not helper.ready():
                    rows, seconds = next(tail)
                    timing["generate"] += seconds
                    tail_rows.append(rows)
                    tail_left -= 1
                    continue
                mark = time.perf_counter()
                item = helper.next()
                timing["wait"] += time.perf_counter() - mark
                if item is None:
                    break
                timing["generate"] += item[1]
                write(item[0], None)
        finally:
            helper.close()
    else:
        for rows, seconds in _chunks_inline(spec, main_plan, 0):
            timing["generate"] += seconds
            write(rows, None)
    for rows, seconds in tail:
        timing["generate"] += seconds
        tail_rows.append(rows)
    # The tail numbered its rows from 0; they follow the main stream's.
    shift = {t: next_ids[t] + counts[t] for t in DATA_TABLES}
    shift.update(borrower=0, collection_case=0)
    for rows in tail_rows:
        write(rows, shift)
    tail_rows.clear()
    phases["generate"] = timing["generate"]
    if parallel:
        # Generation overlaps the inserts; this is only the time spent waiting for rows.
        phases["wait"] = timing["wait"]
    phases["insert"] = timing["insert"]

    mark = time.perf_counter()
    first_borrower = next_ids["borrower"]
    last_borrower = first_borrower + counts["borrower"] - 1
    if counts["borrower"]:
        cursor.execute(
            "SELECT max(length(name)) FROM borrower WHERE id BETWEEN "
            f"{first_borrower} AND {last_borrower}"
        )
        longest = int(cursor.fetchone()[0] or 1)
        cursor.execute(bulk_name_grams_sql(first_borrower, last_borrower, longest))
    phases["name index"] = time.perf_counter() - mark

    mark = time.perf_counter()
    for i, sql in enumerate(dropped):
        report("indexes", i, len(dropped))
        cursor.execute(sql)
    report("indexes", len(dropped), len(dropped))
    if db.is_postgresql:
        for table in TABLES:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
        cursor.execute(f"ANALYZE {', '.join(TABLES)}")
    phases["indexes"] = time.perf_counter() - mark
    return first_case, first_case + cases - 1
