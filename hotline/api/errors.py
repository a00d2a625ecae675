"""Every error the API answers, in one shape: ``{"error": "<stable id>", "message": "..."}``.

Why stable ids: a desk page or a script branches on ``error`` (``illegal_in_state``,
``number_not_in_directory``...), never on the English message, which may change. The ids
and their statuses:

=====  ============================================================================
400    invalid_request (the body is not JSON)
401    not_authenticated, bad_credentials, session_expired
403    forbidden, not_your_call, csrf_failed
404    not_found (also an unknown route), no_current_call
405    method_not_allowed
409    illegal_in_state (the agent's or call's state forbids it), agency_closed,
       user_exists
422    invalid_request, number_not_in_directory, unknown_agency, unknown_agent
429    too_many_attempts (with Retry-After)
500    internal (with an ``id`` that is in the log next to the traceback)
503    unavailable (Redis, the database or Asterisk does not answer; Retry-After)
=====  ============================================================================
"""
from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from hotline.api.ports import (DeskError, IllegalOperation, InvalidUser, NoCurrentCall, NotFound, NotYourCall,
                               Unavailable, UserExists)

log = logging.getLogger(__name__)

# The status of each error a port raises, by its class (its error_id may be more precise).
_STATUS_OF: tuple[tuple[type[DeskError], int], ...] = (
    (IllegalOperation, 409), (NoCurrentCall, 404), (NotYourCall, 403), (NotFound, 404),
    (Unavailable, 503), (UserExists, 409), (InvalidUser, 422),
)
_HTTP_IDS = {400: "invalid_request", 401: "not_authenticated", 403: "forbidden", 404: "not_found",
             405: "method_not_allowed", 409: "illegal_in_state", 422: "invalid_request",
             429: "too_many_attempts", 503: "unavailable"}


class ErrorBody(BaseModel):
    """What every 4xx and 5xx answer holds."""

    error: str = Field(description="stable id to branch on, e.g. illegal_in_state")
    message: str = Field(description="what went wrong, for a person")
    id: str | None = Field(default=None, description="internal errors only: the id logged with the traceback")
    details: list[dict[str, Any]] | None = Field(default=None, description="invalid_request: the fields at fault")


class ApiError(Exception):
    """An answer other than success, raised anywhere in a route or a dependency."""

    def __init__(self, status: int, error: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.error, self.message, self.headers = status, error, message, headers


def error_json(status: int, error: str, message: str, headers: dict[str, str] | None = None,
               **extra: Any) -> JSONResponse:
    body = ErrorBody(error=error, message=message, **extra).model_dump(exclude_none=True)
    return JSONResponse(body, status_code=status, headers=headers)


def error_responses(*statuses: int, streaming: bool = False) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route: each status documented with the error body. A route
    whose success is not JSON (``streaming``: an event stream) still answers errors in
    JSON: say so explicitly, or FastAPI would document them in the route's media type."""
    if streaming:
        ref = {"$ref": "#/components/schemas/ErrorBody"}
        return {status: {"description": _describe(status), "content": {"application/json": {"schema": ref}}}
                for status in statuses}
    return {status: {"model": ErrorBody, "description": _describe(status)} for status in statuses}


def _describe(status: int) -> str:
    return {400: "Body is not JSON", 401: "Not logged in, or the session expired",
            403: "Not allowed for this user", 404: "No such resource", 409: "Not legal in the current state",
            422: "Invalid request", 429: "Too many failed logins", 503: "A backing service does not answer"
            }.get(status, "Error")


def desk_error_status(exc: DeskError) -> int:
    """The HTTP status of a port's error; a DeskError of no known kind is a bug (500)."""
    return next((status for kind, status in _STATUS_OF if isinstance(exc, kind)), 500)


async def _api_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_json(exc.status, exc.error, exc.message, exc.headers)


async def _desk_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DeskError)
    status = desk_error_status(exc)
    if status == 500:
        return await _internal_error(request, exc)
    headers = {"Retry-After": "5"} if status == 503 else None
    return error_json(status, exc.error_id, exc.message, headers)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return error_json(400, "invalid_request", "the body is not valid JSON")
    details = [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))} for e in errors]
    where = "; ".join(f"{'.'.join(d['loc'])}: {d['msg']}" for d in details[:5])
    return error_json(422, "invalid_request", f"invalid request: {where}", details=details)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    error = _HTTP_IDS.get(exc.status_code, f"http_{exc.status_code}")
    message = {404: "no such resource", 405: "method not allowed here"}.get(exc.status_code, str(exc.detail))
    return error_json(exc.status_code, error, message, dict(exc.headers) if exc.headers else None)


async def _connection_error(_request: Request, exc: Exception) -> JSONResponse:
    log.warning("a backing service does not answer: %r", exc)
    return error_json(503, "unavailable", "a backing service does not answer", {"Retry-After": "5"})


async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    incident = uuid.uuid4().hex[:12]
    log.error("internal error %s on %s %s", incident, request.method, request.url.path, exc_info=exc)
    return error_json(500, "internal", f"internal error (logged as {incident})", id=incident)


def install_error_handlers(app: FastAPI) -> None:
    """Make every error, FastAPI's and Starlette's own included, answer in the one shape."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(DeskError, _desk_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(ConnectionError, _connection_error)
    app.add_exception_handler(TimeoutError, _connection_error)
    app.add_exception_handler(Exception, _internal_error)
