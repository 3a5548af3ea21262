"""Every route × every principal, generated from the application's own route table.

Each route declares who may call it (`volta.api.auth.policy_of`); this test calls every route
with every kind of principal (no token, an expired sign-in, a revoked token, operators by
token and by sign-in, technicians and drivers of this vehicle's organisation / assignment and
of another, the vehicle and another vehicle) and checks the answer against the declaration.
A route without a declaration fails here, so a new route cannot ship unprotected."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketDenialResponse
from starlette.websockets import WebSocketDisconnect

from volta.api.access_table import markdown
from volta.api.auth import CallerDep, Policy, route_table
from volta.registry import Role

from .conftest import VIN, Secured, Who, bearer

# Values for path parameters: the vehicle under test, otherwise names that do not exist (so
# that allowed state-changing calls end in 404/422 and change nothing).
PATH_VALUES = {
    "vin": VIN,
    "key": "Vehicle.Speed",
    "name": "nobody",
    "credential_id": "cred_000000000000",
}
_PARAM = re.compile(r"{([^}:]+)(?::[^}]+)?}")


def undeclared(app: FastAPI) -> list[str]:
    """Routes of the app that declare no access policy."""
    return [f"{list(r.methods)} {r.path}" for r in route_table(app.routes) if r.policy is None]


def unscoped_vehicle_routes(app: FastAPI) -> list[str]:
    """Routes about one vehicle (`{vin}` in the path) open to callers who do not see every
    vehicle, whose policy does not check the caller may see that vehicle: a technician or
    driver would reach any vehicle's data."""
    out = []
    for r in route_table(app.routes):
        policy = r.policy
        if policy is None or policy.public or policy.vin:
            continue
        if "{vin}" in r.path and policy.roles - {Role.OPERATOR}:
            out.append(r.path)
    return out


def fill(path: str) -> str:
    return _PARAM.sub(lambda m: PATH_VALUES.get(m.group(1), "nothing-here"), path)


def expected(policy: Policy, who: Who) -> str:
    """'ok' (anything but 401/403, and no 5xx), '401' or '403'."""
    if policy.public:
        return "ok"
    if who.role is None:
        return "401"
    if who.role not in policy.roles:
        return "403"
    if policy.vin and VIN not in who.sees:
        return "403"
    return "ok"


def call(client: TestClient, method: str, path: str, token: str | None) -> tuple[int, str]:
    headers = bearer(token) if token else {}
    body: dict[str, Any] | None = {} if method in ("POST", "PUT", "PATCH") else None
    r = client.request(method, path, headers=headers, json=body, follow_redirects=False)
    return r.status_code, r.text


def connect(client: TestClient, path: str, token: str | None) -> tuple[int, str]:
    """A WebSocket's answer as an HTTP-like status: 101 if it opened and sent its snapshot."""
    url = f"{path}?token={token}" if token else path
    try:
        with client.websocket_connect(url) as ws:
            first = ws.receive_json()
            return 101, str(first.get("type"))
    except WebSocketDenialResponse as denial:
        return denial.status_code, denial.text
    except WebSocketDisconnect as exc:
        return 1000 + exc.code, exc.reason or ""


def status_matches(want: str, status: int) -> bool:
    if want == "ok":
        return status not in (401, 403) and status < 500
    return str(status) == want


def test_every_route_declares_who_may_call_it(secured: Secured) -> None:
    app = secured.client.app
    assert isinstance(app, FastAPI)
    assert undeclared(app) == []
    assert unscoped_vehicle_routes(app) == []


def test_a_new_route_without_a_declaration_is_caught(secured: Secured) -> None:
    """The checks above do fail for an undeclared route (and for a vehicle route that only
    asks for any valid token)."""
    app = FastAPI()
    router = APIRouter()

    @router.get("/v1/new")
    def new_route() -> dict[str, str]:
        return {}

    @router.get("/v1/vehicles/{vin}/new")
    def lax_route(vin: str, principal: CallerDep) -> dict[str, str]:
        return {}

    @router.websocket("/v1/ws")
    async def new_socket(websocket: Any) -> None:
        return None

    app.include_router(router)
    assert undeclared(app) == ["['GET'] /v1/new", "['WS'] /v1/ws"]
    assert unscoped_vehicle_routes(app) == ["/v1/vehicles/{vin}/new"]


def test_every_route_answers_every_principal_as_declared(secured: Secured) -> None:
    app = secured.client.app
    assert isinstance(app, FastAPI)
    wrong: list[str] = []
    seen: dict[tuple[str, str, str], int] = {}
    checked = 0
    routes = route_table(app.routes)
    for route in routes:
        policy = route.policy
        assert policy is not None, route.path
        path = fill(route.path)
        for method in route.methods:
            for who in secured.who.values():
                if route.websocket:
                    status, text = connect(secured.client, path, who.token)
                else:
                    status, text = call(secured.client, method, path, who.token)
                want = expected(policy, who)
                seen[(method, route.path, who.name)] = status
                checked += 1
                if not status_matches(want, status):
                    wrong.append(f"{method} {route.path} as {who.name}: {status}, want {want}")
                elif who.name == "expired_jwt" and want == "401" and "token expired" not in text:
                    wrong.append(f"{method} {route.path} expired: reason {text[:80]!r}")
    assert wrong == []
    # Anchors: the matrix really opened sockets and read data, and really was refused.
    live = "/v1/vehicles/{vin}/live"
    assert seen[("WS", live, "driver")] == 101
    assert seen[("WS", live, "technician")] == 101
    assert seen[("WS", live, "foreign_driver")] == 403
    assert seen[("WS", live, "expired_jwt")] == 401
    state = "/v1/vehicles/{vin}/state"
    assert seen[("GET", state, "technician")] == 200
    assert seen[("GET", state, "foreign_technician")] == 403
    assert seen[("GET", "/v1/users", "operator_user")] == 200
    assert seen[("GET", "/v1/users", "driver")] == 403
    assert seen[("GET", "/v1/audit", "anonymous")] == 401
    # A trip for a model (no car): every person may plan one (the empty body is refused as
    # invalid, not forbidden), a vehicle's token may not.
    for name in ("operator_user", "technician", "driver", "foreign_driver"):
        assert seen[("POST", "/v1/trips/plan", name)] == 422, name
    assert seen[("POST", "/v1/trips/plan", "vehicle")] == 403
    assert seen[("GET", "/v1/trips/places", "vehicle")] == 403
    # Every route × every principal was asked (the report quotes this size).
    assert checked == sum(len(r.methods) for r in routes) * len(secured.who)
    assert len(routes) > 40 and any(r.websocket for r in routes)
    print(f"\naccess matrix: {checked} calls = routes×methods × {len(secured.who)} principals")


def test_the_policy_is_published_in_openapi_and_the_docs_table(secured: Secured) -> None:
    doc = secured.client.get("/openapi.json").json()
    assert doc["paths"]["/v1/audit"]["get"]["x-volta-access"] == "operator"
    state = doc["paths"]["/v1/vehicles/{vin}/state"]["get"]["x-volta-access"]
    assert state == "any role; the vehicle must be visible to the caller"
    assert doc["paths"]["/healthz"]["get"]["x-volta-access"] == "public"
    app = secured.client.app
    assert isinstance(app, FastAPI)
    table = markdown(app.routes)
    assert "| GET | `/v1/vehicles/{vin}/state` | yes | own | own | own | — |" in table
    assert "| DELETE | `/v1/tokens/{credential_id}` | yes | — | — | — | yes |" in table
    # following a trip's alternative changes the trip its car is checked against: own, audited
    follow = "| POST | `/v1/vehicles/{vin}/trips/{trip_id}/follow` | yes | own | own | own | yes |"
    assert follow in table
    bare = FastAPI()

    @bare.post("/v1/undeclared")
    def undeclared_route() -> None:
        return None

    assert "| POST | `/v1/undeclared` | **undeclared**" in markdown(bare.routes)
