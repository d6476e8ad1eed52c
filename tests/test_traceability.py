"""docs/traceability.md stays true: every requirement listed, every done or partial id proven by
a test carrying ``@pytest.mark.req(id)``, every named test real, no test naming an unknown id.

The scan is static (ast over every test file under src/ and tests/), so it needs no database
and sees tests that are skipped or deselected in this run too.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TRACEABILITY = ROOT / "docs" / "traceability.md"
REQUIREMENTS = ROOT.parent / "shared" / "REQUIREMENTS.md"
STATUSES = {"done", "partial", "planned"}
ID = re.compile(r"R-\d+\.\d+")
MARK_CALL = re.compile(r"mark\.req\(([^)]*)\)")
NAMED_TEST = re.compile(r"([\w./-]+\.py)::(\w+)")


@dataclass
class Row:
    status: str
    code: str
    tests: list[tuple[str, str]]


@dataclass
class Markers:
    by_id: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # id -> {path::test}
    places: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))  # id -> files naming it


# --- reading the documents -------------------------------------------------------------------


@cache
def traceability() -> dict[str, Row]:
    rows: dict[str, Row] = {}
    for line in TRACEABILITY.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.lstrip().startswith("|") or len(cells) < 4 or not ID.fullmatch(cells[0].strip("`*")):
            continue
        req_id = cells[0].strip("`*")
        assert req_id not in rows, f"{req_id} has two rows in docs/traceability.md"
        rows[req_id] = Row(cells[1].strip("`*").lower(), cells[2], NAMED_TEST.findall(cells[3]))
    return rows


@cache
def requirement_ids() -> tuple[list[str], str]:
    """The ids of REQUIREMENTS.md in order, and where they came from."""
    if REQUIREMENTS.exists():
        ids = re.findall(r"^- (R-\d+\.\d+) ", REQUIREMENTS.read_text(encoding="utf-8"), re.M)
        return ids, str(REQUIREMENTS)
    return list(traceability()), f"docs/traceability.md ({REQUIREMENTS} not found: falling back to the docs' ids)"


def source_note() -> str:
    return f"\n(requirement ids read from {requirement_ids()[1]})"


# --- scanning the tests ----------------------------------------------------------------------


def _req_ids(node: ast.AST) -> list[str]:
    """Ids of every ``*.mark.req("R-…", …)`` call inside ``node``."""
    ids = []
    for call in ast.walk(node):
        if (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Attribute)
            and call.func.attr == "req"
            and isinstance(call.func.value, ast.Attribute)
            and call.func.value.attr == "mark"
        ):
            ids += [a.value for a in call.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    return ids


def _is_pytestmark(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Assign) and any(getattr(t, "id", "") == "pytestmark" for t in stmt.targets)


def scanned_files() -> list[Path]:
    files = []
    for top in ("src", "tests"):
        files += [p for p in (ROOT / top).rglob("test_*.py") if not {".venv", "node_modules"} & set(p.parts)]
    return sorted(files)


@cache
def markers() -> Markers:
    found = Markers()
    for path in scanned_files():
        relative = path.relative_to(ROOT).as_posix()
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text, filename=relative)
        module_ids = [i for stmt in tree.body if _is_pytestmark(stmt) for i in _req_ids(stmt.value)]

        def visit(body, inherited: list[str], prefix: str = "") -> None:
            for stmt in body:
                if isinstance(stmt, ast.ClassDef):
                    class_ids = [i for d in stmt.decorator_list for i in _req_ids(d)]
                    for sub in stmt.body:  # pytestmark inside the class
                        if _is_pytestmark(sub):
                            class_ids += _req_ids(sub.value)
                    visit(stmt.body, inherited + class_ids, f"{prefix}{stmt.name}::")
                elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and stmt.name.startswith("test"):
                    # Decorators include parametrize(..., marks=pytest.mark.req(...)) cases.
                    ids = inherited + [i for d in stmt.decorator_list for i in _req_ids(d)]
                    name = f"{relative}::{prefix}{stmt.name}"
                    for req_id in ids:
                        found.by_id[req_id].add(name)

        visit(tree.body, module_ids)
        # Every id named anywhere in the file (helpers, aliases, comments too) is checked.
        for req_id in set(_req_ids(tree)) | {i for args in MARK_CALL.findall(text) for i in ID.findall(args)}:
            found.places[req_id].append(relative)
    return found


# --- the checks ------------------------------------------------------------------------------


def test_every_requirement_has_exactly_one_row_with_a_known_status():
    ids, rows = requirement_ids()[0], traceability()
    problems = []
    if missing := [i for i in ids if i not in rows]:
        problems.append(f"ids without a row in docs/traceability.md: {missing}")
    if extra := [i for i in rows if i not in ids]:
        problems.append(f"rows for ids not in the requirements: {extra}")
    if bad_status := {i: r.status for i, r in rows.items() if r.status not in STATUSES}:
        problems.append(f"status must be one of {sorted(STATUSES)}: {bad_status}")
    assert not problems, "\n".join(problems) + source_note()


def test_done_and_partial_ids_are_proven_by_a_marked_test():
    claimed = [i for i, row in traceability().items() if row.status in ("done", "partial")]
    unproven = [i for i in claimed if not markers().by_id.get(i)]
    assert not unproven, (
        "marked done/partial in docs/traceability.md but no test carries @pytest.mark.req(id): "
        f"{unproven}{source_note()}"
    )


def test_tests_name_only_known_requirement_ids():
    known = set(requirement_ids()[0])
    unknown = {i: sorted(set(places)) for i, places in markers().places.items() if i not in known}
    assert not unknown, f"tests carry ids that are not in the requirements: {unknown}{source_note()}"


def test_every_named_test_exists_and_carries_its_id():
    problems = []
    for req_id, row in traceability().items():
        for path, name in row.tests:
            file = ROOT / path
            if not file.is_file():
                problems.append(f"{req_id}: {path} does not exist")
            elif not re.search(rf"^\s*(async\s+)?def {re.escape(name)}\(", file.read_text(encoding="utf-8"), re.M):
                problems.append(f"{req_id}: {path} has no `def {name}`")
            elif not any(
                t.split("::")[0] == path and t.split("::")[-1] == name for t in markers().by_id.get(req_id, ())
            ):
                problems.append(f"{req_id}: {path}::{name} does not carry @pytest.mark.req({req_id!r})")
    assert not problems, "docs/traceability.md names tests wrongly:\n" + "\n".join(problems)


def test_done_rows_name_their_code_and_tests():
    incomplete = [
        i for i, row in traceability().items() if row.status == "done" and (not row.tests or not row.code.strip("- "))
    ]
    assert not incomplete, f"done rows must name code and at least one test: {incomplete}"
