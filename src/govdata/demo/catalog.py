"""Demo catalog: realistic Yingkou entries across classes, sharing and opening types, formats
and update cycles, compiled, submitted and reviewed through the catalog services."""

from __future__ import annotations

from dataclasses import dataclass

from govdata.catalog import services
from govdata.catalog.models import CatalogEntry, Classification
from govdata.catalog.seed import seed_classification
from govdata.common.actor import Actor
from govdata.orgs.models import Department

# Compact item notation: "name:code:type[length][:key][:pii]" separated by ";".
PERSON = "公民身份号码:sfzh:C18:key:pii;姓名:xm:C50:pii;性别:xb:C1;出生日期:csrq:D"
ORG = "统一社会信用代码:tyshxydm:C18:key;单位名称:dwmc:C200;法定代表人:fddbr:C50:pii;住所:zs:C200"


@dataclass(frozen=True)
class Spec:
    provider: str
    classification: str
    name: str
    summary: str
    items: str
    share: str = "unconditional"  # unconditional | conditional | not_shared
    open: str = "not_open"  # unconditional | on_application | not_open
    fmt: tuple[str, str] = ("database", "oracle")
    mode: str = "api"  # table | api | file | "" (email/media)
    cycle: str = "daily"
    themes: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    state: str = "published"  # published | draft | returned | submitted


S = Spec
SPECS = [
    # --- base resources (class 1): unconditionally shared ----------------------------------
    S("营口市公安局", "101", "人口基础信息", "全市户籍人口和常住人口的身份、户籍登记基础信息", PERSON + ";户籍地址:hjdz:C200:pii;民族:mz:C2", mode="table"),
    S("营口市公安局", "101", "居民身份证签发信息", "居民身份证申领、签发及有效期信息", PERSON + ";签发机关:qfjg:C100;有效期截止:yxqjz:D"),
    S("营口市民政局", "101", "婚姻登记信息", "结婚登记、离婚登记信息", "男方身份号码:nfsfzh:C18:key:pii;女方身份号码:vfsfzh:C18:key:pii;登记日期:djrq:D;登记类别:djlb:C10", mode="api"),
    S("营口市民政局", "101", "死亡人员火化信息", "殡葬服务机构火化登记信息", PERSON + ";火化日期:hhrq:D;殡仪馆:byg:C100"),
    S("营口市卫生健康委员会", "101", "出生医学证明信息", "新生儿出生医学证明签发信息", "证明编号:zmbh:C20:key;新生儿姓名:xsexm:C50:pii;出生日期:csrq:D;母亲身份号码:mqsfzh:C18:pii;接生机构:jsjg:C100"),
    S("营口市市场监督管理局", "102", "法人单位基本信息", "全市企业、个体工商户、农民专业合作社登记基本信息", ORG + ";成立日期:clrq:D;注册资本(万元):zczb:Y;经营范围:jyfw:M", mode="table", open="unconditional", domains=("enterprise_registration",), themes=("214",)),
    S("营口市市场监督管理局", "105", "营业执照信息", "营业执照电子证照信息", ORG + ";执照编号:zzbh:C30;核准日期:hzrq:D", mode="api", open="unconditional", domains=("enterprise_registration",), themes=("214",)),
    S("营口市民政局", "102", "社会组织登记信息", "社会团体、民办非企业单位、基金会登记信息", ORG + ";业务主管单位:ywzgdw:C100", open="unconditional", cycle="monthly"),
    S("营口市市场监督管理局", "102", "农民专业合作社登记信息", "农民专业合作社设立、变更登记信息", ORG + ";成员出资总额:cyczze:Y", cycle="monthly"),
    S("营口市自然资源局", "103", "不动产登记信息", "不动产权利登记、抵押登记、查封登记信息", "不动产单元号:bdcdyh:C28:key;权利人:qlr:C200:pii;证件号码:zjhm:C18:pii;坐落:zl:C200;面积:mj:N;登记时间:djsj:T", mode="api"),
    S("营口市自然资源局", "103", "国土空间规划图层", "国土空间总体规划矢量图层", "图层编号:tcbh:C20:key;图层名称:tcmc:C100;比例尺:blc:C20", fmt=("self_describing", ""), mode="file", cycle="yearly", open="on_application"),
    S("营口市自然资源局", "103", "地名地址信息", "标准地名、门牌地址信息", "地址编码:dzbm:C30:key;标准地址:bzdz:C200;经度:jd:F;纬度:wd:F", open="unconditional", cycle="monthly", domains=("transport",)),
    S("营口市公安局", "105", "机动车驾驶证信息", "机动车驾驶证电子证照信息", PERSON + ";准驾车型:zjcx:C10;初次领证日期:cclzrq:D"),
    S("营口市住房和城乡建设局", "105", "建筑业企业资质证书", "建筑业企业资质电子证照", ORG + ";资质等级:zzdj:C20;证书编号:zsbh:C30", open="unconditional", domains=("credit",)),
    S("营口市教育局", "105", "教师资格证书信息", "教师资格认定电子证照", PERSON + ";资格种类:zgzl:C20;任教学科:rjxk:C20", open="not_open"),
    # --- social credit (class 1, not forced) -------------------------------------------------
    S("营口市发展和改革委员会", "104", "行政许可信息", "双公示行政许可信息", "许可决定书文号:xkwh:C50:key;行政相对人名称:xdrmc:C200;统一社会信用代码:tyshxydm:C18;许可内容:xknr:M;许可决定日期:xkrq:D", open="unconditional", domains=("credit",), themes=("208",)),
    S("营口市发展和改革委员会", "104", "行政处罚信息", "双公示行政处罚信息", "处罚决定书文号:cfwh:C50:key;行政相对人名称:xdrmc:C200;统一社会信用代码:tyshxydm:C18;处罚事由:cfsy:M;处罚日期:cfrq:D", open="unconditional", domains=("credit",), themes=("208",)),
    S("营口市发展和改革委员会", "104", "失信被执行人名单", "法院公布的失信被执行人信息", "案号:ah:C50:key;被执行人名称:bzxrmc:C200;证件号码:zjhm:C18:pii;失信情形:sxqx:M", share="conditional", domains=("credit",)),
    # --- thematic resources (class 2) ------------------------------------------------------
    S("营口市人力资源和社会保障局", "202", "社会保险参保信息", "职工和城乡居民养老、医疗、失业、工伤保险参保信息", PERSON + ";参保险种:cbxz:C20;参保状态:cbzt:C2;参保日期:cbrq:D", share="conditional", domains=("social_security",), themes=("202",)),
    S("营口市人力资源和社会保障局", "202", "社会保障卡信息", "社会保障卡发放和状态信息", PERSON + ";社保卡号:sbkh:C20;发卡日期:fkrq:D", share="conditional", themes=("202",)),
    S("营口市人力资源和社会保障局", "202", "就业登记信息", "劳动者就业、失业登记信息", PERSON + ";就业状态:jyzt:C2;用工单位:ygdw:C200", share="conditional", domains=("employment",), themes=("202",)),
    S("营口市人力资源和社会保障局", "202", "职业技能培训机构名录", "人社部门认定的职业技能培训机构", "机构代码:jgdm:C18:key;机构名称:jgmc:C200;培训工种:pxgz:C200;地址:dz:C200", open="unconditional", fmt=("spreadsheet", "xlsx"), mode="file", cycle="quarterly", domains=("employment",)),
    S("营口市医疗保障局", "201", "医保参保缴费信息", "基本医疗保险参保缴费记录", PERSON + ";缴费年月:jfny:C6;缴费金额:jfje:Y", share="conditional", domains=("medical", "social_security"), themes=("201", "202")),
    S("营口市医疗保障局", "201", "定点医药机构名录", "医保定点医疗机构和零售药店名录", "机构编码:jgbm:C20:key;机构名称:jgmc:C200;机构类别:jglb:C20;地址:dz:C200", open="unconditional", cycle="monthly", domains=("medical",), themes=("201",)),
    S("营口市卫生健康委员会", "201", "医疗机构名录", "全市医疗机构执业登记信息", "登记号:djh:C30:key;机构名称:jgmc:C200;机构类别:jglb:C50;床位数:cws:I;地址:dz:C200", open="unconditional", cycle="monthly", domains=("medical",), themes=("201",)),
    S("营口市卫生健康委员会", "201", "预防接种信息", "儿童预防接种记录", PERSON + ";疫苗名称:ymmc:C100;接种日期:jzrq:D", share="conditional", open="not_open", themes=("201",)),
    S("营口市卫生健康委员会", "201", "医师执业注册信息", "医师执业注册信息", PERSON + ";执业类别:zylb:C20;执业地点:zydd:C200", share="conditional", open="on_application", domains=("medical",)),
    S("营口市市场监督管理局", "203", "食品经营许可信息", "食品经营许可证发放信息", ORG + ";许可证编号:xkzbh:C30;有效期至:yxqz:D", open="unconditional", domains=("enterprise_registration",), themes=("203",)),
    S("营口市市场监督管理局", "203", "食品安全抽检信息", "食品安全监督抽检结果", "抽样编号:cybh:C30:key;食品名称:spmc:C100;被抽样单位:bcydw:C200;检验结论:jyjl:C20", open="unconditional", fmt=("spreadsheet", "xls"), mode="file", cycle="monthly", themes=("203",)),
    S("营口市应急管理局", "204", "安全生产许可信息", "危险化学品等安全生产许可信息", ORG + ";许可证编号:xkzbh:C30;许可范围:xkfw:M", open="unconditional", themes=("204",)),
    S("营口市应急管理局", "205", "应急避难场所信息", "全市应急避难场所名录和位置", "场所编号:csbh:C20:key;场所名称:csmc:C100;容纳人数:rnrs:I;经度:jd:F;纬度:wd:F", open="unconditional", cycle="yearly", themes=("205",)),
    S("营口市应急管理局", "205", "应急救援队伍信息", "各类应急救援队伍及装备信息", "队伍编号:dwbh:C20:key;队伍名称:dwmc:C100;联系人:lxr:C50:pii;联系电话:lxdh:C20:pii", share="conditional", themes=("205",)),
    S("营口市城市管理综合行政执法局", "206", "城市管理案件信息", "数字城管案件受理和处置信息", "案件编号:ajbh:C30:key;案件类别:ajlb:C50;发生地址:fsdz:C200;处置状态:czzt:C10;上报时间:sbsj:T", cycle="realtime", themes=("206",)),
    S("营口市城市管理综合行政执法局", "206", "公共厕所分布信息", "城区公共厕所位置及开放时间", "编号:bh:C20:key;名称:mc:C100;地址:dz:C200;开放时间:kfsj:C50", open="unconditional", fmt=("document", "xml"), mode="file", cycle="quarterly", themes=("206",)),
    S("营口市发展和改革委员会", "207", "重要商品价格监测信息", "粮油肉菜等重要民生商品价格", "监测日期:jcrq:D:key;商品名称:spmc:C50:key;规格:gg:C50;价格(元):jg:Y", open="unconditional", cycle="weekly", themes=("207",)),
    S("营口市住房和城乡建设局", "209", "商品房预售许可信息", "商品房预售许可证信息", "许可证号:xkzh:C30:key;项目名称:xmmc:C200;开发企业:kfqy:C200;预售面积:ysmj:N", open="unconditional", themes=("209",)),
    S("营口市住房和城乡建设局", "209", "建设工程施工许可信息", "建筑工程施工许可证核发信息", "许可证编号:xkzbh:C30:key;工程名称:gcmc:C200;建设单位:jsdw:C200;合同价格:htjg:Y", open="unconditional", themes=("209", "214")),
    S("营口市民政局", "210", "城乡低保对象信息", "城乡最低生活保障对象认定及保障金发放信息", PERSON + ";保障金额:bzje:Y;认定日期:rdrq:D", share="conditional", open="not_open", cycle="monthly", domains=("social_security",), themes=("210", "202")),
    S("营口市民政局", "210", "养老服务机构名录", "养老机构和社区养老服务设施", "机构编号:jgbh:C20:key;机构名称:jgmc:C200;床位数:cws:I;地址:dz:C200", open="unconditional", cycle="quarterly", themes=("210",)),
    S("营口市生态环境局", "211", "空气质量监测数据", "城市空气质量自动监测站小时数据", "监测站点:jczd:C50:key;监测时间:jcsj:T:key;AQI:aqi:I;PM2.5浓度:pm25:N;首要污染物:sywrw:C20", open="unconditional", cycle="realtime", mode="api", domains=("environment",), themes=("211",)),
    S("营口市生态环境局", "211", "排污许可信息", "排污单位许可证核发信息", ORG + ";许可证编号:xkzbh:C30;行业类别:hylb:C50", open="unconditional", domains=("environment",), themes=("211",)),
    S("营口市生态环境局", "211", "重点排污单位在线监测数据", "重点排污单位废水废气在线监测", "单位名称:dwmc:C200:key;监测点位:jcdw:C50:key;监测时间:jcsj:T:key;污染物:wrw:C20;浓度:nd:N", share="conditional", open="on_application", cycle="realtime", domains=("environment",)),
    S("营口市公安局", "212", "重点场所治安信息", "重点场所治安管理信息", "场所编号:csbh:C20:key;场所名称:csmc:C200;场所类别:cslb:C20", share="not_shared", themes=("212",)),
    S("营口市农业农村局", "213", "农村土地承包经营权信息", "农村土地承包经营权确权登记信息", "承包合同编号:cbhtbh:C30:key;承包方代表:cbfdb:C50:pii;承包面积(亩):cbmj:N;所在村:szc:C100", share="conditional", cycle="yearly", themes=("213",)),
    S("营口市农业农村局", "213", "农产品质量安全检测信息", "农产品质量安全例行监测结果", "样品编号:ypbh:C30:key;产品名称:cpmc:C50;检测结果:jcjg:C20", open="unconditional", cycle="monthly", themes=("213", "203")),
    S("营口市营商环境建设局", "214", "政务服务事项办件信息", "政务服务事项受理和办结信息", "办件编号:bjbh:C40:key;事项名称:sxmc:C200;申请人:sqr:C200:pii;受理时间:slsj:T;办结时间:bjsj:T", share="conditional", cycle="realtime", themes=("214",)),
    S("营口市营商环境建设局", "214", "政务服务事项目录", "全市政务服务事项清单", "事项编码:sxbm:C40:key;事项名称:sxmc:C200;实施主体:sszt:C200;法定时限:fdsx:I", open="unconditional", fmt=("document", "pdf"), mode="file", cycle="half_yearly", themes=("214",)),
    # --- department resources (class 3) ------------------------------------------------------
    S("营口市交通运输局", "304", "公交线路与站点信息", "城市公交线路、站点和首末班时间", "线路编号:xlbh:C10:key;线路名称:xlmc:C50;站点名称:zdmc:C50;首班时间:sbsj:C5;末班时间:mbsj:C5", open="unconditional", cycle="monthly", domains=("transport",)),
    S("营口市交通运输局", "304", "道路运输经营许可信息", "道路旅客和货物运输经营许可", ORG + ";许可证号:xkzh:C30;经营范围:jyfw:M", open="unconditional", domains=("transport", "credit")),
    S("营口市交通运输局", "304", "出租汽车营运车辆信息", "巡游出租汽车营运车辆和驾驶员信息", "车牌号码:cphm:C10:key;所属公司:ssgs:C200;驾驶员姓名:jsyxm:C50:pii", share="conditional", open="on_application", domains=("transport",)),
    S("营口市教育局", "304", "中小学校基本信息", "全市中小学校名录及办学信息", "学校代码:xxdm:C10:key;学校名称:xxmc:C100;办学类型:bxlx:C20;地址:dz:C200;在校生数:zxss:I", open="unconditional", cycle="yearly", domains=("education",)),
    S("营口市教育局", "304", "学生学籍信息", "中小学生学籍信息", PERSON + ";学籍号:xjh:C20;就读学校:jdxx:C100", share="conditional", domains=("education",)),
    S("营口市教育局", "304", "义务教育入学划片信息", "义务教育阶段学校招生范围", "学校名称:xxmc:C100:key;划片范围:hpfw:M;招生年度:zsnd:C4", open="unconditional", fmt=("document", "docx"), mode="file", cycle="yearly", domains=("education",)),
    S("营口市气象局", "304", "天气预报信息", "营口市区及县区七日天气预报", "预报区域:ybqy:C50:key;预报日期:ybrq:D:key;天气现象:tqxx:C20;最高气温:zgqw:N;最低气温:zdqw:N", open="unconditional", cycle="realtime", mode="api", domains=("meteorology",)),
    S("营口市气象局", "304", "气象灾害预警信息", "暴雨、大风、寒潮等气象灾害预警", "预警编号:yjbh:C30:key;预警类型:yjlx:C20;预警级别:yjjb:C10;发布时间:fbsj:T", open="unconditional", cycle="realtime", domains=("meteorology",), themes=("205",)),
    S("国家税务总局营口市税务局", "304", "纳税信用A级纳税人名单", "年度纳税信用A级纳税人", "统一社会信用代码:tyshxydm:C18:key;纳税人名称:nsrmc:C200;评价年度:pjnd:C4", open="unconditional", cycle="yearly", domains=("credit",), themes=("208",)),
    S("国家税务总局营口市税务局", "304", "企业纳税信息", "企业纳税申报和缴纳信息", ORG + ";所属期:ssq:C6;应纳税额:ynse:Y", share="not_shared", cycle="monthly"),
    S("营口市统计局", "302", "国民经济主要指标", "全市地区生产总值等主要统计指标", "指标名称:zbmc:C100:key;统计期:tjq:C6:key;数值:sz:N;单位:dw:C20", open="unconditional", fmt=("spreadsheet", "xlsx"), mode="file", cycle="quarterly"),
    S("营口市财政局", "301", "政府采购项目信息", "政府采购项目公告和结果", "项目编号:xmbh:C30:key;项目名称:xmmc:C200;采购人:cgr:C200;中标金额:zbje:Y", open="unconditional", cycle="daily", domains=("credit",)),
    S("营口市住房公积金管理中心", "303", "住房公积金缴存信息", "职工住房公积金缴存和贷款信息", PERSON + ";缴存基数:jcjs:Y;账户状态:zhzt:C2", share="conditional", open="not_open", cycle="monthly"),
    S("营口市水务集团", "303", "供水水质公告", "城市供水出厂水和管网水水质检测结果", "检测日期:jcrq:D:key;检测点:jcd:C50:key;浊度:zd:N;余氯:yl:N", open="unconditional", fmt=("document", "pdf"), mode="file", cycle="monthly", domains=("environment",)),
    S("国网营口供电公司", "303", "计划停电信息", "电网计划检修停电范围和时间", "停电编号:tdbh:C30:key;停电区域:tdqy:M;开始时间:kssj:T;结束时间:jssj:T", open="unconditional", cycle="daily"),
    S("营口市退役军人事务局", "303", "退役军人信息", "退役军人和其他优抚对象信息", PERSON + ";退役时间:tysj:D;优抚类别:yflb:C20", share="conditional", open="not_open"),
    S("营口市司法局", "301", "律师事务所名录", "全市律师事务所执业信息", "执业许可证号:zyxkzh:C30:key;所名:sm:C200;负责人:fzr:C50;地址:dz:C200", open="unconditional", cycle="quarterly"),
    S("营口市文化旅游和广播电视局", "304", "A级旅游景区名录", "A级旅游景区名称、等级和位置", "景区编号:jqbh:C20:key;景区名称:jqmc:C100;等级:dj:C5;地址:dz:C200", open="unconditional", fmt=("image", "jpg"), mode="file", cycle="half_yearly"),
    # --- unpublished work -------------------------------------------------------------------
    S("营口市公安局", "304", "流动人口登记信息", "流动人口居住登记信息(编制中)", PERSON + ";居住地址:jzdz:C200:pii", share="conditional", state="draft"),
    S("营口市人力资源和社会保障局", "202", "工伤认定信息", "工伤认定申请和结论信息", PERSON + ";认定结论:rdjl:C20", share="conditional", state="returned"),
    S("营口市民政局", "210", "临时救助信息", "临时救助对象和救助金额", PERSON + ";救助金额:jzje:Y", share="conditional", state="submitted"),
    S("盖州市卫生健康局", "201", "盖州市基层医疗卫生机构名录", "盖州市乡镇卫生院和村卫生室名录", "机构编号:jgbh:C20:key;机构名称:jgmc:C100;所在乡镇:szxz:C50", open="unconditional", cycle="quarterly", domains=("medical",)),
    S("营口市公安局鲅鱼圈分局", "304", "鲅鱼圈区户政业务办理点", "鲅鱼圈区户政业务办理网点及时间", "网点编号:wdbh:C20:key;网点名称:wdmc:C100;地址:dz:C200;办公时间:bgsj:C50", open="unconditional", cycle="yearly"),
]

CONDITIONS = "仅限依法履行相关职责使用,须说明用途并经提供部门审核"
NOT_SHARED_BASIS = "《中华人民共和国税收征收管理法》第八条、《中华人民共和国网络安全法》第四十二条"
NOT_OPEN_BASIS = "涉及个人信息或敏感信息,依据《中华人民共和国个人信息保护法》不予开放"
ON_APPLICATION_CONDITIONS = "申请人须说明用途和使用场景,签署数据使用承诺书"
ON_APPLICATION_BASIS = "涉及商业秘密或经营信息,仅向符合条件的申请人开放"


def parse_items(text: str) -> list[dict]:
    items = []
    for part in text.split(";"):
        name, code, kind, *flags = part.split(":")
        items.append(
            {
                "name": name,
                "code": code,
                "data_type": kind[0],
                "length": int(kind[1:]) if kind[1:] else None,
                "required": "key" in flags,
                "is_key": "key" in flags,
                "sensitive": "pii" in flags,
            }
        )
    return items


def _values(spec: Spec, department: Department) -> dict:
    values = {
        "name": spec.name,
        "summary": spec.summary,
        "format_category": spec.fmt[0],
        "format_type": spec.fmt[1],
        "format_description": "Shapefile 矢量数据" if spec.fmt[0] == "self_describing" else "",
        "share_type": spec.share,
        "share_conditions": CONDITIONS if spec.share == "conditional" else "",
        "share_basis": NOT_SHARED_BASIS if spec.share == "not_shared" else "",
        "share_method": "platform" if spec.mode else "email",
        "platform_mode": spec.mode,
        "open_type": spec.open,
        "open_conditions": ON_APPLICATION_CONDITIONS if spec.open == "on_application" else "",
        "open_basis": {"not_open": NOT_OPEN_BASIS, "on_application": ON_APPLICATION_BASIS}.get(spec.open, ""),
        "update_cycle": spec.cycle,
        "domains": list(spec.domains),
        "themes": list(Classification.objects.filter(code__in=spec.themes)),
        "contact": department.contacts.filter(is_active=True, role="staff").first(),
    }
    if spec.share == "not_shared":
        values["open_type"], values["open_basis"] = "not_open", NOT_SHARED_BASIS
    return values


def load() -> dict[str, int]:
    seed_classification(Classification)
    actor = Actor.platform()
    created = 0
    for spec in SPECS:
        department = Department.objects.filter(name=spec.provider).first()
        if department is None:
            continue
        if CatalogEntry.objects.filter(provider=department, versions__name=spec.name).exists():
            continue
        classification = Classification.objects.get(code=spec.classification)
        entry = services.create_entry(actor, department, classification, _values(spec, department), parse_items(spec.items))
        created += 1
        if spec.state == "draft":
            continue
        services.submit(actor, entry)
        if spec.state == "returned":
            services.return_entry(actor, entry, "请补充共享条件的法律依据,并核对信息项的数据类型。")
        elif spec.state == "published":
            services.publish(actor, entry)
    return {"catalog entries": created}
