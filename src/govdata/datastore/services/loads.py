"""Loading rows into a table resource (R-21.1; R-9.1 push; R-3.1 tables).

Every load is a :class:`DataVersion`: who, when, which mode, rows read / loaded / rejected, the
SM3 of the input, where it came from, and a report of every problem (row, column, value,
reason; the first ``REPORT_LIMIT`` are kept, all are counted).

Policy: any problem rejects the whole load and the table stays exactly as it was; with
``quarantine=True`` the valid rows load and the refused ones are kept as
:class:`QuarantinedRow` with their reasons.

How it stays whole. A load is one database transaction: the version row, the rows, the swap
or merge, the resource's counters and the audit event commit together or not at all, so a
crash or a kill at any point leaves the previous data (and no version) behind. Inside it the
rows go through a savepoint; a rejected load rolls that back and commits only its version with
the report (the provider downloads it, ``report_csv``). Loads of one resource are serialised
by locking its row (PostgreSQL; SQLite serialises every writer anyway).

The modes:

* replace — the rows go into a fresh table ``ds_<id>_new`` (built from ``tables.table_for``),
  the key index is built on it, and only then the old table is dropped and the new one renamed
  (with its indexes and sequence) in the same transaction: readers see the old rows until the
  commit and the new ones after it, never a mix. A ``_new`` table left by anything else is
  dropped first.
* append — the rows go into a temporary staging table; keys repeated in the file or already in
  the table are problems; then one ``INSERT … SELECT``.
* upsert — as append, but rows whose key exists replace the stored row
  (``INSERT … ON CONFLICT … DO UPDATE``, PostgreSQL and SQLite ≥ 3.24). Needs key columns.

Speed: rows stream from the reader (``readers``) a thousand at a time; each batch is checked
column by column in C where the cells are in their usual form (``RowChecker.convert_batch``;
``copy_text`` builds PostgreSQL's ``COPY`` text directly), and cell by cell only where a
batch has something unusual or wrong. Batches go straight into ``COPY … FROM STDIN``
(PostgreSQL, converted by the server in parallel) or ``executemany`` (SQLite). Keys are
checked by the database: a unique index, and a query naming the duplicates only when it
cannot be built. Memory stays flat: nothing is kept per row except problems (capped) and
quarantined rows (spooled to a temporary file). ``bench/datastore_ingest.py`` measures it.

On SQLite a load holds the database's write lock until it commits (SQLite has one writer);
other writers wait up to the busy timeout. Large files are meant for the background job
(``queue_load``), and large deployments for PostgreSQL.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import json
import logging
import secrets
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import default_storage, storages
from django.db import IntegrityError, connection, transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from govdata.audit.services import record
from govdata.common import clock
from govdata.common.actor import Actor
from govdata.common.digests import sm3_of_stream
from govdata.orgs.permissions import check

from .. import permissions as perm
from .. import readers, tables
from ..exports import defuse
from ..models import DataVersion, QuarantinedRow, Resource
from ..validation import CellProblem, Invalid, RowChecker, storable

logger = logging.getLogger(__name__)

Mode = DataVersion.Mode
VersionStatus = DataVersion.Status
# Called as progress(phase, done, total): phase "reading" (done/total in bytes for text files,
# rows for workbooks and pushes), then "checking" (keys) and "saving" (0, 0), and "finished"
# (rows loaded, rows read) once the outcome is committed.
Progress = Callable[[str, int, int], None]

REPORT_LIMIT = 1000
PROGRESS_EVERY = 10_000
BATCH_ROWS = 1000
QUARANTINE_BATCH = 1000
# Problem codes of the key checks (the reader's and validation's codes are the others).
DUPLICATE = "duplicate"
EXISTS = "exists"


class _Rejected(Exception):
    """Rolls the load's savepoint back: there were problems and no quarantine was asked."""


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _qualified(name: str) -> str:
    return f"{_q(tables.SCHEMA)}.{_q(name)}" if connection.vendor == "postgresql" else _q(name)


def _run(sql: str, params: Sequence[Any] | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def _stream(sql: str) -> Iterator[tuple]:
    """The rows of a query without holding them all (a server-side cursor on PostgreSQL)."""
    raw = connection.connection
    if connection.vendor == "postgresql":
        with raw.cursor(name=f"govdata_{secrets.token_hex(6)}") as cursor:
            cursor.itersize = 2000
            cursor.execute(sql)
            yield from cursor
    else:
        cursor = raw.cursor()
        try:
            cursor.execute(sql)
            yield from cursor
        finally:
            cursor.close()


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    return str(value)


class _Load:
    """One load in progress: reads, checks and writes the rows, then swaps or merges."""

    def __init__(
        self,
        resource: Resource,
        version: DataVersion,
        columns: list[Any],
        *,
        mode: str,
        quarantine: bool,
        progress: Progress | None,
    ):
        self.resource = resource
        self.version = version
        self.columns = columns
        self.codes = [c.code for c in columns]
        self.keys = [c.code for c in columns if c.is_key]
        self.mode = mode
        self.quarantine = quarantine
        self.progress = progress
        self.vendor = connection.vendor
        self.final = resource.table_name
        self.report: list[dict[str, Any]] = []
        self.problem_count = 0
        self.bad_rows = 0
        self.rows_read = 0
        self.blank_rows = 0
        self.rows_loaded = 0
        self.rows_updated = 0
        self.spool: Any = None
        self.reader: readers.TableReader | None = None
        self.checksum = ""
        self.description = ""

    # --- problems -------------------------------------------------------------------------

    def bad(self, row: int | None, problems: Sequence[CellProblem], values: dict[str, Any] | None) -> None:
        self.bad_rows += 1
        self.problem_count += len(problems)
        room = REPORT_LIMIT - len(self.report)
        for problem in problems[: max(room, 0)]:
            self.report.append(
                {"row": row, "column": problem.column, "value": problem.value, "reason": storable(problem.reason), "code": problem.code}
            )
        if self.quarantine:
            if self.spool is None:
                self.spool = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115
            self.spool.write(
                json.dumps(
                    {
                        "row": row,
                        "values": values or {},
                        "reasons": [{"column": p.column, "reason": storable(p.reason), "code": p.code} for p in problems],
                    },
                    ensure_ascii=False,
                    default=str,
                )
                + "\n"
            )

    def sorted_report(self) -> list[dict[str, Any]]:
        """The problems in row order (a row's own in column order)."""
        return sorted(self.report, key=lambda item: item["row"] or 0)

    def _tell(self, phase: str, done: int = 0, total: int = 0) -> None:
        if self.progress is not None:
            try:
                self.progress(phase, done, total)
            except Exception:  # progress is a courtesy: it never stops a load
                logger.warning("load progress not reported", exc_info=True)

    # --- reading and writing --------------------------------------------------------------

    def good_rows(self, reader: readers.TableReader, checker: RowChecker) -> Iterator[Sequence[tuple] | str]:
        """The converted rows, ``(row number, value, ...)``, a batch at a time; problems go
        to ``bad``. A batch is checked column by column (``RowChecker.convert_batch``), and
        again row by row when a cell is bad, to say which."""
        bad = self.bad
        read = 0
        next_report = PROGRESS_EVERY
        for batch in reader.batches(BATCH_ROWS):
            for item in batch.bad:
                bad(item.row, item.problems, item.values)
            read += len(batch.bad) + len(batch.rows)
            if batch.rows:
                yield self._checked(checker, reader, batch.numbers, batch.rows)
            if read >= next_report:
                next_report = read + PROGRESS_EVERY
                self.rows_read = read - self.blank_rows
                self._tell("reading", *reader.progress())
        self.rows_read = read - self.blank_rows

    def _checked(
        self, checker: RowChecker, reader: readers.TableReader, numbers: Sequence[int], batch: list[Sequence[Any]]
    ) -> Sequence[tuple] | str:
        """A batch's rows converted (as ``COPY`` text on PostgreSQL), the bad ones reported."""
        try:
            if self.vendor == "postgresql":
                return checker.copy_text(numbers, batch)
            return checker.convert_batch(numbers, batch)
        except (Invalid, ValueError, TypeError, LookupError):
            pass
        good = []
        convert, problems_of, raw_values = checker.convert, checker.problems, reader.layout.raw_values
        for number, cells in zip(numbers, batch, strict=True):
            try:
                good.append(convert(number, cells))
            except Invalid:
                if all(c is None or (isinstance(c, str) and not c.strip()) for c in cells):
                    self.blank_rows += 1  # a blank row is no row
                    continue
                self.bad(number, problems_of(cells), raw_values(cells))
        return good

    def write(self, table: str, batches: Iterator[Sequence[tuple] | str]) -> None:
        names = ", ".join(_q(name) for name in [tables.ROW_ID, *self.codes])
        if self.vendor == "postgresql":
            with connection.connection.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                write, write_row = copy.write, copy.write_row
                for batch in batches:
                    if isinstance(batch, str):
                        write(batch)
                    else:
                        for row in batch:
                            write_row(row)
        else:
            rows = itertools.chain.from_iterable(batches)
            marks = ", ".join("?" * (len(self.codes) + 1))
            cursor = connection.connection.cursor()
            try:
                cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)
            finally:
                cursor.close()

    # --- keys -----------------------------------------------------------------------------

    def _key_match(self, left: str, right: str) -> str:
        return " AND ".join(f"{left}.{_q(k)} = {right}.{_q(k)}" for k in self.keys)

    def _values_of(self, row: Sequence[Any]) -> dict[str, Any]:
        return {code: _json_value(value) for code, value in zip(self.codes, row, strict=False)}

    def _key_problem(self, row: Sequence[Any], reason: str, code: str) -> CellProblem:
        positions = [self.codes.index(k) for k in self.keys]
        value = " / ".join("" if row[p] is None else str(_json_value(row[p])) for p in positions)
        return CellProblem("、".join(self.keys), value, reason, code)

    def duplicates(self, table: str) -> int:
        """Report (and, quarantining, remove) every row whose key an earlier row of the file
        already has. Returns how many there were."""
        keys = ", ".join(_q(k) for k in self.keys)
        firsts = (
            f"SELECT {keys}, min({_q(tables.ROW_ID)}) AS first_row FROM {table} GROUP BY {keys} HAVING count(*) > 1"
        )
        later = f"FROM {table} t JOIN ({firsts}) f ON {self._key_match('t', 'f')} WHERE t.{_q(tables.ROW_ID)} <> f.first_row"
        columns = ", ".join(f"t.{_q(c)}" for c in self.codes)
        found = 0
        for row_id, first_row, *values in _stream(
            f"SELECT t.{_q(tables.ROW_ID)}, f.first_row, {columns} {later} ORDER BY t.{_q(tables.ROW_ID)}"
        ):
            found += 1
            reason = _("The key is the same as in row %(row)d.") % {"row": first_row}
            self.bad(row_id, [self._key_problem(values, reason, DUPLICATE)], self._values_of(values))
        if found and self.quarantine:
            _run(f"DELETE FROM {table} WHERE {_q(tables.ROW_ID)} IN (SELECT t.{_q(tables.ROW_ID)} {later})")
        return found

    def collisions(self, stage: str) -> int:
        """Rows whose key is already in the table (append)."""
        where = f"EXISTS (SELECT 1 FROM {_qualified(self.final)} t WHERE {self._key_match('t', 's')})"
        columns = ", ".join(f"s.{_q(c)}" for c in self.codes)
        found = 0
        for row_id, *values in _stream(f"SELECT s.{_q(tables.ROW_ID)}, {columns} FROM {stage} s WHERE {where} ORDER BY 1"):
            found += 1
            reason = _("A row with this key is already in the table; load in upsert mode to update it.")
            self.bad(row_id, [self._key_problem(values, reason, EXISTS)], self._values_of(values))
        if found and self.quarantine:
            _run(f"DELETE FROM {stage} AS s WHERE {where}")
        return found

    def build_key_index(self, table: str, index_name: str) -> None:
        """The unique key index on ``table``; duplicates found on the way are problems."""
        keys = ", ".join(_q(k) for k in self.keys)
        statement = f"CREATE UNIQUE INDEX {_q(index_name)} ON {table} ({keys})"
        try:
            with transaction.atomic():
                _run(statement)
            return
        except IntegrityError:
            pass
        self.duplicates(table)
        if self.quarantine:
            _run(statement)

    # --- the modes ------------------------------------------------------------------------

    def read_into(self, table: str, make_reader: Callable[[], readers.TableReader]) -> None:
        self.reader = reader = make_reader()
        self.description = reader.format.upper() + (
            f", {readers.ENCODING_NAMES.get(reader.encoding, reader.encoding)}" if reader.encoding else ""
        )
        checker = RowChecker(self.columns, reader.layout.positions, self.vendor, text_cells=reader.format == "csv")
        self._tell("reading", *reader.progress())
        self.write(table, self.good_rows(reader, checker))
        self.checksum = self.checksum or reader.checksum()
        if self.rows_read == 0:
            if reader.format == "push":
                raise readers.FileRejected(_("No rows were given."), readers.NO_ROWS)
            raise readers.FileRejected(_("The file has no rows under its header."), readers.NO_ROWS)

    def replace(self, make_reader: Callable[[], readers.TableReader]) -> None:
        new = f"{self.final}_new"
        tables.drop(new)  # left over from anything else
        staged = tables.table_for(new, self.columns)
        tables.ensure_schema()
        tables.execute(sa.schema.CreateTable(staged))
        self.read_into(_qualified(new), make_reader)
        self._tell("checking")
        postgres = self.vendor == "postgresql"
        for index in staged.indexes:
            # PostgreSQL: built under the new table's name and renamed with it. SQLite cannot
            # rename an index: the old table's index goes (the transaction hides that from
            # readers) and the new one is built under the final name.
            name = index.name if postgres else self.final + index.name[len(new) :]
            if not postgres:
                _run(f"DROP INDEX IF EXISTS {_q(name)}")
            if index.unique and [c.name for c in index.columns] == self.keys:
                self.build_key_index(_qualified(new), name)
            else:
                cols = ", ".join(_q(c.name) for c in index.columns)
                _run(f"CREATE {'UNIQUE ' if index.unique else ''}INDEX {_q(name)} ON {_qualified(new)} ({cols})")
        if self.keys and not staged.indexes:
            self.duplicates(_qualified(new))
        self.decide()
        self._tell("saving")
        self.rows_loaded = self.rows_read - self.bad_rows

    def swap(self) -> None:
        """The new table takes the old one's place: the transaction's last statements, so that
        PostgreSQL readers wait for the commit (not the load) and then read the new rows."""
        new = f"{self.final}_new"
        tables.drop(self.final)
        if self.vendor == "postgresql":
            self._rename_postgres(new)
        else:
            _run(f"ALTER TABLE {_q(new)} RENAME TO {_q(self.final)}")

    def _rename_postgres(self, new: str) -> None:
        schema, final = tables.SCHEMA, self.final
        _run(f"ALTER TABLE {_q(schema)}.{_q(new)} RENAME TO {_q(final)}")
        qualified = f"{schema}.{final}"
        for (index_name,) in _run(
            "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = %s::regclass",
            [qualified],
        ):
            if index_name.startswith(new):
                _run(f"ALTER INDEX {_q(schema)}.{_q(index_name)} RENAME TO {_q(final + index_name[len(new):])}")
        sequence = _run("SELECT pg_get_serial_sequence(%s, %s)", [qualified, tables.ROW_ID])[0][0]
        if sequence:
            wanted = f"{final}_{tables.ROW_ID}_seq"
            if sequence.rsplit(".", 1)[-1].strip('"') != wanted:
                _run(f"ALTER SEQUENCE {sequence} RENAME TO {_q(wanted)}")
                sequence = f"{_q(schema)}.{_q(wanted)}"
            _run(
                f"SELECT setval(%s, COALESCE((SELECT max({_q(tables.ROW_ID)}) FROM {_qualified(final)}), 0) + 1, false)",
                [sequence],
            )

    def merge(self, make_reader: Callable[[], readers.TableReader]) -> None:
        """append and upsert: through a temporary staging table."""
        stage_name = f"{self.final}_stage"
        metadata = sa.MetaData()
        staged = sa.Table(
            stage_name,
            metadata,
            sa.Column(tables.ROW_ID, sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=False),
            *(sa.Column(c.code, tables.SQL_TYPES[c.data_type](c.length)) for c in self.columns),
            prefixes=["TEMPORARY"],
        )
        temporary = "pg_temp" if self.vendor == "postgresql" else "temp"
        _run(f"DROP TABLE IF EXISTS {temporary}.{_q(stage_name)}")
        tables.execute(sa.schema.CreateTable(staged))
        stage = _q(stage_name)
        self.read_into(stage, make_reader)
        self._tell("checking")
        if self.keys:
            self.build_key_index(stage, f"{stage_name}_key")
            if self.mode == Mode.APPEND:
                self.collisions(stage)
        self.decide()
        self._tell("saving")
        target = _qualified(self.final)
        names = ", ".join(_q(c) for c in self.codes)
        statement = f"INSERT INTO {target} ({names}) SELECT {names} FROM {stage} WHERE true ORDER BY {_q(tables.ROW_ID)}"
        if self.mode == Mode.UPSERT:
            where = f"EXISTS (SELECT 1 FROM {target} t WHERE {self._key_match('t', 's')})"
            self.rows_updated = _run(f"SELECT count(*) FROM {stage} s WHERE {where}")[0][0]
            others = [c for c in self.codes if c not in self.keys]
            keys = ", ".join(_q(k) for k in self.keys)
            if others:
                updates = ", ".join(f"{_q(c)} = excluded.{_q(c)}" for c in others)
                statement += f" ON CONFLICT ({keys}) DO UPDATE SET {updates}"
            else:
                statement += f" ON CONFLICT ({keys}) DO NOTHING"
        _run(statement)
        self.rows_loaded = self.rows_read - self.bad_rows
        # Gone with the savepoint when the load is refused or fails; dropped here otherwise.
        _run(f"DROP TABLE IF EXISTS {temporary}.{stage}")

    def decide(self) -> None:
        """Reject on any problem unless quarantining; quarantining, there must be a valid row."""
        if self.bad_rows and (not self.quarantine or self.bad_rows >= self.rows_read):
            raise _Rejected
        if self.spool is not None:
            self.spool.seek(0)
            batch = []
            for line in self.spool:
                item = json.loads(line)
                batch.append(
                    QuarantinedRow(version=self.version, row_number=item["row"] or 0, values=item["values"], reasons=item["reasons"])
                )
                if len(batch) >= QUARANTINE_BATCH:
                    QuarantinedRow.objects.bulk_create(batch)
                    batch = []
            QuarantinedRow.objects.bulk_create(batch)

    def close(self) -> None:
        if self.reader is not None:
            self.reader.close()
        if self.spool is not None:
            self.spool.close()
            self.spool = None


# --- the service functions ------------------------------------------------------------------


def _check_request(resource: Resource, mode: str) -> list[Any]:
    problems = {}
    if resource.kind != Resource.Kind.TABLE:
        problems["resource"] = _("Rows are loaded into table resources only.")
    if mode not in Mode.values:
        problems["mode"] = _("Choose replace, append or upsert.")
    columns = list(resource.columns.order_by("position"))
    if mode == Mode.UPSERT and not any(c.is_key for c in columns):
        problems["mode"] = _("Upsert needs key columns; this resource has none.")
    if problems:
        raise ValidationError(problems)
    return columns


def _clean_source(name: str) -> str:
    return ((name or "").replace("\\", "/").rsplit("/", 1)[-1].strip() or "upload")[-200:]


def load_table(
    actor: Actor,
    resource: Resource,
    source: Any,
    *,
    filename: str,
    mode: str,
    quarantine: bool = False,
    progress: Progress | None = None,
) -> DataVersion:
    """Load a CSV, XLSX or JSON lines file (a path, bytes or a binary file object) into a
    table resource. Returns the data version: done, rejected (with its report) or failed."""
    check(actor, perm.can_load, resource)
    columns = _check_request(resource, mode)
    with readers.open_source(source) as fh:

        def make_reader() -> readers.TableReader:
            return readers.open_reader(fh, filename, columns)

        return _load(
            actor,
            resource,
            columns,
            make_reader,
            mode=mode,
            quarantine=quarantine,
            progress=progress,
            source=_clean_source(filename),
            checksum_of_input=lambda: sm3_of_stream(fh),
        )


def push_rows(
    actor: Actor,
    resource: Resource,
    rows: list[dict[str, Any]],
    *,
    mode: str,
    quarantine: bool = False,
    system: Any = None,
) -> DataVersion:
    """Rows pushed by a registered information system (R-9.1): mappings of column code (or
    item name) to value, checked and loaded exactly like a file. ``system`` (an
    ``orgs.InformationSystem`` of the providing department) is recorded as the source."""
    check(actor, perm.can_load, resource)
    columns = _check_request(resource, mode)
    limit = settings.DATASTORE_PUSH_MAX_ROWS
    if not isinstance(rows, list | tuple):
        raise ValidationError({"rows": _("Give the rows as a list of objects.")})
    if len(rows) > limit:
        raise ValidationError({"rows": _("At most %(n)d rows per push; upload a file for more.") % {"n": limit}})
    application = actor.application
    if system is not None:
        if system.department_id != resource.entry.provider_id or not system.is_active:
            raise ValidationError({"system": _("The system is not an active system of the providing department.")})
        application = application or f"system:{system.pk}"
    source = f"push: {system.name}" if system is not None else (f"push: {actor.application}" if actor.application else "push")
    reader = readers.PushedRows(rows, columns, readers.max_cell_chars())

    def make_reader() -> readers.TableReader:
        return reader

    version = _load(
        actor,
        resource,
        columns,
        make_reader,
        mode=mode,
        quarantine=quarantine,
        progress=None,
        source=source[:200],
        checksum_of_input=reader.checksum,
        application=application,
    )
    return version


def _load(
    actor: Actor,
    resource: Resource,
    columns: list[Any],
    make_reader: Callable[[], readers.TableReader],
    *,
    mode: str,
    quarantine: bool,
    progress: Progress | None,
    source: str,
    checksum_of_input: Callable[[], str],
    application: str = "",
) -> DataVersion:
    with transaction.atomic():
        locked = Resource.objects.select_for_update(of=("self",)).select_related("entry").get(pk=resource.pk)
        number = (DataVersion.objects.filter(resource=locked).aggregate(n=Max("number"))["n"] or 0) + 1
        version = DataVersion.objects.create(
            resource=locked,
            number=number,
            mode=mode,
            status=VersionStatus.RUNNING,
            source=source,
            loaded_by=actor.user,
            application=application or actor.application,
            started_at=clock.now(),
            quarantine=quarantine,
        )
        job = _Load(locked, version, columns, mode=mode, quarantine=quarantine, progress=progress)
        try:
            with transaction.atomic():
                if mode == Mode.REPLACE:
                    job.replace(make_reader)
                    _finish(actor, locked, version, job)
                    job.swap()
                else:
                    job.merge(make_reader)
                    _finish(actor, locked, version, job)
        except readers.FileRejected as exc:
            job.report = [{"row": exc.row, "column": "", "value": "", "reason": storable(exc.reason), "code": exc.code}]
            job.problem_count, job.bad_rows = 1, 0
            _conclude_rejected(actor, locked, version, job, exc.reason, checksum_of_input)
        except _Rejected:
            _conclude_rejected(actor, locked, version, job, "", checksum_of_input)
        except Exception as exc:
            logger.exception("load of resource %s failed", locked.pk)
            version.status = VersionStatus.FAILED
            version.finished_at = clock.now()
            version.rows_read, version.rows_loaded, version.rows_rejected = job.rows_read, 0, job.bad_rows
            version.report = job.sorted_report()
            version.message = (_("The load failed and nothing was changed: %(error)s") % {"error": f"{exc.__class__.__name__}: {exc}"})[:2000]
            version.checksum = job.checksum or _safe_checksum(checksum_of_input)
            version.save()
            record(actor, "datastore.load.failed", locked, department=locked.entry.provider, details={"version": version.number, "error": version.message})
        finally:
            job.close()
    resource.refresh_from_db(fields=["current_version", "last_loaded_at", "row_count"])
    job._tell("finished", version.rows_loaded, version.rows_read)
    return version


def _safe_checksum(checksum_of_input: Callable[[], str]) -> str:
    try:
        return checksum_of_input()
    except Exception:  # the input may be gone or unreadable: the version still records the outcome
        logger.warning("checksum of a refused input not computed", exc_info=True)
        return ""


def _finish(actor: Actor, resource: Resource, version: DataVersion, job: _Load) -> None:
    now = clock.now()
    if job.mode == Mode.REPLACE:
        resource.row_count = job.rows_loaded
    elif job.mode == Mode.APPEND:
        resource.row_count = resource.row_count + job.rows_loaded
    else:
        resource.row_count = resource.row_count + job.rows_loaded - job.rows_updated
    resource.current_version = version
    resource.last_loaded_at = now
    resource.save(update_fields=["current_version", "last_loaded_at", "row_count"])
    version.status = VersionStatus.DONE
    version.finished_at = now
    version.rows_read = job.rows_read
    version.rows_loaded = job.rows_loaded
    version.rows_rejected = job.bad_rows
    version.checksum = job.checksum
    version.report = job.sorted_report()
    parts = [
        _("%(loaded)d of %(read)d rows loaded (%(mode)s) from %(source)s [%(format)s].")
        % {
            "loaded": job.rows_loaded,
            "read": job.rows_read,
            "mode": version.get_mode_display(),
            "source": version.source,
            "format": job.description,
        }
    ]
    if job.mode == Mode.UPSERT:
        parts.append(_("%(n)d existing rows updated.") % {"n": job.rows_updated})
    if job.bad_rows:
        parts.append(
            _("%(rows)d rows with %(problems)d problems were quarantined.") % {"rows": job.bad_rows, "problems": job.problem_count}
        )
    version.message = " ".join(parts)
    version.save()
    record(
        actor,
        "datastore.load",
        resource,
        department=resource.entry.provider,
        details={
            "version": version.number,
            "mode": job.mode,
            "source": version.source,
            "read": job.rows_read,
            "loaded": job.rows_loaded,
            "updated": job.rows_updated,
            "rejected": job.bad_rows,
            "sm3": job.checksum,
        },
        rows=job.rows_loaded,
    )


def _conclude_rejected(
    actor: Actor, resource: Resource, version: DataVersion, job: _Load, reason: str, checksum_of_input: Callable[[], str]
) -> None:
    """Keep the rejected version and its report; the table is as it was."""
    if not job.checksum:
        job.checksum = _reader_checksum(job) or _safe_checksum(checksum_of_input)
    version.status = VersionStatus.REJECTED
    version.finished_at = clock.now()
    version.rows_read = job.rows_read
    version.rows_loaded = 0
    version.rows_rejected = job.bad_rows
    version.checksum = job.checksum
    version.report = job.sorted_report()
    if reason:
        version.message = _("The file was refused and nothing was loaded: %(reason)s") % {"reason": reason}
    elif job.quarantine:
        version.message = _("No row of %(read)d is valid; nothing was loaded.") % {"read": job.rows_read}
    else:
        version.message = _(
            "%(problems)d problems in %(rows)d of %(read)d rows; nothing was loaded. Correct them and load again, or load the valid rows and quarantine the rest."
        ) % {"problems": job.problem_count, "rows": job.bad_rows, "read": job.rows_read}
    if job.description:
        version.message += f" [{job.description}]"
    version.save()
    record(
        actor,
        "datastore.load.rejected",
        resource,
        department=resource.entry.provider,
        details={"version": version.number, "mode": job.mode, "source": version.source, "problems": job.problem_count, "rows": job.bad_rows},
        rows=0,
    )


def _reader_checksum(job: _Load) -> str:
    if job.reader is None:
        return ""
    try:
        return job.reader.checksum()
    except Exception:  # noqa: BLE001 - a refused input may be unreadable
        return ""


def report_csv(version: DataVersion) -> str:
    """A version's problem report as CSV text (for download, with a BOM so Excel reads it)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow([_("Row"), _("Column"), _("Value"), _("Reason")])
    for item in version.report or []:
        # Values come from the uploaded file: defused so a spreadsheet never runs one as a formula.
        writer.writerow(
            [item.get("row") or "", item.get("column", ""), defuse(item.get("value", "")), item.get("reason", "")]
        )
    return out.getvalue()


# --- large files as a background job ----------------------------------------------------------

PROGRESS_TTL = 24 * 3600


def progress_key(token: str) -> str:
    return f"datastore:load:{token}"


def load_progress(token: str) -> dict[str, Any] | None:
    """Where a queued load is: {"phase", "done", "total", "at"} and, once finished, "version"."""
    return cache.get(progress_key(token))


def _upload_storage():
    return storages["imports"] if "imports" in settings.STORAGES else default_storage


def queue_load(
    actor: Actor, resource: Resource, upload: Any, *, filename: str, mode: str, quarantine: bool = False
) -> str:
    """Keep an uploaded file and load it in a background job; returns the token whose
    progress ``load_progress`` reports."""
    check(actor, perm.can_load, resource)
    _check_request(resource, mode)
    limit = settings.DATASTORE_UPLOAD_MAX_BYTES
    too_big = ValidationError(
        {"file": _("The file is larger than %(mb)d MB; split it or ask the bureau.") % {"mb": limit // 1_000_000}}
    )
    if (getattr(upload, "size", None) or 0) > limit:
        raise too_big
    token = secrets.token_hex(16)
    with readers.open_source(upload) as fh:
        stored = _upload_storage().save(f"datastore/{resource.pk}/{token}", File(fh))
    if _upload_storage().size(stored) > limit:  # a stream that did not say its size
        _upload_storage().delete(stored)
        raise too_big
    cache.set(progress_key(token), {"phase": "queued", "done": 0, "total": 0, "at": time.time()}, PROGRESS_TTL)
    user_id = actor.user.pk if actor.user is not None else None

    def enqueue() -> None:
        from ..tasks import run_load

        try:
            run_load(token, user_id, resource.pk, stored, _clean_source(filename), mode, quarantine)
        except Exception:
            logger.exception("load %s could not be queued", token)
            _upload_storage().delete(stored)
            cache.set(progress_key(token), {"phase": "failed", "done": 0, "total": 0, "at": time.time()}, PROGRESS_TTL)

    transaction.on_commit(enqueue)
    return token


def run_queued_load(
    token: str, user_id: int | None, resource_id: int, stored: str, filename: str, mode: str, quarantine: bool
) -> DataVersion | None:
    """The job's body: load the kept file as its uploader, report progress, delete the file."""
    from govdata.orgs.models import User

    key = progress_key(token)

    def progress(phase: str, done: int, total: int) -> None:
        cache.set(key, {"phase": phase, "done": done, "total": total, "at": time.time()}, PROGRESS_TTL)

    storage = _upload_storage()
    try:
        resource = Resource.objects.get(pk=resource_id)
        actor = Actor(user=User.objects.get(pk=user_id)) if user_id is not None else Actor.platform()
        with storage.open(stored, "rb") as fh:
            version = load_table(actor, resource, fh, filename=filename, mode=mode, quarantine=quarantine, progress=progress)
    except Exception as exc:
        logger.exception("queued load %s failed", token)
        cache.set(key, {"phase": "failed", "done": 0, "total": 0, "error": str(exc)[:500], "at": time.time()}, PROGRESS_TTL)
        return None
    finally:
        storage.delete(stored)
    cache.set(
        key,
        {"phase": "finished", "done": version.rows_loaded, "total": version.rows_read, "version": version.pk, "status": version.status, "at": time.time()},
        PROGRESS_TTL,
    )
    return version
