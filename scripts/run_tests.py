"""Run the whole suite on SQLite, then on PostgreSQL when one is wanted or available.

GOVDATA_TEST_POSTGRES=required  a missing server fails the run (CI);
GOVDATA_TEST_POSTGRES=off       SQLite only;
otherwise                       PostgreSQL too whenever a server answers on 127.0.0.1:5432.
Extra arguments are passed to pytest; the suite runs on one worker per core unless they
say otherwise (-n).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

PG_URL = os.environ.get("GOVDATA_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/govdata")


def postgres_answers(timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=timeout):
            return True
    except OSError:
        return False


def run(label: str, env: dict[str, str], args: list[str]) -> int:
    print(f"\n=== tests on {label} ===", flush=True)
    started = time.monotonic()
    code = subprocess.call([sys.executable, "-m", "pytest", *args], env=env)
    print(f"=== {label}: exit {code} in {time.monotonic() - started:.0f}s ===", flush=True)
    return code


def main() -> int:
    args = sys.argv[1:]
    if not any(a == "-n" or a.startswith("-n") or a.startswith("--numprocesses") for a in args):
        args = ["-n", "auto", *args]  # one worker per core (pytest-xdist)
    base = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    mode = os.environ.get("GOVDATA_TEST_POSTGRES", "auto").lower()
    results = {"SQLite": run("SQLite", base, args)}
    if mode == "off":
        pass
    elif postgres_answers():
        results["PostgreSQL"] = run("PostgreSQL", {**base, "DATABASE_URL": PG_URL}, args)
    elif mode == "required":
        print("PostgreSQL is required (GOVDATA_TEST_POSTGRES=required) but nothing answers on 127.0.0.1:5432")
        results["PostgreSQL"] = 1
    else:
        print("PostgreSQL not reachable on 127.0.0.1:5432: SQLite only")
    print("\n" + "  ".join(f"{db}: {'ok' if code == 0 else 'FAILED'}" for db, code in results.items()))
    return 0 if all(code == 0 for code in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
