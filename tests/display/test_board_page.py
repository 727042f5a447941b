"""The board's routes: the page, the voice manifest, and clips with a center's overrides."""

from __future__ import annotations

from layso.speech import CLIP_NAMES


def test_board_page_needs_no_login_and_loads_only_local_scripts(client, app):
    r = client.get("/display/")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "/static/layso/vendor/socket.io.min.js" in html
    assert "/display/static/voice/voice.js" in html and "/display/static/board.js" in html
    assert f'data-build="{app.config["BUILD"]}"' in html
    assert "http://" not in html and "https://" not in html  # nothing from another host
    assert "Nhấn vào màn hình để bật âm thanh" in html and "Tap the screen to enable sound" in html
    for path in ("/display/static/board.js", "/display/static/board.css",
                 "/display/static/voice/voice.js"):
        assert client.get(path).status_code == 200, path


def test_root_goes_to_the_board(client):
    r = client.get("/")
    assert r.status_code == 302 and r.headers["Location"].endswith("/display/")


def test_manifest_lists_every_clip(client):
    r = client.get("/display/voice/manifest.json")
    assert r.status_code == 200
    assert set(r.get_json()["clips"]) == set(CLIP_NAMES)


def test_builtin_clip_is_served_with_its_type(client):
    r = client.get("/display/voice/vi/moi-cong-dan-co-so")
    assert r.status_code == 200
    assert r.mimetype in ("audio/ogg", "audio/wav")
    assert r.data[:4] in (b"OggS", b"RIFF")
    assert 0 < (r.cache_control.max_age or 0) <= 3600


def test_a_centers_recording_replaces_the_builtin_clip(client, app, tmp_path):
    own = tmp_path / "voice" / "vi" / "den-quay-so.wav"
    own.parent.mkdir(parents=True)
    own.write_bytes(b"RIFF----WAVEfmt our own recording")
    r = client.get("/display/voice/vi/den-quay-so")
    assert r.status_code == 200 and r.mimetype == "audio/wav"
    assert r.data == own.read_bytes()
    assert client.get("/display/voice/vi/letter-a").data[:4] in (b"OggS", b"RIFF")


def test_bad_clip_names_are_404(client):
    for name in ("nope", "vi/../../layso.db", "vi/letter-a.ogg", "%2e%2e/secret_key", "VI/A"):
        assert client.get(f"/display/voice/{name}").status_code == 404, name


def test_build_changes_with_the_code(monkeypatch, tmp_path):
    import layso

    before = layso.code_build()
    pkg = tmp_path / "display"
    pkg.mkdir()
    (pkg / "board.js").write_text("// v1")
    monkeypatch.setattr(layso, "_ROOT", tmp_path)
    monkeypatch.setattr(layso, "_BUILD_PACKAGES", ("display",))
    layso.code_build.cache_clear()
    try:
        one = layso.code_build()
        (pkg / "board.js").write_text("// v2")
        layso.code_build.cache_clear()
        two = layso.code_build()
    finally:
        layso.code_build.cache_clear()
    assert one != two and one != before
    assert one.split("-")[0] == before.split("-")[0]  # the version stays readable
