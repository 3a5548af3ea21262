"""The one table from Volta's errors to HTTP answers. Every error body is
`{"error": code, "message": reason}` (a place name that is not one place adds `candidates`)."""

from __future__ import annotations

import logging
import math

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from volta.errors import (
    AuthError,
    BadRequest,
    ConfigError,
    Conflict,
    DecodeError,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    Unavailable,
    UnknownSignal,
    ValidationError,
    VoltaError,
)
from volta.planner.gazetteer import AmbiguousPlace, PlaceError, PlaceNotFound
from volta.planner.network import OffGraph
from volta.planner.plan import PlanError

log = logging.getLogger(__name__)

# Looked up along the exception's MRO, so the most specific class listed wins.
ERROR_TABLE: dict[type[VoltaError], tuple[int, str]] = {
    AuthError: (401, "unauthorized"),
    Forbidden: (403, "forbidden"),
    NotFound: (404, "not_found"),
    Conflict: (409, "conflict"),
    PayloadTooLarge: (413, "payload_too_large"),
    RateLimited: (429, "rate_limited"),
    DecodeError: (400, "undecodable"),
    UnknownSignal: (400, "unknown_signal"),
    ValidationError: (422, "invalid_value"),
    PlanError: (422, "no_plan"),
    OffGraph: (422, "off_road"),
    PlaceNotFound: (422, "unknown_place"),
    AmbiguousPlace: (422, "ambiguous_place"),
    BadRequest: (400, "bad_request"),
    Unavailable: (503, "unavailable"),
    # The server's own settings are wrong (a session lifetime, a map file): not the caller's
    # fault, and not worth retrying until an operator fixes them.
    ConfigError: (500, "misconfigured"),
    VoltaError: (500, "internal"),
}

# Starlette's own errors (unknown route, wrong method) in the same shape.
_HTTP_CODES = {
    404: "not_found",
    405: "method_not_allowed",
    401: "unauthorized",
    403: "forbidden",
    429: "rate_limited",
}


def status_of(error: type[VoltaError]) -> tuple[int, str]:
    """(HTTP status, error code) of an error class: its nearest ancestor in the table."""
    for cls in error.__mro__:
        if cls in ERROR_TABLE:
            return ERROR_TABLE[cls]
    return 500, "internal"


def error_response(
    status: int, code: str, message: str, retry_after_s: float | None = None,
    extra: dict[str, object] | None = None,
) -> JSONResponse:  # fmt: skip
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if status == 503:
        headers = {"Retry-After": "1"}
    if retry_after_s is not None:
        headers = {"Retry-After": str(max(1, math.ceil(retry_after_s)))}
    body = {"error": code, "message": message, **(extra or {})}
    return JSONResponse(body, status_code=status, headers=headers)


def response_for(exc: VoltaError) -> JSONResponse:
    status, code = status_of(type(exc))
    retry = exc.retry_after_s if isinstance(exc, RateLimited) else None
    extra = exc.extra() if isinstance(exc, PlaceError) else None  # the candidates to pick from
    return error_response(status, code, str(exc) or code, retry, extra)


async def _volta_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, VoltaError)  # registered for VoltaError only
    response = response_for(exc)
    if response.status_code >= 500:
        log.error("%s %s failed: %s", request.method, request.url.path, exc)
    return response


async def _invalid_request(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        problems.append(f"{where}: {err.get('msg', 'invalid')}")
    return error_response(422, "invalid_request", "; ".join(problems) or "invalid request")


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    return error_response(exc.status_code, code, str(exc.detail))


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("%s %s: unexpected error", request.method, request.url.path)
    return error_response(500, "internal", "internal error; see the server log")


def install(app: FastAPI) -> None:
    app.add_exception_handler(VoltaError, _volta_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
