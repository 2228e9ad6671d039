"""The HTML report (``lintcap check --html``), checked as a file and in a real
headless browser: Debian's chromium loads it with no console error, its
script runs (it marks ``data-cards-rendered``), the filter works, and a
screenshot shows a page.

chromium is a test requirement, installed by ``scripts/test-env.sh`` (part
of the README's test command, and of .ci/run): without it these tests fail and
say so, rather than pass without having looked at the page.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps, ImageStat

from lintcap.caption.parse import ParsedCaption
from lintcap.report.html import caption_runs, make_thumbnail, make_thumbnails
from tests.conftest import TRIGGER, photo, run_lintcap

HOSTILE = 'ohwx, a photo of a cat <script>alert("x")</script> & <b>bold</b> on a rug. close-up'
CAPTIONS: dict[str, str | None] = {
    "001": "ohwx, a photo of a woman in an orange spacesuit, smiling. close-up, front view, "
    "looking at viewer, soft lighting",
    "002": "ohwx, a photo of a woman wearing a silver helmet in a studio. upper body, facing left",
    "003": HOSTILE,
    "004": "a photo of a cup of coffee on a wooden table. full body, from side",
    "005": "ohwx, a photo of a woman, neutral expression. portrait, front view",
    "006": "ohwx, a photo of a woman in a spacesuit. close-up, facing right",
    "007": None,  # an image without a caption (F001)
}


def _write_photo(path: Path, name: str, edit: str = "") -> None:
    image = photo(name, size=320)
    if edit == "flip":
        image = ImageOps.mirror(image)
    elif edit == "crop":
        image = image.crop((40, 20, 240, 220))
    image.save(path, quality=88)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real photographs (crops and flips of them), one unreadable file, one
    image rotated by EXIF, one image without a caption."""
    root = tmp_path_factory.mktemp("html") / "data"
    root.mkdir()
    _write_photo(root / "001.jpg", "astronaut")
    _write_photo(root / "002.jpg", "astronaut", "flip")
    _write_photo(root / "003.jpg", "chelsea", "crop")
    _write_photo(root / "004.jpg", "coffee")
    (root / "005.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not a JPEG")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to show
    photo("astronaut", size=320).crop((0, 0, 320, 160)).save(root / "006.jpg", exif=exif)
    _write_photo(root / "007.jpg", "chelsea")
    for stem, caption in CAPTIONS.items():
        if caption is not None:
            (root / f"{stem}.txt").write_text(caption, encoding="utf-8")
    (root / "lintcap.toml").write_text(f'trigger = "{TRIGGER}"\n', encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def report(dataset: Path) -> Path:
    """The report of ``dataset``, written once for the module's tests."""
    out = dataset.parent / "out" / "report.html"
    out.parent.mkdir()
    result = run_lintcap("check", dataset, "--html", out, cwd=dataset.parent)
    assert result.returncode == 1, result.stderr  # F001, C001 and F006 are errors
    assert "Traceback" not in result.stderr
    assert "F001" in result.stdout  # the normal output is still printed
    return out


class _Page(HTMLParser):
    """The elements the assertions need, from the stdlib parser."""

    def __init__(self) -> None:
        super().__init__()
        self.cards: list[dict[str, str | None]] = []
        self.images: list[str] = []
        self.scripts = 0
        self.classes: set[str] = set()
        self.groups: list[tuple[str | None, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.classes.update((found.get("class") or "").split())
        if tag == "article" and "card" in (found.get("class") or "").split():
            self.cards.append(found)
        elif tag == "img":
            self.images.append(found.get("src") or "")
        elif tag == "script":
            self.scripts += 1
        elif tag == "details" and "group" in (found.get("class") or ""):
            self.groups.append((found.get("data-framing"), found.get("data-angle")))


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def test_report_is_one_self_contained_escaped_file(report: Path) -> None:
    html = report.read_text(encoding="utf-8")
    page = _parse(html)
    assert len(page.cards) == len(CAPTIONS)  # one card per image
    # Every image but the unreadable one is embedded; nothing is fetched.
    assert len(page.images) == len(CAPTIONS) - 1
    assert all(src.startswith("data:image/jpeg;base64,") for src in page.images)
    assert not re.search(r"https?://", html)
    assert "default-src 'none'" in html  # the CSP: no request can leave the page
    # The caption is user data: its markup is text, not elements.
    assert page.scripts == 1
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in html
    assert "<b>bold</b>" not in html
    # Spans by kind, lexicon categories, findings on their cards.
    wanted = {"k-trigger", "k-medium", "k-sentence", "k-tag", "c-clothing", "c-framing"}
    assert wanted <= page.classes
    by_codes = [card.get("data-codes") or "" for card in page.cards]
    assert any("F001" in codes for codes in by_codes)  # 007.jpg has no caption
    assert any("C001" in codes for codes in by_codes)  # 004.txt lacks the trigger
    assert "unreadable" in html  # 005.jpg's placeholder
    # Grouped by framing x angle, with an unknown group.
    # (the image analysis decides where it has an answer, so only the classes are fixed).
    framings = {"close-up", "portrait", "waist-up", "full-body", "unknown"}
    angles = {"front", "left", "right", "side", "back", "unknown"}
    assert all(framing in framings and angle in angles for framing, angle in page.groups)
    assert ("unknown", "unknown") in page.groups  # 007.jpg: a cat, no caption
    assert not list(report.parent.glob(".*.tmp"))  # the atomic write left nothing


def test_report_without_image_analysis(dataset: Path, tmp_path: Path) -> None:
    """``--select C`` opens no image for analysis; the report still shows
    every item, grouped by what the captions say."""
    out = tmp_path / "captions-only.html"
    result = run_lintcap("check", dataset, "--select", "C", "--html", out, cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    page = _parse(out.read_text(encoding="utf-8"))
    assert len(page.cards) == len(CAPTIONS)
    assert ("close-up", "right") in page.groups  # 006: "close-up, facing right"
    assert ("waist-up", "left") in page.groups  # 002: "upper body, facing left"


def test_unwritable_report_path_is_a_usage_error(dataset: Path, tmp_path: Path) -> None:
    for target in (tmp_path / "missing" / "r.html", tmp_path):
        result = run_lintcap("check", dataset, "--html", target, cwd=tmp_path)
        assert result.returncode == 2, (target, result.stdout, result.stderr)
        assert "cannot write the HTML report" in result.stderr
        assert "Traceback" not in result.stderr


def test_thumbnails_upright_and_placeholders(dataset: Path) -> None:
    rotated = make_thumbnail(dataset / "006.jpg")  # stored 320x160, shown 160x320
    assert rotated.src is not None and rotated.height > rotated.width
    assert max(rotated.width, rotated.height) == 192
    broken = make_thumbnail(dataset / "005.jpg")
    assert broken.src is None and broken.problem and "unreadable" in broken.problem
    assert make_thumbnail(None).problem == "no image"
    paths = [dataset / f"{stem}.jpg" for stem in CAPTIONS]
    assert make_thumbnails(paths, jobs=2) == [make_thumbnail(path) for path in paths]


def test_caption_runs_cover_the_text(parse: Callable[[str], ParsedCaption]) -> None:
    runs = caption_runs(parse(HOSTILE))
    assert "".join(run.text for run in runs) == HOSTILE
    assert runs[0] == ("ohwx", "k-trigger")
    assert any("k-tag" in run.classes and "c-framing" in run.classes for run in runs)


# --- in a real browser ----------------------------------------------------------------


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail(
            "chromium is not installed: the HTML report is tested in a real headless "
            "browser. Install Debian's chromium (`apt-get install chromium`; "
            "scripts/test-env.sh does)."
        )
    return found


def _browse(url: str, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """Run headless chromium on ``url`` with console messages logged to stderr."""
    command = [
        _chromium(),
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--enable-logging=stderr",
        "--v=0",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=5000",
        *extra,
        url,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=180)


def _console_errors(stderr: str) -> list[str]:
    """chromium logs the page's console as ``INFO:CONSOLE...] "Uncaught ..."``."""
    return [line for line in stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]


@pytest.fixture
def profile(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "chromium-profile"
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_report_runs_in_chromium(report: Path, profile: Path) -> None:
    shown = _browse(report.as_uri(), profile, "--dump-dom")
    assert shown.returncode == 0, shown.stderr[-2000:]
    assert _console_errors(shown.stderr) == []
    body = re.search(r"<body[^>]*>", shown.stdout)
    assert body is not None, shown.stdout[:500]
    # The script ran to its end: it marks the body last.
    assert f'data-cards-rendered="{len(CAPTIONS)}"' in body.group()
    assert f"{len(CAPTIONS)} of {len(CAPTIONS)} items" in shown.stdout


def test_report_filter_in_chromium(report: Path, profile: Path) -> None:
    """A filter given in the address hides the cards that do not match."""
    shown = _browse(report.as_uri() + "#code=F001", profile, "--dump-dom")
    assert _console_errors(shown.stderr) == []
    cards = re.findall(r"<article [^>]*>", shown.stdout)
    visible = [card for card in cards if "hidden" not in card]
    assert len(cards) == len(CAPTIONS) and len(visible) == 1
    assert "F001" in visible[0]


def test_report_screenshot_in_chromium(report: Path, profile: Path, tmp_path: Path) -> None:
    png = tmp_path / "report.png"
    shot = _browse(report.as_uri(), profile, f"--screenshot={png}", "--window-size=1400,2000")
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert _console_errors(shot.stderr) == []
    with Image.open(png) as image:
        assert image.size == (1400, 2000)
        rgb = np.asarray(image.convert("RGB"))
    # Not blank: text, bars and photographs give many colours and contrast.
    assert len(np.unique(rgb.reshape(-1, 3), axis=0)) > 1000
    assert max(ImageStat.Stat(Image.fromarray(rgb)).stddev) > 20


def test_links_to_files_and_to_each_rules_why(report: Path, dataset: Path) -> None:
    page = report.read_text(encoding="utf-8")
    # Links relative to the report (it is in out/, the dataset in data/).
    images = re.findall(r'<a href="([^"#]+)" title="full-size image">', page)
    captions = re.findall(r'<a class="muted" href="([^"#]+)" title="caption file">', page)
    assert "../data/001.jpg" in images and "../data/001.txt" in captions
    assert all((report.parent / href).is_file() for href in images + captions)
    # Every code shown links to an embedded why.
    anchors = set(re.findall(r'<dt id="rule-([A-Z]\d{3})">', page))
    linked = set(re.findall(r'href="#rule-([A-Z]\d{3})"', page))
    assert linked and linked <= anchors
    assert "Why each rule matters" in page


def test_findings_list_errors_first(report: Path) -> None:
    page = report.read_text(encoding="utf-8")
    order = re.findall(
        r'<details class="code" data-code="[A-Z]\d{3}"[^>]*>\s*<summary><code '
        r'class="sev-(\w+)">',
        page,
    )
    rank = {"error": 2, "warning": 1, "info": 0}
    assert order and [rank[s] for s in order] == sorted((rank[s] for s in order), reverse=True)
    assert order[0] == "error"
