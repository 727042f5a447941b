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
ADMIN = "admin"
NI = {"type": ["integer", "null"]}
BOOL = {"type": "boolean"}
PROCEDURE = _obj({"code": S, "name": NAME, "active": BOOL}, ["code", "name"])
CENTER_BODY = _obj({"name": NAME, "timezone": S, "priority_policy": S, "recall_limit": INT,
                    "speech_mode": {"enum": ["words", "digits"]}, "speak_english": BOOL,
                    "default_service_minutes": INT, "rating_scale": {"enum": ["five", "three"]},
                    "citizen_daily_limit": NI, "alert_queue_length": NI,
                    "alert_pause_minutes": NI, "alert_silent_minutes": NI,
                    "result_service": NS})
SERVICE_BODY = _obj({"code": S, "prefix": S, "name": NAME, "target_wait_minutes": INT,
                     "opens_at": NS, "closes_at": NS, "daily_cap": NI, "start_number": INT,
                     "procedures": {"type": "array", "items": PROCEDURE}, "active": BOOL,
                     "position": INT, "default_service_minutes": NI})
SERVICE = {"$ref": "#/components/schemas/Service"}
COUNTER_BODY = _obj({"number": INT, "name": NAME, "services": {"type": "array", "items": S},
                     "mode": {"enum": ["fifo", "ordered"]}, "active": BOOL})
CATEGORY_BODY = _obj({"code": S, "name": NAME, "active": BOOL, "position": INT})
CATEGORY = _obj({"code": S, "name": NAME, "active": BOOL, "position": INT})
USER_BODY = _obj({"username": S, "name": S, "role": {"enum": ["admin", "supervisor",
                                                               "officer"]},
                  "active": BOOL, "password": S})
USER = _obj({"username": S, "name": S, "role": S, "active": BOOL})
PRINTER_STATES = ["none", "ok", "paper_near_end", "paper_out", "cover_open", "offline"]
DEVICE_BODY = _obj({"name": S, "kind": {"enum": ["kiosk", "display", "feedback"]},
                    "counter": NI, "printer": NS})
DEVICE = _obj({"id": INT, "name": S, "kind": S, "counter": NI, "printer": NS, "active": BOOL,
               "last_seen_at": NS, "enrol_expires_at": NS})

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
     _obj({"service": S, "priority": NS, "procedure": NS, "lang": {"enum": ["vi", "en"]},
           "citizen_id": {"type": ["string", "null"], "pattern": "^[0-9]{12}$",
                          "description": "the chip ID card's number: counted against "
                          "citizen_daily_limit (409 citizen_limit), never stored or returned"},
           "dossier": {"type": ["string", "null"], "pattern": "^[A-Za-z0-9.-]{1,40}$",
                       "description": "a dossier whose result the citizen collects"}},
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
    ("post", "/counters/{n}/release",
     "The official leaves: the current citizen goes back to the front of the queue (waiting) "
     "and the counter closes; answers the ticket, or the counter when it held nobody", STAFF,
     None, 200, {"oneOf": [TICKET, COUNTER]}),
    ("post", "/counters/{n}/complete", "Finish with an outcome", STAFF,
     _obj({"outcome": {"enum": ["done", "received", "result_returned", "advised",
                                "needs_more_documents", "redirected", "rejected"]},
           "procedure": NS,
           "dossier": {"type": ["string", "null"], "pattern": "^[A-Za-z0-9.-]{1,40}$"}},
          ["outcome"]), 200, TICKET),
    ("post", "/counters/{n}/transfer", "Move the current ticket to another service", STAFF,
     _obj({"service": S, "position": {"enum": ["front", "back"]}}, ["service", "position"]),
     200, TICKET),
    ("post", "/tickets/{id}/reactivate", "Absent → waiting, same number", STAFF, None, 200,
     TICKET),
    ("post", "/tickets/{id}/cancel", "Waiting → cancelled", STAFF, None, 200, TICKET),
    ("post", "/tickets/{id}/priority", "Correct a waiting ticket's priority category", STAFF,
     _obj({"priority": NS}), 200, TICKET),
    ("post", "/tickets/{id}/reprint", "Print a ticket again, where it printed first, on "
     "kiosk `device`'s printer, or with `center: true` on the center's (409 no_printer when "
     "that route has none)", STAFF,
     _obj({"device": NI, "center": {"type": ["boolean", "null"]}}), 200, TICKET),
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
    ("get", "/reports/arrivals", "Numbers issued per hour of the day for each weekday "
     "(?from=&to=)", "supervisor or admin", None, 200,
     _obj({"from": S, "to": S, "weekdays": {"type": "array", "items": _obj({
         "key": INT, "name": NAME, "days": INT, "hours": {"type": "object"}})}},
          ["from", "to", "weekdays"])),
    ("get", "/alerts", "The live supervision's alerts of this moment", "supervisor or admin",
     None, 200, _obj({"at": S, "items": {"type": "array", "items": _obj({
         "kind": {"enum": ["wait_over_target", "queue_long", "counter_paused", "printer",
                           "device_silent"]},
         "key": S, "severity": {"enum": ["warn", "bad"]}, "message": NAME, "since": NS})}},
        ["at", "items"])),
    ("get", "/board", "The board snapshot", "anyone", None, 200, {"type": "object"}),
    ("post", "/notice", "Set the board's scrolling notice line", "supervisor or admin",
     _obj({"vi": {"type": "string"}, "en": {"type": "string"}}), 200,
     _obj({"vi": {"type": "string"}, "en": {"type": "string"}})),
    ("get", "/health", "Health: database and printers (`printer`: the worst of them)",
     "anyone", None, 200,
     _obj({"ok": {"type": "boolean"}, "db": S,
           "printer": {"enum": PRINTER_STATES}, "build": S,
           "printers": {"type": "array", "items": _obj({
               "device": NI, "name": NS, "uri": S, "state": {"enum": PRINTER_STATES}})}})),
    ("get", "/openapi.json", "This OpenAPI document", "anyone", None, 200, {"type": "object"}),
    # -- administration ---------------------------------------------------------------------
    ("get", "/center", "The center's settings (the public part; all of them to an admin)",
     "anyone", None, 200, {"$ref": "#/components/schemas/Center"}),
    ("patch", "/center", "Change the center's settings (any subset)", ADMIN,
     CENTER_BODY, 200, {"$ref": "#/components/schemas/Center"}),
    ("post", "/services", "Add a service with its procedures", ADMIN,
     {**SERVICE_BODY, "required": ["code", "prefix", "name"]}, 201, SERVICE),
    ("patch", "/services/{code}", "Change a service; active: false retires it (409 "
     "service_in_use: a prefix change on a day with tickets)", ADMIN, SERVICE_BODY, 200,
     SERVICE),
    ("post", "/counters", "Add a counter", ADMIN, {**COUNTER_BODY, "required": ["number"]}, 201,
     COUNTER),
    ("patch", "/counters/{n}", "Change a counter; active: false retires a closed one (409 "
     "counter_busy)", ADMIN, COUNTER_BODY, 200, COUNTER),
    ("post", "/categories", "Add a priority category", ADMIN,
     {**CATEGORY_BODY, "required": ["code", "name"]}, 201, CATEGORY),
    ("patch", "/categories/{code}", "Rename, reorder or retire a priority category", ADMIN,
     CATEGORY_BODY, 200, CATEGORY),
    ("get", "/users", "Every user, deactivated ones too", "supervisor or admin", None, 200,
     _list(USER)),
    ("post", "/users", "Add a user", ADMIN, {**USER_BODY, "required": ["username", "role"]},
     201, USER),
    ("patch", "/users/{username}", "Rename, change the role, reset the password, deactivate "
     "(409 last_admin)", ADMIN, USER_BODY, 200, USER),
    ("get", "/devices", "Every device, revoked ones too", "supervisor or admin", None, 200,
     _list(DEVICE)),
    ("post", "/devices", "Add a device: its token (shown once) and a 15-minute enrolment code",
     ADMIN, {**DEVICE_BODY, "required": ["name", "kind"]}, 201,
     {**DEVICE, "properties": {**DEVICE["properties"], "token": S, "enrol_code": S}}),
    ("patch", "/devices/{device_id}", "Rename, bind to a counter, choose a kiosk's printer",
     ADMIN, DEVICE_BODY, 200, DEVICE),
    ("post", "/devices/{device_id}/revoke", "Stop a device at once (401; socket closed)",
     ADMIN, None, 200, DEVICE),
    ("post", "/devices/{device_id}/enrol-code", "A new one-time enrolment code", ADMIN, None,
     200, {**DEVICE, "properties": {**DEVICE["properties"], "enrol_code": S}}),
    ("post", "/devices/enrol", "Exchange an enrolment code for the device's token, once",
     "anyone", _obj({"code": S}, ["code"]), 200, _obj({"token": S, "device": DEVICE})),
    ("get", "/audit", "Changes made through the administration, newest first (?from=&to= "
     "YYYY-MM-DD)", "supervisor or admin", None, 200,
     _list(_obj({"at": S, "actor": _obj({"kind": S, "name": S}), "action": S, "target": S,
                 "changes": {"type": "object"}}))),
]

ERRORS = {"400": "Malformed request", "401": "No or invalid credentials", "403": "Role",
          "404": "Unknown id", "409": "Illegal transition, closed, cap reached, citizen_limit",
          "413": "Body too large", "422": "Invalid field", "429": "Rate limited"}


def _ticket_schema(public: bool) -> dict[str, Any]:
    props: dict[str, Any] = {
        "label": S, "service": _obj({"code": S, "prefix": S, "name": NAME}),
        "priority": NS, "procedure": NS,
        "state": {"enum": ["waiting", "called", "serving", "done", "no_show", "cancelled",
                           "expired"]},  # expired: its day ended before it was served
        "issued_at": S, "called_at": NS, "started_at": NS, "finished_at": NS,
        "counter": {"type": ["object", "null"]}, "recalls": INT, "outcome": NS,
        "ahead": {"type": ["integer", "null"]}, "eta_minutes": {"type": ["integer", "null"]},
        "status_url": S,
        "print": _obj({"state": {"enum": ["none", "queued", "printed", "waiting_printer",
                                          "failed"]}}),
        "lang": {"enum": ["vi", "en"]},  # chosen at the kiosk: the citizen's pages lead in it
        # while it waits in the queue a transfer moved it to: the service it left (names only)
        "moved": {"type": ["object", "null"],
                  "properties": {"from": _obj({"code": S, "prefix": S, "name": NAME})}},
    }
    if not public:
        # the dossier code is staff's: the public view never carries it
        props = {"id": INT, **props, "dossier": NS}
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
        for name in ("n", "id", "token", "code", "username", "device_id"):
            if "{" + name + "}" in path:
                params.append({"name": name, "in": "path", "required": True,
                               "schema": S if name in ("token", "code", "username") else INT})
        if method in ("post", "patch"):
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
                    "current": {"type": ["object", "null"]}, "pause_reason": NS,
                    "pause_reason_en": NS,
                    "active": BOOL}},
                "Center": {"type": "object", "properties": {
                    **CENTER_BODY["properties"], "configured": BOOL}},
                "Service": {"type": "object", "properties": {
                    "code": S, "prefix": S, "name": NAME, "open": {"type": "boolean"},
                    "served": BOOL, "opens_at": NS, "closes_at": NS, "waiting": INT,
                    "target_wait_minutes": INT,
                    "daily_cap": {"type": ["integer", "null"]},
                    "procedures": {"type": "array", "items": PROCEDURE},
                    "active": BOOL, "position": INT, "start_number": INT}},
            },
        },
        "security": [{"bearer": []}, {"session": []}, {}],
        "paths": paths,
    }
