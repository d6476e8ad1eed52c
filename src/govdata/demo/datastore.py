"""Demo data for the datastore (issue #4): table, file and interface resources under the
published demo catalog entries, made through the datastore services the way a provider and
the bureau would (mount, load, upload, register, submit, publish), so that data versions,
validation and the audit trail are real. The platform itself acts, as in the rest of the demo.

Rows are generated, never copied from real registers, and every resource says so. One
population of residents and one register of enterprises (seeded random, the same on every
run) stand behind all the tables: the credit code in a permit is that of an enterprise in the
legal-entity register, and a resident's ID number, sex and birth date agree. A generator per
recognised data item (ID number, credit code, name, address, date, amount …), with a fallback
per data type, fills any entry's columns with values valid for the column; a load refusing
anything stops the demo with the load's report.

Files are small genuine PDF, DOCX, XLSX, PNG and ZIP files written here (uploads are sniffed);
the e-licences carry their holder's credit code or ID number. The interface resource points at
the platform's own stand-in upstream (``demo.upstream``).

Idempotent: a resource is looked up by its entry and kind and made, in one transaction, only
when missing; a second run adds nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import itertools
import json
import math
import random
import re
import struct
import zipfile
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

from django.db import transaction
from openpyxl import Workbook
from openpyxl.styles import Font

from govdata.catalog.models import CatalogEntry
from govdata.catalog.vocab import DataType
from govdata.common.actor import Actor
from govdata.common.validators import id_check_char, uscc_check_char
from govdata.datastore import services
from govdata.datastore.models import (
    ApiEndpoint,
    DataVersion,
    FileObject,
    Resource,
    ResourceColumn,
)
from govdata.datastore.services import apis, files, loads

from . import upstream
from .catalog import SPECS
from .orgs import DEPARTMENTS, MOBILE_PREFIXES, SURNAMES, org_code

# The day the generated data describe (so reruns on other days give the same rows); before the
# test suite's frozen clock, so no ID number's birth date is ever in the future.
AS_OF = dt.date(2026, 3, 1)
SEED = "govdata-demo-datastore"
KEY_ATTEMPTS = 30
PEOPLE, COMPANIES, SOCIETIES = 6000, 2200, 300
FICTION = "演示数据：按规则随机生成，不对应真实的人员、单位和事项。"

Kind = Resource.Kind

# --- places ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class District:
    code: str
    name: str
    centre: tuple[float, float]  # longitude, latitude
    streets: tuple[str, ...]  # 街道
    roads: tuple[str, ...]
    towns: tuple[str, ...] = ()  # 镇
    weight: int = 10  # share of the population
    industries: tuple[str, ...] = ()  # what local enterprises often do

    @property
    def full(self) -> str:
        """How an address begins: a city district under 营口市, a county-level city alone."""
        return self.name if self.name.endswith("市") else f"营口市{self.name}"


DISTRICTS = (
    District("210802", "站前区", (122.265, 40.672), ("跃进街道", "建设街道", "八田地街道", "东风街道", "新兴街道", "新建街道"),
             ("渤海大街", "金牛山大街", "学府路", "市府路", "盼盼路", "新华路", "东升路", "建丰街"), weight=18,
             industries=("商贸", "餐饮管理", "网络科技", "酒店管理")),
    District("210803", "西市区", (122.215, 40.667), ("得胜街道", "五台子街道", "渔市街道", "清华街道", "滨海街道"),
             ("辽河大街", "新兴大街", "渔市街", "得胜路", "清华路", "西大街", "民主街"), weight=14,
             industries=("水产", "港口物流", "商贸")),
    District("210804", "鲅鱼圈区", (122.121, 40.266), ("海星街道", "海东街道", "望海街道", "红海街道", "山海街道"),
             ("昆仑大街", "黄河路", "长江路", "天山路", "平安路", "海星路", "望海路"), ("熊岳镇", "芦屯镇", "红旗镇"), weight=18,
             industries=("港口物流", "化工", "新材料", "机械制造")),
    District("210811", "老边区", (122.380, 40.680), ("城东街道", "老边街道"),
             ("柳树路", "边城路", "民兴路", "城东路", "老边大街"), ("柳树镇", "边城镇", "路南镇"), weight=8,
             industries=("农业开发", "机械制造")),
    District("210881", "盖州市", (122.355, 40.405), ("鼓楼街道", "西城街道", "东城街道", "团山街道", "西海街道"),
             ("鼓楼路", "西城路", "东城路", "建设街", "团山路", "盖州大街"),
             ("九寨镇", "青石岭镇", "双台镇", "万福镇", "高屯镇", "沙岗镇", "杨运镇", "什字街镇"), weight=22,
             industries=("果业", "水产", "农业开发")),
    District("210882", "大石桥市", (122.509, 40.644), ("石桥街道", "钢都街道", "青花街道", "金桥街道"),
             ("哈大路", "青花大街", "金桥大街", "钢都大街", "石桥大街", "建设大街"),
             ("水源镇", "沟沿镇", "石佛镇", "高坎镇", "旗口镇", "虎庄镇", "官屯镇", "博洛铺镇", "汤池镇", "周家镇"), weight=20,
             industries=("镁业", "耐火材料", "化工")),
)  # fmt: skip
VILLAGE_HEADS = ("东", "西", "南", "北", "前", "后", "大", "小", "王家", "李家", "张家", "高家", "石门", "双河")
VILLAGE_TAILS = ("屯", "沟", "岭", "堡", "台", "甸子", "房身", "营子")


@dataclass(frozen=True)
class Place:
    district: District
    area: str  # the 街道 or 镇
    road: str
    address: str
    lng: float
    lat: float

    @property
    def rural(self) -> bool:
        return self.area.endswith("镇")

    @property
    def stem(self) -> str:
        """The area's name without 街道 / 镇, as schools and shops are named after it."""
        return self.area.removesuffix("街道").removesuffix("镇")


def make_place(rng: random.Random, district: District | None = None, *, rural: bool | None = None) -> Place:
    district = district or rng.choices(DISTRICTS, [d.weight for d in DISTRICTS])[0]
    if rural is None:
        rural = bool(district.towns) and rng.random() < 0.3
    lng, lat = district.centre
    if rural and district.towns:
        area = rng.choice(district.towns)
        road = rng.choice(VILLAGE_HEADS) + rng.choice(VILLAGE_TAILS) + "村"
        address = f"{district.full}{area}{road}{rng.randint(1, 12)}组{rng.randint(1, 180)}号"
        spread = 0.10
    else:
        area, road = rng.choice(district.streets), rng.choice(district.roads)
        address = f"{district.full}{area}{road}{rng.randint(1, 299)}号"
        spread = 0.025
    return Place(
        district, area, road, address,
        round(lng + rng.uniform(-spread, spread), 6), round(lat + rng.uniform(-spread, spread), 6),
    )  # fmt: skip


# --- the population and the enterprises -----------------------------------------------------

MALE_NAMES = ("建国", "志强", "海涛", "俊杰", "晓东", "国庆", "洪波", "立新", "宏伟", "振宇", "磊", "伟", "博", "鹏", "鑫",
              "浩然", "文博", "永刚", "明辉", "少华", "立军", "宇航", "天宇", "东升", "长江", "德胜", "铁军", "子轩", "一鸣", "宝山")  # fmt: skip
FEMALE_NAMES = ("秀英", "丽娜", "春华", "桂兰", "玉梅", "雪梅", "丹", "静", "敏", "颖", "欣然", "思远", "佳琪", "晓燕", "凤霞",
                "艳红", "淑珍", "梦瑶", "秀兰", "玉兰", "海燕", "丽华", "婷婷", "雨桐", "诗涵", "红梅", "晓丽", "美玲", "慧敏", "若曦")  # fmt: skip
# GB/T 3304 nationality codes as Yingkou's population has them: Han, Manchu, Mongol, Hui, Korean.
NATIONALITIES = (("01", 88), ("11", 9), ("02", 1), ("03", 1), ("10", 1))
BRANDS = ("华信", "鑫源", "恒达", "金港", "海通", "宏达", "北方", "辽滨", "瑞丰", "东盛", "兴业", "永泰", "天成", "博远",
          "中诚", "新港", "盛隆", "德润", "万通", "嘉禾", "富源", "润丰", "鼎盛", "祥和", "海晟", "金诺", "华宇", "龙腾",
          "益民", "鸿运", "辰光", "青松", "晨阳", "长兴", "利民", "众诚", "中泰", "佳和", "望海", "辽河")  # fmt: skip
INDUSTRIES = {
    "镁业": "镁砂、镁质耐火材料生产、销售；货物进出口",
    "耐火材料": "耐火材料生产、销售；冶金炉料销售；技术进出口",
    "港口物流": "普通货运；货物仓储（不含危险化学品）；国际货运代理；装卸搬运",
    "水产": "水产品养殖、加工、冷藏、销售",
    "果业": "水果种植、收购、储藏、销售；农产品初加工",
    "食品": "食品生产；食品销售；农副产品收购",
    "餐饮管理": "餐饮服务；餐饮管理；食品销售（仅销售预包装食品）",
    "商贸": "日用百货、五金交电、建筑材料销售；食品销售",
    "建筑工程": "房屋建筑和市政基础设施项目工程总承包；建设工程施工；土石方工程施工",
    "房地产开发": "房地产开发经营；物业管理；房屋租赁",
    "机械制造": "通用设备制造；机械零部件加工；金属结构制造",
    "汽车销售": "汽车新车销售；二手车经销；汽车零配件零售",
    "新材料": "新材料技术研发；合成材料制造（不含危险化学品）",
    "化工": "化工产品生产（不含许可类化工产品）；化工产品销售",
    "医药连锁": "药品零售；医疗器械销售；保健食品销售",
    "网络科技": "软件开发；信息系统集成服务；互联网数据服务",
    "装饰工程": "住宅室内装饰装修；建筑装饰材料销售",
    "农业开发": "谷物种植；蔬菜种植；农产品初加工",
    "酒店管理": "住宿服务；餐饮服务；酒店管理",
    "服装": "服装制造；服装服饰批发、零售",
}
# Sole traders (个体工商户): (shop, industry).
SHOPS = (("水饺馆", "餐饮"), ("烧烤店", "餐饮"), ("海鲜大排档", "餐饮"), ("面馆", "餐饮"), ("熟食店", "食品零售"),
         ("便利店", "食品零售"), ("超市", "食品零售"), ("水果店", "食品零售"), ("粮油店", "食品零售"), ("五金商店", "零售"),
         ("汽车修理部", "维修"), ("理发店", "生活服务"))  # fmt: skip
SHOP_SCOPE = {
    "餐饮": "餐饮服务（小型餐馆）",
    "食品零售": "食品销售；日用百货销售",
    "零售": "五金产品、日用百货零售",
    "维修": "机动车修理和维护",
    "生活服务": "理发服务",
}
# Who builds: developers, contractors and manufacturers putting up plants.
BUILDERS_AND_OWNERS = (
    "房地产开发",
    "建筑工程",
    "机械制造",
    "化工",
    "新材料",
    "港口物流",
    "镁业",
    "耐火材料",
    "酒店管理",
    "食品",
)
FOOD_TRADES = ("食品", "餐饮管理", "商贸", "酒店管理", "水产", "果业", "餐饮", "食品零售")
CAPITALS = ((50, 10), (100, 20), (200, 12), (300, 10), (500, 14), (800, 5), (1000, 12), (2000, 6), (3000, 4),
            (5000, 4), (10000, 2), (20000, 1))  # fmt: skip
# Social organisations: (name ending, credit-code type, supervising department or "" when
# registered directly).
SOCIETY_SUBJECTS = (
    ("餐饮烹饪协会", "51", "营口市商务局"), ("物流协会", "51", "营口市交通运输局"),
    ("软件和信息服务业协会", "51", "营口市工业和信息化局"), ("建筑业协会", "51", "营口市住房和城乡建设局"),
    ("房地产业协会", "51", "营口市住房和城乡建设局"), ("个体劳动者协会", "51", "营口市市场监督管理局"),
    ("书法家协会", "51", "营口市文化旅游和广播电视局"), ("摄影家协会", "51", "营口市文化旅游和广播电视局"),
    ("篮球协会", "51", "营口市文化旅游和广播电视局"), ("围棋协会", "51", "营口市文化旅游和广播电视局"),
    ("老年人体育协会", "51", "营口市文化旅游和广播电视局"), ("医师协会", "51", "营口市卫生健康委员会"),
    ("护理学会", "51", "营口市卫生健康委员会"), ("养老服务业协会", "51", "营口市民政局"), ("慈善总会", "51", "营口市民政局"),
    ("教育学会", "51", "营口市教育局"), ("科技咨询服务协会", "51", "营口市科学技术局"), ("水产流通行业商会", "51", ""),
    ("汽车流通行业商会", "51", ""), ("职业技能培训学校", "52", "营口市人力资源和社会保障局"),
    ("幼儿园", "52", "营口市教育局"), ("养老服务中心", "52", "营口市民政局"), ("社会工作服务中心", "52", "营口市民政局"),
    ("康复中心", "52", "营口市卫生健康委员会"), ("教育发展基金会", "53", "营口市教育局"),
    ("见义勇为基金会", "53", "营口市公安局"),
)  # fmt: skip


@dataclass(frozen=True)
class Person:
    id_number: str
    name: str
    sex: str  # GB/T 2261.1: 1 male, 2 female
    birth: dt.date
    address: str
    mobile: str

    @property
    def age(self) -> int:
        return AS_OF.year - self.birth.year - ((AS_OF.month, AS_OF.day) < (self.birth.month, self.birth.day))


@dataclass(frozen=True)
class Company:
    code: str
    name: str
    industry: str
    place: Place
    representative: Person
    founded: dt.date
    capital: str  # 万元
    scope: str
    supervisor: str = ""  # social organisations: the supervising department


@dataclass(frozen=True)
class World:
    people: tuple[Person, ...]
    companies: tuple[Company, ...]
    societies: tuple[Company, ...]


def credit_code(kind: str, division: str, name: str) -> str:
    """A GB 32100 code: registration kind (91 enterprise, 92 sole trader, 51-53 social
    organisations), the division, an organisation code derived from the name, the check char."""
    first17 = kind + division + org_code(name)
    return first17 + uscc_check_char(first17)


def _mobile(rng: random.Random) -> str:
    return rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"


def _person(rng: random.Random, used: set[str]) -> Person:
    place = make_place(rng)
    sex = rng.choice("12")
    age = min(int(rng.triangular(0, 95, 42)), 94)
    birth = AS_OF - dt.timedelta(days=age * 365 + rng.randint(1, 360))
    while True:
        # GB 11643: address code, birth date, a sequence number odd for men and even for women.
        first17 = f"{place.district.code}{birth:%Y%m%d}{rng.randrange(500) * 2 + (sex == '1'):03d}"
        if first17 not in used:
            used.add(first17)
            break
    given = rng.choice(MALE_NAMES if sex == "1" else FEMALE_NAMES)
    home = (
        place.address
        if place.rural
        else f"{place.address}{rng.randint(1, 12)}单元{rng.randint(1, 7)}0{rng.randint(1, 4)}室"
    )
    return Person(first17 + id_check_char(first17), rng.choice(SURNAMES)[0] + given, sex, birth, home, _mobile(rng))


def _company(rng: random.Random, people: Sequence[Person], used: set[str]) -> Company:
    district = rng.choices(DISTRICTS, [d.weight for d in DISTRICTS])[0]
    place = make_place(rng, district)
    owner = rng.choice([p for p in rng.sample(people, 8) if 25 <= p.age <= 70] or people[:1])
    if rng.random() < 0.18:
        shop, industry = rng.choice(SHOPS)
        name = f"{district.name}{owner.name[0]}{rng.choice('记家氏')}{shop}"
        kind, capital, scope = "92", f"{rng.choice((3, 5, 10, 20, 30))}.00", SHOP_SCOPE[industry]
    else:
        industry = rng.choice(district.industries) if rng.random() < 0.4 else rng.choice(tuple(INDUSTRIES))
        prefix = (
            district.name if district.name.endswith("市") and rng.random() < 0.6 else rng.choice(("营口", "营口市"))
        )
        form = rng.choices(("有限公司", "有限责任公司", "股份有限公司"), (80, 15, 5))[0]
        name = f"{prefix}{rng.choice(BRANDS)}{industry}{form}"
        amount = rng.choices([c for c, _w in CAPITALS], [w for _c, w in CAPITALS])[0]
        kind, capital, scope = "91", f"{amount}.00", INDUSTRIES[industry]
    if name in used:
        return _company(rng, people, used)
    used.add(name)
    founded = AS_OF - dt.timedelta(days=int(rng.triangular(30, 30 * 365, 6 * 365)))
    return Company(credit_code(kind, district.code, name), name, industry, place, owner, founded, capital, scope)


def _society(rng: random.Random, people: Sequence[Person], used: set[str]) -> Company:
    ending, kind, supervisor = rng.choice(SOCIETY_SUBJECTS)
    district = rng.choices(DISTRICTS, [d.weight for d in DISTRICTS])[0]
    if kind == "52":
        name = (
            f"营口{rng.choice(BRANDS)}{ending}"
            if rng.random() < 0.6
            else f"{district.full}{rng.choice(BRANDS)}{ending}"
        )
    else:
        name = f"{rng.choice(('营口市', district.full))}{ending}"
    if name in used:
        return _society(rng, people, used)
    used.add(name)
    place = make_place(rng, district, rural=False)
    head = rng.choice([p for p in rng.sample(people, 8) if 30 <= p.age <= 75] or people[:1])
    founded = AS_OF - dt.timedelta(days=rng.randint(200, 25 * 365))
    capital = f"{rng.choice((3, 10, 30, 50, 200, 400))}.00"
    scope = f"{ending.removesuffix('协会').removesuffix('学会')}领域的交流、培训、咨询服务"
    return Company(
        credit_code(kind, district.code, name), name, ending, place, head, founded, capital, scope, supervisor
    )


@functools.cache
def world() -> World:
    """The residents and organisations every table draws from (built once per process)."""
    rng = random.Random(f"{SEED}|world")
    used_ids: set[str] = set()
    people = tuple(_person(rng, used_ids) for _ in range(PEOPLE))
    names: set[str] = set()
    companies = tuple(_company(rng, people, names) for _ in range(COMPANIES))
    societies = tuple(_society(rng, people, names) for _ in range(SOCIETIES))
    return World(people, companies, societies)


# --- things rows talk about -----------------------------------------------------------------

# Weekly price monitoring: (product, specification, usual price in yuan, seasonal swing).
PRODUCTS = (
    ("粳米", "一级 500克", 3.10, 0.02), ("面粉", "富强粉 500克", 2.90, 0.02), ("大豆油", "5升 桶装", 72.00, 0.03),
    ("花生油", "5升 桶装", 135.00, 0.03), ("猪肉", "精瘦肉 500克", 15.50, 0.08), ("五花肉", "500克", 14.00, 0.08),
    ("牛肉", "腿肉 500克", 42.00, 0.04), ("羊肉", "腿肉 500克", 40.00, 0.06), ("鸡蛋", "鲜鸡蛋 500克", 5.20, 0.10),
    ("白条鸡", "500克", 10.50, 0.05), ("带鱼", "冻 500克", 22.00, 0.05), ("鲅鱼", "鲜 500克", 18.00, 0.15),
    ("大白菜", "500克", 1.30, 0.35), ("土豆", "500克", 1.80, 0.20), ("西红柿", "500克", 3.50, 0.35),
    ("黄瓜", "500克", 3.20, 0.35), ("芹菜", "500克", 2.80, 0.30), ("茄子", "500克", 3.00, 0.30),
    ("青椒", "500克", 3.60, 0.30), ("豆角", "500克", 4.50, 0.35), ("苹果", "富士 500克", 5.50, 0.10),
    ("香蕉", "500克", 4.20, 0.05), ("葡萄", "巨峰 500克", 7.00, 0.30), ("牛奶", "250毫升 袋装", 1.60, 0.0),
)  # fmt: skip
PRODUCT_BY_NAME = {p[0]: p for p in PRODUCTS}
AIR_STATIONS = ("市监测站", "植物园", "西炮台", "老边", "鲅鱼圈", "盖州", "大石桥")
# HJ 633-2012: PM2.5 concentration breakpoints (µg/m³) and the air quality sub-index at each.
PM25_BREAKS = ((0, 0), (35, 50), (75, 100), (115, 150), (150, 200), (250, 300), (350, 400), (500, 500))
CITY_CASES = (
    "暴露垃圾",
    "占道经营",
    "乱堆物料",
    "井盖破损",
    "违规户外广告",
    "道路破损",
    "绿地脏乱",
    "私搭乱建",
    "渣土撒漏",
    "路灯损坏",
)
INSURANCES = (
    ("企业职工基本养老保险", 35),
    ("职工基本医疗保险", 30),
    ("城乡居民基本养老保险", 15),
    ("失业保险", 12),
    ("工伤保险", 8),
)
# Who decides permits and penalties: (document-number prefix, what it permits, what it punishes).
AUTHORITIES = (
    ("营市监", ("食品经营许可（新办）", "食品经营许可（延续）", "特种设备使用登记", "药品经营许可（零售）"),
     ("未按规定公示营业执照", "销售超过保质期的食品", "发布虚假广告", "使用未经检验的特种设备")),
    ("营住建", ("建筑工程施工许可", "商品房预售许可"), ("未取得施工许可擅自施工", "未按规定办理竣工验收备案")),
    ("营交运", ("道路货物运输经营许可", "道路旅客运输经营许可"), ("未取得道路运输经营许可从事货物运输", "货运车辆超限运输")),
    ("营环", ("排污许可", "建设项目环境影响报告表批复"), ("超标排放大气污染物", "未按规定办理排污许可")),
    ("营卫健", ("公共场所卫生许可", "医疗机构执业登记"), ("未取得卫生许可证从事公共场所经营", "未按规定进行从业人员健康检查")),
    ("营应急", ("危险化学品经营许可", "安全生产许可"), ("未按要求开展安全生产隐患排查", "未按规定设置安全警示标志")),
    ("营城管", ("户外广告设置许可", "城市道路占用挖掘许可"), ("违规占道经营", "擅自设置户外广告")),
)  # fmt: skip
PURCHASES = ("办公设备", "信息化系统运维服务", "公务用车", "物业管理服务", "网络安全等级保护测评服务", "档案数字化加工服务",
             "办公家具", "政务云资源租赁服务", "食堂食材配送服务", "印刷服务", "专项审计服务", "视频监控系统升级改造")  # fmt: skip
ESTATES = ("滨海湾", "学府壹号", "御景园", "金港湾", "观澜府", "锦绣华庭", "海悦城", "辽河名苑", "山海壹号", "望海花园",
           "龙湖花园", "翡翠城", "书香苑", "阳光水岸")  # fmt: skip
WARNINGS = {
    "winter": ("寒潮", "大风", "暴雪", "道路结冰", "大雾"),
    "summer": ("暴雨", "雷电", "高温", "大风", "冰雹"),
    "other": ("大风", "大雾", "寒潮", "暴雨", "森林火险"),
}
CN_DIGITS = "零一二三四五六七八九"


def cn_number(n: int) -> str:
    """1-99 in Chinese numerals, as schools are numbered (第二十九中学)."""
    if n < 10:
        return CN_DIGITS[n]
    tens, units = divmod(n, 10)
    return ("十" if tens == 1 else CN_DIGITS[tens] + "十") + (CN_DIGITS[units] if units else "")


@dataclass(frozen=True)
class Institution:
    name: str
    category: str
    size: int  # beds, pupils or people sheltered


def _hospital(row: Row) -> Institution:
    rng, place = row.rng, row.place()
    full = place.district.full
    kind = rng.choices(("综合医院", "中医医院", "专科医院", "基层", "诊所", "门诊部"), (2, 1, 2, 6, 10, 3))[0]
    if kind == "综合医院":
        return Institution(
            f"{full}{rng.choice(('人民', '第二人民', '中心', '友谊', '康宁', '仁济'))}医院", kind, rng.randint(120, 900)
        )
    if kind == "中医医院":
        return Institution(f"{full}{rng.choice(('', '中西医结合'))}中医院", kind, rng.randint(60, 300))
    if kind == "专科医院":
        speciality = rng.choice(("眼科", "口腔", "骨科", "妇产", "肛肠", "康复"))
        return Institution(f"营口{rng.choice(BRANDS)}{speciality}医院", kind, rng.randint(20, 200))
    if kind == "基层":
        if place.rural:
            return Institution(f"{full}{place.area}中心卫生院", "乡镇卫生院", rng.randint(10, 60))
        return Institution(f"{full}{place.area}社区卫生服务中心", "社区卫生服务中心", rng.randint(0, 30))
    if kind == "诊所":
        doctor = row.person("adult").name
        return Institution(f"{full}{doctor}{rng.choice(('内科', '中医', '口腔', '外科', '儿科'))}诊所", kind, 0)
    return Institution(
        f"营口{rng.choice(BRANDS)}{rng.choice(('口腔', '中医', '综合'))}门诊部", kind, rng.randint(0, 10)
    )


def _pharmacy(row: Row) -> Institution:
    rng, place = row.rng, row.place()
    if rng.random() < 0.3:
        hospital = _hospital(row)
        return Institution(hospital.name, "定点医疗机构", hospital.size)
    return Institution(f"{rng.choice(BRANDS)}大药房（{place.stem}店）", "定点零售药店", 0)


def _care_home(row: Row) -> Institution:
    rng, place = row.rng, row.place()
    if place.rural:
        return Institution(f"{place.district.full}{place.area}敬老院", "公办养老机构", rng.randint(20, 120))
    kind = rng.choice(("老年公寓", "颐养院", "康养中心", "社区居家养老服务中心"))
    size = rng.randint(0, 20) if kind.startswith("社区") else rng.randint(30, 300)
    if kind.startswith("社区"):
        return Institution(f"{place.district.full}{place.stem}{kind}", "社区养老服务设施", size)
    return Institution(f"营口{rng.choice(BRANDS)}{kind}", "民办养老机构", size)


def _school(row: Row) -> Institution:
    rng, place = row.rng, row.place()
    full = place.district.full
    kind = rng.choices(("小学", "初级中学", "九年一贯制学校", "高级中学", "完全中学"), (50, 22, 12, 10, 6))[0]
    if kind == "小学":
        if place.rural:
            name = rng.choice((f"{full}{place.area}中心小学", f"{full}{place.area}{place.road.removesuffix('村')}小学"))
        else:
            name = rng.choice((f"{full}{place.stem}小学", f"{full}{place.road}小学", f"{full}实验小学"))
        return Institution(name, kind, rng.randint(200, 2500))
    if kind == "初级中学":
        name = f"{full}{place.area}初级中学" if place.rural else f"营口市第{cn_number(rng.randint(1, 40))}中学"
        return Institution(name, kind, rng.randint(300, 2000))
    if kind == "九年一贯制学校":
        return Institution(f"{full}{place.stem}学校", kind, rng.randint(400, 2200))
    if kind == "高级中学":
        return Institution(f"{full}第{cn_number(rng.randint(1, 4))}高级中学", kind, rng.randint(800, 3000))
    return Institution(f"{full}{rng.choice(('实验', '育才', '开发区', '外国语'))}中学", kind, rng.randint(900, 3200))


def _shelter(row: Row) -> Institution:
    rng, place = row.rng, row.place()
    kind = rng.choice(("文化广场", "体育场", "中心公园", "中心小学操场", "社区广场"))
    return Institution(
        f"{place.district.full}{place.stem}{kind}应急避难场所", "应急避难场所", rng.randrange(500, 30000, 100)
    )


def _law_firm(row: Row) -> Institution:
    rng = row.rng
    name = f"辽宁{rng.choice(BRANDS)}律师事务所" if rng.random() < 0.7 else f"辽宁{row.person('adult').name}律师事务所"
    return Institution(name, "律师事务所", rng.randint(3, 60))


def _any_institution(row: Row) -> Institution:
    place = row.place()
    name = f"{place.district.full}{place.area}{place.road}{row.gen.entry_stem}服务点"
    return Institution(name, "", row.rng.randint(1, 100))


# Which kind of institution an entry's rows describe, by a word of the entry's or its items' names.
INSTITUTIONS = (
    ("医疗机构", _hospital), ("医药机构", _pharmacy), ("养老", _care_home), ("学校", _school),
    ("避难", _shelter), ("律师", _law_firm),
)  # fmt: skip


@dataclass(frozen=True)
class Air:
    pm25: float
    aqi: int
    primary: str


def _sub_index(concentration: float) -> float:
    for (c_low, i_low), (c_high, i_high) in itertools.pairwise(PM25_BREAKS):
        if concentration <= c_high:
            return i_low + (i_high - i_low) * (concentration - c_low) / (c_high - c_low)
    return 500.0


# --- rows -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    """A table resource to make: its entry, how many rows (or a grid of fixed key values whose
    combinations are the rows), and what the rows draw from."""

    entry: str
    rows: int = 0
    grid: Callable[[], list[dict[str, str]]] | None = None
    ages: tuple[int, int] = (0, 120)  # residents of these ages
    industries: tuple[str, ...] = ()  # enterprises of these trades (empty: any)
    societies: bool = False  # social organisations instead of enterprises
    days: int = 3 * 365  # how far back dates and times go
    urban: bool = False  # places in the towns' streets only


class Draw:
    """Items in a shuffled order, each once before any comes again (so keys stay unique)."""

    def __init__(self, items: Sequence, rng: random.Random):
        self.items, self.rng, self.queue = list(items), rng, []

    def __call__(self):
        if not self.queue:
            self.queue = self.items[:]
            self.rng.shuffle(self.queue)
        return self.queue.pop()


class Generator:
    """The rows of one table: its columns, its own random source (so tables do not disturb
    each other), and the people and organisations it draws from."""

    def __init__(self, table: Table, columns: Sequence[ResourceColumn]):
        self.table = table
        self.columns = list(columns)
        self.rng = random.Random(f"{SEED}|{table.entry}")
        self.entry_stem = table.entry.removesuffix("信息")
        w = world()
        low, high = table.ages
        people = [p for p in w.people if low <= p.age <= high]
        self.people = Draw(people, self.rng)
        self.adults = Draw([p for p in people if 18 <= p.age <= 80], self.rng)
        # Old enough to have married within the tables' span (legal age 22 and 20).
        self.men = Draw([p for p in people if p.sex == "1" and 27 <= p.age <= 80], self.rng)
        self.women = Draw([p for p in people if p.sex == "2" and 25 <= p.age <= 80], self.rng)
        self.women_by_year: defaultdict[int, list[Person]] = defaultdict(list)
        for person in people:
            if person.sex == "2" and person.age >= 22:
                self.women_by_year[person.birth.year].append(person)
        pool = w.societies if table.societies else w.companies
        self.companies = Draw([c for c in pool if not table.industries or c.industry in table.industries], self.rng)
        self.departments = Draw(DEPARTMENTS, self.rng)
        names = " ".join([table.entry, *(c.name for c in self.columns)])
        self.institution = next((make for word, make in INSTITUTIONS if word in names), _any_institution)
        self.serials: defaultdict[str, Iterator[int]] = defaultdict(lambda: itertools.count(1))
        self.used_names: set[str] = set()
        self.air_levels: dict[tuple[str, dt.date], float] = {}  # (station, day) -> the day's PM2.5
        self.makers = [maker_for(column) for column in self.columns]

    def wife_for(self, husband: Person) -> Person:
        """A woman up to six years younger than the man (or the next woman when none is)."""
        for _attempt in range(KEY_ATTEMPTS):
            year = husband.birth.year + self.rng.randint(0, 6)
            if self.women_by_year.get(year):
                return self.rng.choice(self.women_by_year[year])
        return self.women()

    def serial(self, column: ResourceColumn) -> int:
        return next(self.serials[column.code])

    def rows(self) -> Iterator[list[str]]:
        keys = [i for i, c in enumerate(self.columns) if c.is_key]
        seen: set[tuple] = set()
        fixed_rows = self.table.grid() if self.table.grid else itertools.repeat({}, self.table.rows)
        for fixed in fixed_rows:
            for _attempt in range(KEY_ATTEMPTS):
                values = Row(self, fixed).values()
                key = tuple(values[i] for i in keys)
                if not keys or key not in seen:
                    seen.add(key)
                    yield values
                    break


class Row:
    """One row being generated. Who and what it is about (a resident, an enterprise, a place,
    a moment) is chosen on first use, so that all its columns describe the same ones."""

    def __init__(self, gen: Generator, fixed: dict[str, str]):
        self.gen, self.rng, self.fixed = gen, gen.rng, fixed
        self.by_name: dict[str, str] = {}
        self._people: dict[str, Person] = {}
        self._company: Company | None = None
        self._place: Place | None = None
        self._institution: Institution | None = None
        self._moment: dt.datetime | None = None
        self._department = None
        self._air: Air | None = None
        self._authority: tuple | None = None
        self._product: tuple | None = None

    def values(self) -> list[str]:
        out = []
        for column, make in zip(self.gen.columns, self.gen.makers, strict=True):
            value = self.fixed[column.code] if column.code in self.fixed else make(self, column)
            if column.data_type == DataType.CHAR and column.length and len(value) > column.length:
                value = value[: column.length]  # a fallback's text in a short column; identifiers fit already
            self.by_name[column.name] = value
            out.append(value)
        return out

    def about(self, word: str) -> bool:
        return word in self.gen.table.entry

    def person(self, role: str = "") -> Person:
        if role not in self._people:
            if role == "female" and "male" in self._people:
                self._people[role] = self.gen.wife_for(self._people["male"])
            else:
                draw = {"male": self.gen.men, "female": self.gen.women, "adult": self.gen.adults}.get(
                    role, self.gen.people
                )
                self._people[role] = draw()
        return self._people[role]

    def company(self) -> Company:
        if self._company is None:
            self._company = self.gen.companies()
            self._place = self._place or self._company.place
        return self._company

    def place(self) -> Place:
        if self._place is None:
            self._place = make_place(self.rng, rural=False if self.gen.table.urban else None)
        return self._place

    def institution(self) -> Institution:
        if self._institution is None:
            for _attempt in range(KEY_ATTEMPTS):
                found = self.gen.institution(self)
                if found.name not in self.gen.used_names:
                    break
                self._place = None  # elsewhere, another name
            self.gen.used_names.add(found.name)
            self._institution = found
        return self._institution

    def authority(self) -> tuple:
        if self._authority is None:
            self._authority = self.rng.choice(AUTHORITIES)
        return self._authority

    def department(self):
        if self._department is None:
            self._department = self.gen.departments()
        return self._department

    def moment(self) -> dt.datetime:
        """When the row's event happened: a working-hours moment within the table's span."""
        if self._moment is None:
            day = AS_OF - dt.timedelta(days=self.rng.randint(1, self.gen.table.days))
            self._moment = dt.datetime.combine(day, dt.time()) + dt.timedelta(
                seconds=self.rng.randint(7 * 3600, 21 * 3600)
            )
        return self._moment

    def set_moment(self, moment: dt.datetime) -> None:
        self._moment = moment

    def day(self) -> dt.date:
        return self.moment().date()

    def product(self) -> tuple:
        if self._product is None:
            name = self.by_name.get("商品名称") or self.rng.choice(PRODUCTS)[0]
            self._product = PRODUCT_BY_NAME.get(name, PRODUCTS[0])
        return self._product

    def air(self) -> Air:
        """The hour's reading of the row's station: a daily level per station (weather moves
        it) and a rush-hour swing."""
        if self._air is None:
            self._air = self._reading()
        return self._air

    def _reading(self) -> Air:
        station = self.by_name.get("监测站点", AIR_STATIONS[0])
        moment = dt.datetime.fromisoformat(self.by_name.get("监测时间") or self.moment().isoformat(sep=" "))
        daily = self.gen.air_levels.setdefault((station, moment.date()), self.rng.uniform(18, 95))
        swing = (
            1 + 0.2 * math.cos((moment.hour - 8) / 24 * 2 * math.pi) + 0.1 * math.cos((moment.hour - 20) / 12 * math.pi)
        )
        pm25 = round(max(3.0, daily * swing * self.rng.uniform(0.85, 1.15)), 1)
        other, other_index = self.rng.choice(("PM10", "NO2", "O3")), self.rng.uniform(15, 70)
        index = max(_sub_index(pm25), other_index)
        primary = "" if index <= 50 else ("PM2.5" if _sub_index(pm25) >= other_index else other)
        return Air(pm25, math.ceil(index), primary)


# --- what fills a column --------------------------------------------------------------------

Maker = Callable[[Row, ResourceColumn], str]


def _fmt_time(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _years_later(day: dt.date, years: int) -> dt.date:
    return day.replace(year=day.year + years, day=28 if (day.month, day.day) == (2, 29) else day.day)


def _code(row: Row, column: ResourceColumn) -> str:
    """An identifier no other row of the table has: a prefix from the column, the division
    and a serial number, shortened from the left when the column is short."""
    text = f"{column.code[:2].upper()}{row.place().district.code}{row.gen.serial(column):06d}"
    return text[-column.length :] if column.length else text


_ADULT_ITEMS = re.compile(r"^(联系人|负责人|承包方代表|权利人|申请人|驾驶员姓名|证件号码)$")


def _person_role(name: str) -> str:
    """Which of the row's people an item is about: the husband, the wife (or mother), an adult
    (a contact, a holder), or the resident the row describes."""
    if name.startswith("男方"):
        return "male"
    if name.startswith(("女方", "母亲")):
        return "female"
    return "adult" if _ADULT_ITEMS.match(name) else ""


def _decision_number(row: Row, column: ResourceColumn) -> str:
    act = "许" if "许可" in column.name else "罚"
    return f"{row.authority()[0]}{act}〔{row.day().year}〕{row.gen.serial(column)}号"


def _permit_number(row: Row, column: ResourceColumn) -> str:
    serial, district = row.gen.serial(column), row.place().district
    if row.about("食品"):  # 食品经营许可证: JY, the trade, the division, a serial, a check digit
        return f"JY{row.rng.choice('123')}{district.code}{serial:07d}{row.rng.randrange(10)}"
    if row.about("施工"):
        return f"{district.code}{row.day():%Y%m%d}{serial:04d}"
    if row.about("预售"):
        return f"营房预售字〔{row.day().year}〕第{serial:03d}号"
    if row.about("律师"):
        return f"3{district.code}{row.day().year}{serial:05d}"
    return _code(row, column)


def _medical_registration(row: Row, column: ResourceColumn) -> str:
    category = {"综合医院": "A1", "中医医院": "A2", "专科医院": "A5", "诊所": "D1", "门诊部": "C1"}.get(
        row.institution().category, "B1"
    )
    return f"PDY{row.rng.randrange(10**8):08d}{row.place().district.code}{category}{row.gen.serial(column):04d}"


def _insurance_start(row: Row, column: ResourceColumn) -> str:
    person = row.person()
    earliest = max(_years_later(person.birth, 18), dt.date(1996, 1, 1))
    if earliest >= AS_OF:
        earliest = AS_OF - dt.timedelta(days=30)
    return (earliest + dt.timedelta(days=row.rng.randint(0, (AS_OF - earliest).days))).isoformat()


def _price(row: Row, column: ResourceColumn) -> str:
    _name, _spec, usual, swing = row.product()
    day = dt.date.fromisoformat(row.by_name.get("监测日期") or row.day().isoformat())
    seasonal = 1 + swing * math.cos((day.month - 1) / 12 * 2 * math.pi)  # dearest in winter
    return f"{usual * seasonal * row.rng.uniform(0.96, 1.04):.2f}"


def _outage_start(row: Row, column: ResourceColumn) -> str:
    """Work starts on the hour or the half hour in the morning; the end follows from it."""
    start = dt.datetime.combine(row.day(), dt.time(row.rng.choice((7, 8, 9)), row.rng.choice((0, 30))))
    row.set_moment(start)
    return _fmt_time(start)


def _later(row: Row, column: ResourceColumn) -> str:
    return _fmt_time(row.moment() + dt.timedelta(hours=row.rng.choice((2, 4, 6, 8, 10))))


def _case_status(row: Row, column: ResourceColumn) -> str:
    if (AS_OF - row.day()).days > 10:
        return row.rng.choices(("已结案", "处置中"), (95, 5))[0]
    return row.rng.choice(("已受理", "已派遣", "处置中", "已结案"))


def _warning_type(row: Row, column: ResourceColumn) -> str:
    month = row.day().month
    season = "winter" if month in (11, 12, 1, 2, 3) else "summer" if month in (6, 7, 8) else "other"
    return row.rng.choice(WARNINGS[season])


def _project_name(row: Row, column: ResourceColumn) -> str:
    if row.about("预售"):
        return f"{row.rng.choice(BRANDS)}·{row.rng.choice(ESTATES)}{cn_number(row.rng.randint(1, 3))}期"
    department = row.department()
    return f"{department.short_name}{row.day().year}年度{row.rng.choice(PURCHASES)}采购项目"


def _works_name(row: Row, column: ResourceColumn) -> str:
    place, rng = row.place(), row.rng
    return rng.choice(
        (
            f"{rng.choice(ESTATES)}{cn_number(rng.randint(1, 3))}期{rng.randint(1, 24)}#楼",
            f"{place.district.full}{place.road}道路改造工程",
            f"{place.district.full}{place.stem}老旧小区改造工程",
            f"{re.sub(r'(股份)?有限(责任)?公司$', '', row.company().name)}厂房建设项目",
        )
    )


def _outage_area(row: Row, column: ResourceColumn) -> str:
    place, rng = row.place(), row.rng
    first = rng.randint(1, 120)
    estates = "、".join(rng.sample(ESTATES, 2))
    return f"{place.district.full}{place.area}：{place.road}{first}号至{first + rng.randint(10, 150)}号沿线，{estates}等小区"


def _offence(row: Row, column: ResourceColumn) -> str:
    penalty = row.rng.choice(("警告", f"罚款人民币{row.rng.randrange(1000, 200000, 500)}元", "没收违法所得并处罚款"))
    return f"{row.rng.choice(row.authority()[2])}，依据有关法律法规予以{penalty}。"


def _fallback_text(row: Row, column: ResourceColumn) -> str:
    if re.search(r"(编号|编码|代码|号码|号)$", column.name):
        return _code(row, column)
    if column.name.endswith("名称"):
        return row.institution().name
    return f"{column.name}{row.rng.randint(1, 9)}"


def _money(low: float, high: float) -> Maker:
    """Amounts spread evenly on a log scale, as prices and contract sums are."""
    return lambda row, column: f"{10 ** row.rng.uniform(math.log10(low), math.log10(high)):.2f}"


def _one_of(choices: Sequence[str], weights: Sequence[int] | None = None) -> Maker:
    return lambda row, column: row.rng.choices(choices, weights)[0]


# (pattern on the item's name, maker[, the data types its values are]), first match wins;
# specific items first, then families. A rule without types gives text, which only text
# columns take; a column no rule fits gets its data type's generator.
RULES: list[tuple] = [
    # residents
    (r"身份(证)?号|证件号码", lambda row, col: row.person(_person_role(col.name)).id_number),
    (
        r"^(姓名|新生儿姓名|驾驶员姓名|联系人|负责人|承包方代表|权利人|申请人)$",
        lambda row, col: row.person(_person_role(col.name)).name,
    ),
    (r"^性别$", lambda row, col: row.person().sex),
    (r"^出生日期$", lambda row, col: row.person().birth.isoformat(), "DT"),
    (r"^民族$", _one_of([c for c, _w in NATIONALITIES], [w for _c, w in NATIONALITIES])),
    (r"户籍地址|居住地址", lambda row, col: row.person().address),
    (r"手机|联系电话", lambda row, col: row.person().mobile),
    (r"参保日期", _insurance_start, "DT"),
    (r"参保险种", _one_of([n for n, _w in INSURANCES], [w for _n, w in INSURANCES])),
    (r"参保状态", _one_of(("正常", "暂停", "终止"), (85, 10, 5))),
    (r"保障金额", lambda row, col: f"{row.rng.randrange(150, 790, 10)}.00", "YNFB"),
    (r"登记类别", _one_of(("结婚登记", "离婚登记"), (85, 15))),
    # enterprises and organisations
    (r"统一社会信用代码", lambda row, col: row.company().code),
    (
        r"^(单位名称|行政相对人名称|被执行人名称|纳税人名称|开发企业|建设单位|所属公司|用工单位|被抽样单位)$",
        lambda row, col: row.company().name,
    ),
    (r"^法定代表人$", lambda row, col: row.company().representative.name),
    (r"^住所$", lambda row, col: row.company().place.address),
    (r"成立日期", lambda row, col: row.company().founded.isoformat(), "DT"),
    (r"注册资本", lambda row, col: row.company().capital, "YNFB"),
    (r"经营范围", lambda row, col: row.company().scope),
    (r"业务主管单位", lambda row, col: row.company().supervisor),
    (r"评价年度", _one_of(("2024", "2025"), (40, 60))),  # a year is rated after it ends
    (r"年度$", lambda row, col: str(row.day().year)),
    (r"年月$|^所属期$|^统计期$", lambda row, col: f"{row.day():%Y%m}"),
    (r"^采购人$", lambda row, col: row.department().name),
    # documents and identifiers
    (r"决定书文号", _decision_number),
    (r"许可证号|许可证编号", _permit_number),
    (r"^登记号$", _medical_registration),
    (
        r"^机构编码$",
        lambda row, col: (
            f"{'H' if row.institution().category == '定点医疗机构' else 'P'}"
            f"{row.place().district.code}{row.gen.serial(col):05d}"
        ),
    ),
    (r"^学校代码$", lambda row, col: f"21{row.place().district.code[2:]}{row.gen.serial(col):04d}"),
    (r"^地址编码$", lambda row, col: f"{row.place().district.code}{row.gen.serial(col):010d}"),
    (r"^案件编号$", lambda row, col: f"{row.day():%Y%m%d}{row.gen.serial(col):05d}"),
    (r"^项目编号$", lambda row, col: f"YKCG-{row.day().year}-{row.gen.serial(col):04d}"),
    (r"^预警编号$", lambda row, col: f"YJ{row.moment():%Y%m%d%H%M}{row.gen.serial(col):03d}"),
    (r"^停电编号$", lambda row, col: f"TD{row.day():%Y%m%d}{row.gen.serial(col):03d}"),
    (r"^学籍号$", lambda row, col: f"G{row.person().id_number}"),  # G and the pupil's ID number
    (r"^车牌号码$", lambda row, col: f"辽H{row.rng.choice('ABCDEFGJKLT')}{row.gen.serial(col):04d}"),  # 辽H: Yingkou
    # institutions and places
    (r"^(机构名称|学校名称|场所名称|景区名称|网点名称|所名)$", lambda row, col: row.institution().name),
    (r"机构类别|办学类型", lambda row, col: row.institution().category),
    (r"床位数|在校生数|容纳人数", lambda row, col: str(row.institution().size), "INYFB"),
    (r"(^|标准|发生)地址$|^坐落$", lambda row, col: row.place().address),
    (r"经度", lambda row, col: f"{row.place().lng:.6f}", "FBNY"),
    (r"纬度", lambda row, col: f"{row.place().lat:.6f}", "FBNY"),
    # what happened
    (r"许可内容", lambda row, col: f"{row.rng.choice(row.authority()[1])}：准予许可。"),
    (r"处罚事由", _offence),
    (r"案件类别", _one_of(CITY_CASES)),
    (r"处置状态", _case_status),
    (r"预警类型", _warning_type),
    (r"预警级别", _one_of(("蓝色", "黄色", "橙色", "红色"), (45, 35, 15, 5))),
    (r"^项目名称$", _project_name),
    (r"^工程名称$", _works_name),
    (r"停电区域", _outage_area),
    (r"^首班时间$", lambda row, col: f"0{row.rng.randint(5, 6)}:{row.rng.choice(('00', '15', '30', '45'))}"),
    (r"^末班时间$", lambda row, col: f"{row.rng.randint(19, 22)}:{row.rng.choice(('00', '15', '30', '45'))}"),
    (r"^(办公|开放)时间$", _one_of(("周一至周五 8:30-11:30，13:00-17:00", "全天开放", "每日 6:00-22:00"))),
    (r"^线路名称$", lambda row, col: f"{row.gen.serial(col)}路"),
    (r"^站点名称$", lambda row, col: f"{row.place().road}站"),
    (r"开始时间", _outage_start, "T"),
    (r"结束时间|办结时间", _later, "T"),
    (r"有效期", lambda row, col: (_years_later(row.day(), 5) - dt.timedelta(days=1)).isoformat(), "DT"),
    (r"合同价格", _money(1e6, 5e8), "YNFB"),
    (r"中标金额", _money(5e4, 3e7), "YNFB"),
    (r"面积", lambda row, col: f"{row.rng.uniform(3000, 60000):.2f}", "YNFB"),
    # measurements
    (r"商品名称", lambda row, col: row.product()[0]),
    (r"^规格$", lambda row, col: row.product()[1]),
    (r"价格", _price, "YNFB"),
    (r"监测站点", _one_of(AIR_STATIONS)),
    (r"PM2\.5", lambda row, col: f"{row.air().pm25:.1f}", "NYFB"),
    (r"^AQI$", lambda row, col: str(row.air().aqi), "INYFB"),
    (r"首要污染物", lambda row, col: row.air().primary),
]
_COMPILED = [(re.compile(rule[0]), rule[1], rule[2] if len(rule) > 2 else "") for rule in RULES]
TEXT = (DataType.CHAR, DataType.MEMO, DataType.GENERAL)

# What fills a column no rule recognises, by data type.
BY_TYPE: dict[str, Maker] = {
    DataType.CHAR: _fallback_text,
    DataType.MEMO: lambda row, col: f"{row.gen.entry_stem}：{row.place().address}。",
    DataType.GENERAL: lambda row, col: f"{row.gen.entry_stem}：{row.place().address}。",
    DataType.NUMBER: lambda row, col: f"{row.rng.uniform(0, 1000):.2f}",
    DataType.CURRENCY: _money(100, 1e6),
    DataType.INTEGER: lambda row, col: str(row.rng.randint(0, 1000)),
    DataType.DOUBLE: lambda row, col: f"{row.rng.uniform(0, 100):.6f}",
    DataType.FLOAT: lambda row, col: f"{row.rng.uniform(0, 100):.4f}",
    DataType.LOGICAL: _one_of(("是", "否")),
    DataType.DATE: lambda row, col: row.day().isoformat(),
    DataType.DATETIME: lambda row, col: _fmt_time(row.moment()),
}


def maker_for(column: ResourceColumn) -> Maker:
    """The generator of a column: the first rule recognising the item's name whose values fit
    the column's data type, else the data type's own."""
    for pattern, make, kinds in _COMPILED:
        if pattern.search(column.name) and (column.data_type in TEXT or column.data_type in kinds):
            return make
    return BY_TYPE[column.data_type]


# --- the tables -----------------------------------------------------------------------------


def _price_grid() -> list[dict[str, str]]:
    """Every product every Monday for half a year (the weekly monitoring)."""
    last_monday = AS_OF - dt.timedelta(days=AS_OF.weekday())
    mondays = [last_monday - dt.timedelta(weeks=n) for n in range(26)]
    return [{"jcrq": day.isoformat(), "spmc": product[0]} for day in sorted(mondays) for product in PRODUCTS]


def _air_grid() -> list[dict[str, str]]:
    """Every station every hour of the last week."""
    start = dt.datetime.combine(AS_OF - dt.timedelta(days=7), dt.time())
    hours = [start + dt.timedelta(hours=n) for n in range(7 * 24)]
    return [{"jczd": station, "jcsj": _fmt_time(hour)} for hour in hours for station in AIR_STATIONS]


TABLES = (
    Table("人口基础信息", rows=2000),
    Table("法人单位基本信息", rows=COMPANIES),  # the whole register: every other table's enterprises are in it
    Table("婚姻登记信息", rows=600, ages=(20, 65), days=5 * 365),
    Table("社会组织登记信息", rows=240, societies=True),
    Table("地名地址信息", rows=1500),
    Table("行政许可信息", rows=1000),
    Table("行政处罚信息", rows=400),
    Table("医疗机构名录", rows=300),
    Table("定点医药机构名录", rows=500),
    Table("食品经营许可信息", rows=600, industries=FOOD_TRADES, days=1600),
    Table("应急避难场所信息", rows=120),
    Table("城市管理案件信息", rows=1500, days=120, urban=True),
    Table("重要商品价格监测信息", grid=_price_grid),
    Table("商品房预售许可信息", rows=200, industries=("房地产开发",)),
    Table("建设工程施工许可信息", rows=400, industries=BUILDERS_AND_OWNERS),
    Table("养老服务机构名录", rows=150),
    Table("空气质量监测数据", grid=_air_grid),
    Table("社会保险参保信息", rows=1500, ages=(18, 75)),
    Table("城乡低保对象信息", rows=800, ages=(18, 95), days=5 * 365),
    Table("中小学校基本信息", rows=230),
    Table("政府采购项目信息", rows=500, days=2 * 365),
    Table("纳税信用A级纳税人名单", rows=600),
    Table("气象灾害预警信息", rows=120, days=2 * 365),
    Table("计划停电信息", rows=300),
    Table("律师事务所名录", rows=60),
)


def table_csv(columns: Sequence[ResourceColumn], rows: Iterator[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([c.code for c in columns])
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


# --- files ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoFile:
    name: str
    content: bytes
    licence: dict | None = None


def _text_width(text: str) -> float:
    return sum(0.5 if ord(ch) < 128 else 1.0 for ch in text)


def _wrap(text: str, ems: float) -> list[str]:
    lines, line = [], ""
    for ch in text:
        if _text_width(line + ch) > ems:
            lines.append(line)
            line = ""
        line += ch
    return [*lines, line]


def pdf(lines: Sequence[tuple[int, str]], *, border: bool = False) -> bytes:
    """A PDF of Chinese text lines ((size, text); size 0 is a blank line), A4 pages, set in
    STSong-Light, a font every PDF reader supplies for Chinese, so nothing is embedded."""
    pages: list[list[str]] = [[]]
    y = 800.0
    for size, text in lines:
        for piece in _wrap(text, 480 / max(size, 1)) if size else [""]:
            y -= (size or 10) * 1.7
            if y < 50:
                pages.append([])
                y = 800.0 - (size or 10) * 1.7
            if piece:
                hex_text = piece.encode("utf-16-be").hex().upper()
                pages[-1].append(f"BT /F1 {size} Tf 60 {y:.1f} Td <{hex_text}> Tj ET")
    frame = "0.70 0.10 0.10 RG 3 w 36 36 523 770 re S"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"",  # the page tree, once the pages are numbered
        b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UCS2-H /DescendantFonts [4 0 R] >>",
        (
            b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light /CIDSystemInfo << /Registry (Adobe) "
            b"/Ordering (GB1) /Supplement 4 >> /FontDescriptor 5 0 R /DW 1000 /W [1 95 500] >>"
        ),
        (
            b"<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 /FontBBox [-25 -254 1000 880] /ItalicAngle 0 "
            b"/Ascent 880 /Descent -120 /CapHeight 880 /StemV 93 >>"
        ),
    ]
    kids = []
    for ops in pages:
        stream = "\n".join(([frame] if border else []) + ops).encode("ascii")
        page_number, content_number = len(objects) + 1, len(objects) + 2
        kids.append(f"{page_number} 0 R")
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> "
            f"/Contents {content_number} 0 R >>".encode("ascii")
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(kids)} >>".encode("ascii")
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    start = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, start)
    return bytes(out)


def _zip(members: Sequence[tuple[str, bytes]]) -> bytes:
    """A ZIP with fixed timestamps, so the same members give the same bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(zipfile.ZipInfo(name, date_time=(AS_OF.year, AS_OF.month, AS_OF.day, 0, 0, 0)), data,
                             compress_type=zipfile.ZIP_DEFLATED)  # fmt: skip
    return out.getvalue()


def docx(paragraphs: Sequence[tuple[str, bool]]) -> bytes:
    """A Word document of paragraphs ((text, is heading)): the three parts Word needs."""
    body = []
    for text, heading in paragraphs:
        ppr = '<w:pPr><w:jc w:val="center"/></w:pPr>' if heading else ""
        rpr = '<w:rPr><w:b/><w:sz w:val="32"/></w:rPr>' if heading else ""
        body.append(f'<w:p>{ppr}<w:r>{rpr}<w:t xml:space="preserve">{escape(text)}</w:t></w:r></w:p>')
    head = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    return _zip(
        [
            (
                "[Content_Types].xml",
                f'{head}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                '<Default Extension="xml" ContentType="application/xml"/>'
                '<Override PartName="/word/document.xml" '
                'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
                "</Types>".encode(),
            ),
            (
                "_rels/.rels",
                f'{head}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                '<Relationship Id="rId1" Target="word/document.xml" '
                'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"/>'
                "</Relationships>".encode(),
            ),
            (
                "word/document.xml",
                f'{head}<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
                f"<w:body>{''.join(body)}<w:sectPr/></w:body></w:document>".encode(),
            ),
        ]
    )


def xlsx(title: str, header: Sequence[str], rows: Sequence[Sequence]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title
    sheet.append(list(header))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def png(width: int, height: int, pixel: Callable[[int, int], tuple[int, int, int]]) -> bytes:
    """An RGB PNG: the signature, a header, the deflated scanlines (no filter) and the end."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + bytes(c for x in range(width) for c in pixel(x, y)) for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def _issuer(district: District) -> str:
    """The market regulator that registered a business in the district."""
    if district.code in ("210802", "210803", "210811"):
        return "营口市市场监督管理局"
    return "营口市鲅鱼圈区市场监督管理局" if district.code == "210804" else f"{district.name}市场监督管理局"


def _business_licences() -> list[DemoFile]:
    """营业执照 of enterprises and sole traders from the legal-entity register."""
    out = []
    picked = [c for c in world().companies if c.industry not in INDUSTRIES][:2] + [
        c for c in world().companies if c.industry in INDUSTRIES
    ][:6]
    for n, company in enumerate(picked, 1):
        sole = company.code.startswith("92")
        issuer = _issuer(company.place.district)
        number = f"{company.place.district.code}{company.founded:%Y%m%d}{n:04d}"
        lines = [
            (28, "营  业  执  照"),
            (0, ""),
            (12, f"统一社会信用代码：{company.code}"),
            (12, f"证照编号：{number}"),
            (0, ""),
            (13, f"名　　称：{company.name}"),
            (13, f"类　　型：{'个体工商户' if sole else '有限责任公司（自然人投资或控股）'}"),
            (13, f"{'经 营 者' if sole else '法定代表人'}：{company.representative.name}"),
            (13, f"{'资金数额' if sole else '注册资本'}：人民币{company.capital.removesuffix('.00')}万元"),
            (13, f"成立日期：{company.founded:%Y年%m月%d日}"),
            (13, f"{'经营场所' if sole else '住　　所'}：{company.place.address}"),
            (13, f"经营范围：{company.scope}"),
            (0, ""),
            (13, f"登记机关：{issuer}"),
            (13, f"{company.founded:%Y年%m月%d日}"),
            (0, ""),
            (10, FICTION),
        ]
        licence = {
            "holder_id": company.code,
            "holder_name": company.name,
            "licence_number": number,
            "issuer": issuer,
            "valid_from": company.founded.isoformat(),
        }
        out.append(DemoFile(f"营业执照_{company.name}.pdf", pdf(lines, border=True), licence))
    return out


def _qualification_certificates() -> list[DemoFile]:
    """建筑业企业资质证书 of construction firms, valid five years."""
    rng = random.Random(f"{SEED}|资质")
    out = []
    builders = [c for c in world().companies if c.industry in ("建筑工程", "装饰工程")][:4]
    for n, company in enumerate(builders, 1):
        grade = rng.choice(("建筑工程施工总承包贰级", "市政公用工程施工总承包叁级", "地基基础工程专业承包贰级",
                            "建筑装修装饰工程专业承包贰级"))  # fmt: skip
        issued = AS_OF - dt.timedelta(days=rng.randint(60, 3 * 365))
        until = _years_later(issued, 5) - dt.timedelta(days=1)
        number = f"D2210{rng.randrange(10**5):05d}"
        lines = [
            (24, "建筑业企业资质证书"),
            (0, ""),
            (12, f"证书编号：{number}"),
            (13, f"企业名称：{company.name}"),
            (13, f"统一社会信用代码：{company.code}"),
            (13, f"法定代表人：{company.representative.name}"),
            (13, f"详细地址：{company.place.address}"),
            (13, f"资质类别及等级：{grade}"),
            (13, f"有效期：{issued:%Y年%m月%d日}至{until:%Y年%m月%d日}"),
            (13, "发证机关：营口市住房和城乡建设局"),
            (0, ""),
            (10, FICTION),
        ]
        licence = {
            "holder_id": company.code,
            "holder_name": company.name,
            "licence_number": number,
            "issuer": "营口市住房和城乡建设局",
            "valid_from": issued.isoformat(),
            "valid_until": until.isoformat(),
        }
        out.append(DemoFile(f"建筑业企业资质证书_{company.name}_{n}.pdf", pdf(lines, border=True), licence))
    return out


def _teacher_certificates() -> list[DemoFile]:
    """教师资格证书 of residents: licences held by people, found by their ID number."""
    rng = random.Random(f"{SEED}|教师资格")
    out = []
    teachers = [p for p in world().people if 24 <= p.age <= 55][:4]
    for n, person in enumerate(teachers, 1):
        kind = rng.choice(("小学教师资格", "初级中学教师资格", "高级中学教师资格", "幼儿园教师资格"))
        subject = rng.choice(("语文", "数学", "英语", "物理", "化学", "音乐", "体育", "美术"))
        issued = min(
            _years_later(person.birth, 23) + dt.timedelta(days=rng.randint(0, 700)), AS_OF - dt.timedelta(days=30)
        )
        number = f"{issued.year}2108{person.sex}{rng.randrange(10**8):08d}"
        lines = [
            (24, "教师资格证书"),
            (0, ""),
            (13, f"姓　　名：{person.name}"),
            (13, f"性　　别：{'男' if person.sex == '1' else '女'}"),
            (13, f"出生日期：{person.birth:%Y年%m月%d日}"),
            (13, f"身份证件号码：{person.id_number}"),
            (13, f"资格种类：{kind}"),
            (13, f"任教学科：{subject}"),
            (13, f"证书号码：{number}"),
            (13, "认定机构：营口市教育局"),
            (13, f"认定日期：{issued:%Y年%m月%d日}"),
            (0, ""),
            (10, FICTION),
        ]
        licence = {
            "holder_id": person.id_number,
            "holder_name": person.name,
            "licence_number": number,
            "issuer": "营口市教育局",
            "valid_from": issued.isoformat(),
        }
        out.append(DemoFile(f"教师资格证书_{person.name}_{n}.pdf", pdf(lines, border=True), licence))
    return out


SERVICE_ITEMS = (
    ("企业设立登记", "营口市市场监督管理局", 3), ("食品经营许可", "营口市市场监督管理局", 10),
    ("建筑工程施工许可证核发", "营口市住房和城乡建设局", 7), ("商品房预售许可", "营口市住房和城乡建设局", 10),
    ("户口迁移", "营口市公安局", 5), ("居民身份证换领", "营口市公安局", 30), ("结婚登记", "营口市民政局", 1),
    ("最低生活保障对象认定", "营口市民政局", 30), ("社会保障卡申领", "营口市人力资源和社会保障局", 7),
    ("职工参保登记", "营口市人力资源和社会保障局", 5), ("医疗机构执业登记", "营口市卫生健康委员会", 30),
    ("医师执业注册", "营口市卫生健康委员会", 20), ("不动产登记", "营口市自然资源局", 5),
    ("排污许可证核发", "营口市生态环境局", 30), ("道路货物运输经营许可", "营口市交通运输局", 20),
    ("危险化学品经营许可", "营口市应急管理局", 30), ("律师执业许可", "营口市司法局", 20),
    ("教师资格认定", "营口市教育局", 30), ("住房公积金提取", "营口市住房公积金管理中心", 3),
    ("医保关系转移接续", "营口市医疗保障局", 15), ("纳税人信用评价复评", "国家税务总局营口市税务局", 15),
    ("城市道路占用挖掘许可", "营口市城市管理综合行政执法局", 10),
)  # fmt: skip


def _service_catalogue() -> list[DemoFile]:
    lines = [(18, "营口市政务服务事项目录（2026年版）"), (0, ""), (11, "序号  事项编码  事项名称  实施主体  法定时限")]
    for n, (name, body, days) in enumerate(SERVICE_ITEMS, 1):
        lines.append((11, f"{n:>2}. 2108000{n:05d}000  {name}  {body}  {days}个工作日"))
    lines += [
        (0, ""),
        (10, "本目录由营口市营商环境建设局汇总发布，事项办理以各实施主体公布的办事指南为准。"),
        (10, FICTION),
    ]
    return [DemoFile("营口市政务服务事项目录（2026年版）.pdf", pdf(lines))]


def _school_zones() -> list[DemoFile]:
    rng = random.Random(f"{SEED}|划片")
    paragraphs = [("2025年营口市城区义务教育学校招生划片范围", True)]
    for number, district in zip("一二", DISTRICTS[:2], strict=True):
        paragraphs.append((f"{number}、{district.name}", False))
        for street in district.streets:
            north, south = rng.sample(district.roads, 2)
            paragraphs.append(
                (
                    f"{district.full}{street.removesuffix('街道')}小学：{street}辖区内{north}以南、{south}以北的居民小区。",
                    False,
                )
            )
    paragraphs += [("适龄儿童按户籍和实际居住地就近入学，具体以学校招生公告为准。", False), (FICTION, False)]
    return [DemoFile("2025年营口市城区义务教育学校招生划片范围.docx", docx(paragraphs))]


# 2025 by quarter (cumulative): (indicator, unit, annual total, growth per quarter share).
INDICATORS = (
    ("地区生产总值", "亿元", 1560.0), ("第一产业增加值", "亿元", 130.0), ("第二产业增加值", "亿元", 650.0),
    ("第三产业增加值", "亿元", 780.0), ("社会消费品零售总额", "亿元", 560.0), ("一般公共预算收入", "亿元", 170.0),
    ("港口货物吞吐量", "万吨", 21000.0), ("集装箱吞吐量", "万标箱", 510.0),
    ("城镇居民人均可支配收入", "元", 48500.0), ("农村居民人均可支配收入", "元", 23800.0),
)  # fmt: skip


def _economy() -> list[DemoFile]:
    rng = random.Random(f"{SEED}|统计")
    rows = []
    for name, unit, total in INDICATORS:
        for quarter, share in ((3, 0.22), (6, 0.47), (9, 0.73), (12, 1.0)):
            rows.append((name, f"2025{quarter:02d}", round(total * share * rng.uniform(0.98, 1.02), 1), unit))
    return [
        DemoFile("2025年营口市国民经济主要指标.xlsx", xlsx("主要指标", ("指标名称", "统计期", "数值", "单位"), rows))
    ]


def _training_schools() -> list[DemoFile]:
    rng = random.Random(f"{SEED}|培训机构")
    trades = ("电工、焊工", "养老护理员、育婴员", "中式烹调师、中式面点师", "汽车维修工", "美容师、美发师", "电子商务师",
              "保育师", "叉车司机", "茶艺师", "农业经理人")  # fmt: skip
    rows, used = [], set()
    while len(rows) < 30:
        place = make_place(rng, rural=False)
        name = f"{place.district.full}{rng.choice(BRANDS)}职业技能培训学校"
        if name in used:
            continue
        used.add(name)
        rows.append((credit_code("52", place.district.code, name), name, rng.choice(trades), place.address))
    header = ("机构代码", "机构名称", "培训工种", "地址")
    return [DemoFile("营口市职业技能培训机构名录（2026年第一季度）.xlsx", xlsx("培训机构", header, rows))]


def _water_quality() -> list[DemoFile]:
    rng = random.Random(f"{SEED}|水质")
    lines = [(18, "营口市城市供水水质公告（2026年2月）"), (0, ""),
             (11, "依据《生活饮用水卫生标准》（GB 5749-2022），本月对出厂水和管网水进行了检测，结果如下："),
             (0, ""), (11, "检测点  检测日期  浊度(NTU)  余氯(mg/L)  结论")]  # fmt: skip
    points = ["第一水厂出厂水", "第二水厂出厂水", "鲅鱼圈水厂出厂水"] + [
        f"{d.name}{rng.choice(d.streets)}管网水" for d in DISTRICTS for _n in range(2)
    ]
    for point in points:
        day = AS_OF - dt.timedelta(days=rng.randint(2, 27))
        lines.append((11, f"{point}  {day:%Y-%m-%d}  {rng.uniform(0.1, 0.6):.2f}  {rng.uniform(0.3, 0.9):.2f}  合格"))
    lines += [(0, ""), (11, "全部检测点各项指标均符合国家标准。营口市水务集团"), (10, FICTION)]
    return [DemoFile("营口市城市供水水质公告（2026年2月）.pdf", pdf(lines))]


# A-level scenic areas with their approximate position (longitude, latitude).
SCENIC_AREAS = (
    ("望儿山风景区", "4A", 122.17, 40.22), ("思拉堡温泉小镇", "4A", 122.15, 40.18), ("赤山风景区", "4A", 122.52, 40.33),
    ("西炮台遗址", "3A", 122.19, 40.64), ("辽河老街", "3A", 122.23, 40.67), ("楞严禅寺", "3A", 122.25, 40.67),
    ("熊岳植物园", "3A", 122.15, 40.18), ("金牛山遗址", "2A", 122.45, 40.58), ("白沙湾黄金海岸", "3A", 122.02, 40.12),
)  # fmt: skip


def _scenic_map() -> list[DemoFile]:
    """A sketch map: Liaodong Bay to the west, land to the east, scenic areas as red dots."""
    width, height, west, east, south, north = 360, 300, 121.9, 122.8, 40.05, 40.85
    dots = set()
    for *_name, lng, lat in SCENIC_AREAS:
        cx, cy = round((lng - west) / (east - west) * width), round((north - lat) / (north - south) * height)
        dots.update((cx + dx, cy + dy) for dx in range(-4, 5) for dy in range(-4, 5) if dx * dx + dy * dy <= 16)

    def pixel(x: int, y: int) -> tuple[int, int, int]:
        if (x, y) in dots:
            return (200, 30, 30)
        lat = north - y / height * (north - south)
        coast = 122.0 + (lat - 40.05) * 0.3  # the coast runs north-north-east
        lng = west + x / width * (east - west)
        return (170, 205, 235) if lng < coast else (236, 230, 208)

    return [DemoFile("营口市A级旅游景区分布示意图.png", png(width, height, pixel))]


def _planning_layer() -> list[DemoFile]:
    zones = ("居住生活区", "综合服务区", "商业商务区", "工业发展区", "物流仓储区", "绿地休闲区")
    features = []
    for n, district in enumerate(DISTRICTS):
        lng, lat = district.centre
        ring = [[lng - 0.03, lat - 0.02], [lng + 0.03, lat - 0.02], [lng + 0.03, lat + 0.02], [lng - 0.03, lat + 0.02]]
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "分区编号": f"GH{district.code}01",
                    "规划分区": zones[n % len(zones)],
                    "所在区县": district.name,
                },
                "geometry": {"type": "Polygon", "coordinates": [[*ring, ring[0]]]},
            }
        )
    layer = json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False, indent=1).encode(
        "utf-8"
    )
    note = (
        "营口市国土空间总体规划（2021—2035年）规划分区图层（示意）\n坐标系：CGCS2000（经纬度）\n" + FICTION + "\n"
    ).encode()
    return [DemoFile("营口市国土空间规划分区图层.zip", _zip([("规划分区.geojson", layer), ("图层说明.txt", note)]))]


@dataclass(frozen=True)
class FileSet:
    entry: str
    build: Callable[[], list[DemoFile]]


FILE_SETS = (
    FileSet("营业执照信息", _business_licences),
    FileSet("建筑业企业资质证书", _qualification_certificates),
    FileSet("教师资格证书信息", _teacher_certificates),
    FileSet("政务服务事项目录", _service_catalogue),
    FileSet("义务教育入学划片信息", _school_zones),
    FileSet("国民经济主要指标", _economy),
    FileSet("职业技能培训机构名录", _training_schools),
    FileSet("供水水质公告", _water_quality),
    FileSet("A级旅游景区名录", _scenic_map),
    FileSet("国土空间规划图层", _planning_layer),
)

API_ENTRY = "天气预报信息"

# --- loading --------------------------------------------------------------------------------


class DemoDataRefused(Exception):
    """A generated table did not load: the generator and the column's checks disagree."""


SPEC_BY_NAME = {spec.name: spec for spec in SPECS}


def _entry(name: str) -> CatalogEntry | None:
    spec = SPEC_BY_NAME[name]
    return (
        CatalogEntry.objects.filter(provider__name=spec.provider, published__isnull=False, published__name=name)
        .select_related("published", "provider")
        .first()
    )


def _publish(actor: Actor, resource: Resource) -> None:
    services.submit(actor, resource)
    services.publish(actor, resource)


def _missing(name: str, kind: str) -> CatalogEntry | None:
    """The entry, when it is published and has no resource of this kind yet."""
    entry = _entry(name)
    if entry is None or Resource.objects.filter(entry=entry, kind=kind).exists():
        return None
    return entry


def _load_table(actor: Actor, table: Table) -> bool:
    entry = _missing(table.entry, Kind.TABLE)
    if entry is None:
        return False
    with transaction.atomic():
        resource = services.mount(actor, entry, kind=Kind.TABLE, name=f"{table.entry}（库表）", description=FICTION)
        columns = list(resource.columns.order_by("position"))
        data = table_csv(columns, Generator(table, columns).rows())
        version = loads.load_table(
            actor, resource, data, filename=f"{table.entry}_{AS_OF:%Y%m%d}.csv", mode=DataVersion.Mode.REPLACE
        )
        if version.status != DataVersion.Status.DONE:
            raise DemoDataRefused(f"{table.entry}: {version.message} {version.report[:3]}")
        _publish(actor, resource)
    return True


def _load_files(actor: Actor, file_set: FileSet) -> bool:
    entry = _missing(file_set.entry, Kind.FILE)
    if entry is None:
        return False
    with transaction.atomic():
        resource = services.mount(actor, entry, kind=Kind.FILE, name=f"{file_set.entry}（文件）", description=FICTION)
        for item in file_set.build():
            files.upload_file(actor, resource, io.BytesIO(item.content), name=item.name, licence=item.licence)
        _publish(actor, resource)
    return True


def _load_api(actor: Actor) -> bool:
    """The forecast interface, registered with the stand-in upstream's token; when the
    platform's address changed since (another port), the registration follows it."""
    entry = _entry(API_ENTRY)
    if entry is None:
        return False
    name = f"{API_ENTRY}（接口）"
    existing = Resource.objects.filter(entry=entry, kind=Kind.API).first()
    if existing is not None:
        endpoint = ApiEndpoint.objects.filter(resource=existing).first()
        if existing.name == name and endpoint is not None and endpoint.url != upstream.weather_url():
            apis.update_api(actor, existing, url=upstream.weather_url())
        return False
    with transaction.atomic():
        resource = services.mount(
            actor, entry, kind=Kind.API, name=name,
            description="营口市区及县区七日天气预报；按预报区域查询，不传则返回全部区域。" + FICTION,
        )  # fmt: skip
        apis.register_api(
            actor,
            resource,
            url=upstream.weather_url(),
            parameter_schema={
                "type": "object",
                "properties": {"ybqy": {"type": "string", "enum": list(upstream.AREAS), "description": "预报区域"}},
            },
            auth=ApiEndpoint.Auth.HEADER,
            auth_name=upstream.TOKEN_HEADER,
            credentials=upstream.token(),
            timeout_seconds=5,
        )
        _publish(actor, resource)
    return True


def load() -> dict[str, int]:
    """Load (or complete) the datastore demo; returns totals and how many resources this run
    created (0 when everything was there already)."""
    actor = Actor.platform()
    created = sum(_load_table(actor, table) for table in TABLES)
    created += sum(_load_files(actor, file_set) for file_set in FILE_SETS)
    created += _load_api(actor)
    names = [t.entry for t in TABLES] + [f.entry for f in FILE_SETS] + [API_ENTRY]
    resources = Resource.objects.filter(entry__published__name__in=names, status=Resource.Status.PUBLISHED)
    tables = resources.filter(kind=Kind.TABLE)
    return {
        "datastore tables": tables.count(),
        "datastore rows": sum(tables.values_list("row_count", flat=True)),
        "datastore files": FileObject.objects.filter(resource__in=resources, is_active=True).count(),
        "datastore interfaces": resources.filter(kind=Kind.API).count(),
        "datastore resources created now": created,
    }
