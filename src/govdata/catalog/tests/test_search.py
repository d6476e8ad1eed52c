import pytest

from govdata import testing as t
from govdata.catalog import search, services
from govdata.catalog.models import Classification, SearchEntry
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


@pytest.mark.req("R-16.1")
def test_pages_follow_relevance_then_newest_exactly_as_a_full_sort(catalog, yk):
    for i in range(7):  # many ties: same words, same length
        services.publish(
            t.actor(yk.bureau),
            _submitted(yk, name=f"户籍迁移记录{i}", summary="户籍迁移"),
        )
    table = search.facet_table()
    scores = search._scores(search.tokens("户籍"))
    expected = sorted(scores, key=lambda i: (scores[i], table.newest[i], -i))
    expected_entries = [table.entry[i] for i in expected]
    seen = []
    for offset in range(0, len(expected) + 3, 3):
        seen += [e.pk for e in search.search("户籍", offset=offset, limit=3).entries]
    assert seen == expected_entries and len(seen) == 8
    assert search._first(0, expected, scores, lambda i: i) == []


@pytest.mark.req("R-16.1")
def test_repeated_words_are_served_from_the_score_cache_until_the_index_changes(catalog, yk, django_assert_num_queries):
    search.score_cache.clear()
    assert search.search("低保").total == 1
    # the index state, the page's entries: no scoring query the second time
    with django_assert_num_queries(2):
        assert search.search("低保").total == 1
    services.publish(t.actor(yk.bureau), _submitted(yk, name="低保边缘家庭信息", summary="低保边缘"))
    assert search.search("低保").total == 2  # a publish changes the state: scored afresh


def _submitted(yk, **values):
    seed_classification(Classification)
    entry = services.create_entry(
        t.actor(yk.civil_admin), yk.civil, Classification.objects.get(code="202"), entry_values(**values), ITEMS
    )
    services.submit(t.actor(yk.civil_admin), entry)
    return entry
