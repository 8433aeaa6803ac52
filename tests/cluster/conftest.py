"""Rendered overlays, shared by the cluster tests (rendering runs kustomize; do it once per session)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from cluster import manifests

OVERLAYS = manifests.overlay_names()


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[dict[str, Any]]]:
    """Every overlay rendered once: {overlay: objects}."""
    return {overlay: manifests.render(overlay) for overlay in OVERLAYS}


@pytest.fixture
def docs_of(rendered):
    """A private deep copy of one overlay's objects, safe to plant mistakes in."""

    def _copy(overlay: str) -> list[dict[str, Any]]:
        return copy.deepcopy(rendered[overlay])

    return _copy


def find(docs: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    """The first object of a kind (and name)."""
    for doc in docs:
        if doc.get("kind") == kind and (name is None or doc["metadata"]["name"] == name):
            return doc
    raise LookupError(f"no {kind} {name or ''} rendered")
