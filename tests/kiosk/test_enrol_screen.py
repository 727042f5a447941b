"""The enrolment screens show examples shaped like what the administrator really hands out."""

from __future__ import annotations

import re
from typing import Any

PLACEHOLDER = re.compile(r'id="enrol-token"[^>]*placeholder="([^"]*)"', re.S)


def test_the_enrolment_example_looks_like_a_real_code(client: Any, api: dict[str, Any]) -> None:
    r = api["adm"].post("/devices", {"name": "Kiosk tầng 2", "kind": "kiosk"})
    assert r.status_code == 201
    code, token = r.get_json()["enrol_code"], r.get_json()["token"]
    shape = re.sub(r"\d", "9", code.replace(" ", "").replace("-", ""))
    for page in ("/kiosk/", "/counter/feedback"):
        html = client.get(page).get_data(as_text=True)
        (example,) = PLACEHOLDER.findall(html)
        # the same digits as a real code, and no prefix a real code or token does not carry
        assert re.sub(r"\d", "9", example.replace(" ", "").replace("-", "")) == shape, page
        assert not re.search(r"[A-Za-z_]", example), f"{page}: {example!r}"
        assert not token.startswith(example[:3]), page
