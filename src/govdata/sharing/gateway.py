"""The data gateway (issue #5, item 4; R-9.1, R-20.1, R-20.2, R-22.1): signed JSON endpoints
through which consumer applications use shared data. The protocol is in ``signing`` and
``docs/gateway.md``; mounted at ``/gateway/v1/`` (``gateway_urls``).

    GET      resources/{id}/records?<filters>&q&fields&sort&limit&offset&cursor&total
    GET      resources/{id}/records/by-key?<key item>=<value>[&fields]
    GET      resources/{id}/files/{file_id}
    GET|POST resources/{id}/call    (the upstream interface's parameters)

Every endpoint, in this order: the signature and nonce (401 naming the header), the
application's rate limit (429), the resource (404 when unknown), the resource's kind (400),
the decision of ``services.access.decide_use`` — the one the pages and the API use — for the
application's department and system on this call's date (403 with the reason: not
published, not shared, no grant in force — so expiry and revocation act at the next call; or
the purpose, below), then the work. Rows come from the datastore
query engine with the projection limited to the granted items and masking on for every
consumer (off for the provider's own applications); naming an item outside the grant is a
403 naming it, never a silent drop.

Purpose (R-22.1): the ``purpose`` parameter (covered by the signature) or the ``X-Purpose``
header (UTF-8, percent-encoded; not signed). Under a grant the grant's purpose is the one
recorded, and a call stating another purpose is refused (403, ``purpose``): the data may be
used for the granted purpose only. Without a grant (unconditional data, the provider's own)
every call must state one (400).

Every call is audited, allowed or refused: ``sharing.gateway.<kind>`` with the application,
address, resource, department, purpose, and in ``details`` the outcome, HTTP status, error
code, items returned, grant and the parameters; ``rows`` the number of records returned.
A request whose signature fails is recorded as ``sharing.gateway.unauthenticated`` with the
app id it claimed, since no application can be held to it.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
import re
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import redis
import requests
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.db.models import Model
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from urllib3.exceptions import HTTPError as Urllib3Error

from govdata.audit.services import record_standalone
from govdata.catalog.models import CatalogEntry, EntryVersion
from govdata.common import clock
from govdata.common.actor import Actor, client_ip
from govdata.datastore import crypto, probes, query
from govdata.datastore.models import ApiEndpoint, FileObject, Resource, ResourceColumn
from govdata.datastore.services import files
from govdata.orgs.models import Department, InformationSystem

from . import nonces, permissions, ratelimit, signing
from .models import ConsumerApplication, Grant
from .services.access import Granted, Refused, decide_use
from .services.applications import signing_key

PURPOSE = "purpose"
PURPOSE_HEADER = "X-Purpose"
MAX_PURPOSE = 500
LOOKUP_OPTIONS = (PURPOSE, "fields")
MAX_UPSTREAM_BYTES = 5 * 1024 * 1024
USER_AGENT = "GovData-gateway/1"
_INTEGER = re.compile(r"^[+-]?\d{1,18}$")
_CHARSET = re.compile(r"charset=\"?([\w.:-]+)", re.I)


class Refusal(Exception):
    """An answer other than the data: the status, a code for programs, a message for people,
    and what it is about (``header``, ``parameter``, ``field``)."""

    def __init__(self, status: int, code: str, message: str, *, outcome: str = "refused", **about: str | None):
        super().__init__(message)
        self.status, self.code, self.message, self.outcome = status, code, message, outcome
        self.about = {name: value for name, value in about.items() if value}

    def response(self) -> JsonResponse:
        return error(self.status, self.code, self.message, **self.about)


@dataclass
class Call:
    """One call, as its audit event tells it."""

    kind: str
    application: ConsumerApplication
    ip: str | None
    resource: Resource | None = None
    purpose: str = ""
    outcome: str = "allowed"
    code: str = ""
    grant: int | None = None
    items: list[str] | None = None
    filters: dict[str, Any] = field(default_factory=dict)
    rows: int | None = None
    details: dict[str, Any] = field(default_factory=dict)


def as_json(payload: Any, status: int = 200) -> JsonResponse:
    """Decimals as strings (exact), dates ISO 8601, Chinese unescaped."""
    return JsonResponse(
        payload, status=status, encoder=DjangoJSONEncoder, safe=False, json_dumps_params={"ensure_ascii": False}
    )


def error(status: int, code: str, message: str, **about: str) -> JsonResponse:
    return as_json({"code": code, "detail": message, **about}, status=status)


# --- what every call reads ----------------------------------------------------------------------
# Fresh at every call, so disabling, revoking or unpublishing acts at the next one, and in one
# plain statement: the application with its department's region and its system, the resource
# with its entry's provider and published sharing type, the grant in force (as
# ``permissions.active_grants`` orders them) and the resource's columns, one row per column.
# A call's reads are most of its cost: each statement more costs a round trip and the
# driver's work, and building the ORM's queries would cost several times more than running
# them. For the same reason the statement records the call's nonce too, on PostgreSQL with
# nonces in the database (``Caller``).


@dataclass
class Reads:
    application: ConsumerApplication
    resource: Resource | None
    grants: list[Grant]
    columns: list[query.ColumnSpec]
    day: dt.date
    # Whether the reads inserted the call's nonce (it was new), or None: not given to them.
    nonce_inserted: bool | None = None


def _instance(model: type[Model], values: dict[str, Any]) -> Any:
    """A model instance of these column values (by attribute name). The fields not read are
    deferred, so using one loads it instead of finding a default."""
    names = _attnames(model, tuple(values))
    return model.from_db(connection.alias, names, [values[name] for name in names])


@functools.lru_cache(maxsize=64)
def _attnames(model: type[Model], names: tuple[str, ...]) -> tuple[str, ...]:
    """``names`` in the model's field order, as ``from_db`` takes them (the same few at every call)."""
    return tuple(f.attname for f in model._meta.concrete_fields if f.attname in names)


def _table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


APPLICATION = (
    "a.id, a.app_id, a.signing_key, a.rate_limit, a.is_active, a.department_id, a.system_id, d.region_id, s.is_active"
)
RESOURCE = "r.id, r.kind, r.status, r.entry_id, e.provider_id, e.published_id, v.share_type"


def _reads_sql(resource: str, day: str, app_id: str, nonce: str | None = None, seen_at: str | None = None) -> str:
    """The statement, with these placeholders for the resource id, the day and the app id;
    its first column says whether it inserted the nonce (with ``nonce`` and ``seen_at``:
    PostgreSQL runs a data-modifying WITH to its end; nothing for an unknown application or
    a null nonce), else it is null."""
    grant = permissions.in_force("g2", consumer="a.department_id", entry="r.entry_id", day=day, system="a.system_id")
    inserted = "NULL"
    remember = ""
    if nonce is not None:
        rows = (
            f"SELECT n.app_id, {nonce}, {seen_at} FROM {_table(ConsumerApplication)} n "
            f"WHERE n.app_id = {app_id} AND {nonce} IS NOT NULL"
        )
        remember = f"WITH nonce AS ({nonces.insert_sql(rows)} RETURNING 1) "
        inserted = "(SELECT count(*) FROM nonce)"
    return (
        f"{remember}SELECT {inserted}, {APPLICATION}, {RESOURCE}, {permissions.decision_columns('g')}, "
        f"{query.column_list('c')} "
        f"FROM {_table(ConsumerApplication)} a "
        f"JOIN {_table(Department)} d ON d.id = a.department_id "
        f"JOIN {_table(InformationSystem)} s ON s.id = a.system_id "
        f"LEFT JOIN {_table(Resource)} r ON r.id = {resource} "
        f"LEFT JOIN {_table(CatalogEntry)} e ON e.id = r.entry_id "
        f"LEFT JOIN {_table(EntryVersion)} v ON v.id = e.published_id "
        f"LEFT JOIN {_table(Grant)} g ON g.id = (SELECT g2.id FROM {_table(Grant)} g2 WHERE {grant} "
        f"ORDER BY {permissions.by_duration('g2')} LIMIT 1) "
        f"LEFT JOIN {_table(ResourceColumn)} c ON c.resource_id = r.id "
        f"WHERE a.app_id = {app_id} ORDER BY c.position"
    )


# PostgreSQL spends more on planning this eight-table statement (about 1.7 ms of its CPU)
# than on everything else a call asks of it, so each connection prepares it once (a
# session's prepared statement outlives its transactions) and executes it by name: after a
# few runs PostgreSQL keeps one generic plan. Not through a pooler in transaction mode, which
# does not keep sessions (DATABASE_URL points at PostgreSQL itself).
PREPARED_READS = "govdata_gateway_reads"
_prepared: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # psycopg connection -> True


def _execute_reads(cursor: Any, resource_id: int, on: Any, app_id: str, nonce: str | None) -> None:
    if connection.vendor != "postgresql":
        cursor.execute(_reads_sql("%s", "%s", "%s"), [resource_id, on, on, app_id])
        return
    session = connection.connection
    if session not in _prepared:
        sql = _reads_sql("$1", "$2", "$3", "$4", "$5")
        cursor.execute(f"PREPARE {PREPARED_READS} (bigint, date, text, text, timestamptz) AS {sql}")
        _prepared[session] = True
    # Django binds values on the client side, so they reach EXECUTE as literals.
    seen_at = nonces.seen_at(clock.now()) if nonce is not None else None
    cursor.execute(f"EXECUTE {PREPARED_READS} (%s, %s, %s, %s, %s)", [resource_id, on, app_id, nonce, seen_at])


def _read(app_id: str, resource_id: int, nonce: str | None = None) -> Reads | None:
    """The call's reads; on PostgreSQL with ``nonce`` inserted for the application (when it
    exists) in the same statement."""
    day = clock.today()
    on = connection.ops.adapt_datefield_value(day)
    with connection.cursor() as cursor:
        _execute_reads(cursor, resource_id, on, app_id, nonce)
        rows = cursor.fetchall()
    if not rows:
        return None
    inserted = None if rows[0][0] is None or nonce is None else rows[0][0] == 1
    rows = [row[1:] for row in rows]
    first = rows[0]
    pk, app_id, sealed, rate_limit, is_active, department_id, system_id, region_id, system_active = first[:9]
    application = _instance(
        ConsumerApplication,
        {"id": pk, "app_id": app_id, "signing_key": sealed, "rate_limit": rate_limit, "is_active": bool(is_active)},
    )
    application.department = _instance(Department, {"id": department_id, "region_id": region_id})
    application.system = _instance(InformationSystem, {"id": system_id, "is_active": bool(system_active)})
    resource = None
    if first[9] is not None:
        pk, kind, status, entry_id, provider_id, published_id, share_type = first[9:16]
        resource = _instance(Resource, {"id": pk, "kind": kind, "status": status})
        resource.entry = _instance(CatalogEntry, {"id": entry_id, "provider_id": provider_id})
        resource.entry.published = (
            None if published_id is None else _instance(EntryVersion, {"id": published_id, "share_type": share_type})
        )
    width = len(permissions.DECISION_FIELDS)
    grant = first[16 : 16 + width]
    columns = [query.ColumnSpec(*row[16 + width :]) for row in rows if row[16 + width] is not None]
    grants = [] if grant[0] is None else [permissions.grant_of(grant)]
    return Reads(application, resource, grants, columns, day, inserted)


# --- who is calling ---------------------------------------------------------------------------


class Caller:
    """``key_for`` and ``remember_nonce`` of ``signing.verify`` for a call on one resource,
    keeping what it read.

    On PostgreSQL with nonces in the database, the nonce goes into the database with the
    reads — a round trip less on every call — so before the signature is checked: a request
    refused at its signature gives it back (``forget_nonce``). In between, another request
    with that nonce is refused as a replay; only someone who has seen the nonce, and so the
    signed request itself (which they could replay anyway), could send one."""

    def __init__(self, resource_id: int, request: HttpRequest):
        self.resource_id = resource_id
        self.reads: Reads | None = None
        nonce = request.headers.get(signing.NONCE, "").strip()
        together = connection.vendor == "postgresql" and nonces.in_database()
        self.nonce = nonce if together and signing.NONCE_PATTERN.fullmatch(nonce) else None

    def key_for(self, app_id: str) -> tuple[ConsumerApplication, bytes]:
        self.reads = _read(app_id, self.resource_id, self.nonce)
        if self.reads is None:
            raise signing.SignatureError(
                "unknown_app", signing.APP_ID, _("No application has this %(header)s.") % {"header": signing.APP_ID}
            )
        application = self.reads.application
        if not application.is_active or not application.system.is_active:
            raise signing.SignatureError(
                "app_disabled",
                signing.APP_ID,
                _("The application of this %(header)s is disabled, or its information system is.")
                % {"header": signing.APP_ID},
            )
        return application, signing_key(application)

    def remember_nonce(self, app_id: str, nonce: str) -> bool:
        inserted = self.reads.nonce_inserted if self.reads is not None and nonce == self.nonce else None
        if inserted is None:
            return nonces.use(app_id, nonce)
        if inserted:
            nonces.inserted(clock.now())
        return inserted

    def forget_nonce(self) -> None:
        """After a refusal at the signature: give back the nonce the reads inserted."""
        if self.reads is not None and self.reads.nonce_inserted:
            nonces.forget(self.reads.application.app_id, self.nonce)


def _audit_unauthenticated(request: HttpRequest, kind: str, resource_id: int, code: str, header: str) -> None:
    details = {
        "kind": kind,
        "resource": resource_id,
        "code": code,
        "header": header,
        "app_id": request.headers.get(signing.APP_ID, "")[:64],
    }
    record_standalone(Actor(ip=client_ip(request)), "sharing.gateway.unauthenticated", None, details=details)


def _audit(call: Call, resource_id: int, status: int) -> None:
    details = {
        "outcome": call.outcome,
        "status": status,
        "code": call.code,
        "resource": resource_id,
        "grant": call.grant,
        "items": call.items,
        "filters": call.filters,
        **call.details,
    }
    record_standalone(
        Actor(application=call.application.app_id, ip=call.ip),
        f"sharing.gateway.{call.kind}",
        call.resource,
        department=call.application.department,
        purpose=call.purpose,
        details=details,
        rows=call.rows,
    )


# --- what may be used, and for what -----------------------------------------------------------


def _stated_purpose(request: HttpRequest) -> tuple[str, str]:
    """The purpose parameter and the X-Purpose header (percent-decoded), as sent."""
    return request.GET.get(PURPOSE, "").strip(), unquote(request.headers.get(PURPOSE_HEADER, "")).strip()


def _stated(request: HttpRequest) -> str:
    """The purpose the caller states (either way, or none), or a Refusal."""
    parameter, header = _stated_purpose(request)
    if parameter and header and parameter != header:
        raise Refusal(
            400, "purpose_conflict", _("The purpose parameter and the X-Purpose header differ."), parameter=PURPOSE
        )
    stated = parameter or header
    if len(stated) > MAX_PURPOSE:
        raise Refusal(
            400, "bad_purpose", _("State the purpose in at most %(n)d characters.") % {"n": MAX_PURPOSE}, parameter=PURPOSE
        )
    return stated


# The HTTP status of each of ``access.decide_use``'s refusals.
REFUSAL_STATUS = {"access_denied": 403, "purpose_not_granted": 403, "purpose_required": 400}


def _parameters_given(request: HttpRequest) -> dict[str, Any]:
    """The query parameters but the purpose, for the audit trail and interface calls."""
    return {name: values[0] if len(values) == 1 else values for name, values in request.GET.lists() if name != PURPOSE}


def endpoint(kind: str, resource_kind: str, methods: tuple[str, ...] = ("GET",)) -> Callable:
    """A gateway view: signature, rate limit, resource, access decision, purpose and audit
    around ``view(request, call, allowed, **kwargs)``."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @csrf_exempt
        @require_http_methods(list(methods))
        @functools.wraps(view)
        def handle(request: HttpRequest, resource_id: int, **kwargs: Any) -> HttpResponse:
            caller = Caller(resource_id, request)
            try:
                application = signing.verify(request, key_for=caller.key_for, remember_nonce=caller.remember_nonce)
                verdict = ratelimit.hit(application.app_id, application.rate_limit)
            except signing.SignatureError as exc:
                caller.forget_nonce()
                _audit_unauthenticated(request, kind, resource_id, exc.code, exc.header)
                return error(401, exc.code, exc.message, header=exc.header)
            except redis.RedisError:
                # Without the nonce store or the counters no request can be checked: refuse.
                _audit_unauthenticated(request, kind, resource_id, "unavailable", "")
                return error(503, "unavailable", _("The gateway cannot check requests at the moment; try again."))
            # What the caller stated is recorded even when the call is refused before it is checked.
            stated = next(filter(None, _stated_purpose(request)), "")[:MAX_PURPOSE]
            call = Call(kind, application, client_ip(request), purpose=stated, filters=_parameters_given(request))
            try:
                if not verdict.allowed:
                    raise Refusal(
                        429,
                        "rate_limited",
                        _("This application may make %(n)d calls per window; try again after the time in X-RateLimit-Reset.")
                        % {"n": verdict.limit},
                    )
                with query.columns_read_once():
                    response = view(request, call, _authorise(request, call, caller, resource_kind), **kwargs)
            except Refusal as refusal:
                call.outcome, call.code = refusal.outcome, refusal.code
                response = refusal.response()
            _audit(call, resource_id, response.status_code)
            for name, value in verdict.headers().items():
                response[name] = value
            return response

        return handle

    return decorate


@dataclass(frozen=True)
class Authorised:
    resource: Resource
    granted: Granted

    @property
    def projection(self) -> Any:
        return self.granted.projection

    @property
    def masked(self) -> bool:
        return self.granted.masked


def _authorise(request: HttpRequest, call: Call, caller: Caller, resource_kind: str) -> Authorised:
    reads = caller.reads
    resource = reads.resource
    if resource is None:
        raise Refusal(404, "not_found", _("There is no resource %(id)s.") % {"id": caller.resource_id})
    call.resource = resource
    if resource.kind != resource_kind:
        raise Refusal(
            400,
            "wrong_kind",
            _("Resource %(id)s is of kind “%(kind)s”; this endpoint serves “%(wanted)s” resources.")
            % {"id": resource.pk, "kind": resource.kind, "wanted": resource_kind},
        )
    query.read_with(resource, reads.columns)
    application = call.application
    try:
        granted = decide_use(
            application.department,
            resource,
            purpose=_stated(request),
            application=application,
            on=reads.day,
            grants=reads.grants,
        )
    except Refused as refused:
        raise Refusal(REFUSAL_STATUS[refused.code], refused.code, refused.reason, parameter=refused.parameter) from None
    call.grant = granted.access.grant.pk if granted.access.grant is not None else None
    call.purpose = granted.purpose
    return Authorised(resource, granted)


# --- table resources ----------------------------------------------------------------------------


def _run(allowed: Authorised, build: Callable[[Any, bool], query.Query]) -> query.Result:
    """The engine's answer within the grant; a name outside it is a 403 naming it."""
    projection = allowed.projection
    try:
        return query.run(allowed.resource, build(projection, allowed.masked))
    except query.QueryError as exc:
        message = exc.message_dict[exc.parameter][0]
        if (
            exc.field
            and projection is not query.ALL
            and exc.field not in projection
            and exc.field in {column.code for column in query.columns_of(allowed.resource)}
        ):
            raise Refusal(
                403,
                "field_not_granted",
                _("“%(field)s” is not among the items granted to this application.") % {"field": exc.field},
                parameter=exc.parameter,
                field=exc.field,
            ) from None
        raise Refusal(400, "bad_query", message, parameter=exc.parameter, field=exc.field) from None


def _fields(result: query.Result) -> list[dict[str, Any]]:
    # Not dataclasses.asdict, which deep-copies: this runs at every call.
    return [{"code": f.code, "name": f.name, "data_type": f.data_type, "masked": f.masked} for f in result.fields]


@endpoint("records", Resource.Kind.TABLE)
def records(request: HttpRequest, call: Call, allowed: Authorised) -> HttpResponse:
    """A page of records: the datastore query engine's parameters (``query.parse_params``)."""
    result = _run(
        allowed,
        lambda projection, masked: query.parse_params(
            request.GET, projection=projection, masked=masked, ignore=(PURPOSE,)
        ),
    )
    call.items, call.rows = result.codes, len(result.rows)
    return as_json(
        {
            "resource": allowed.resource.pk,
            "fields": _fields(result),
            "records": result.rows,
            "next_cursor": result.next_cursor,
            "total": result.total,
            "total_kind": result.total_kind,
            "limit": result.limit,
            "offset": result.offset,
        }
    )


@endpoint("lookup", Resource.Kind.TABLE)
def lookup(request: HttpRequest, call: Call, allowed: Authorised) -> HttpResponse:
    """The record with the given key (every key item, nothing else; ``fields`` optional)."""
    keys = [column.code for column in query.columns_of(allowed.resource) if column.is_key]
    if not keys:
        raise Refusal(400, "no_key", _("This resource has no key items to look records up by."))
    given = {name.strip().lower(): value for name, value in request.GET.items() if name not in LOOKUP_OPTIONS}
    for name in given:
        if name not in keys:
            raise Refusal(
                400,
                "bad_query",
                _("Look records up by their key items only: %(keys)s.") % {"keys": ", ".join(keys)},
                parameter=name,
            )
    for code in keys:
        if code not in given:
            raise Refusal(400, "bad_query", _("Give the key item %(field)s.") % {"field": code}, parameter=code)
    result = _run(
        allowed,
        lambda projection, masked: query.Query(
            projection=projection,
            masked=masked,
            filters=[query.Filter(code, "eq", given[code]) for code in keys],
            fields=request.GET.get("fields") or None,
            limit=1,
        ),
    )
    call.items, call.rows = result.codes, len(result.rows)
    if not result.rows:
        return error(404, "no_record", _("No record has this key."))
    return as_json({"resource": allowed.resource.pk, "fields": _fields(result), "record": result.rows[0]})


# --- file resources -----------------------------------------------------------------------------


@endpoint("file", Resource.Kind.FILE)
def download(request: HttpRequest, call: Call, allowed: Authorised, file_id: int) -> HttpResponse:
    """The file, after its SM3 digest was checked (409 when the stored copy is damaged)."""
    file_object = FileObject.objects.filter(resource=allowed.resource, pk=file_id, is_active=True).first()
    if file_object is None:
        return error(404, "no_file", _("This resource has no file %(id)s.") % {"id": file_id})
    call.details = {"file": file_object.pk, "name": file_object.name, "size": file_object.size}
    try:
        content = files.open_verified(file_object)
    except files.FileIntegrityError as exc:
        raise Refusal(409, "file_damaged", str(exc), outcome="failed") from None
    response = FileResponse(
        content, as_attachment=True, filename=file_object.name, content_type=file_object.content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["X-Content-SM3"] = file_object.sm3
    return response


# --- interface resources ------------------------------------------------------------------------

_TEXT_READERS: dict[str, Callable[[str], Any]] = {
    "string": lambda text: text,
    "integer": lambda text: int(text) if _INTEGER.match(text) else _bad(),
    "number": lambda text: _finite(float(text)),
    "boolean": lambda text: {"true": True, "false": False}[text.strip().lower()],
    "null": lambda text: None if text == "" else _bad(),
}
_JSON_TYPES: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}


def _bad() -> Any:
    raise ValueError


def _finite(number: float) -> float:
    if not math.isfinite(number):
        raise ValueError
    return number


def _value(name: str, spec: dict[str, Any], value: Any, from_text: bool) -> Any:
    """``value`` checked against the parameter's declared type(s) and enum; values from a
    query string are read as the declared type (repeated parameters make an array)."""
    kinds = spec.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds] if kinds else []
    checked, fits = value, not kinds
    for kind in kinds:
        if from_text:
            if kind == "array":
                checked, fits = (value if isinstance(value, list) else [value]), True
            elif not isinstance(value, list) and kind in _TEXT_READERS:
                try:
                    checked, fits = _TEXT_READERS[kind](value), True
                except (ValueError, KeyError):
                    continue
        else:
            fits = _JSON_TYPES.get(kind, lambda v: False)(value)
        if fits:
            break
    if not fits:
        raise Refusal(
            400,
            "bad_parameter",
            _("“%(name)s” must be of type %(types)s.") % {"name": name, "types": " or ".join(map(str, kinds))},
            parameter=name,
        )
    if "enum" in spec and checked not in spec["enum"]:
        raise Refusal(
            400,
            "bad_parameter",
            _("“%(name)s” must be one of %(values)s.")
            % {"name": name, "values": ", ".join(json.dumps(v, ensure_ascii=False) for v in spec["enum"])},
            parameter=name,
        )
    return checked


def _parameters(request: HttpRequest, schema: dict[str, Any]) -> dict[str, Any]:
    """The caller's parameters (the JSON object of a POST body, else the query string),
    validated against the interface's parameter schema: declared names only, required ones
    present, values of the declared type and enum."""
    if request.method == "POST":
        try:
            given = json.loads(request.body or b"{}")
        except ValueError:
            given = None
        if not isinstance(given, dict):
            raise Refusal(400, "bad_body", _("Send the parameters as a JSON object."), parameter="body")
    else:
        given = _parameters_given(request)
    properties = schema.get("properties") or {}
    for name in schema.get("required") or ():
        if name not in given:
            raise Refusal(400, "bad_parameter", _("The parameter “%(name)s” is required.") % {"name": name}, parameter=name)
    cleaned = {}
    for name, value in given.items():
        spec = properties.get(name)
        if not isinstance(spec, dict):
            raise Refusal(
                400, "bad_parameter", _("“%(name)s” is not a parameter of this interface.") % {"name": name}, parameter=name
            )
        cleaned[name] = _value(name, spec, value, request.method != "POST")
    return cleaned


def _query_text(value: Any) -> Any:
    """A parameter as query-string text, booleans and nulls as JSON writes them."""
    if isinstance(value, list):
        return [_query_text(item) for item in value]
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    return str(value)


def _forward(endpoint: ApiEndpoint, parameters: dict[str, Any]) -> tuple[int, str, Any]:
    """Call the upstream with the stored credential (never shown to the caller): the
    parameters as the query of a GET interface or the JSON body of a POST one. Redirects are
    not followed, so the credential goes nowhere but the registered address."""
    try:
        secret = probes.credentials(endpoint)
    except crypto.DecryptionError:
        raise Refusal(
            502,
            "upstream_credentials",
            _("The interface's stored credentials cannot be read; its provider must enter them again."),
            outcome="failed",
        ) from None
    parts = probes.request_parts(endpoint, secret)
    parts["headers"]["User-Agent"] = USER_AGENT
    if endpoint.method == ApiEndpoint.Method.GET:
        parts["params"] = {**{name: _query_text(value) for name, value in parameters.items()}, **parts.get("params", {})}
    else:
        parts["json"] = parameters
    timeout = endpoint.timeout_seconds
    try:
        with requests.request(
            endpoint.method, endpoint.url, timeout=(timeout, timeout), allow_redirects=False, stream=True, **parts
        ) as answer:
            body = answer.raw.read(MAX_UPSTREAM_BYTES + 1, decode_content=True)
            status, content_type = answer.status_code, answer.headers.get("Content-Type", "")
    except requests.Timeout:
        raise Refusal(
            504, "upstream_timeout", _("The interface did not answer within %(n)d s.") % {"n": timeout}, outcome="failed"
        ) from None
    except (requests.RequestException, Urllib3Error):
        raise Refusal(502, "upstream_unreachable", _("The interface could not be reached."), outcome="failed") from None
    if len(body) > MAX_UPSTREAM_BYTES:
        raise Refusal(
            502,
            "upstream_too_large",
            _("The interface answered with more than %(n)d bytes.") % {"n": MAX_UPSTREAM_BYTES},
            outcome="failed",
        )
    charset = _CHARSET.search(content_type)
    try:
        text = body.decode(charset.group(1) if charset else "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        text = body.decode("utf-8", errors="replace")
    text = probes.scrub(text, secret)
    payload: Any = text
    if "json" in content_type.lower():
        try:
            payload = json.loads(text)
        except ValueError:
            pass  # shown as the text it is
    return status, content_type, payload


@endpoint("call", Resource.Kind.API, methods=("GET", "POST"))
def call_interface(request: HttpRequest, call: Call, allowed: Authorised) -> HttpResponse:
    """The upstream's status and body (JSON when it sent JSON) in an envelope: 200 when the
    upstream answered 2xx, else 502 — so the gateway's own statuses stay unambiguous."""
    api = ApiEndpoint.objects.filter(resource=allowed.resource).first()
    if api is None:
        return error(404, "no_interface", _("No upstream interface is registered for this resource yet."))
    parameters = _parameters(request, api.parameter_schema or {})
    call.details = {"parameters": parameters}
    status, content_type, body = _forward(api, parameters)
    call.details["upstream_status"] = status
    return as_json(
        {"status": status, "content_type": content_type, "body": body}, status=200 if 200 <= status < 300 else 502
    )
