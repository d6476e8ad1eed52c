"""The apps meet through each other's public names only: no module of an app imports a private
name (``_helper``) of another app, so each app may change its insides without breaking the
others. Logic two apps share is made public in the room it belongs to (as the catalog's facet
panel, ``catalog.facets``, serves the catalog's and the open portal's searches). Tests are
exempt: they may borrow each other's fixtures and helpers."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "govdata"


def _app(path: Path) -> str:
    return path.relative_to(PACKAGE).parts[0]


def private_imports() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "tests" in path.relative_to(PACKAGE).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.ImportFrom) and node.level == 0 and node.module):
                continue
            parts = node.module.split(".")
            if parts[0] != "govdata" or len(parts) < 2 or parts[1] == _app(path):
                continue
            found += [
                f"{path.relative_to(PACKAGE)}: {alias.name} from {node.module}"
                for alias in node.names
                if alias.name.startswith("_") and not alias.name.startswith("__")
            ]
    return found


def test_no_app_imports_a_private_name_of_another():
    assert private_imports() == []
