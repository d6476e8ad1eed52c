"""The classification tree of the 2017 guide, with the 14 themes of Art. 19."""

CLASSES = [("1", "基础信息资源"), ("2", "主题信息资源"), ("3", "部门信息资源")]
BASE_ITEMS = [
    ("101", "人口", True),
    ("102", "法人单位", True),
    ("103", "自然资源和空间地理", True),
    ("104", "社会信用", False),
    ("105", "电子证照", True),
]
THEMES = [
    "健康保障", "社会保障", "食品药品安全", "安全生产", "应急管理", "城市管理", "价格监管",
    "信用体系", "城乡建设", "社区治理", "生态环保", "社会维稳", "乡村振兴", "营商环境",
]
DEPARTMENT_ITEMS = ["政务运行", "经济发展", "社会管理", "公共服务", "城乡建设与环境"]


def seed_classification(Classification) -> None:
    """Idempotent; takes the model class so migrations can pass their historical model."""
    roots = {}
    for code, name in CLASSES:
        roots[code] = Classification.objects.get_or_create(code=code, defaults={"name": name, "level": 1})[0]
    items = [(code, name, must) for code, name, must in BASE_ITEMS]
    items += [(f"2{n:02d}", name, False) for n, name in enumerate(THEMES, start=1)]
    items += [(f"3{n:02d}", name, False) for n, name in enumerate(DEPARTMENT_ITEMS, start=1)]
    for code, name, must in items:
        Classification.objects.get_or_create(
            code=code,
            defaults={"name": name, "level": 2, "parent": roots[code[0]], "must_share_unconditionally": must},
        )
