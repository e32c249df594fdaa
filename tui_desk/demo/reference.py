"""Reference data the demo book is drawn from: cities, names, products, notes, shares."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tui_desk.db.models import (
    AppointmentStatus,
    CaseStatus,
    DocumentKind,
    HoldKind,
    Outcome,
    Stage,
    VisitOutcome,
)


@dataclass(frozen=True)
class City:
    name: str
    area_code: str
    weight: int
    streets: tuple[str, ...]
    districts: tuple[tuple[str, str], ...]  # (GB/T 2260 code, district name)


CITIES: tuple[City, ...] = (
    City("北京", "10", 20, ("建国路", "朝阳北路", "中关村大街", "学院路", "西直门外大街", "丰台北路"),
          (("110101", "东城区"), ("110102", "西城区"), ("110105", "朝阳区"), ("110106", "丰台区"),
           ("110107", "石景山区"), ("110108", "海淀区"), ("110112", "通州区"))),
    City("上海", "21", 20, ("南京西路", "淮海中路", "世纪大道", "漕溪北路", "四川北路", "长宁路"),
          (("310101", "黄浦区"), ("310104", "徐汇区"), ("310105", "长宁区"), ("310106", "静安区"),
           ("310107", "普陀区"), ("310109", "虹口区"), ("310110", "杨浦区"), ("310112", "闵行区"),
           ("310115", "浦东新区"))),
    City("广州", "20", 14, ("天河路", "中山五路", "江南大道中", "广州大道北", "黄埔大道西"),
          (("440103", "荔湾区"), ("440104", "越秀区"), ("440105", "海珠区"), ("440106", "天河区"),
           ("440111", "白云区"), ("440113", "番禺区"))),
    City("深圳", "755", 14, ("深南大道", "华强北路", "科技园路", "建设路", "宝安大道"),
          (("440303", "罗湖区"), ("440304", "福田区"), ("440305", "南山区"), ("440306", "宝安区"),
           ("440307", "龙岗区"))),
    City("成都", "28", 11, ("人民南路", "春熙路", "蜀都大道", "天府大道", "一环路西"),
          (("510104", "锦江区"), ("510105", "青羊区"), ("510106", "金牛区"), ("510107", "武侯区"),
           ("510108", "成华区"))),
    City("杭州", "571", 10, ("文三路", "延安路", "莫干山路", "江南大道", "天目山路"),
          (("330102", "上城区"), ("330105", "拱墅区"), ("330106", "西湖区"), ("330108", "滨江区"))),
    City("武汉", "27", 11, ("解放大道", "中山大道", "珞喻路", "武珞路", "建设大道"),
          (("420102", "江岸区"), ("420103", "江汉区"), ("420104", "硚口区"), ("420105", "汉阳区"),
           ("420106", "武昌区"), ("420111", "洪山区"))),
)  # fmt: skip

# Common surnames, weighted roughly by frequency (the first few cover a third of people).
SURNAMES = (
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
COMPOUND_SURNAMES = (
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
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰文辉建国红志鹏宇浩婷雪琳晨欣怡子涵梓轩"
    "博思佳雨嘉俊鑫斌飞海燕丹萍阳晓玲慧颖健凯亮波宁岚昊然诗琪瑶晴睿泽彤妍"
)
COMPANIES = (
    "华信科技有限公司", "恒通物流有限公司", "新锐网络科技有限公司", "鼎盛建设工程有限公司",
    "顺达餐饮管理有限公司", "金源商贸有限公司", "博远教育咨询有限公司", "瑞康医药连锁有限公司",
)  # fmt: skip

MOBILE_PREFIXES = (
    "138", "139", "150", "151", "186", "187", "135", "136", "137", "158", "159", "188",
    "177", "199",
)  # fmt: skip


@dataclass(frozen=True)
class Product:
    name: str
    low_yuan: int
    steps: int
    step_yuan: int
    rates_bp: tuple[int, ...]  # annual rate in basis points (1/10000)
    terms: tuple[int, ...]
    monthly_fee_minor: int


PRODUCTS: tuple[tuple[Product, int], ...] = (
    (Product("credit_card", 5_000, 76, 1_000, (1825,), (12,), 0), 35),
    (Product("consumer_loan", 10_000, 191, 1_000,
              (435, 599, 720, 899, 1080, 1299, 1540), (12, 24, 36), 5_000), 35),
    (Product("cash_advance", 2_000, 57, 500, (1825, 2160, 2400), (3, 6, 12), 1_500), 15),
    (Product("auto_loan", 50_000, 51, 5_000, (350, 420, 499, 580, 650), (24, 36, 60), 0), 15),
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
DEPTH = {s: i for i, s in enumerate(Stage)}

PHONE_OUTCOMES = (
    (Outcome.NO_ANSWER, 35), (Outcome.BUSY, 8), (Outcome.LEFT_MESSAGE, 7),
    (Outcome.WRONG_NUMBER, 2), (Outcome.THIRD_PARTY, 5), (Outcome.REFUSED, 8),
    (Outcome.PROMISE, 15), (Outcome.CALLBACK, 12),
)  # fmt: skip
SMS_OUTCOMES = ((Outcome.SENT, 30), (Outcome.DELIVERED, 65), (Outcome.FAILED, 5))
ANSWERED = frozenset(
    o.value for o in (Outcome.REFUSED, Outcome.PROMISE, Outcome.CALLBACK, Outcome.AGREES_VISIT)
)
SMS = frozenset(o.value for o, _w in SMS_OUTCOMES)
# Plain strings in the hot loop: enum attribute access costs more than the rest of a row.
PROMISE, CALLBACK = Outcome.PROMISE.value, Outcome.CALLBACK.value
OPEN, CLOSED = CaseStatus.OPEN.value, CaseStatus.CLOSED.value
DONE = AppointmentStatus.DONE.value
THIRD_PARTY = Outcome.THIRD_PARTY.value
# StrEnum keys hash and compare as their values, so plain strings look these up.
NOTES: dict[str, tuple[str | None, ...]] = {
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

DOC_DESCRIPTIONS = {
    DocumentKind.IDENTITY: ("居民身份证正反面复印件", "居民身份证原件核验", "护照复印件"),
    DocumentKind.RESIDENCE: ("户口簿复印件", "居住证", "房屋租赁合同"),
    DocumentKind.INCOME: ("近六个月工资流水", "单位收入证明", "个税缴纳记录", "近六个月银行流水"),
    DocumentKind.OTHER: ("医疗诊断证明", "失业证明", "房产证复印件", "车辆行驶证"),
}
DOC_REJECTIONS = (
    "复印件字迹模糊，无法辨认",
    "证明材料已过期，请提供近三个月内的材料",
    "材料缺页，请补齐后重新提交",
    "姓名与登记信息不一致",
)
VISIT_NOTES = {
    VisitOutcome.PLAN_DISCUSSED.value: "现场核查无误，与借款人讨论分期还款方案",
    VisitOutcome.PAID_AT_DOOR.value: "借款人现场全额还款，已开具收据",
    VisitOutcome.REFUSED.value: "借款人拒绝协商还款方案",
}
DOC_VERIFIED = ("与原件核对一致", "信息核验无误")
HOLD_REASONS = {
    HoldKind.DISPUTE: "借款人对逾期金额有异议，账务核实中",
    HoldKind.LITIGATION: "已进入诉讼程序，暂停催收",
    HoldKind.DECEASED: "家属告知借款人已身故，待核实",
    HoldKind.BANKRUPTCY: "借款人申请个人破产，暂停催收",
    HoldKind.COMPLAINT: "借款人投诉催收人员，调查期间暂停",
    HoldKind.CEASE_CONTACT: "借款人书面要求停止电话联系",
    HoldKind.FALSE_DOCUMENTS: "提交材料疑似伪造，暂停上门服务",
}
HOLD_KINDS = tuple(HOLD_REASONS)
COMPLAINTS = (
    "催收员上门时未出示工作证",
    "催收电话过于频繁，影响正常工作",
    "催收人员态度恶劣，言语带有威胁",
    "晚上十点后仍接到催收电话",
    "向家人透露了借款信息",
)
RESOLUTIONS = (
    "已核实，对相关人员批评教育并向借款人致歉",
    "经调取录音核实，催收过程合规，已向借款人解释",
    "已调整联系频率并更换经办坐席",
)

SLOTS_LOCAL = (540, 630, 810, 900, 990)  # 09:00 10:30 13:30 15:00 16:30, 60 min + 30 travel
# Slots and ID sequence numbers (low, count) of the main and the tail stream.
STREAM_SLOTS = ((0, 1, 3), (2, 4))
STREAM_SEQ = ((0, 800), (800, 200))
VISIT_MINUTES = 60
TZ_OFFSET = 480  # Asia/Shanghai is UTC+8 all year (no daylight saving)


def draw_name(r: Callable[[], float]) -> str:
    """A Chinese full name: mostly two or three characters, now and then a compound surname."""
    given = GIVEN[int(r() * len(GIVEN))]
    if r() < 0.62:
        given += GIVEN[int(r() * len(GIVEN))]
    if r() < 0.012:
        return COMPOUND_SURNAMES[int(r() * len(COMPOUND_SURNAMES))] + given
    return SURNAMES[int(r() * len(SURNAMES))] + given


def weighted_table(pairs: Sequence[tuple[Any, int]]) -> list[Any]:
    """Expand (value, weight) pairs into a lookup table indexed by ``int(random() * len)``."""
    table: list[Any] = []
    for value, weight in pairs:
        table.extend([value] * weight)
    return table
