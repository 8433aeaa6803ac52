"""What the schemathesis runs share (in process over ASGI, and over HTTP through Serve): the checks, who calls
each operation, real ids for some path parameters, and the tally that docs/RELIABILITY.md quotes.

Checks: no 5xx (``not_a_server_error``), and every answer as the OpenAPI document says: a documented
status (``status_code_conformance``), its media type, its headers and its body schema.
``negative_data_rejection`` and ``positive_data_acceptance`` are left out: random ids are legitimately 404,
and a body that fits the schema can legitimately clash with the state (409); those two call that a failure.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import APIOperation, Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.api.security import RoutePolicy, route_policies

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
#: ROLLCALL_FUZZ_FULL=1: the full run (>= 10 000 requests in process); else a CI-sized one.
FULL = os.environ.get("ROLLCALL_FUZZ_FULL") == "1"
#: Who calls an operation, in order of preference among the roles it admits.
CALLER_ORDER = ("admin", "kiosk", "teacher", "student")


def api_policies() -> dict[tuple[str, str], RoutePolicy]:
    """Every API operation's policy, read from an app built without stores (its OpenAPI needs none); at
    collection time, so each operation is a test of its own."""
    from tests.domain.authkit import make_app, make_settings

    stub = make_app(make_settings(Path(tempfile.gettempdir()) / "rollcall-fuzz-stub"))
    return {(p.method, p.path): p for p in route_policies(stub) if p.is_api}


def caller_for(policies: Mapping[tuple[str, str], RoutePolicy], method: str, path: str) -> str | None:
    """The caller an operation is fuzzed as (None: public)."""
    policy = policies.get((method.upper(), path))
    if policy is None or policy.public or not policy.policies:
        return None
    (allowed,) = policy.policies
    return next(role for role in CALLER_ORDER if role in allowed)


def use_real_ids(path_parameters: dict[str, object], real: Mapping[str, str]) -> None:
    """Swap about half of the generated ids for ids of real rows (decided by the generated value itself, so
    a failing example replays the same way): random UUIDs alone only ever reach the 404 branch."""
    for name, value in path_parameters.items():
        if name in real and isinstance(value, str) and sum(map(ord, value)) % 2 == 0:
            path_parameters[name] = real[name]


@dataclass
class Tally:
    """Requests and statuses per operation, written as JSON for docs/RELIABILITY.md."""

    run: str
    statuses: Counter[str] = field(default_factory=Counter)
    operations: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, operation: str, status: int) -> None:
        with self.lock:
            self.statuses[str(status)] += 1
            self.operations[operation] += 1

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    def write(self, path: Path, **extra: object) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "run": self.run,
            "requests": self.requests,
            "operations": len(self.operations),
            "statuses": dict(sorted(self.statuses.items())),
            "server_errors": sum(n for status, n in self.statuses.items() if status.startswith("5")),
            **extra,
        }
        path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")


def strategy_for(operation: APIOperation) -> st.SearchStrategy:
    """Valid requests, and invalid ones where the operation has anything to get wrong."""
    positive = operation.as_strategy(generation_mode=GenerationMode.POSITIVE)
    try:
        negative = operation.as_strategy(generation_mode=GenerationMode.NEGATIVE)
    except Exception:  # nothing to make invalid (no parameters, no body)
        return positive
    return st.one_of(positive, negative)


def fuzz(
    operation: APIOperation,
    max_examples: int,
    prepare: Callable[[Case], dict[str, str]],
    tally: Tally,
    **call: object,
) -> None:
    """Run ``max_examples`` generated requests of ``operation`` (reproducibly: derandomized), count them in
    ``tally`` and apply ``CHECKS`` to every answer. ``prepare`` may adjust each case (real ids) and returns
    the credentials to send with it."""

    @settings(
        max_examples=max_examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy_for(operation))
    def run(case: Case) -> None:
        for name in ("Authorization", "X-API-Key"):  # generated credentials would only ever be refused
            (case.headers or {}).pop(name, None)
        headers = prepare(case)
        # Correctness, not latency: e.g. the first Milvus Lite call of a run builds its collection (seconds).
        response = case.call(headers=headers, timeout=60, **call)
        tally.add(f"{operation.method.upper()} {operation.path}", response.status_code)
        case.validate_response(response, checks=CHECKS, headers=headers)

    run()
