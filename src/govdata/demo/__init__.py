"""The Yingkou demo: realistic departments, people and records, loaded through the services."""

from __future__ import annotations


def load_demo() -> dict[str, int]:
    from .orgs import load as load_orgs

    return load_orgs()
