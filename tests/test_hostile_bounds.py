"""Hostile input, group "bounds": every read is of a regular file and
bounded, every user-supplied pattern or template is bounded, and a dying
image worker or a misbehaving LLM server costs findings or one line, never
a hang or the run. Each test names the promise it checks."""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import signal
import stat
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lintcap.config import Config
from lintcap.engine.run import lint
from lintcap.fix.llm import backends
from lintcap.fix.llm.backends import LlmError
from lintcap.image import pool
from tests.conftest import TRIGGER, photo
from tests.hostile import assert_llm_answer_is_text_or_one_line, is_root, lintcap, within

CAPTION = f"{TRIGGER}, a photo of a woman in a red coat. close-up"


def _dataset(tmp_path: Path, count: int = 2) -> Path:
    root = tmp_path / "data"
    root.mkdir()
    image = photo(size=24)
    for index in range(count):
        image.rotate(index * 40).save(root / f"{index}.png")
        (root / f"{index}.txt").write_text(CAPTION, encoding="utf-8")
    return root


def _codes(root: Path, select: list[str]) -> dict[str, set[str]]:
    result = lint([root], Config(trigger=TRIGGER, select=select, cache=False, jobs=1))
    found: dict[str, set[str]] = {}
    for diagnostic in result.diagnostics:
        found.setdefault(Path(diagnostic.path or ".").name, set()).add(diagnostic.code)
    return found


def huge_webp(width: int = 16383, height: int = 10000) -> bytes:
    """A 28-byte lossless WebP that decodes to ``width`` x ``height`` RGBA:
    the VP8L header and five one-symbol prefix codes (zero bits a pixel)."""
    bits = [0, 0, 0] + [1, 0, 0, 0] * 5
    body = sum(bit << i for i, bit in enumerate(bits)).to_bytes(3, "little")
    header = (width - 1) | ((height - 1) << 14) | (1 << 28)
    payload = b"\x2f" + struct.pack("<I", header) + body
    chunk = b"VP8L" + struct.pack("<I", len(payload)) + payload
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


# --- only regular files are opened --------------------------------------------------------


def test_fifo_caption_image_and_metadata_are_findings_not_hangs(tmp_path: Path) -> None:
    """Promise: finishes within 30 s; F012 (unreadable) for the FIFO caption and
    image, F011 for a FIFO metadata.jsonl; the regular item is still checked."""
    root = _dataset(tmp_path, 3)
    (root / "0.txt").unlink()
    os.mkfifo(root / "0.txt")
    (root / "1.png").unlink()
    os.mkfifo(root / "1.png")
    os.mkfifo(root / "metadata.jsonl")
    with within(30):
        found = _codes(root, ["F", "I001"])
    assert "F012" in found["0.txt"]
    assert found["1.png"] & {"F012", "F006"}
    assert "F011" in found["metadata.jsonl"]
    assert "2.png" not in found or not found["2.png"] & {"F006", "F012"}


def test_character_device_caption_is_a_finding(tmp_path: Path) -> None:
    """Promise: finishes; a caption that is a character device (root: a
    /dev/zero node inside the dataset) or a link to /dev/zero (any user) is a
    finding, never read until memory runs out."""
    root = _dataset(tmp_path, 2)
    (root / "0.txt").unlink()
    (root / "0.txt").symlink_to("/dev/zero")
    if is_root():
        (root / "1.txt").unlink()
        os.mknod(root / "1.txt", stat.S_IFCHR | 0o666, os.makedev(1, 5))
    with within(30):
        found = _codes(root, ["F"])
    assert found["0.txt"] & {"F008", "F012"}
    if is_root():
        assert "F012" in found["1.txt"]


def test_config_that_is_a_fifo_is_one_line_not_a_hang(tmp_path: Path) -> None:
    """Promise: exit 2 with one line, within 30 s."""
    root = _dataset(tmp_path, 1)
    os.mkfifo(tmp_path / "lintcap.toml")
    with within(30):
        run = lintcap("check", "--config", tmp_path / "lintcap.toml", root)
    assert run.exit_code == 2 and "FIFO" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("kind", ["baseline", "trainer-config"])
def test_baseline_or_trainer_config_that_is_a_fifo_is_one_line(tmp_path: Path, kind: str) -> None:
    """Promise: a FIFO given as ``--baseline`` or as the gate's trainer config
    is refused in one line (exit 2) within 30 s; a plain ``open`` would wait
    for a writer forever."""
    root = _dataset(tmp_path, 1)
    fifo = tmp_path / ("baseline.json" if kind == "baseline" else "job.yaml")
    os.mkfifo(fifo)
    with within(30):
        if kind == "baseline":
            run = lintcap("check", "--baseline", fifo, root)
        else:
            run = lintcap("gate", "--trainer", "ai-toolkit", "--dry-run", fifo)
    assert run.exit_code == 2, run.stderr
    assert "FIFO" in run.stderr and len(run.stderr.strip().splitlines()) == 1


# --- decoded size -------------------------------------------------------------------------


def test_huge_lossless_webp_is_refused_before_decoding(tmp_path: Path) -> None:
    """Promise: F009 (too-many-pixels) from the header, within 20 s, both
    for the file rules and the image analysis (nothing is decoded)."""
    root = _dataset(tmp_path, 1)
    (root / "0.png").unlink()
    (root / "0.webp").write_bytes(huge_webp())
    (root / "0.txt").write_text(CAPTION, encoding="utf-8")
    with within(20):
        assert "F009" in _codes(root, ["F"])["0.webp"]
        assert "F009" in _codes(root, ["F009", "I001"])["0.webp"]


# --- the tokenizer and user patterns ---------------------------------------------------------


@pytest.mark.parametrize("run", [",", "("])
def test_punctuation_run_caption_finishes(tmp_path: Path, run: str) -> None:
    """Promise: finishes within 20 s for a 60 KB punctuation run (under the
    64 KiB limit), which spaCy's tokenizer took minutes over."""
    root = _dataset(tmp_path, 1)
    (root / "0.txt").write_text(f"{TRIGGER}, " + run * (60_000 // len(run)), encoding="utf-8")
    with within(20):
        lint([root], Config(trigger=TRIGGER, select=["C"], cache=False))


def _rule_file(tmp_path: Path, message: str, pattern: str = "woman") -> Path:
    path = tmp_path / "mine.yaml"
    path.write_text(
        "rules:\n"
        "  - code: X001\n"
        "    name: my-rule\n"
        "    scope: caption\n"
        "    severity: warning\n"
        f"    check: {{kind: forbids, patterns: [{json.dumps(pattern)}]}}\n"
        f"    message: {json.dumps(message)}\n"
        "    why: a rule of the user's own, for this test only\n",
        encoding="utf-8",
    )
    (tmp_path / "data" / "lintcap.toml").write_text(
        f'trigger = "{TRIGGER}"\nextend-rules = ["{path}"]\nextend-select = ["X"]\n'
    )
    return path


def test_catastrophic_user_regex_is_one_line_within_a_bound(tmp_path: Path) -> None:
    """Promise: exit 2, one line naming the pattern, within 20 s ((a|aa)+$ on a
    40-character caption backtracks for minutes in Python's re)."""
    root = _dataset(tmp_path, 1)
    (root / "0.txt").write_text("a" * 40 + "!", encoding="utf-8")
    _rule_file(tmp_path, "found {phrase}", pattern="(a|aa)+$")
    with within(20):
        run = lintcap("check", "--select", "X", root)
    assert run.exit_code == 2 and "(a|aa)+$" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("message", ["{phrase:>999999999}", "{0}", "{}", "{phrase.__class__}"])
def test_unsafe_message_template_is_refused_at_load(tmp_path: Path, message: str) -> None:
    """Promise: exit 2 with one line when rules load (a template that would
    build a gigabyte per finding, or reach into objects, never runs)."""
    root = _dataset(tmp_path, 1)
    _rule_file(tmp_path, message)
    with within(20):
        run = lintcap("check", root)
    assert run.exit_code == 2 and "message template" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


# --- a dying image worker -------------------------------------------------------------------------


def _dying_analyse(
    path: Path, display: str, sha256: str, settings: object, known: object = None
) -> object:
    """Runs in the pool's workers: the worker analysing ``die.png`` is killed
    as the kernel's OOM killer would kill it."""
    if path.name == "die.png":
        os._exit(137)
    from lintcap.image.pool import _safe_analyse

    return _safe_analyse(path, display, sha256, settings, known)  # type: ignore[arg-type]


@pytest.mark.parametrize("others", [4, 23])
def test_killed_worker_is_a_finding_for_its_image_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, others: int
) -> None:
    """Promise: F006 with the reason for the image whose worker died; every
    other image is still analysed (no lost run). Workers take images in
    batches (pool.MAX_BATCH_IMAGES): with 23 others a death loses its whole
    batch and those pending, which are then analysed one by one."""
    root = _dataset(tmp_path, others)
    photo(size=24).save(root / "die.png")
    (root / "die.txt").write_text(CAPTION, encoding="utf-8")
    monkeypatch.setattr(pool, "_safe_analyse", _dying_analyse)
    with within(120):
        result = lint([root], Config(trigger=TRIGGER, select=["F006", "I001"], jobs=2, cache=False))
    f006 = [d for d in result.diagnostics if d.code == "F006"]
    assert [Path(d.path or "").name for d in f006] == ["die.png"]
    assert "worker" in f006[0].message
    analysed = [f for f in result.items if f.image_facts and f.image_facts.info]
    assert len(analysed) == others


def _sleeping_analyse(
    path: Path, display: str, sha256: str, settings: object, known: object
) -> object:
    """Runs in the pool's workers: says it started (a file named by its
    pid, in $LINTCAP_TEST_STARTED), then analyses nothing for a minute."""
    (Path(os.environ["LINTCAP_TEST_STARTED"]) / str(os.getpid())).touch()
    time.sleep(60)
    raise AssertionError("the worker should have been stopped")


_KILLED_RUN = """
import sys
from pathlib import Path
from lintcap.config import Config
from lintcap.engine.run import lint
from lintcap.image import pool
import tests.test_hostile_bounds as hostile

pool._safe_analyse = hostile._sleeping_analyse
lint([Path(sys.argv[1])], Config(select=["I001"], jobs=2, cache=False))
"""


def _alive(pid: int) -> bool:
    """The process runs (a zombie, ended but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(OSError):  # Linux says whether it is a zombie
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    return True


@pytest.mark.parametrize("ending", [signal.SIGTERM, signal.SIGKILL])
def test_a_killed_run_leaves_no_image_worker(tmp_path: Path, ending: signal.Signals) -> None:
    """Promise: a run killed outright (SIGTERM from a cancelled CI job or
    ``timeout``, SIGKILL, the OOM killer) leaves no image worker behind:
    they end within 10 s; before, the fork server kept them waiting on
    their queue forever."""
    root = _dataset(tmp_path, 8)
    started = tmp_path / "started"
    started.mkdir()
    driver = subprocess.Popen(
        [sys.executable, "-c", _KILLED_RUN, str(root)],
        cwd=Path(__file__).resolve().parent.parent,
        env={**os.environ, "LINTCAP_TEST_STARTED": str(started)},
    )
    try:
        deadline = time.monotonic() + 60
        while len(list(started.iterdir())) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        workers = [int(marker.name) for marker in started.iterdir()]
        assert len(workers) == 2, "both workers should have started"
        driver.send_signal(ending)
        assert driver.wait(timeout=15) == -ending
        deadline = time.monotonic() + 10
        while any(map(_alive, workers)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(map(_alive, workers))
    finally:
        driver.kill()
        for pid in (int(marker.name) for marker in started.iterdir()):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


# --- the LLM client ------------------------------------------------------------------------------


class _Server(http.server.BaseHTTPRequestHandler):
    mode = "drip"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        try:
            if self.mode == "drip":
                for _ in range(60):
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.1)
            else:
                chunk = b" " * (1 << 20)
                for _ in range(64):
                    self.wfile.write(chunk)
        except OSError:
            pass

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[http.server.ThreadingHTTPServer]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Server)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd
    httpd.shutdown()


@pytest.mark.parametrize("mode", ["drip", "flood"])
def test_llm_client_has_a_total_deadline_and_a_size_cap(
    server: http.server.ThreadingHTTPServer, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Promise: a server that drips a byte every 0.1 s is cut off at the
    1 s deadline (not per read); one that floods 64 MB is cut off at the cap."""
    monkeypatch.setattr(_Server, "mode", mode)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    backend = backends.OpenAIBackend(url, "m", timeout=1.0, max_tokens=10, temperature=0.0)
    request = backends.LlmRequest(system="s", user="u")
    started = time.monotonic()
    with pytest.raises(LlmError, match=r"within|exceeds"):
        backend.propose([request])
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    "raw",
    [
        b'{"choices": [{"message": {"content": ' + b"[" * 100_000 + b"]" * 100_000 + b"}}]}",
        b'{"choices": [{"message": {"content": "bad \\ud800 text"}}]}',
        b'{"choices": [{"message": {"content": [{"type": "text", "text": 5}, 7, null]}}]}',
        b'{"choices": "none"}',
        b"[" * 100_000,
    ],
)
def test_malformed_llm_answers_are_one_line(raw: bytes) -> None:
    """Promise: an LlmError (one line, exit 2 at the CLI) or text; never another exception."""
    assert_llm_answer_is_text_or_one_line(raw)


def test_oversized_llm_answer_is_rejected_not_parsed(tmp_path: Path) -> None:
    """Promise: one size limit for every caption source: a 2 MB answer (under
    the HTTP cap, over spaCy's 1,000,000 characters) is a rejected proposal
    (a new F009), not a crash; nothing is written."""
    from lintcap.config import load_config
    from lintcap.fix.llm.run import llm_fix
    from tests.scripted_llm import ScriptedBackend

    boiler = (
        f"{TRIGGER}, a photo of a woman in a red wool coat on a city street at night. "
        "The image shows her smiling. close-up, from side, neon lighting"
    )
    root = tmp_path / "data"
    root.mkdir()
    photo(size=16).save(root / "a.png")
    (root / "a.txt").write_text(boiler, encoding="utf-8")
    (root / "lintcap.toml").write_text(
        f'trigger = "{TRIGGER}"\nignore = ["I", "W", "D", "A", "C013", "C014"]\n'
    )
    backend = ScriptedBackend({boiler: [boiler + " very" * 500_000] * 3})
    with within(60):
        result = llm_fix([root], load_config(root / "lintcap.toml"), backend, retries=0)
    assert result.accepted == 0 and result.rejected == 1
    assert (root / "a.txt").read_text(encoding="utf-8") == boiler


def test_a_bounded_read_goes_past_a_size_that_lies_but_not_past_the_limit(tmp_path: Path) -> None:
    """Promise: the size a file states is not trusted: a file whose size says
    0 (/proc) is read whole, up to the limit and no further; a file grown to
    the limit is read whole; a regular file one byte over is refused."""
    from lintcap.safefs import TooLarge, read_regular

    status = Path("/proc/self/status")
    assert os.stat(status).st_size == 0 and read_regular(status, 1 << 20).startswith(b"Name:")
    with pytest.raises(TooLarge):
        read_regular(status, 16)
    exact = tmp_path / "exact"
    exact.write_bytes(b"x" * 3000)
    assert read_regular(exact, 3000) == b"x" * 3000
    with pytest.raises(TooLarge):
        read_regular(exact, 2999)
    (tmp_path / "empty").write_bytes(b"")
    assert read_regular(tmp_path / "empty", 10) == b""


def test_replace_file_swaps_whole_files_and_leaves_no_temporary(tmp_path: Path) -> None:
    from lintcap.safefs import replace_file

    folder = os.open(tmp_path, os.O_RDONLY)
    try:
        (tmp_path / "entry.json").write_bytes(b"old")
        assert replace_file(folder, "entry.json", b"new")
        assert (tmp_path / "entry.json").read_bytes() == b"new"
        (tmp_path / "taken").mkdir()  # a folder where the file would go: refused
        assert not replace_file(folder, "taken", b"data")
        assert (tmp_path / "taken").is_dir()
        assert sorted(p.name for p in tmp_path.iterdir()) == ["entry.json", "taken"]
    finally:
        os.close(folder)
