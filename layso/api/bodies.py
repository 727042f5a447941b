"""Request bodies: one JSON object, fields of the right JSON type, no unknown fields."""

from __future__ import annotations

import json
import re
from typing import Any

from flask import current_app, request

from layso.api.errors import MAX_INT, ApiError
from layso.queue import Invalid

#: a NUL that PostgreSQL refuses, and lone surrogates that cannot be stored as UTF-8
BAD_TEXT_RE = re.compile(r"[\x00\ud800-\udfff]")
#: control characters and direction overrides have no place in any field a person reads
#: (names, reasons, codes: shown on the board, in reports and exports); a free comment may
#: keep its line breaks, a password any character
SHOWN_TEXT_RE = re.compile("[\x01-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
MULTILINE_RE = re.compile("[\x01-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_FREE_FIELDS = {"password"}
_MULTILINE_FIELDS = {"comment"}
MAX_TEXT = 500


def body() -> dict[str, Any]:
    """The JSON object of the request (an empty body is an empty object)."""
    raw = request.get_data(cache=True)
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if request.content_length is None and limit is not None and len(raw) >= limit:
        # a chunked body is cut at the limit rather than refused: refuse it here, or the
        # cut body might still be valid JSON and act
        raise ApiError(413, "too_large", "The request body is too large")
    if not raw.strip():
        return {}
    if request.mimetype != "application/json" and not request.mimetype.endswith("+json"):
        # a page of another site can send text/plain or a form without asking first (no CORS
        # preflight); only a same-origin page or a non-browser client can send JSON
        raise ApiError(415, "unsupported_media_type",
                       "Send the body as JSON (Content-Type: application/json)")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ApiError(400, "malformed_json", "The body is not valid JSON") from exc
    if not isinstance(data, dict):
        raise ApiError(400, "malformed_json", "The body must be a JSON object")
    return data


def field(data: dict[str, Any], key: str, kind: type | tuple[type, ...], *,
          required: bool = False, default: Any = None) -> Any:
    """A body field of the given JSON type (bools are never numbers)."""
    if key not in data or data[key] is None:
        if required:
            raise Invalid("missing_field", f"{key} is required", field=key)
        return default
    value = data[key]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:
        raise Invalid("invalid_field", f"{key} has the wrong type", field=key)
    if not isinstance(value, kinds):
        raise Invalid("invalid_field", f"{key} has the wrong type", field=key)
    if isinstance(value, str) and len(value) > MAX_TEXT:
        raise Invalid("invalid_field", f"{key} is too long", field=key)
    if isinstance(value, str) and BAD_TEXT_RE.search(value):
        raise Invalid("invalid_field", f"{key} contains characters that are not allowed", field=key)
    if isinstance(value, str) and key not in _FREE_FIELDS and (
            MULTILINE_RE if key in _MULTILINE_FIELDS else SHOWN_TEXT_RE).search(value):
        raise Invalid("invalid_field", f"{key} contains control or direction characters",
                      field=key)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
        raise Invalid("invalid_field", f"{key} is out of range", field=key)
    return value


def only(data: dict[str, Any], *keys: str) -> None:
    """Refuse unknown fields, so a typo is an error rather than silently ignored."""
    extra = set(data) - set(keys)
    if extra:
        raise Invalid("unknown_field", f"Unknown fields: {', '.join(sorted(extra))}",
                      field=sorted(extra)[0])


def query_text(name: str) -> str | None:
    """A query-string parameter that can be stored and compared (422 for one that cannot)."""
    value = request.args.get(name)
    if value is not None and (len(value) > MAX_TEXT or BAD_TEXT_RE.search(value)):
        raise Invalid("invalid_field", f"{name} is not a valid value", field=name)
    return value
