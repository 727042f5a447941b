"""Every page names the app's own icon, and the icon is there: no 404 on any page."""

from __future__ import annotations

import re
from typing import Any

ICON = re.compile(r'<link rel="icon" href="([^"]+)"')


def _login(client: Any, username: str) -> None:
    r = client.post("/api/v1/auth/login", json={"username": username,
                                                "password": "password-" + username})
    assert r.status_code == 200


def test_every_page_links_an_icon_that_is_served(app: Any, api: dict[str, Any]) -> None:
    t = api["kiosk"].post("/tickets", {"service": "civil-status"}).get_json()
    anon, officer, leader = app.test_client(), app.test_client(), app.test_client()
    _login(officer, "o1")
    _login(leader, "sup")
    pages = [(anon, "/kiosk/"), (anon, "/display/"), (anon, "/counter/feedback"),
             (anon, "/login"), (anon, "/t/" + t["status_url"].rsplit("/", 1)[1]),
             (officer, "/counter/"), (officer, "/admin/"),  # the 403 page too
             (leader, "/admin/"), (leader, "/admin/services"), (leader, "/admin/reports")]
    for client, path in pages:
        r = client.get(path)
        assert r.status_code in (200, 403), (path, r.status_code)
        found = ICON.findall(r.get_data(as_text=True))
        assert len(found) == 1, f"{path} links {len(found)} icons"
        icon = anon.get(found[0])
        assert icon.status_code == 200 and icon.mimetype == "image/svg+xml", path
    r = anon.get("/favicon.ico")
    assert r.status_code == 200 and r.get_data().startswith(b"<svg")
