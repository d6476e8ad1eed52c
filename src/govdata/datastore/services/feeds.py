"""Upper-level data (R-26.1): a table resource fed from a national or provincial source.

A feed is either a drop folder inside ``<DATA_DIR>/upstream`` (the upper-level system, or
whoever copies its exports, puts files there) or an HTTP(S) address that answers with the
current export. :func:`run_feed` takes the newest file and loads it through the ordinary
ingest path (``services.loads.load_table``), so validation, data versions and freshness work
exactly as for a provider's own loads. :func:`run_due_feeds` is the body of a periodic job.

A file is loaded once: its SM3 digest is compared with the checksum of the resource's current
data version (replace and upsert feeds) or of every loaded version (append feeds), which
``load_table`` records as the SM3 of the input.
"""

from __future__ import annotations

import datetime as dt
import importlib
import os
import re
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from govdata.audit.services import record
from govdata.common import clock
from govdata.common.actor import Actor
from govdata.common.digests import sm3, sm3_of_file
from govdata.orgs.models import Role, User
from govdata.orgs.permissions import check, has_department_role, is_bureau_admin

from ..models import DataVersion, Resource, UpstreamFeed

Kind = UpstreamFeed.Kind
ORIGINS = ("provincial", "national")
CHUNK = 64 * 1024
HTTP_TIMEOUT = 60
# A file younger than this may still be being written into the drop folder.
SETTLE_SECONDS = 10
_IGNORED = re.compile(r"(^[.~])|(\.(part|partial|tmp|temp|crdownload|filepart|lock)$)|(~$)", re.I)
LOADS_MODULE = "govdata.datastore.services.loads"


def can_configure_feed(user: User | None, resource: Resource) -> bool:
    """The bureau, or the providing department's admin."""
    return is_bureau_admin(user) or has_department_role(user, resource.entry.provider_id, Role.DEPARTMENT_ADMIN)


def upstream_root() -> Path:
    return (Path(settings.DATA_DIR) / "upstream").resolve()


def _event(actor: Actor, action: str, resource: Resource, **details: Any) -> None:
    record(actor, f"datastore.feed.{action}", resource, department=resource.entry.provider, details=details)


def resolve_folder(location: str) -> Path:
    """The drop folder named by ``location`` (relative to the upstream root, or absolute),
    with every symlink resolved; refused unless it is an existing folder inside the root."""
    root = upstream_root()
    text = (location or "").strip()
    if not text or "\x00" in text:
        raise ValidationError({"location": _("Name the drop folder.")})
    candidate = Path(text)
    path = (candidate if candidate.is_absolute() else root / candidate).resolve()
    if path == root or not path.is_relative_to(root):
        raise ValidationError(
            {"location": _("The drop folder must be a folder inside %(root)s.") % {"root": str(root)}}
        )
    if not path.is_dir():
        raise ValidationError({"location": _("There is no folder %(path)s.") % {"path": str(path)}})
    return path


def _clean_location(kind: str, location: str) -> str:
    if kind == Kind.FOLDER:
        return str(resolve_folder(location).relative_to(upstream_root()))
    url = (location or "").strip()
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        raise ValidationError({"location": _("Enter an http:// or https:// address.")}) from None
    if len(url) > UpstreamFeed._meta.get_field("location").max_length:
        raise ValidationError({"location": _("The address is too long.")})
    return url


@transaction.atomic
def configure_feed(
    actor: Actor, resource: Resource, *, kind: str, location: str, mode: str = "replace", origin: str = "provincial"
) -> UpstreamFeed:
    """Say where a table resource's upper-level data comes from (creates or changes the feed)."""
    check(actor, can_configure_feed, resource)
    problems: dict[str, str] = {}
    if resource.kind != Resource.Kind.TABLE:
        problems["resource"] = _("Upper-level data is imported into a table resource.")
    if kind not in Kind.values:
        problems["kind"] = _("Choose a drop folder or an HTTP address.")
    if mode not in DataVersion.Mode.values:
        problems["mode"] = _("Choose replace, append or update by key.")
    elif mode == DataVersion.Mode.UPSERT and not resource.columns.filter(is_key=True).exists():
        problems["mode"] = _("Updating by key needs a key data item.")
    if origin not in ORIGINS:
        problems["origin"] = _("Choose provincial or national.")
    if kind in Kind.values:
        try:
            location = _clean_location(kind, location)
        except ValidationError as exc:
            problems.update({k: v[0] for k, v in exc.message_dict.items()})
    if problems:
        raise ValidationError(problems)
    feed, created = UpstreamFeed.objects.update_or_create(
        resource=resource, defaults={"kind": kind, "location": location, "mode": mode, "origin": origin}
    )
    _event(actor, "configure", resource, kind=kind, location=location, mode=mode, origin=origin, created=created)
    return feed


# --- running --------------------------------------------------------------------------------


def _settled(path: Path, now: float) -> bool:
    return now - path.stat().st_mtime >= SETTLE_SECONDS


def newest_file(folder: Path) -> Path | None:
    """The most recently modified regular file that is done being written (hidden files and
    partial downloads ignored); ties go to the later name."""
    now = time.time()
    best: tuple[float, str] | None = None
    found = None
    with os.scandir(folder) as entries:
        for entry in entries:
            if _IGNORED.search(entry.name) or not entry.is_file(follow_symlinks=False):
                continue
            path = Path(entry.path)
            if not _settled(path, now):
                continue
            key = (entry.stat(follow_symlinks=False).st_mtime, entry.name)
            if best is None or key > best:
                best, found = key, path
    return found


def _filename_from(response: requests.Response, url: str) -> str:
    disposition = response.headers.get("Content-Disposition", "")
    match = re.search(r"filename\*=(?:UTF-8'')?([^;]+)", disposition, re.I) or re.search(
        r'filename="?([^";]+)"?', disposition, re.I
    )
    name = unquote(match.group(1)) if match else unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    name = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    return name or "upstream-data"


@contextmanager
def _download(url: str) -> Iterator[tuple[Path, str, str]]:
    """The answer of ``url`` in a temporary file: (path, file name, SM3)."""
    limit = settings.FEED_MAX_BYTES
    digest = sm3()
    with tempfile.TemporaryDirectory(dir=settings.FILE_UPLOAD_TEMP_DIR) as folder:
        try:
            with requests.get(url, stream=True, timeout=(HTTP_TIMEOUT, HTTP_TIMEOUT), allow_redirects=True) as response:
                if response.status_code != 200:
                    raise FeedError(_("The upstream answered HTTP %(status)s.") % {"status": response.status_code})
                name = _filename_from(response, url)
                path = Path(folder) / "download"
                size = 0
                with open(path, "wb") as out:
                    for chunk in response.iter_content(CHUNK):
                        size += len(chunk)
                        if size > limit:
                            raise FeedError(_("The upstream file is larger than %(n)d bytes.") % {"n": limit})
                        digest.update(chunk)
                        out.write(chunk)
        except requests.Timeout:
            raise FeedError(_("The upstream did not answer within %(n)d s.") % {"n": HTTP_TIMEOUT}) from None
        except requests.RequestException as exc:
            raise FeedError(
                _("Could not download from the upstream (%(kind)s).") % {"kind": type(exc).__name__}
            ) from None
        yield path, name, digest.finalize().hex()


class FeedError(Exception):
    """A run could not get at the upstream data; the message is kept as the feed's last error."""


def _already_loaded(resource: Resource, mode: str, digest: str) -> bool:
    if mode == DataVersion.Mode.APPEND:
        return resource.versions.filter(status=DataVersion.Status.DONE, checksum=digest).exists()
    current = resource.current_version
    return current is not None and current.status == DataVersion.Status.DONE and current.checksum == digest


def _load_table():
    return importlib.import_module(LOADS_MODULE).load_table


def _claim(feed: UpstreamFeed, now: dt.datetime, due_before: dt.datetime | None) -> bool:
    """Mark the feed as being checked unless another runner got to it first (compare and set
    on last_checked_at, so two workers firing the same tick do not both load)."""
    claim = UpstreamFeed.objects.filter(pk=feed.pk, last_checked_at=feed.last_checked_at)
    if feed.last_checked_at is None:
        claim = UpstreamFeed.objects.filter(pk=feed.pk, last_checked_at__isnull=True)
    if due_before is not None:
        claim = claim.filter(Q(last_checked_at__isnull=True) | Q(last_checked_at__lt=due_before))
    return claim.update(last_checked_at=now) == 1


def _finish(feed: UpstreamFeed, *, error: str = "", success: bool = False) -> None:
    values: dict[str, Any] = {"last_error": error}
    if success:
        values["last_success_at"] = clock.now()
    UpstreamFeed.objects.filter(pk=feed.pk).update(**values)
    for name, value in values.items():
        setattr(feed, name, value)


def _message(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(exc.messages)
    return str(exc) or type(exc).__name__


@contextmanager
def _source(feed: UpstreamFeed) -> Iterator[tuple[Path, str, str] | None]:
    if feed.kind == Kind.FOLDER:
        try:
            folder = resolve_folder(feed.location)  # re-checked: a symlink may have moved
        except ValidationError as exc:
            raise FeedError("; ".join(exc.messages)) from None
        path = newest_file(folder)
        yield None if path is None else (path, path.name, sm3_of_file(path))
    else:
        with _download(feed.location) as downloaded:
            yield downloaded


def run_feed(
    resource: Resource, *, actor: Actor | None = None, _due_before: dt.datetime | None = None
) -> DataVersion | None:
    """Check the feed once. Returns the data version of the load when a new file was loaded
    (its status says whether validation accepted it), else None: nothing new, another runner
    is on it, or the upstream could not be read (then ``last_error`` says why).

    ``last_checked_at`` is set on every check, ``last_success_at`` when new data was loaded,
    ``last_error`` is cleared by any run that went without error. ``actor``: the person who
    asked for the run (they must be allowed to configure the feed); the platform by default."""
    actor = actor or Actor.platform()
    check(actor, can_configure_feed, resource)
    feed = UpstreamFeed.objects.select_related("resource__entry").get(resource=resource)
    if not _claim(feed, clock.now(), _due_before):
        return None
    try:
        with _source(feed) as found:
            if found is None:
                _finish(feed)
                return None
            path, name, digest = found
            resource.refresh_from_db()
            if _already_loaded(resource, feed.mode, digest):
                _finish(feed)
                return None
            # The feed loads on the platform's authority (the bureau may run it, not load rows).
            version = _load_table()(Actor.platform(), resource, path, filename=name, mode=feed.mode)
    except Exception as exc:  # noqa: BLE001 - every failure is recorded on the feed
        error = _message(exc)[:2000]
        _finish(feed, error=error)
        _event(actor, "failed", resource, error=error)
        return None
    ok = version is None or getattr(version, "status", DataVersion.Status.DONE) == DataVersion.Status.DONE
    if ok:
        _finish(feed, success=True)
    else:
        _finish(feed, error=(getattr(version, "message", "") or _("The upstream file was rejected by validation.")))
    _event(
        actor,
        "run",
        resource,
        file=name,
        sm3=digest,
        version=getattr(version, "number", None),
        status=getattr(version, "status", None),
    )
    return version


def run_due_feeds(every: dt.timedelta = dt.timedelta(hours=1)) -> dict[int, DataVersion | None]:
    """Check every feed not checked within ``every`` (the periodic job's body; schedule it
    more often than ``every``). Returns {resource id: version or None}."""
    due_before = clock.now() - every
    results = {}
    due = (
        UpstreamFeed.objects.filter(Q(last_checked_at__isnull=True) | Q(last_checked_at__lt=due_before))
        .exclude(resource__status=Resource.Status.SUSPENDED)
        .select_related("resource")
    )
    for feed in due:
        results[feed.resource_id] = run_feed(feed.resource, _due_before=due_before)
    return results
