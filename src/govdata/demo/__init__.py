"""The Yingkou demo: realistic departments, people and records, loaded through the services."""

from __future__ import annotations


def load_demo() -> dict[str, int]:
    from .catalog import load as load_catalog
    from .datastore import load as load_datastore
    from .orgs import load as load_orgs

    summary = load_orgs()
    summary.update(load_catalog())
    summary.update(load_datastore())
    return summary
