"""Hostile input, group "no internal error": each case the issue lists is a
finding or one line with exit 2, and hypothesis fuzzes the files a dataset
or its repository can hold (metadata.jsonl lines, rule YAML, config TOML,
cache JSON, LLM answers) with bounded examples. Each test names its promise."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lintcap.config import Config, ConfigError, load_config
from lintcap.engine.run import lint
from lintcap.engine.spec import RuleFileError, load_rule_files
from lintcap.image.cache import FactCache
from lintcap.image.facts import ImageFacts
from tests.conftest import TRIGGER, photo
from tests.hostile import assert_llm_answer_is_text_or_one_line, lintcap, within

FUZZ = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _metadata_set(tmp_path: Path, line: str) -> Path:
    root = tmp_path / "data"
    root.mkdir(exist_ok=True)
    photo(size=16).save(root / "a.png")
    (root / "metadata.jsonl").write_bytes(line.encode("utf-8", "surrogatepass") + b"\n")
    return root


def _codes(root: Path, select: list[str] | None = None) -> dict[str, set[str]]:
    config = Config(trigger=TRIGGER, select=select or ["F"], cache=False, jobs=1)
    found: dict[str, set[str]] = {}
    for diagnostic in lint([root], config).diagnostics:
        found.setdefault(Path(diagnostic.path or ".").name, set()).add(diagnostic.code)
    return found


# --- the listed cases ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        json.dumps({"file_name": "x" * 5000, "text": "ohwx"}),  # ENAMETOOLONG
        '{"file_name": "a.png", "text": "ohwx \\ud800 woman"}',  # lone surrogate
        '{"file_name": "a\\ud800.png", "text": "ohwx"}',
        '{"file_name": "a.png", "text": ' + "[" * 100_000 + "]" * 100_000 + "}",
        '{"file_name": "a.png", "text": 5}',
        '{"file_name": ["a.png"], "text": "x"}',
        "[1, 2]",
        '{"file_name": "a.png\\u0000", "text": "ohwx"}',  # NUL in a path
    ],
)
def test_bad_metadata_line_is_a_finding(tmp_path: Path, line: str) -> None:
    """Promise: a finding on metadata.jsonl (F011 bad-metadata; F002 for a
    name no file can have); no exception."""
    root = _metadata_set(tmp_path, line)
    found = _codes(root)
    assert found.get("metadata.jsonl", set()) & {"F011", "F008", "F002"}, found


def test_million_character_metadata_text_is_caption_too_large(tmp_path: Path) -> None:
    """Promise: finding F009 (one size limit for every caption source), no spaCy
    E088, within 60 s, with the caption rules on."""
    line = json.dumps({"file_name": "a.png", "text": "ohwx " + "a" * 1_000_001})
    root = _metadata_set(tmp_path, line)
    with within(60):
        found = _codes(root, ["F", "C"])
    assert "F009" in found["metadata.jsonl"]


def test_symlink_loop_is_a_finding(tmp_path: Path) -> None:
    """Promise: finding F012 (unreadable: symlink loop) for a caption and a
    folder that link to themselves; the run finishes."""
    root = tmp_path / "data"
    root.mkdir()
    photo(size=16).save(root / "a.png")
    (root / "a.txt").symlink_to("a.txt")
    (root / "loop").symlink_to("loop")
    found = _codes(root)
    assert "F012" in found["a.txt"] and "F012" in found["loop"]


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("pyproject.toml", "tool = 5\n"),
        ("pyproject.toml", "[tool]\nlintcap = 1\n"),
        ("lintcap.toml", "a = " + "[" * 5000 + "]" * 5000 + "\n"),
        ("lintcap.toml", "trigger = 5\n"),
        ("lintcap.toml", "\xff\xfe"),
    ],
)
def test_config_files_are_one_line_or_ignored(tmp_path: Path, name: str, text: str) -> None:
    """Promise: exit 0/1 (a pyproject without our table is not ours) or exit 2
    with one line; never an internal error."""
    root = _metadata_set(tmp_path, '{"file_name": "a.png", "text": "ohwx, a woman"}')
    (root / name).write_text(text, encoding="utf-8")
    run = lintcap("check", "--select", "F", root)
    assert "internal error" not in run.stderr
    assert run.exit_code in {0, 1} or len(run.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "text",
    [
        "rules:\n  - {1: 2}\n",
        "1: 2\n",
        "presets: [1, 2]\n",
        "settings: abc\n",
        "presets: {[1]: 2}\n",
        "settings: " + "[" * 5000 + "]" * 5000 + "\n",
        "rules: [" + "{a: " * 2000 + "1" + "}" * 2000 + "]\n",
        "rules:\n  - {code: X001, name: x, scope: caption, severity: warning, "
        "check: {kind: forbids, phrases: [a]}, message: '{0}', why: 'long enough to pass'}\n",
    ],
)
def test_rule_files_of_any_shape_are_one_line(tmp_path: Path, text: str) -> None:
    """Promise: exit 2 with one line naming the file; never an internal error."""
    root = _metadata_set(tmp_path, '{"file_name": "a.png", "text": "ohwx, a woman"}')
    (tmp_path / "r.yaml").write_text(text, encoding="utf-8")
    (root / "lintcap.toml").write_text(f'extend-rules = ["{tmp_path / "r.yaml"}"]\n')
    run = lintcap("check", root)
    assert run.exit_code == 2 and "internal error" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1 and "r.yaml" in run.stderr


def test_broken_pipe_when_piping_json_is_quiet(tmp_path: Path) -> None:
    """Promise: no traceback and no internal error when the reader goes away
    (``lintcap check --format json | head -c1``)."""
    import subprocess
    import sys

    root = _metadata_set(tmp_path, '{"file_name": "a.png", "text": "ohwx, a woman"}')
    reader, writer = os.pipe()
    os.close(reader)  # the reader is gone before lintcap writes
    process = subprocess.run(
        [sys.executable, "-m", "lintcap", "check", "--select", "F", "--format", "json", root],
        stdout=writer,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
    )
    os.close(writer)
    assert "Traceback" not in process.stderr and "internal error" not in process.stderr


# --- fuzz -------------------------------------------------------------------------------------

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
_records = st.fixed_dictionaries(
    {},
    optional={
        "file_name": st.one_of(st.text(max_size=40), st.just("a.png"), _json_values),
        "text": st.one_of(st.text(max_size=60), _json_values),
        "caption": st.one_of(st.text(max_size=60), _json_values),
    },
)


@settings(FUZZ, max_examples=15)  # each example is a lint run
@given(lines=st.lists(st.one_of(_records.map(json.dumps), st.text(max_size=60)), max_size=4))
def test_fuzz_metadata_lines(tmp_path_factory: pytest.TempPathFactory, lines: list[str]) -> None:
    """Promise: any metadata.jsonl is findings, never an exception."""
    root = tmp_path_factory.mktemp("meta")
    photo(size=8).save(root / "a.png")
    (root / "metadata.jsonl").write_bytes("\n".join(lines).encode("utf-8", "surrogatepass") + b"\n")
    lint([root], Config(trigger=TRIGGER, select=["F"], cache=False, jobs=1))


_yaml_text = st.one_of(
    st.text(max_size=200),
    st.builds(
        lambda key, value: f"{key}: {json.dumps(value)}\n",
        st.sampled_from(["rules", "presets", "settings", "other", "1"]),
        _json_values,
    ),
)


@FUZZ
@given(text=_yaml_text)
def test_fuzz_rule_yaml(tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
    """Promise: any rule file loads or raises RuleFileError (one line at the CLI)."""
    path = tmp_path_factory.mktemp("rules") / "r.yaml"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    try:
        load_rule_files([path])
    except RuleFileError as exc:
        assert "\n" not in str(exc).strip() or "YAML" in str(exc)


_toml_text = st.one_of(
    st.text(max_size=200),
    st.builds(
        lambda key, value: f"{key} = {json.dumps(value)}\n",
        st.sampled_from(["trigger", "select", "cache-dir", "jobs", "tool", "subject", "lexicons"]),
        _json_values,
    ),
)


@FUZZ
@given(text=_toml_text, name=st.sampled_from(["lintcap.toml", "pyproject.toml"]))
def test_fuzz_config_toml(tmp_path_factory: pytest.TempPathFactory, text: str, name: str) -> None:
    """Promise: any config loads or raises ConfigError."""
    path = tmp_path_factory.mktemp("config") / name
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    with contextlib.suppress(ConfigError):
        load_config(path)


@FUZZ
@given(
    data=st.one_of(
        st.binary(max_size=200),
        _json_values.map(lambda v: json.dumps(v).encode()),
        st.dictionaries(
            st.sampled_from(["sha256", "phash", "info", "problems", "people"]), _json_values
        ).map(lambda v: json.dumps({"sha256": "ab" + "0" * 62, **v}).encode()),
    )
)
def test_fuzz_cache_entries(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    """Promise: any cache file is a hit with valid facts or a miss; no exception."""
    root = tmp_path_factory.mktemp("cache")
    sha = "ab" + "0" * 62
    cache = FactCache(root / ".lintcap_cache", "key")
    cache.put(ImageFacts(sha256=sha))
    (root / ".lintcap_cache" / "images" / "key" / "ab" / f"{sha}.json").write_bytes(data)
    facts = FactCache(root / ".lintcap_cache", "key").get(sha)
    assert facts is None or facts.sha256 == sha


@FUZZ
@given(
    raw=st.one_of(
        st.binary(max_size=200),
        _json_values.map(lambda v: json.dumps({"choices": [{"message": {"content": v}}]}).encode()),
        _json_values.map(lambda v: json.dumps(v).encode()),
    )
)
def test_fuzz_llm_answers(raw: bytes) -> None:
    """Promise: any server answer is text (valid UTF-8) or an LlmError of one line."""
    assert_llm_answer_is_text_or_one_line(raw)
