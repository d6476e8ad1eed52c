"""DCAT-AP descriptions of the open catalog (issue #6, item 4), built with rdflib and served
in Turtle, RDF/XML and JSON-LD, so that harvesters (CKAN's dcat extension, data.europa.eu
style portals, the national platform) take the catalog without a custom adapter.

- ``/open/catalog.ttl``, ``.rdf``, ``.jsonld``: the whole catalog; ``/open/catalog`` picks one
  by the Accept header (Turtle when anything goes; a browser asking for HTML is sent to the
  portal's dataset search).
- ``/open/datasets/<name>.ttl``, ``.rdf``, ``.jsonld``: one dataset with its distributions.

Which datasets: exactly those of the CKAN API and the portal (``selectors.datasets``: opened
unconditionally or on application), so every harvester sees one catalog. The opening type
is stated as ``dct:accessRights`` in the EU access-right vocabulary: unconditional is PUBLIC,
on application RESTRICTED, with the conditions and their basis as a ``dct:rights`` statement
(R-30.1). Not-open entries never appear. RDF holds metadata only, never rows.

The URIs are the portal's pages: a dataset is its page (``/open/datasets/<name>/``), its
publisher the department's page, the catalog ``/open/catalog``; distributions, themes and the
catalog's publisher (the bureau) are fragments of those. Literals are Chinese (``@zh``),
whatever the request's language: the catalog describes Chinese data to every reader.

Vocabularies: dcat, dct, foaf, vcard, skos; EU authority tables for access rights, update
frequencies, data themes (mapped from the priority domains, R-31.1), file types and the
language; IANA media types. Themes (主题, class 2 of the classification) are a SKOS concept
scheme of the catalog. Licence: CC BY 4.0 for unconditionally open data, as the CKAN API
says; on-application data has no open licence.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, RDFS, SKOS, XSD

from govdata.catalog.models import CatalogEntry
from govdata.catalog.vocab import OpenType, PriorityDomain, UpdateCycle
from govdata.datastore.models import Resource

from . import selectors
from .ckan import LICENCES, datastore_url
from .portal import portal_name

VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
EU = Namespace("http://publications.europa.eu/resource/authority/")
IANA = Namespace("https://www.iana.org/assignments/media-types/")
LANGUAGE = "zh"

ACCESS_RIGHTS = {
    OpenType.UNCONDITIONAL: EU["access-right/PUBLIC"],
    OpenType.ON_APPLICATION: EU["access-right/RESTRICTED"],
}
FREQUENCIES = {
    UpdateCycle.REALTIME: EU["frequency/UPDATE_CONT"],
    UpdateCycle.DAILY: EU["frequency/DAILY"],
    UpdateCycle.WEEKLY: EU["frequency/WEEKLY"],
    UpdateCycle.MONTHLY: EU["frequency/MONTHLY"],
    UpdateCycle.QUARTERLY: EU["frequency/QUARTERLY"],
    UpdateCycle.HALF_YEARLY: EU["frequency/ANNUAL_2"],
    UpdateCycle.YEARLY: EU["frequency/ANNUAL"],
    UpdateCycle.OTHER: EU["frequency/OTHER"],
}
# The EU data themes nearest to each priority domain (Art. 31).
DATA_THEMES = {
    PriorityDomain.CREDIT: EU["data-theme/ECON"],
    PriorityDomain.TRANSPORT: EU["data-theme/TRAN"],
    PriorityDomain.MEDICAL: EU["data-theme/HEAL"],
    PriorityDomain.EMPLOYMENT: EU["data-theme/SOCI"],
    PriorityDomain.SOCIAL_SECURITY: EU["data-theme/SOCI"],
    PriorityDomain.EDUCATION: EU["data-theme/EDUC"],
    PriorityDomain.ENVIRONMENT: EU["data-theme/ENVI"],
    PriorityDomain.METEOROLOGY: EU["data-theme/ENVI"],
    PriorityDomain.ENTERPRISE_REGISTRATION: EU["data-theme/ECON"],
}
# Suffix -> (rdflib's serialisation, media type).
FORMATS = {
    "ttl": ("turtle", "text/turtle"),
    "rdf": ("xml", "application/rdf+xml"),
    "jsonld": ("json-ld", "application/ld+json"),
}
PREFIXES = {"dcat": DCAT, "dct": DCTERMS, "foaf": FOAF, "vcard": VCARD, "skos": SKOS, "rdfs": RDFS, "xsd": XSD}


def _text(value: str) -> Literal | None:
    return Literal(value, lang=LANGUAGE) if value else None


def _moment(value: dt.date | None) -> Literal | None:
    """A date or a date-time as its XSD literal."""
    if value is None:
        return None
    return Literal(value, datatype=XSD.dateTime if isinstance(value, dt.datetime) else XSD.date)


class _Builder:
    """One graph; the URIs are absolute on the requested host."""

    def __init__(self, request: HttpRequest):
        self.request = request
        self.graph = Graph()
        for prefix, namespace in PREFIXES.items():
            self.graph.bind(prefix, namespace)
        self.catalog = self.uri(reverse("standards:catalog"))

    def uri(self, path: str) -> URIRef:
        return URIRef(self.request.build_absolute_uri(path))

    def add(self, subject, predicate, value) -> None:
        """Add a triple unless the value is missing (an optional property left empty)."""
        if value is not None:
            self.graph.add((subject, predicate, value))

    def catalog_node(self, entries: list[CatalogEntry]) -> None:
        g, catalog = self.graph, self.catalog
        g.add((catalog, RDF.type, DCAT.Catalog))
        g.add((catalog, DCTERMS.title, _text(portal_name())))
        description = _("Government data of Yingkou opened to the public, with its opening type and terms.")
        g.add((catalog, DCTERMS.description, _text(description)))
        bureau = URIRef(f"{catalog}#publisher")
        g.add((bureau, RDF.type, FOAF.Organization))
        g.add((bureau, FOAF.name, _text(_("Yingkou Big Data Administration"))))
        g.add((catalog, DCTERMS.publisher, bureau))
        g.add((catalog, FOAF.homepage, self.uri(reverse("opendata:home"))))
        g.add((catalog, DCTERMS.language, EU["language/ZHO"]))
        g.add((catalog, DCAT.themeTaxonomy, self.theme_scheme()))
        modified = [self.dataset(entry) for entry in entries]
        if modified:
            g.add((catalog, DCTERMS.modified, _moment(max(modified))))

    def theme_scheme(self) -> URIRef:
        scheme = URIRef(f"{self.catalog}#themes")
        self.graph.add((scheme, RDF.type, SKOS.ConceptScheme))
        self.graph.add((scheme, DCTERMS.title, _text(_("Themes"))))
        return scheme

    def dataset(self, entry: CatalogEntry) -> dt.datetime:
        """Describe one dataset (loaded by ``selectors.datasets``); its last change."""
        g, version = self.graph, entry.published
        node = self.uri(reverse("opendata:dataset", args=[selectors.dataset_name(entry)]))
        g.add((self.catalog, DCAT.dataset, node))
        g.add((node, RDF.type, DCAT.Dataset))
        g.add((node, DCTERMS.title, _text(version.name)))
        self.add(node, DCTERMS.description, _text(version.summary))
        g.add((node, DCTERMS.identifier, Literal(entry.code)))
        g.add((node, DCAT.landingPage, node))
        g.add((node, DCTERMS.publisher, self.department(entry)))
        g.add((node, DCAT.contactPoint, self.contact(entry)))
        for theme in sorted(version.themes.all(), key=lambda t: t.code):
            concept = URIRef(f"{self.catalog}#theme-{theme.code}")
            g.add((concept, RDF.type, SKOS.Concept))
            g.add((concept, SKOS.prefLabel, _text(theme.name)))
            g.add((concept, SKOS.notation, Literal(theme.code)))
            g.add((concept, SKOS.inScheme, URIRef(f"{self.catalog}#themes")))
            g.add((node, DCAT.theme, concept))
            g.add((node, DCAT.keyword, _text(theme.name)))
        for domain in version.domains:
            if domain in PriorityDomain.values:
                g.add((node, DCAT.theme, DATA_THEMES[domain]))
                g.add((node, DCAT.keyword, _text(str(PriorityDomain(domain).label))))
        self.add(node, DCTERMS.issued, _moment(version.publish_date))
        modified = selectors.dataset_modified(entry)
        g.add((node, DCTERMS.modified, _moment(modified)))
        g.add((node, DCTERMS.accrualPeriodicity, FREQUENCIES[version.update_cycle]))
        g.add((node, DCTERMS.accessRights, ACCESS_RIGHTS[version.open_type]))
        licence = self.licence(entry)
        self.add(node, DCTERMS.license, licence)
        if version.open_type == OpenType.ON_APPLICATION:
            rights = BNode()
            g.add((rights, RDF.type, DCTERMS.RightsStatement))
            self.add(rights, RDFS.label, _text(version.open_conditions))
            self.add(rights, RDFS.comment, _text(version.open_basis))
            g.add((node, DCTERMS.rights, rights))
        for resource in entry.public_resources:
            g.add((node, DCAT.distribution, self.distribution(node, resource, licence)))
        return modified

    def department(self, entry: CatalogEntry) -> URIRef:
        provider = entry.provider
        node = self.uri(reverse("opendata:department", args=[provider.pk]))
        self.graph.add((node, RDF.type, FOAF.Organization))
        self.graph.add((node, FOAF.name, _text(provider.name)))
        self.graph.add((node, DCTERMS.identifier, Literal(provider.credit_code)))
        return node

    def contact(self, entry: CatalogEntry) -> BNode:
        """The providing department as an organisation to ask; no person's details: they are
        filed with the bureau, not published."""
        node = BNode()
        name = " ".join(filter(None, [entry.provider.name, entry.published.internal_division]))
        self.graph.add((node, RDF.type, VCARD.Organization))
        self.graph.add((node, VCARD.fn, _text(name)))
        self.graph.add((node, VCARD.hasURL, self.uri(reverse("opendata:department", args=[entry.provider_id]))))
        return node

    def licence(self, entry: CatalogEntry) -> URIRef | None:
        _id, _title, url = LICENCES[entry.published.open_type]
        return URIRef(url) if url else None

    def distribution(self, dataset: URIRef, resource: Resource, licence: URIRef | None) -> URIRef:
        g = self.graph
        node = URIRef(f"{dataset}#resource-{resource.pk}")
        g.add((node, RDF.type, DCAT.Distribution))
        g.add((node, DCTERMS.title, _text(resource.name)))
        self.add(node, DCTERMS.description, _text(resource.description))
        self.add(node, DCTERMS.license, licence)
        self.add(node, DCTERMS.issued, _moment(resource.reviewed_at))
        self.add(node, DCTERMS.modified, _moment(resource.last_loaded_at))
        if resource.kind == Resource.Kind.TABLE:
            g.add((node, DCAT.accessURL, URIRef(datastore_url(self.request, resource))))
            g.add((node, DCAT.downloadURL, self.uri(reverse("opendata:download", args=[resource.pk, "csv"]))))
            g.add((node, DCTERMS.format, EU["file-type/CSV"]))
            g.add((node, DCAT.mediaType, IANA["text/csv"]))
        else:
            # Files and interfaces are reached from the dataset's page.
            g.add((node, DCAT.accessURL, dataset))
        return node


def catalog_graph(request: HttpRequest) -> Graph:
    with translation.override(settings.LANGUAGE_CODE):
        builder = _Builder(request)
        builder.catalog_node(list(selectors.datasets(request.user).order_by("code")))
    return builder.graph


def dataset_graph(request: HttpRequest, entry: CatalogEntry) -> Graph:
    with translation.override(settings.LANGUAGE_CODE):
        builder = _Builder(request)
        builder.dataset(entry)
    return builder.graph


def rdf_response(graph: Graph, suffix: str) -> HttpResponse:
    syntax, media_type = FORMATS[suffix]
    options = {}
    if suffix == "jsonld":  # compact, with the prefixes as the context
        options = {"context": {prefix: str(ns) for prefix, ns in PREFIXES.items()}, "auto_compact": True}
    body = graph.serialize(format=syntax, encoding="utf-8", **options)
    return HttpResponse(body, content_type=f"{media_type}; charset=utf-8")


# --- views ---------------------------------------------------------------------------------


@require_safe
def catalog(request: HttpRequest) -> HttpResponse:
    """The catalog in the serialisation the Accept header prefers (Turtle for ``*/*``)."""
    by_type = {media_type: suffix for suffix, (_syntax, media_type) in FORMATS.items()}
    wanted = request.get_preferred_type([*by_type, "text/html"])
    if wanted == "text/html":
        response = redirect("opendata:search")
    elif wanted is None:
        offered = ", ".join(by_type)
        response = HttpResponse(
            _("Not acceptable: the catalog is offered as %(types)s.") % {"types": offered},
            status=406,
            content_type="text/plain; charset=utf-8",
        )
    else:
        response = rdf_response(catalog_graph(request), by_type[wanted])
    patch_vary_headers(response, ["Accept"])
    return response


@require_safe
def catalog_as(request: HttpRequest, suffix: str) -> HttpResponse:
    return rdf_response(catalog_graph(request), suffix)


@require_safe
def dataset_as(request: HttpRequest, name: str, suffix: str) -> HttpResponse:
    entry = selectors.get_dataset(request.user, name)
    if entry is None:
        raise Http404(_("No such dataset."))
    return rdf_response(dataset_graph(request, entry), suffix)
