"""The OpenAPI 3.1 document of API v1, built from one table of operations."""

from __future__ import annotations

from typing import Any

ERROR = {"$ref": "#/components/schemas/Error"}
TICKET = {"$ref": "#/components/schemas/Ticket"}
COUNTER = {"$ref": "#/components/schemas/Counter"}
NAME = {"type": "object", "required": ["vi", "en"],
        "properties": {"vi": {"type": "string"}, "en": {"type": "string"}}}


def _obj(props: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
    if required:
        out["required"] = required
    return out


def _list(item: dict[str, Any]) -> dict[str, Any]:
    return _obj({"items": {"type": "array", "items": item}}, ["items"])


S = {"type": "string"}
INT = {"type": "integer"}
NS = {"type": ["string", "null"]}
NUM_OR_NULL = {"type": ["number", "null"]}
BYS = ("day", "service", "counter", "officer", "procedure", "hour")
FIGURES = {"type": "object", "properties": {
    "issued": {"type": ["integer", "null"],
               "description": "null when grouped by counter or official"},
    "served": INT, "no_show": INT, "cancelled": INT, "transferred": INT,
    "mean_wait_minutes": NUM_OR_NULL, "p90_wait_minutes": NUM_OR_NULL,
    "mean_service_minutes": NUM_OR_NULL, "p90_service_minutes": NUM_OR_NULL,
    "within_target_pct": NUM_OR_NULL,
    "ratings": {"type": "object", "properties": {
        "count": INT, "mean": NUM_OR_NULL,
        "by_score": {"type": "object", "properties": {str(i): INT for i in range(1, 6)}},
        "by_level": {"type": "object", "properties": {
            k: INT for k in ("very_satisfied", "satisfied", "unsatisfied")}}}}},
    "required": ["issued", "served", "no_show", "cancelled", "transferred",
                 "mean_wait_minutes", "p90_wait_minutes", "mean_service_minutes",
                 "p90_service_minutes", "within_target_pct", "ratings"]}
STAFF = "officer, supervisor or admin"

# (method, path, summary, who, request body schema or None, success status, response schema)
OPERATIONS: list[tuple[str, str, str, str, Any, int, Any]] = [
    ("post", "/auth/login", "Log in", "anyone",
     _obj({"username": S, "password": S}, ["username", "password"]), 200,
     _obj({"token": S, "csrf_token": S, "user": {"type": "object"}})),
    ("post", "/auth/logout", "Log out", "a logged-in user", None, 200, {"type": "object"}),
    ("get", "/auth/me", "Who am I", "anyone authenticated", None, 200, {"type": "object"}),
    ("get", "/services", "Services with waiting counts and the open flag", "anyone", None, 200,
     _list({"$ref": "#/components/schemas/Service"})),
    ("get", "/categories", "Priority categories", "anyone", None, 200,
     _list(_obj({"code": S, "name": NAME}))),
    ("post", "/tickets", "Issue a ticket", "kiosk device, " + STAFF,
     _obj({"service": S, "priority": NS, "procedure": NS, "lang": {"enum": ["vi", "en"]}},
          ["service"]), 201, TICKET),
    ("get", "/tickets/{token}", "A citizen's public ticket view", "anyone with the token", None,
     200, {"$ref": "#/components/schemas/PublicTicket"}),
    ("get", "/queue", "Waiting tickets in call order (?service=, ?counter=)", STAFF, None, 200,
     _list(TICKET)),
    ("get", "/counters", "Every counter", STAFF, None, 200, _list(COUNTER)),
    ("get", "/counters/{n}", "One counter", STAFF, None, 200, COUNTER),
    ("post", "/counters/{n}/open", "Open or resume a counter", STAFF, None, 200, COUNTER),
    ("post", "/counters/{n}/pause", "Pause with a reason", STAFF,
     _obj({"reason": S}, ["reason"]), 200, COUNTER),
    ("post", "/counters/{n}/close", "Close a counter", STAFF, None, 200, COUNTER),
    ("post", "/counters/{n}/call-next", "Call the next ticket (204 when none waits)", STAFF,
     None, 200, TICKET),
    ("post", "/counters/{n}/call", "Call a chosen waiting ticket", STAFF,
     _obj({"ticket": {"type": ["integer", "string"]}}, ["ticket"]), 200, TICKET),
    ("post", "/counters/{n}/recall", "Announce the current ticket again", STAFF, None, 200,
     TICKET),
    ("post", "/counters/{n}/start", "Start serving", STAFF, None, 200, TICKET),
    ("post", "/counters/{n}/no-show", "Mark the called citizen absent", STAFF, None, 200, TICKET),
    ("post", "/counters/{n}/complete", "Finish with an outcome", STAFF,
     _obj({"outcome": {"enum": ["done", "received", "result_returned", "advised",
                                "needs_more_documents", "redirected", "rejected"]},
           "procedure": NS}, ["outcome"]), 200, TICKET),
    ("post", "/counters/{n}/transfer", "Move the current ticket to another service", STAFF,
     _obj({"service": S, "position": {"enum": ["front", "back"]}}, ["service", "position"]),
     200, TICKET),
    ("post", "/tickets/{id}/reactivate", "Absent → waiting, same number", STAFF, None, 200,
     TICKET),
    ("post", "/tickets/{id}/cancel", "Waiting → cancelled", STAFF, None, 200, TICKET),
    ("post", "/tickets/{id}/priority", "Correct a waiting ticket's priority category", STAFF,
     _obj({"priority": NS}), 200, TICKET),
    ("post", "/tickets/{id}/reprint", "Print a ticket again (409 no_printer without one)", STAFF,
     None, 200, TICKET),
    ("post", "/ratings", "Rate a completed ticket (once)", "feedback device",
     _obj({"ticket": INT, "score": {"type": "integer", "minimum": 1, "maximum": 5},
           "reason": {"enum": ["long_wait", "attitude", "unclear_guidance",
                               "documents_repeatedly", "facilities", "other", None]},
           "comment": NS}, ["ticket", "score"]), 201, {"type": "object"}),
    ("get", "/counters/{n}/absent", "Today's absent tickets of a counter's services", STAFF,
     None, 200, _list(TICKET)),
    ("get", "/me/stats", "The official's figures for today", STAFF, None, 200,
     _obj({"day": NS, "now": S, "served": INT, "no_show": INT,
           "mean_service_minutes": {"type": ["number", "null"]}, "ratings": INT,
           "mean_rating": {"type": ["number", "null"]},
           "counters": {"type": "array", "items": INT}, "recall_limit": INT})),
    ("get", "/reports/day", "How a day went (?day=YYYY-MM-DD)", "supervisor or admin", None,
     200, {"type": "object"}),
    ("get", "/reports", "Figures over business days ?from=&to= (≤ 366 days), "
     "?by=day|service|counter|officer|procedure|hour", "supervisor or admin", None, 200,
     _obj({"from": S, "to": S, "by": {"enum": list(BYS)}, "totals": FIGURES,
           "items": {"type": "array", "items": {"allOf": [FIGURES], "type": "object",
                                                "properties": {"key": {
                                                    "type": ["string", "integer"]},
                                                    "name": NAME}}}},
          ["from", "to", "by", "totals", "items"])),
    ("get", "/reports/comments", "Reasons and free text citizens left (?from=&to=)",
     "supervisor or admin", None, 200,
     _obj({"from": S, "to": S, "items": {"type": "array", "items": _obj({
         "at": S, "day": S, "ticket": S,
         "service": _obj({"code": S, "prefix": S, "name": NAME}),
         "counter": {"type": ["object", "null"]}, "official": NS,
         "score": INT, "level": {"enum": ["very_satisfied", "satisfied", "unsatisfied"]},
         "reason": {"type": ["object", "null"]}, "comment": NS, "dossier": NS})}},
          ["from", "to", "items"])),
    ("get", "/board", "The board snapshot", "anyone", None, 200, {"type": "object"}),
    ("post", "/notice", "Set the board's scrolling notice line", "supervisor or admin",
     _obj({"vi": {"type": "string"}, "en": {"type": "string"}}), 200,
     _obj({"vi": {"type": "string"}, "en": {"type": "string"}})),
    ("get", "/health", "Health: database and printer", "anyone", None, 200,
     _obj({"ok": {"type": "boolean"}, "db": S,
           "printer": {"enum": ["none", "ok", "paper_near_end", "paper_out", "cover_open",
                                "offline"]}, "build": S})),
    ("get", "/openapi.json", "This OpenAPI document", "anyone", None, 200, {"type": "object"}),
]

ERRORS = {"400": "Malformed request", "401": "No or invalid credentials", "403": "Role",
          "404": "Unknown id", "409": "Illegal transition, closed, cap reached",
          "413": "Body too large", "422": "Invalid field", "429": "Rate limited"}


def _ticket_schema(public: bool) -> dict[str, Any]:
    props: dict[str, Any] = {
        "label": S, "service": _obj({"code": S, "prefix": S, "name": NAME}),
        "priority": NS, "procedure": NS,
        "state": {"enum": ["waiting", "called", "serving", "done", "no_show", "cancelled"]},
        "issued_at": S, "called_at": NS, "started_at": NS, "finished_at": NS,
        "counter": {"type": ["object", "null"]}, "recalls": INT, "outcome": NS,
        "ahead": {"type": ["integer", "null"]}, "eta_minutes": {"type": ["integer", "null"]},
        "status_url": S,
        "print": _obj({"state": {"enum": ["none", "queued", "printed", "waiting_printer",
                                          "failed"]}}),
    }
    if not public:
        props = {"id": INT, **props}
    return {"type": "object", "properties": props, "required": list(props)}


def document() -> dict[str, Any]:
    """The OpenAPI document."""
    paths: dict[str, Any] = {}
    for method, path, summary, who, req, status, resp in OPERATIONS:
        op: dict[str, Any] = {
            "summary": summary,
            "description": f"Who: {who}.",
            "responses": {str(status): {"description": "OK", "content": {
                "application/json": {"schema": resp}}}},
        }
        if path.endswith("call-next"):
            op["responses"]["204"] = {"description": "Nothing waits"}
        for code, text in ERRORS.items():
            op["responses"][code] = {"description": text,
                                     "content": {"application/json": {"schema": ERROR}}}
        params = []
        for name in ("n", "id", "token"):
            if "{" + name + "}" in path:
                params.append({"name": name, "in": "path", "required": True,
                               "schema": S if name == "token" else INT})
        if method == "post":
            params.append({"name": "Idempotency-Key", "in": "header", "required": False,
                           "schema": S, "description": "Repeat returns the first answer"})
        if params:
            op["parameters"] = params
        if req is not None:
            op["requestBody"] = {"required": True,
                                 "content": {"application/json": {"schema": req}}}
        paths.setdefault(path, {})[method] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "Lấy Số API", "version": "1"},
        "servers": [{"url": "/api/v1"}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                                "session": {"type": "apiKey", "in": "cookie",
                                            "name": "layso_session"}},
            "schemas": {
                "Error": _obj({"error": _obj({"code": S, "message": S,
                                              "details": {"type": "object"}},
                                             ["code", "message"])}, ["error"]),
                "Ticket": _ticket_schema(False),
                "PublicTicket": _ticket_schema(True),
                "Counter": {"type": "object", "properties": {
                    "number": INT, "name": NAME, "state": {"enum": [
                        "closed", "open", "calling", "serving", "paused"]},
                    "mode": {"enum": ["fifo", "ordered"]},
                    "services": {"type": "array", "items": S},
                    "current": {"type": ["object", "null"]}, "pause_reason": NS}},
                "Service": {"type": "object", "properties": {
                    "code": S, "prefix": S, "name": NAME, "open": {"type": "boolean"},
                    "opens_at": NS, "closes_at": NS, "waiting": INT, "target_wait_minutes": INT,
                    "daily_cap": {"type": ["integer", "null"]},
                    "procedures": {"type": "array", "items": _obj({"code": S, "name": NAME})}}},
            },
        },
        "security": [{"bearer": []}, {"session": []}, {}],
        "paths": paths,
    }
