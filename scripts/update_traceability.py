"""Refresh the tests column of docs/traceability.md from the @pytest.mark.req markers.

Status and code columns are edited by hand; this rewrites only the tests column, using the
same scanner as tests/test_traceability.py.   Usage: .venv/bin/python scripts/update_traceability.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import test_traceability as trace  # noqa: E402


def main() -> int:
    doc = ROOT / "docs" / "traceability.md"
    found = trace.markers().by_id
    out = []
    for line in doc.read_text(encoding="utf-8").splitlines():
        cells = line.split(" | ")
        if line.startswith("| R-") and len(cells) == 4:
            req = cells[0].removeprefix("| ").strip()
            tests = sorted(found.get(req, ()))
            cells[3] = ("<br>".join(f"`{t}`" for t in tests) or "—") + " |"
            line = " | ".join(cells)
            if cells[1].strip() in ("done", "partial") and not tests:
                print(f"{req} is {cells[1].strip()} but no test carries it", file=sys.stderr)
        out.append(line)
    doc.write_text("\n".join(out) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
