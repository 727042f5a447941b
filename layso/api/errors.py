"""The API's error answers: `{"error": {code, message}}` with the documented status."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from layso.identity import Refused
from layso.queue import QueueError

#: ids and numbers fit a 32-bit column on every database (PostgreSQL's INTEGER is 32 bits)
MAX_INT = 2**31 - 1
_HTTP_CODES = {400: "malformed", 404: "not_found", 405: "method_not_allowed",
               413: "too_large", 415: "unsupported_media_type"}


class ApiError(Exception):
    """An error answered as `{"error": {code, message}}` with its status."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error(status: int, code: str, message: str, **details: Any) -> Response:
    """The documented error shape."""
    body: dict[str, Any] = {"code": code, "message": message}
    if details:
        body["details"] = details
    resp = jsonify(error=body)
    resp.status_code = status
    return resp


def register(bp: Blueprint) -> None:
    """Answer every error raised under the blueprint (and its children) in the documented shape."""

    @bp.errorhandler(ApiError)
    def _api_error(e: ApiError) -> Response:
        return error(e.status, e.code, e.message)

    @bp.errorhandler(Refused)  # identity's 401 and 403, in the same shape
    def _refused(e: Refused) -> Response:
        return error(e.status, e.code, e.message)

    @bp.errorhandler(QueueError)
    def _queue_error(e: QueueError) -> Response:
        return error(e.status, e.code, e.message, **e.details)

    @bp.errorhandler(HTTPException)
    def _http_error(e: HTTPException) -> Response:
        code = e.code or 500
        return error(code, _HTTP_CODES.get(code, "http_error"), e.description or e.name)

    @bp.url_value_preprocessor
    def _check_path_numbers(_endpoint: str | None, values: dict[str, Any] | None) -> None:
        # a counter or ticket number no column can hold names nothing: 404, not a database error
        if any(isinstance(v, int) and v > MAX_INT for v in (values or {}).values()):
            raise ApiError(404, "not_found", "No such resource")

    @bp.app_errorhandler(405)
    def _method_not_allowed(e: HTTPException) -> Any:
        # routing fails before the blueprint is known, so its own handlers never see a 405
        if request.path.startswith(str(bp.url_prefix) + "/"):
            return error(405, "method_not_allowed", e.description or "Method not allowed")
        return e
