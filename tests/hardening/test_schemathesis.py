"""Schemathesis against a running server: every operation of its OpenAPI document, with
schema-valid and schema-invalid inputs, answers without a 5xx (issue #7, hardening).

The server is real (uvicorn on a free port, `server.Server`), holds a vehicle with a day of
simulated data, and is called with an operator API token (`Authorization: Bearer`). Each
operation runs three passes: positive (inputs the schema allows), negative (inputs it forbids),
and, where the path has a `{vin}`, positive again with the registered VIN so that the route
gets past "vehicle not found" into its real work (telemetry with the vehicle's own token).

Checks: no 5xx (`not_a_server_error`) on every response; for 2xx answers, the body and
content type the schema documents (`response_schema_conformance`, `content_type_conformance`).
(`negative_data_rejection` is not used: FastAPI ignores unknown query parameters by design,
which that check counts as accepting invalid data.) Every failure of the whole run is
collected and reported at once, with a curl command to reproduce it.

`VOLTA_SCHEMATHESIS_EXAMPLES` sets the examples per operation and pass (default 10: the
test suite's share; 20 took 100 s of a full run, half of it generating cases; set it higher for
a deeper run). The positive pass with random VINs gets `RANDOM_VIN_EXAMPLES`: such a VIN is not
registered, so the route answers 404 (or 403) before any real work, which the pass with the
registered VIN then does.
"""

from __future__ import annotations

import os
import random
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import APIOperation, Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.errors import FailureGroup
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from .harness import VIN
from .mutate import corpus, mutate
from .server import Server

Operation = APIOperation[Any, Any, Any, Any]
EXAMPLES = int(os.environ.get("VOLTA_SCHEMATHESIS_EXAMPLES", "10"))
RANDOM_VIN_EXAMPLES = min(3, EXAMPLES)  # measured at 20: 714 of 720 answers were 404 or 403
REQUEST_TIMEOUT_S = 30
_TOKEN = re.compile(r"\b[a-z]{2}_[A-Za-z0-9_-]{16,}|eyJ[\w-]+\.[\w-]+\.[\w-]+")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("volta-schemathesis"))
    yield srv
    srv.close()


class Run:
    """Calls the cases of one pass and collects what went wrong, de-duplicated."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.session = requests.Session()
        self.calls = 0
        self.by_status: dict[int, int] = {}
        self.failures: dict[tuple[str, str], str] = {}
        self.no_negative: list[str] = []  # operations without any input to get wrong

    def headers(self, op: Operation, fixed_vin: bool) -> dict[str, str]:
        own_vehicle = fixed_vin and op.method.upper() == "POST" and op.path.endswith("/telemetry")
        token = self.server.vehicle if own_vehicle else self.server.operator
        return {"Authorization": f"Bearer {token}"}

    def call(self, case: Case[Operation], headers: dict[str, str]) -> None:
        response = case.call(
            base_url=self.server.url,
            session=self.session,
            headers=headers,
            timeout=REQUEST_TIMEOUT_S,
        )
        self.calls += 1
        status = response.status_code
        self.by_status[status] = self.by_status.get(status, 0) + 1
        checks: list[Any] = [not_a_server_error]
        if 200 <= status < 300:
            checks += [response_schema_conformance, content_type_conformance]
        try:
            case.validate_response(response, checks=checks, headers=headers)
        except (FailureGroup, AssertionError) as err:
            kinds = [f"{e.code} {e.title}" for e in getattr(err, "exceptions", [])]
            key = (case.operation.label, f"{status} {'; '.join(kinds) or err}")
            # Tokens (ours, or one a route just issued) must not end up in a report.
            curl = case.as_curl_command(headers={"Authorization": "Bearer <token>"})
            self.failures.setdefault(key, _TOKEN.sub("<token>", f"{err}\n{curl}"))


def _pass(
    run: Run, op: Operation, mode: GenerationMode, fixed_vin: bool, examples: int = EXAMPLES
) -> None:
    path_parameters = {"vin": run.server.vin} if fixed_vin else None
    strategy = op.as_strategy(generation_mode=mode, path_parameters=path_parameters)
    headers = run.headers(op, fixed_vin)

    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],  # nothing fails inside: no shrinking
        suppress_health_check=list(HealthCheck),
    )
    @given(st.data())
    def one(data: st.DataObject) -> None:
        run.call(data.draw(strategy), headers)

    try:
        one()
    except Unsatisfiable:  # nothing to break: an operation without parameters or body
        assert mode is GenerationMode.NEGATIVE, f"{op.label}: no valid input generated"
        run.no_negative.append(op.label)


@pytest.mark.timeout(600)
def test_no_operation_answers_5xx(server: Server) -> None:
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    run = Run(server)
    start, cpu = time.perf_counter(), time.process_time()
    operations = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):  # a part of the document schemathesis cannot use
            raise result.err()
        op = result.ok()
        operations.append(op.label)
        has_vin = "{vin}" in op.path
        positive = RANDOM_VIN_EXAMPLES if has_vin else EXAMPLES
        passes = [
            (GenerationMode.POSITIVE, False, positive),
            (GenerationMode.NEGATIVE, False, EXAMPLES),
        ]
        if has_vin:
            passes.append((GenerationMode.POSITIVE, True, EXAMPLES))
        for mode, fixed_vin, examples in passes:
            _pass(run, op, mode, fixed_vin, examples)
    wall, cpu_s = time.perf_counter() - start, time.process_time() - cpu
    print(
        f"\nschemathesis: {len(operations)} operations, {run.calls} requests "
        f"(up to {EXAMPLES} examples per operation and pass) in {wall:.1f} s "
        f"(test process CPU {cpu_s:.1f} s); statuses {dict(sorted(run.by_status.items()))}"
    )
    assert len(operations) >= 20, operations
    report = "\n\n".join(f"{op} -> {what}\n{detail}" for (op, what), detail in run.failures.items())
    assert not run.failures, f"{len(run.failures)} distinct failures:\n\n{report}"
    assert not any(status >= 500 for status in run.by_status)


HTTP_BATCHES = 400


@pytest.mark.timeout(300)
def test_fuzzed_batches_over_http_get_an_answer_with_a_reason(server: Server) -> None:
    """The telemetry route's body is not in the OpenAPI document (it is raw JSON or
    MessagePack), so schemathesis sends none: send it mutated batches of this vehicle over
    real HTTP. Each is answered 200 (accepted, each rejected sample with its reason) or 4xx
    with a reason; never a 5xx."""
    rng = random.Random(7)
    seeds = [data.replace(VIN.encode(), server.vin.encode()) for data in corpus()]
    url = f"{server.url}/v1/vehicles/{server.vin}/telemetry"
    session = requests.Session()
    statuses: dict[int, int] = {}
    for i in range(HTTP_BATCHES):
        body = mutate(rng, rng.choice(seeds), seeds) if i % 4 else rng.choice(seeds)
        media = rng.choice(["application/json", "application/msgpack", "text/plain", ""])
        headers = {"Authorization": f"Bearer {server.vehicle}", "Content-Type": media}
        response = session.post(url, data=body, headers=headers, timeout=REQUEST_TIMEOUT_S)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        assert response.status_code < 500, (response.status_code, response.text, body[:200])
        answer = response.json()
        if response.status_code == 200:
            assert all(r["reason"] and r["code"] for r in answer["rejected"]), answer
        else:
            assert 400 <= response.status_code < 500 and answer["message"], answer
    print(
        f"\nHTTP telemetry fuzz: {HTTP_BATCHES} batches, statuses {dict(sorted(statuses.items()))}"
    )
    assert statuses.get(200, 0) > 0 and sum(statuses.values()) == HTTP_BATCHES
