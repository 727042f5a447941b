"""The committed voice clips, the override lookup, and the board's announcement queue."""

import json
import shutil
import subprocess
import wave
from pathlib import Path

import pytest

from display.voice.clips import is_clip_name, resolve_clip
from layso.speech import CLIP_NAMES, call_clips

REPO = Path(__file__).resolve().parents[2]
CLIPS = REPO / "display" / "static" / "voice" / "clips"
VOICE_JS = REPO / "display" / "static" / "voice" / "voice.js"


@pytest.fixture(scope="module")
def manifest():
    return json.loads((CLIPS / "manifest.json").read_text(encoding="utf-8"))


def _seconds(path: Path) -> float:
    """Length of a clip: from the WAV header, else by asking sox."""
    if path.suffix == ".wav":
        with wave.open(str(path)) as w:
            return w.getnframes() / w.getframerate()
    if shutil.which("sox") is None:
        pytest.skip("sox is needed to measure Ogg clips")
    out = subprocess.run(["sox", "--i", "-D", str(path)], capture_output=True, text=True)
    return float(out.stdout)


def test_manifest_covers_the_inventory(manifest):
    assert set(manifest["clips"]) == set(CLIP_NAMES)


def test_every_clip_file_exists_and_is_short(manifest):
    total = 0
    for name, entry in manifest["clips"].items():
        path = CLIPS / entry["file"]
        assert path.is_file(), name
        assert path.stat().st_size > 0, name
        assert entry["file"].startswith(name + "."), name
        assert 0 < entry["ms"] < 2500, name
        assert _seconds(path) < 2.5, name
        total += path.stat().st_size
    assert total < 1_500_000


def test_a_call_resolves_to_builtin_files():
    for name in call_clips("A023", "A", 3, lang="vi+en"):
        path = resolve_clip(name, None, CLIPS)
        assert path is not None and path.parent.is_relative_to(CLIPS.resolve()), name


def test_override_in_data_dir_wins(tmp_path):
    own = tmp_path / "voice" / "vi" / "letter-a.mp3"
    own.parent.mkdir(parents=True)
    own.write_bytes(b"ID3")
    assert resolve_clip("vi/letter-a", tmp_path, CLIPS) == own.resolve()
    assert resolve_clip("vi/letter-b", tmp_path, CLIPS) == (CLIPS / "vi" / "letter-b.ogg").resolve()


def test_override_formats_in_preference_order(tmp_path):
    builtin = tmp_path / "builtin"
    builtin.mkdir()
    (builtin / "chime.wav").write_bytes(b"RIFF")
    data = tmp_path / "data"
    (data / "voice").mkdir(parents=True)
    for suffix in (".mp3", ".wav"):
        (data / "voice" / f"chime{suffix}").write_bytes(b"x")
    assert resolve_clip("chime", data, builtin) == (data / "voice" / "chime.wav").resolve()
    assert resolve_clip("nothing", data, builtin) is None


@pytest.mark.parametrize(
    "name",
    ["../x", "vi/../../etc/passwd", "/etc/passwd", "vi/letter-a.ogg", "Vi/Letter-A", "", "vi//a",
     "vi/", "a\\b", "vi/letter-a\x00", "x" * 101],
)  # fmt: skip
def test_names_that_could_escape_are_rejected(name, tmp_path):
    (tmp_path / "x.ogg").write_bytes(b"x")
    assert not is_clip_name(name)
    assert resolve_clip(name, tmp_path / "data", tmp_path / "builtin") is None


def test_symlink_out_of_the_folder_is_not_followed(tmp_path):
    outside = tmp_path / "secret.ogg"
    outside.write_bytes(b"x")
    builtin = tmp_path / "builtin"
    builtin.mkdir()
    (builtin / "chime.ogg").symlink_to(outside)
    assert resolve_clip("chime", None, builtin) is None


# voice.js in Node with a fake audio element: queue order, blocked autoplay, missing clips.
NODE_HARNESS = r"""
const fs = require("fs");
const vm = require("vm");
const window = { setTimeout, clearTimeout, Promise, btoa, Date };
let policyBlocked = true;
class FakeAudio {
  play() {
    const src = this.src;
    if (src.startsWith("data:")) { policyBlocked = false; return Promise.resolve(); }
    if (policyBlocked) {
      const e = new Error("no");
      e.name = "NotAllowedError";
      return Promise.reject(e);
    }
    if (src.includes("broken")) {
      setTimeout(() => this.onerror && this.onerror(), 2);
      return Promise.resolve();
    }
    setTimeout(() => { if (this.src === src && this.onended) this.onended(); }, 5);
    return Promise.resolve();
  }
  pause() {}
}
window.Audio = FakeAudio;
window.URL = { createObjectURL: (blob) => "blob:" + blob };
window.fetch = (url) => {
  if (url.includes("hangs")) return new Promise(() => {});
  if (url.includes("missing")) return Promise.resolve({ ok: false, status: 404 });
  return Promise.resolve({ ok: true, blob: () => Promise.resolve(url) });
};
const page = { window, setTimeout, clearTimeout, Date };
vm.runInNewContext(fs.readFileSync(process.argv[2], "utf8"), page);
const events = [];
const clips = {};
for (const n of ["chime", "a", "b", "c", "d", "broken", "missing", "hangs"]) clips[n] = { ms: 10 };
const voice = window.LaysoVoice.create({
  baseUrl: "/v/", manifest: { clips }, gapMs: 1, announcementGapMs: 1, clipTimeoutMs: 50,
  onBlocked: () => events.push("blocked"), onUnblocked: () => events.push("unblocked"),
});
(async () => {
  const first = voice.announce(["chime", "a", "b"]);
  const second = voice.announce(
    ["chime", "missing", "c", "not-in-manifest", "hangs", "broken", "d"]);
  await new Promise((r) => setTimeout(r, 30));
  events.push("blocked=" + voice.isBlocked() + " pending=" + voice.pending());
  voice.unlock();
  await first;
  await second;
  events.push("pending=" + voice.pending());
  console.log(JSON.stringify({ log: window.LaysoVoice._log, events }));
})();
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_voice_js_queue_blocking_and_skips(tmp_path):
    harness = tmp_path / "harness.js"
    harness.write_text(NODE_HARNESS)
    done = subprocess.run(
        ["node", str(harness), str(VOICE_JS)], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["events"] == ["blocked", "blocked=true pending=2", "unblocked", "pending=0"]
    assert result["log"] == ["chime", "a", "b", "chime", "c", "broken", "d"]
