"""Yingkou's regions, departments, contacts, information systems and one account per role.

Everything except the regions (which have no service) is created through
``govdata.orgs.services`` acting as the platform itself, so the demo leaves the same audit
trail a real bureau would. Loading is idempotent: each object is looked up by its natural key
first (region code, credit code, username, contact (department, role, name), system
(department, name)) and only what is missing is created. All generated values (credit codes,
names, phone numbers) are derived from stable hashes, so every run wants the same data.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from django.db import transaction

from govdata.audit.services import record
from govdata.common import clock
from govdata.common.actor import Actor
from govdata.common.validators import USCC_ALPHABET, uscc_check_char
from govdata.orgs import services
from govdata.orgs.models import (
    Contact,
    ContactRole,
    Department,
    DepartmentKind,
    InformationSystem,
    Region,
    Role,
    Sector,
    User,
)
from govdata.orgs.selectors import is_stale

# The one password of every demo account (documented in README.md). Long enough for the
# platform's validators (min length 10, not common, not numeric, not like the user name).
DEMO_PASSWORD = "Yk-demo-2026"

CITY = "210800"
BAYUQUAN, GAIZHOU, DASHIQIAO = "210804", "210881", "210882"

# Administrative division codes (GB/T 2260) of Yingkou and its six county-level units.
REGIONS = [
    (CITY, "营口市", Region.Level.CITY),
    ("210802", "站前区", Region.Level.COUNTY),
    ("210803", "西市区", Region.Level.COUNTY),
    (BAYUQUAN, "鲅鱼圈区", Region.Level.COUNTY),
    ("210811", "老边区", Region.Level.COUNTY),
    (GAIZHOU, "盖州市", Region.Level.COUNTY),
    (DASHIQIAO, "大石桥市", Region.Level.COUNTY),
]

GOV = DepartmentKind.GOVERNMENT
INSTITUTION = DepartmentKind.AUTHORISED_INSTITUTION
SOCIAL = DepartmentKind.SOCIAL_ORGANISATION
UPPER = DepartmentKind.UPPER_LEVEL_UNIT
ENTERPRISE = DepartmentKind.PUBLIC_ENTERPRISE

# GB 32100 positions 1-2: registration authority + organisation type.
CREDIT_PREFIX = {GOV: "11", UPPER: "11", INSTITUTION: "12", SOCIAL: "51", ENTERPRISE: "91"}


@dataclass(frozen=True)
class Dept:
    name: str
    short_name: str
    region: str = CITY
    kind: str = GOV
    sector: str = ""
    parent: str = ""  # full name of the parent department
    staff: bool = True  # False: no day-to-day contact filed (shows up in the bureau's report)


DEPARTMENTS = [
    Dept("营口市大数据管理局", "市大数据管理局"),
    Dept("营口市发展和改革委员会", "市发展和改革委员会"),
    Dept("营口市教育局", "市教育局"),
    Dept("营口市科学技术局", "市科学技术局"),
    Dept("营口市工业和信息化局", "市工业和信息化局"),
    Dept("营口市公安局", "市公安局"),
    Dept("营口市民政局", "市民政局"),
    Dept("营口市司法局", "市司法局"),
    Dept("营口市财政局", "市财政局"),
    Dept("营口市人力资源和社会保障局", "市人力资源和社会保障局"),
    Dept("营口市自然资源局", "市自然资源局"),
    Dept("营口市生态环境局", "市生态环境局"),
    Dept("营口市住房和城乡建设局", "市住房和城乡建设局"),
    Dept("营口市交通运输局", "市交通运输局"),
    Dept("营口市农业农村局", "市农业农村局"),
    Dept("营口市商务局", "市商务局"),
    Dept("营口市文化旅游和广播电视局", "市文化旅游和广播电视局"),
    Dept("营口市卫生健康委员会", "市卫生健康委员会"),
    Dept("营口市退役军人事务局", "市退役军人事务局"),
    Dept("营口市应急管理局", "市应急管理局"),
    Dept("营口市审计局", "市审计局", staff=False),
    Dept("营口市市场监督管理局", "市市场监督管理局"),
    Dept("营口市统计局", "市统计局"),
    Dept("营口市医疗保障局", "市医疗保障局"),
    Dept("营口市城市管理综合行政执法局", "市城市管理综合行政执法局"),
    Dept("营口市水利局", "市水利局"),
    Dept("营口市营商环境建设局", "市营商环境建设局"),
    Dept("营口市住房公积金管理中心", "市住房公积金管理中心", kind=INSTITUTION),
    Dept("营口市红十字会", "市红十字会", kind=SOCIAL),
    # Art. 39: central and provincial units in the city.
    Dept("国家税务总局营口市税务局", "市税务局", kind=UPPER),
    Dept("营口市气象局", "市气象局", kind=UPPER),
    Dept("营口海关", "营口海关", kind=UPPER),
    # Art. 39: public enterprises and institutions, each with its sector.
    Dept("营口市水务集团", "市水务集团", kind=ENTERPRISE, sector=Sector.WATER),
    Dept("国网营口供电公司", "国网营口供电公司", kind=ENTERPRISE, sector=Sector.POWER),
    Dept("营口港华燃气", "营口港华燃气", kind=ENTERPRISE, sector=Sector.GAS, staff=False),
    Dept("营口市热电集团", "市热电集团", kind=ENTERPRISE, sector=Sector.HEATING),
    Dept("营口公交集团", "营口公交集团", kind=ENTERPRISE, sector=Sector.PUBLIC_TRANSPORT),
    Dept("营口市中心医院", "市中心医院", kind=ENTERPRISE, sector=Sector.HEALTH),
    # County-level units: each has its own data office and some departments.
    Dept("营口市鲅鱼圈区政务数据资源管理中心", "鲅鱼圈区数据中心", BAYUQUAN, INSTITUTION),
    Dept("营口市公安局鲅鱼圈分局", "鲅鱼圈区公安分局", BAYUQUAN, parent="营口市公安局"),
    Dept("营口市鲅鱼圈区市场监督管理局", "鲅鱼圈区市场监管局", BAYUQUAN),
    Dept("盖州市政务数据资源管理中心", "盖州市数据中心", GAIZHOU, INSTITUTION),
    Dept("盖州市卫生健康局", "盖州市卫生健康局", GAIZHOU),
    Dept("盖州市民政局", "盖州市民政局", GAIZHOU),
    Dept("大石桥市政务数据资源管理中心", "大石桥市数据中心", DASHIQIAO, INSTITUTION),
    Dept("大石桥市人力资源和社会保障局", "大石桥市人社局", DASHIQIAO, staff=False),
]

# (department, system, owner, status, connected, interface notes) — Art. 9 registrations.
NEW, EXISTING = InformationSystem.Status.NEW, InformationSystem.Status.EXISTING
SYSTEMS = [
    ("营口市公安局", "人口信息管理系统", "科技信息化支队", EXISTING, True, "人口基础信息经共享平台前置库每日增量推送。"),
    ("营口市公安局", "出入境证件管理系统", "出入境管理支队", EXISTING, False, "计划年内通过接口对接。"),
    ("营口市人力资源和社会保障局", "社会保障信息系统", "信息中心", EXISTING, True, "参保与待遇数据按日推送，提供参保状态查询接口。"),
    ("营口市人力资源和社会保障局", "就业创业服务平台", "就业服务科", NEW, False, ""),
    ("营口市自然资源局", "不动产登记系统", "不动产登记中心", EXISTING, True, "不动产权证书信息实时查询接口。"),
    ("营口市市场监督管理局", "企业信用信息公示系统", "信用监督管理科", EXISTING, True, "法人登记信息每日全量推送。"),
    ("营口市市场监督管理局", "食品安全追溯平台", "食品生产安全监督管理科", NEW, False, ""),
    ("营口市医疗保障局", "医保信息平台", "信息中心", EXISTING, True, "参保人员与结算数据经省平台回流后共享。"),
    ("营口市卫生健康委员会", "全民健康信息平台", "规划信息科", EXISTING, True, "出生医学证明、预防接种数据按日推送。"),
    ("营口市民政局", "社会救助信息系统", "社会救助科", EXISTING, False, "待对接：需提供低保、特困人员名单接口。"),
    ("营口市民政局", "婚姻登记管理系统", "婚姻登记处", EXISTING, True, "婚姻登记信息核验接口。"),
    ("营口市教育局", "学籍管理系统", "信息中心", EXISTING, False, ""),
    ("营口市住房和城乡建设局", "住房保障管理系统", "住房保障科", EXISTING, True, "保障房资格审核结果推送。"),
    ("营口市交通运输局", "道路运输管理系统", "运输服务科", EXISTING, False, ""),
    ("营口市生态环境局", "污染源在线监控系统", "生态环境监控中心", NEW, True, "监测数据每小时推送。"),
    ("营口市应急管理局", "安全生产监管信息系统", "科技和信息化科", NEW, False, ""),
    ("营口市营商环境建设局", "一体化政务服务平台", "政务服务中心", EXISTING, True, "办件信息与电子证照调用。"),
    ("营口市住房公积金管理中心", "住房公积金综合业务系统", "信息科", EXISTING, True, "缴存与贷款信息查询接口。"),
    ("国家税务总局营口市税务局", "涉税信息交换系统", "征管和科技发展科", EXISTING, True, "纳税信用等级按月交换。"),
    ("营口市水务集团", "供水营业收费系统", "信息技术部", EXISTING, False, ""),
    ("国网营口供电公司", "用电信息采集系统", "数字化工作部", EXISTING, True, "企业用电量按月推送。"),
    ("盖州市卫生健康局", "基层医疗卫生信息系统", "信息科", NEW, False, ""),
]

# Contacts whose confirmation is backdated so the staleness report (Art. 7) has content:
# (department, role) -> days since the last confirmation.
STALE = {
    ("营口市民政局", ContactRole.LEADER): 150,
    ("营口市水利局", ContactRole.STAFF): 200,
    ("营口市商务局", ContactRole.TEAM): 120,
    ("营口港华燃气", ContactRole.LEADER): 240,
    ("盖州市民政局", ContactRole.STAFF): 100,
}


@dataclass(frozen=True)
class Account:
    username: str
    role: str
    full_name: str
    department: str = ""  # full name
    region: str = ""  # division code, region admins only


ACCOUNTS = [
    Account("bureau", Role.BUREAU_ADMIN, "周立新", "营口市大数据管理局"),
    Account("gz-admin", Role.REGION_ADMIN, "孙海涛", "盖州市政务数据资源管理中心", region=GAIZHOU),
    Account("police-admin", Role.DEPARTMENT_ADMIN, "刘志强", "营口市公安局"),
    Account("police-staff", Role.DEPARTMENT_STAFF, "王晓燕", "营口市公安局"),
    Account("police-security", Role.SECURITY_OFFICER, "赵永刚", "营口市公安局"),
    Account("hrss-admin", Role.DEPARTMENT_ADMIN, "李春华", "营口市人力资源和社会保障局"),
    Account("evaluator", Role.EVALUATOR, "高明辉"),
    Account("citizen", Role.PUBLIC_USER, "陈思远"),
]

# --- deterministic identities ---------------------------------------------------------------

SURNAMES = [
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("赵", "zhao"), ("孙", "sun"),
    ("杨", "yang"), ("于", "yu"), ("高", "gao"), ("马", "ma"), ("徐", "xu"), ("陈", "chen"),
    ("郭", "guo"), ("韩", "han"), ("曲", "qu"), ("姜", "jiang"), ("崔", "cui"), ("吕", "lv"),
    ("宋", "song"), ("董", "dong"), ("田", "tian"), ("邹", "zou"), ("潘", "pan"), ("贾", "jia"),
    ("付", "fu"), ("邵", "shao"), ("孟", "meng"), ("秦", "qin"), ("隋", "sui"), ("丛", "cong"),
]
GIVEN_NAMES = [
    ("建国", "jianguo"), ("志强", "zhiqiang"), ("秀英", "xiuying"), ("丽娜", "lina"), ("海涛", "haitao"),
    ("俊杰", "junjie"), ("晓东", "xiaodong"), ("春华", "chunhua"), ("桂兰", "guilan"), ("玉梅", "yumei"),
    ("国庆", "guoqing"), ("洪波", "hongbo"), ("立新", "lixin"), ("雪梅", "xuemei"), ("宏伟", "hongwei"),
    ("振宇", "zhenyu"), ("丹", "dan"), ("磊", "lei"), ("静", "jing"), ("伟", "wei"), ("敏", "min"),
    ("博", "bo"), ("颖", "ying"), ("鹏", "peng"), ("鑫", "xin"), ("欣然", "xinran"), ("浩然", "haoran"),
    ("思远", "siyuan"), ("佳琪", "jiaqi"), ("文博", "wenbo"), ("晓燕", "xiaoyan"), ("永刚", "yonggang"),
    ("凤霞", "fengxia"), ("明辉", "minghui"), ("艳红", "yanhong"), ("少华", "shaohua"), ("立军", "lijun"),
    ("淑珍", "shuzhen"), ("宇航", "yuhang"), ("天宇", "tianyu"), ("梦瑶", "mengyao"), ("东升", "dongsheng"),
]
MOBILE_PREFIXES = ["130", "131", "133", "135", "137", "138", "139", "150", "151", "155", "158", "159",
                   "176", "180", "182", "186", "187", "189", "198"]  # fmt: skip
# Local exchanges (Yingkou area code 0417) by region, for plausible office numbers.
EXCHANGES = {CITY: "28", BAYUQUAN: "62", GAIZHOU: "78", DASHIQIAO: "56"}


def _digest(*parts: str) -> bytes:
    return hashlib.sha256("|".join(parts).encode("utf-8")).digest()


def _number(*parts: str, digits: int) -> str:
    return str(int.from_bytes(_digest(*parts)[:8], "big") % 10**digits).zfill(digits)


def org_code(name: str) -> str:
    """A GB 11714 organisation code (8 digits + its check character) derived from the name."""
    body = _number("org", name, digits=8)
    total = sum(int(c) * w for c, w in zip(body, (3, 7, 9, 10, 5, 8, 4, 2), strict=True))
    check = 11 - total % 11
    return body + {10: "X", 11: "0"}.get(check, str(check))


def credit_code(kind: str, division: str, name: str) -> str:
    """A valid GB 32100 unified social credit code, the same for the same name every time."""
    first17 = CREDIT_PREFIX[kind] + division + org_code(name)
    assert all(c in USCC_ALPHABET for c in first17)
    return first17 + uscc_check_char(first17)


def _leader_post(dept: Dept) -> str:
    name = dept.name
    if dept.kind == ENTERPRISE:
        title = "副院长" if name.endswith("医院") else "副总经理"
    elif name.endswith("海关"):
        title = "副关长"
    elif name.endswith("红十字会"):
        title = "专职副会长"
    elif name.endswith(("委员会", "中心")):
        title = "副主任"
    else:
        title = "副局长"
    return f"{title}（分管数据工作）"


def _team_post(dept: Dept) -> str:
    if dept.kind == ENTERPRISE:
        return "信息技术部经理"
    if dept.name.endswith("中心") and dept.region != CITY:
        return "数据资源科科长"
    return "科技信息化科科长" if dept.kind == UPPER else "信息中心主任"


def _staff_post(dept: Dept) -> str:
    return "数字化专员" if dept.kind == ENTERPRISE else "数据管理员"


@dataclass(frozen=True)
class ContactSpec:
    department: str
    role: str
    name: str
    post: str
    mobile: str
    office_phone: str
    email: str


def contact_specs() -> list[ContactSpec]:
    """Every department's contacts: a leader, a team member and (mostly) a staff contact.
    Names are unique across the demo and the same on every run."""
    used_names: set[str] = set()
    used_emails: set[str] = set()
    specs = []
    for dept in DEPARTMENTS:
        roles = [(ContactRole.LEADER, _leader_post(dept)), (ContactRole.TEAM, _team_post(dept))]
        if dept.staff:
            roles.append((ContactRole.STAFF, _staff_post(dept)))
        for role, post in roles:
            salt = 0
            while True:
                h = _digest("contact", dept.name, role, str(salt))
                surname, surname_py = SURNAMES[h[0] % len(SURNAMES)]
                given, given_py = GIVEN_NAMES[h[1] % len(GIVEN_NAMES)]
                if surname + given not in used_names:
                    break
                salt += 1
            used_names.add(surname + given)
            local = surname_py + given_py
            email_local, n = local, 1
            while email_local in used_emails:
                n += 1
                email_local = f"{local}{n}"
            used_emails.add(email_local)
            key = f"{dept.name}|{role}"
            mobile = MOBILE_PREFIXES[h[2] % len(MOBILE_PREFIXES)] + _number("mobile", key, digits=8)
            exchange = EXCHANGES.get(dept.region, "28")
            office = f"0417-{exchange}{_number('office', key, digits=5)}"
            specs.append(
                ContactSpec(dept.name, role, surname + given, post, mobile, office, f"{email_local}@yingkou.gov.cn")
            )
    return specs


# --- loading --------------------------------------------------------------------------------


def _regions() -> tuple[dict[str, Region], int]:
    """Regions have no service (they are fixed by the national division codes)."""
    created = 0
    out: dict[str, Region] = {}
    for code, name, level in REGIONS:
        parent = out.get(CITY) if level == Region.Level.COUNTY else None
        region, made = Region.objects.get_or_create(
            code=code, defaults={"name": name, "level": level, "parent": parent}
        )
        out[code] = region
        created += made
    return out, created


def _departments(actor: Actor, regions: dict[str, Region]) -> tuple[dict[str, Department], int]:
    created = 0
    out: dict[str, Department] = {}
    for dept in DEPARTMENTS:
        code = credit_code(dept.kind, dept.region, dept.name)
        department = Department.objects.filter(credit_code=code).first()
        if department is None:
            department = services.create_department(
                actor,
                name=dept.name,
                short_name=dept.short_name,
                credit_code=code,
                region=regions[dept.region],
                parent=out[dept.parent] if dept.parent else None,
                kind=dept.kind,
                sector=dept.sector,
            )
            created += 1
        out[dept.name] = department
    return out, created


def _contacts(actor: Actor, departments: dict[str, Department]) -> int:
    created = 0
    now = clock.now()
    for spec in contact_specs():
        department = departments[spec.department]
        if Contact.objects.filter(department=department, role=spec.role, name=spec.name).exists():
            continue
        contact = services.file_contact(
            actor,
            department,
            role=spec.role,
            name=spec.name,
            post=spec.post,
            mobile=spec.mobile,
            office_phone=spec.office_phone,
            email=spec.email,
        )
        created += 1
        stale_days = STALE.get((spec.department, spec.role))
        if stale_days:
            # Demo only: backdate the last confirmation so the bureau's staleness report has
            # something to show. Real confirmations go through services.confirm_contact.
            Contact.objects.filter(pk=contact.pk).update(confirmed_at=now - dt.timedelta(days=stale_days))
    return created


def _systems(actor: Actor, departments: dict[str, Department]) -> int:
    created = 0
    for department_name, name, owner, status, connected, notes in SYSTEMS:
        department = departments[department_name]
        if InformationSystem.objects.filter(department=department, name=name).exists():
            continue
        services.register_system(
            actor, department, name=name, owner=owner, status=status, connected=connected, interface_notes=notes
        )
        created += 1
    return created


def _accounts(actor: Actor, regions: dict[str, Region], departments: dict[str, Department]) -> int:
    created = 0
    for i, account in enumerate(ACCOUNTS):
        if User.objects.filter(username=account.username).exists():
            continue
        user = services.create_user(
            actor,
            username=account.username,
            password=DEMO_PASSWORD,
            full_name=account.full_name,
            department=departments[account.department] if account.department else None,
            role=account.role,
            region=regions[account.region] if account.region else None,
            email=f"{account.username.replace('-', '.')}@yingkou.gov.cn" if account.department else "",
            mobile=MOBILE_PREFIXES[i] + _number("account", account.username, digits=8),
        )
        created += 1
        if account.role == Role.BUREAU_ADMIN:
            # No service grants Django-admin access: the demo bureau admin also gets the
            # superuser/staff flags so /django-admin/ works (see permissions.can_use_admin_site).
            user.is_superuser = user.is_staff = True
            user.save(update_fields=["is_superuser", "is_staff"])
            record(actor, "orgs.user.update", user, department=user.department,
                   details={"is_superuser": True, "is_staff": True})  # fmt: skip
    return created


@transaction.atomic
def load() -> dict[str, int]:
    """Load (or complete) the organisations demo; returns totals per kind and how many
    objects this run created (0 when everything was there already)."""
    actor = Actor.platform()
    regions, created = _regions()
    departments, n = _departments(actor, regions)
    created += n
    created += _contacts(actor, departments)
    created += _systems(actor, departments)
    # People last: their inboxes would otherwise fill with "contacts changed" notices.
    created += _accounts(actor, regions, departments)

    names = [d.name for d in DEPARTMENTS]
    contacts = Contact.objects.filter(department__name__in=names, is_active=True)
    return {
        "regions": Region.objects.filter(code__in=[code for code, _name, _level in REGIONS]).count(),
        "departments": Department.objects.filter(name__in=names).count(),
        "contacts": contacts.count(),
        "stale contacts": sum(is_stale(c) for c in contacts),
        "information systems": InformationSystem.objects.filter(department__name__in=names).count(),
        "accounts": User.objects.filter(username__in=[a.username for a in ACCOUNTS]).count(),
        "created now": created,
    }
