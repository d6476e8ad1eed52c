import pytest

from govdata import testing as t
from govdata.catalog import search, services
from govdata.catalog.models import Classification, SearchEntry, SearchTerm
from govdata.catalog.seed import seed_classification

from .test_workflow import ITEMS, entry_values


@pytest.fixture
def catalog(yk):
    seed_classification(Classification)
    cls = {c.code: c for c in Classification.objects.all()}

    def publish(provider_admin, provider, code, items=ITEMS, themes=(), **values):
        values = entry_values(**values)
        values["themes"] = [cls[c] for c in themes]
        entry = services.create_entry(t.actor(provider_admin), provider, cls[code], values, items)
        services.submit(t.actor(provider_admin), entry)
        services.publish(t.actor(yk.bureau), entry)
        return entry

    hukou = publish(
        yk.police_admin,
        yk.police,
        "101",
        name="居民户籍信息",
        summary="常住人口户籍登记",
        share_type="unconditional",
        share_conditions="",
        items=[
            {"name": "公民身份号码", "code": "sfzh", "data_type": "C", "length": 18, "required": True, "is_key": True},
            {"name": "户籍地址", "code": "hjdz", "data_type": "C", "length": 200},
        ],
        themes=["210"],
        domains=[],
    )
    dibao = publish(
        yk.civil_admin,
        yk.civil,
        "202",
        name="城乡低保对象信息",
        summary="最低生活保障对象名单",
        items=[{"name": "保障金额", "code": "bzje", "data_type": "Y"}, {"name": "救助类别", "code": "jzlb", "data_type": "C", "length": 10}],
        themes=["202"],
    )
    draft = services.create_entry(
        t.actor(yk.civil_admin), yk.civil, cls["202"], entry_values(name="临时救助草稿信息"), ITEMS
    )
    return {"hukou": hukou, "dibao": dibao, "draft": draft}


@pytest.mark.req("R-16.1")
def test_finds_entries_by_words_only_in_data_items(catalog):
    result = search.search("户籍地址")
    assert [e.pk for e in result.entries] == [catalog["hukou"].pk]
    result = search.search("保障金额")
    assert [e.pk for e in result.entries] == [catalog["dibao"].pk]
    assert search.search("临时救助").total == 0  # drafts are not in the sharing catalog


@pytest.mark.req("R-16.1")
@pytest.mark.req("R-19.2")
def test_facets_and_filters(catalog, yk):
    everything = search.search("")
    assert everything.total == 2
    assert everything.facets["share_type"] == {"unconditional": 1, "conditional": 1}
    assert everything.facets["theme"] == {"210": 1, "202": 1}
    assert everything.facets["provider"] == {str(yk.police.pk): 1, str(yk.civil.pk): 1}
    by_theme = search.search("", {"theme": ["202"]})
    assert [e.pk for e in by_theme.entries] == [catalog["dibao"].pk]
    by_class = search.search("", {"classification": ["101"]})
    assert [e.pk for e in by_class.entries] == [catalog["hukou"].pk]
    assert search.search("信息", {"domain": ["social_security"]}).total == 1


@pytest.mark.req("R-16.1")
def test_query_syntax_is_never_interpreted(catalog):
    for hostile in ['"', "户籍 OR 1=1", "*", "NEAR(a b)", "'; DROP TABLE catalog_searchentry; --", "户籍\x00"]:
        result = search.search(hostile)
        assert result.total <= 2
    assert search.search("居民").total == 1


@pytest.mark.req("R-16.1")
def test_sorts_and_filters_agree_with_facets(catalog):
    by_name = search.search("信息", sort="name")
    assert [e.published.name for e in by_name.entries] == sorted(e.published.name for e in by_name.entries)
    newest = search.search("信息", sort="newest")
    assert [e.pk for e in newest.entries] == [catalog["dibao"].pk, catalog["hukou"].pk]
    for facet, counts in search.search("信息").facets.items():
        for value, n in counts.items():
            assert search.search("信息", {facet: [value]}).total == n, (facet, value)
    assert search.search("信息", {"share_type": ["unconditional"]}, limit=1, offset=1).entries == []


@pytest.mark.req("R-16.1")
def test_browsing_pages_without_words_are_the_databases_full_sort_page_by_page(catalog, yk):
    for i in range(5):
        services.publish(t.actor(yk.bureau), _submitted(yk, name=f"婚姻登记信息{i}", summary="婚姻登记"))
    for filters in ({}, {"share_type": ["unconditional"]}, {"provider": [str(yk.civil.pk)]}):
        rows = SearchEntry.objects.all()
        for facet, values in filters.items():
            rows = rows.filter(**{search.COLUMN_FACETS[facet] + "__in": values})
        for sort, order in (("newest", ("-published_at", "-id")), ("name", ("name", "id"))):
            expected = list(rows.order_by(*order).values_list("entry_id", flat=True))
            seen = []
            for offset in range(0, len(expected) + 2, 2):
                seen += [e.pk for e in search.search("", filters, sort=sort, offset=offset, limit=2).entries]
            assert seen == expected and expected, (filters, sort)


def _full_sort(q: str) -> list[int]:
    """Every match of ``q`` by relevance, then newest first: the order pages must follow."""
    table = search.facet_table()
    terms = search._terms(search.tokens(q), table.everything)
    matched = table.everything
    for term in terms:
        matched &= term.rows
    scores = search.relevance(terms, matched)
    return [table.entry[i] for i in sorted(scores, key=lambda i: (-scores[i], table.newest_rank[i]))]


@pytest.mark.req("R-16.1")
@pytest.mark.parametrize("combinations", [search.MAX_COMBINATIONS, 0], ids=["by-level", "scored-one-by-one"])
def test_pages_follow_relevance_then_newest_exactly_as_a_full_sort(catalog, yk, monkeypatch, combinations):
    for i in range(7):  # many ties: same words, same length
        services.publish(t.actor(yk.bureau), _submitted(yk, name=f"户籍迁移记录{i}", summary="户籍迁移"))
    services.publish(t.actor(yk.bureau), _submitted(yk, name="流动人口登记", summary="含户籍迁移的流动人口信息"))
    monkeypatch.setattr(search, "MAX_COMBINATIONS", combinations)
    for q, count in (("户籍", 9), ("户籍迁移", 8), ("迁移信息", 1)):
        expected = _full_sort(q)
        seen = []
        for offset in range(0, len(expected) + 3, 3):
            seen += [e.pk for e in search.search(q, offset=offset, limit=3).entries]
        assert seen == expected and len(seen) == count, q


@pytest.mark.req("R-16.1")
def test_an_entry_named_by_the_words_ranks_above_one_that_only_mentions_them(catalog, yk):
    named = _submitted(yk, name="婚姻登记信息", summary="结婚离婚登记")
    services.publish(t.actor(yk.bureau), named)
    mentioned = _submitted(
        yk,
        name="民政综合业务信息",
        summary="民政部门汇总的多项业务数据，其中包括救助、养老、殡葬、社会组织、婚姻等方面的记录",
    )
    services.publish(t.actor(yk.bureau), mentioned)  # the newer one
    assert [e.pk for e in search.search("婚姻").entries] == [named.pk, mentioned.pk]


@pytest.mark.req("R-16.1")
def test_the_term_index_stays_what_a_rebuild_makes_through_new_versions(catalog, yk):
    def current():
        return {(w, level): search._unpack(data) for w, level, data in SearchTerm.objects.values_list("word", "level", "rows")}

    entry = _submitted(yk, name="殡葬服务机构信息", summary="殡葬服务机构名录")
    services.publish(t.actor(yk.bureau), entry)
    services.start_revision(t.actor(yk.civil_admin), entry)
    services.save_draft(t.actor(yk.civil_admin), entry, entry_values(name="殡葬服务机构名录", summary="公墓和殡仪馆"), ITEMS)
    services.submit(t.actor(yk.civil_admin), entry)
    services.publish(t.actor(yk.bureau), entry)
    assert search.search("殡仪馆").total == 1 and search.search("殡葬服务机构信息").total == 0
    incremental = current()
    search.rebuild_terms()
    assert current() == incremental and incremental


@pytest.mark.req("R-16.1")
def test_a_search_is_three_queries_and_sees_each_publish_at_once(catalog, yk, django_assert_num_queries):
    assert search.search("低保").total == 1
    # the index state, the words' term rows, the page's entries
    with django_assert_num_queries(3):
        assert search.search("低保").total == 1
    services.publish(t.actor(yk.bureau), _submitted(yk, name="低保边缘家庭信息", summary="低保边缘"))
    assert search.search("低保").total == 2
    assert search.search("低保 不存在的词").total == 0


def _submitted(yk, **values):
    seed_classification(Classification)
    entry = services.create_entry(
        t.actor(yk.civil_admin), yk.civil, Classification.objects.get(code="202"), entry_values(**values), ITEMS
    )
    services.submit(t.actor(yk.civil_admin), entry)
    return entry
