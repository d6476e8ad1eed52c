"""Open-data standards (issue #6, item 4): the DCAT-AP catalog and per-dataset RDF in Turtle,
RDF/XML and JSON-LD parse in rdflib and describe exactly the open datasets (the CKAN API's
package_list), with content negotiation; Frictionless datapackage.json descriptors match the
CSV downloads and never describe a column the public does not receive."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib import namespace as ns

from govdata.datastore.models import ResourceColumn
from govdata.opendata.dcat import EU, VCARD

from .conftest import ROWS

FORMATS = {
    "ttl": ("turtle", "text/turtle"),
    "rdf": ("xml", "application/rdf+xml"),
    "jsonld": ("json-ld", "application/ld+json"),
}
HOST = "http://testserver"
# rdflib's JSON-LD parser uses its own deprecated ConjunctiveGraph internally.
pytestmark = pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")


def parsed(response, suffix: str) -> Graph:
    syntax, media_type = FORMATS[suffix]
    assert response.status_code == 200 and response["Content-Type"].startswith(media_type)
    return Graph().parse(data=response.content, format=syntax)


def dataset_uri(dataset) -> URIRef:
    return URIRef(f"{HOST}/open/datasets/{dataset.name}/")


def package_list(client) -> list[str]:
    return client.get("/api/3/action/package_list").json()["result"]


@pytest.mark.req("R-29.1")
@pytest.mark.req("R-28.1")
def test_the_catalog_parses_and_lists_exactly_the_open_datasets(client, opendata):
    open_names = package_list(client)  # what the CKAN API lists
    assert sorted(open_names) == sorted(d.name for d in (opendata.dibao, opendata.traffic, opendata.payments))
    for suffix in FORMATS:
        graph = parsed(client.get(f"/open/catalog.{suffix}"), suffix)
        catalog = URIRef(f"{HOST}/open/catalog")
        assert (catalog, ns.RDF.type, ns.DCAT.Catalog) in graph
        assert graph.value(catalog, ns.DCTERMS.title) == Literal("营口市公共数据开放平台", lang="zh")
        publisher = graph.value(catalog, ns.DCTERMS.publisher)
        assert graph.value(publisher, ns.FOAF.name) == Literal("营口市大数据管理局", lang="zh")
        assert graph.value(catalog, ns.FOAF.homepage) == URIRef(f"{HOST}/open/")
        assert graph.value(catalog, ns.DCTERMS.language) == EU["language/ZHO"]

        listed = set(graph.objects(catalog, ns.DCAT.dataset))
        assert listed == set(graph.subjects(ns.RDF.type, ns.DCAT.Dataset))
        assert listed == {URIRef(f"{HOST}/open/datasets/{name}/") for name in open_names}
        codes = {str(graph.value(node, ns.DCTERMS.identifier)) for node in listed}
        assert codes == {opendata.dibao.code, opendata.traffic.code, opendata.payments.code}
        # The not-open dataset leaves no trace, not even its name or code.
        text = graph.serialize(format="nt")
        assert opendata.hukou.title not in text and opendata.hukou.code not in text


@pytest.mark.req("R-29.1")
@pytest.mark.req("R-30.1")
@pytest.mark.req("R-31.1")
def test_a_dataset_is_described_with_access_rights_licence_and_distributions(client, opendata):
    graph = parsed(client.get("/open/catalog.ttl"), "ttl")
    dibao = dataset_uri(opendata.dibao)
    assert graph.value(dibao, ns.DCTERMS.title) == Literal(opendata.dibao.title, lang="zh")
    assert graph.value(dibao, ns.DCTERMS.description) == Literal("全市城乡最低生活保障救助对象及救助金额", lang="zh")
    assert graph.value(dibao, ns.DCTERMS.accessRights) == EU["access-right/PUBLIC"]
    assert graph.value(dibao, ns.DCTERMS.license) == URIRef("https://creativecommons.org/licenses/by/4.0/")
    assert graph.value(dibao, ns.DCTERMS.accrualPeriodicity) == EU["frequency/MONTHLY"]
    assert graph.value(dibao, ns.DCAT.landingPage) == dibao
    assert graph.value(dibao, ns.DCTERMS.issued).datatype == ns.XSD.date
    assert isinstance(graph.value(dibao, ns.DCTERMS.modified).toPython(), dt.datetime)
    publisher = graph.value(dibao, ns.DCTERMS.publisher)
    assert publisher == URIRef(f"{HOST}/open/departments/{opendata.civil.pk}/")
    assert (publisher, ns.RDF.type, ns.FOAF.Organization) in graph
    assert graph.value(publisher, ns.DCTERMS.identifier) == Literal(opendata.civil.credit_code)
    contact = graph.value(dibao, ns.DCAT.contactPoint)
    assert (contact, ns.RDF.type, VCARD.Organization) in graph and graph.value(contact, VCARD.fn).startswith("营口市民政局")
    themes = set(graph.objects(dibao, ns.DCAT.theme))
    assert EU["data-theme/SOCI"] in themes  # from the priority domain social security
    (local,) = themes - {EU["data-theme/SOCI"]}
    assert graph.value(local, ns.SKOS.notation) == Literal("202")
    assert graph.value(local, ns.SKOS.prefLabel) == Literal("社会保障", lang="zh")
    assert {str(k) for k in graph.objects(dibao, ns.DCAT.keyword)} == {"社会保障", "社保"}  # theme, domain

    (distribution,) = graph.objects(dibao, ns.DCAT.distribution)
    resource_id = opendata.dibao.resource_id
    assert graph.value(distribution, ns.DCAT.downloadURL) == URIRef(f"{HOST}/open/resources/{resource_id}/download.csv")
    assert graph.value(distribution, ns.DCAT.accessURL) == URIRef(
        f"{HOST}/api/3/action/datastore_search?resource_id={resource_id}"
    )
    assert graph.value(distribution, ns.DCTERMS.format) == EU["file-type/CSV"]
    media_type = URIRef("https://www.iana.org/assignments/media-types/text/csv")
    assert graph.value(distribution, ns.DCAT.mediaType) == media_type
    # The download it points to answers anyone.
    assert client.get(f"/open/resources/{resource_id}/download.csv").status_code == 200

    payments = dataset_uri(opendata.payments)
    assert graph.value(payments, ns.DCTERMS.accessRights) == EU["access-right/RESTRICTED"]
    assert graph.value(payments, ns.DCTERMS.license) is None
    rights = graph.value(payments, ns.DCTERMS.rights)
    assert (rights, ns.RDF.type, ns.DCTERMS.RightsStatement) in graph
    assert graph.value(rights, ns.RDFS.label) == Literal("用于学术研究，签署数据使用承诺", lang="zh")
    assert graph.value(rights, ns.RDFS.comment) == Literal("涉及企业经营信息，依申请开放", lang="zh")


@pytest.mark.req("R-29.1")
def test_each_open_dataset_has_its_own_rdf(client, opendata):
    for suffix in FORMATS:
        graph = parsed(client.get(f"/open/datasets/{opendata.traffic.name}.{suffix}"), suffix)
        assert set(graph.subjects(ns.RDF.type, ns.DCAT.Dataset)) == {dataset_uri(opendata.traffic)}
        assert graph.value(dataset_uri(opendata.traffic), ns.DCTERMS.identifier) == Literal(opendata.traffic.code)
        assert len(set(graph.subjects(ns.RDF.type, ns.DCAT.Distribution))) == 1
        restricted = parsed(client.get(f"/open/datasets/{opendata.payments.name}.{suffix}"), suffix)
        rights = restricted.value(dataset_uri(opendata.payments), ns.DCTERMS.accessRights)
        assert rights == EU["access-right/RESTRICTED"]
        for name in (opendata.hukou.name, "no-such-dataset"):
            assert client.get(f"/open/datasets/{name}.{suffix}").status_code == 404


@pytest.mark.req("R-29.1")
def test_the_catalog_is_negotiated_by_the_accept_header(client, opendata):
    for accept, suffix in (
        ("text/turtle", "ttl"),
        ("application/rdf+xml", "rdf"),
        ("application/ld+json", "jsonld"),
        ("application/ld+json;q=0.5, application/rdf+xml", "rdf"),
        ("*/*", "ttl"),
        ("", "ttl"),
    ):
        answer = client.get("/open/catalog", headers={"Accept": accept} if accept else {})
        graph = parsed(answer, suffix)
        assert "Accept" in answer["Vary"] and len(set(graph.subjects(ns.RDF.type, ns.DCAT.Dataset))) == 3
    browser = client.get("/open/catalog", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert browser.status_code == 302 and browser["Location"] == "/open/datasets/"
    refused = client.get("/open/catalog", headers={"Accept": "image/png"})
    assert refused.status_code == 406 and "text/turtle" in refused.content.decode()


# --- Frictionless data packages -----------------------------------------------------------------


def descriptor(client, dataset) -> dict:
    answer = client.get(f"/open/datasets/{dataset.name}/datapackage.json")
    assert answer.status_code == 200 and answer["Content-Type"] == "application/json"
    return answer.json()


@pytest.mark.req("R-29.1")
def test_the_data_package_describes_the_csv_download_column_by_column(client, opendata):
    package = descriptor(client, opendata.dibao)
    assert package["profile"] == "tabular-data-package" and package["name"] == opendata.dibao.name
    assert package["title"] == opendata.dibao.title and package["keywords"] == ["社会保障", "社保"]
    assert package["licenses"] == [
        {"name": "cc-by", "title": "知识共享署名 4.0", "path": "https://creativecommons.org/licenses/by/4.0/"}
    ]
    (resource,) = package["resources"]
    for key in ("name", "path", "profile", "format", "mediatype", "encoding", "schema"):
        assert key in resource
    assert (resource["format"], resource["mediatype"], resource["encoding"]) == ("csv", "text/csv", "utf-8")
    fields = resource["schema"]["fields"]
    types = {f["name"]: f["type"] for f in fields}
    assert types == {
        "公民身份号码": "string",
        "姓名": "string",
        "手机号码": "string",
        "救助类别": "string",
        "救助金额": "number",
        "发放日期": "date",
        "家庭人数": "integer",
    }
    assert "家庭住址" not in types  # personal information without a masking rule
    assert "primaryKey" not in resource["schema"]  # the key is masked: masked values may coincide
    required = {f["name"] for f in fields if f.get("constraints", {}).get("required")}
    assert required == {"公民身份号码", "姓名"}
    by_name = {f["name"]: f for f in fields}
    assert "maxLength" not in by_name["公民身份号码"].get("constraints", {})
    assert by_name["救助类别"]["constraints"] == {"maxLength": 20}

    # The download's header is the fields' names, in order, and its values fit their types.
    download = client.get(resource["path"].removeprefix(HOST))
    rows = list(csv.reader(io.StringIO(b"".join(download.streaming_content).decode("utf-8-sig"))))
    assert rows[0] == [f["name"] for f in fields] and len(rows) == ROWS + 1
    parse = {"number": Decimal, "integer": int, "date": dt.date.fromisoformat, "string": str}
    for row in rows[1:50]:
        for field, value in zip(fields, row, strict=True):
            parse[field["type"]](value)
        assert "*" in row[0]  # masked ID number


@pytest.mark.req("R-29.1")
def test_an_unmasked_key_is_the_primary_key_and_restricted_datasets_say_so(client, opendata):
    # A table whose key item is no personal information (as in most open data).
    key = ResourceColumn.objects.filter(resource_id=opendata.traffic.resource_id, code="sfzh")
    key.update(sensitive=False, mask="")
    resource = descriptor(client, opendata.traffic)["resources"][0]
    assert resource["schema"]["primaryKey"] == ["公民身份号码"]
    assert {"name": "公民身份号码", "type": "string", "constraints": {"required": True, "maxLength": 18}} in resource[
        "schema"
    ]["fields"]

    payments = descriptor(client, opendata.payments)
    assert payments["licenses"][0]["name"] == "other-closed" and "path" not in payments["licenses"][0]
    assert client.get(payments["resources"][0]["path"].removeprefix(HOST)).status_code in (403, 404)
    for name in (opendata.hukou.name, "no-such-dataset"):
        assert client.get(f"/open/datasets/{name}/datapackage.json").status_code == 404
