"""Schemathesis over HTTP against the real Serve app (Ray, the model deployments, Milvus server, PostgreSQL,
Redis): the shorter companion of tests/domain/school/test_fuzz_api.py, so the Ray hops (arrays through the
object store, replica errors mapped to HTTP) meet generated input too. Same checks, same callers (an admin of
a school of its own, with a fresh session per request, or a kiosk of that school); operations only students
or teachers may call are left to the in-process run. Counts: ``artifacts/reliability/fuzz-serve.json``."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
import schemathesis

from tests.conftest import REPO_ROOT
from tests.fuzz_support import FULL, Tally, api_policies, caller_for, fuzz
from tests.integration.conftest import ServeApp
from tests.integration.school_setup import SchoolAdmin, add_class, ok

pytestmark = pytest.mark.integration

MAX_EXAMPLES = 25 if FULL else 3
TALLY = Tally("over HTTP through Ray Serve (every deployment, Milvus server, PostgreSQL, Redis)")
REPORT = REPO_ROOT / "artifacts" / "reliability" / "fuzz-serve.json"
POLICIES = api_policies()
OPERATIONS = sorted(key for key in POLICIES if caller_for(POLICIES, *key) in (None, "admin", "kiosk"))


@pytest.fixture(scope="module")
def fuzz_school(serve_app: ServeApp) -> Iterator[tuple[SchoolAdmin, str, schemathesis.BaseSchema]]:
    office = SchoolAdmin(serve_app.settings, f"Fuzz School {uuid.uuid4().hex[:6]}")
    with httpx.Client(base_url=serve_app.base_url, headers=office.headers(), timeout=60) as admin:
        _, kiosk_key = add_class(admin, f"FZ{uuid.uuid4().hex[:4]}", [])
        spec = ok(admin.get("/openapi.json"))
    schema = schemathesis.openapi.from_dict(spec)
    yield office, kiosk_key, schema
    TALLY.write(REPORT, max_examples_per_operation=MAX_EXAMPLES)
    office.close()


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_generated_requests_through_serve(method: str, path: str, serve_app: ServeApp, fuzz_school) -> None:
    office, kiosk_key, schema = fuzz_school
    caller = caller_for(POLICIES, method, path)

    def prepare(_case: schemathesis.Case) -> dict[str, str]:
        return {"X-API-Key": kiosk_key} if caller == "kiosk" else office.headers() if caller else {}

    fuzz(schema[path][method], MAX_EXAMPLES, prepare, TALLY, base_url=serve_app.base_url)
