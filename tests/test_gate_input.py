"""Hostile and odd gate input (issue 13): whatever the config or argument
string, the gate answers with a plan or one clear line, never a traceback."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from lintcap.cli import cli
from lintcap.config import Config
from lintcap.gate.kohya import load_kohya
from lintcap.gate.run import gate
from lintcap.gate.trainers import TrainerConfigError, split_args

_FAST = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _dataset(tmp_path: Path) -> Path:
    folder = tmp_path / "img"
    folder.mkdir(exist_ok=True)
    Image.new("RGB", (32, 32)).save(folder / "a.png")
    (folder / "a.txt").write_text("ohwx, a cat")
    config = tmp_path / "dataset.toml"
    config.write_text(
        f'[[datasets]]\nresolution = 64\n  [[datasets.subsets]]\n  image_dir = "{folder}"\n'
    )
    return config


@_FAST
@given(st.text(max_size=80))
def test_any_args_string_is_a_plan_or_one_line(tmp_path: Path, text: str) -> None:
    config = _dataset(tmp_path)
    try:
        plan = load_kohya(config, split_args(text))
    except TrainerConfigError as exc:
        assert "\n" not in str(exc) and str(exc)
    else:
        assert plan.trainer == "kohya"


_KEYS = st.sampled_from(
    [
        "num_repeats",
        "caption_extension",
        "class_tokens",
        "keep_tokens",
        "resolution",
        "batch_size",
        "shuffle_caption",
        "is_reg",
        "num_repeat",
    ]
)
_VALUES = st.one_of(
    st.integers(-5, 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(max_size=12).map(
        lambda t: '"' + t.replace("\\", "").replace('"', "").replace("\n", "") + '"'
    ),
)


@_FAST
@given(st.lists(st.tuples(_KEYS, _VALUES), max_size=4))
def test_any_subset_values_are_a_finding_or_one_line(
    tmp_path: Path, pairs: list[tuple[str, object]]
) -> None:
    folder = tmp_path / "img"
    _dataset(tmp_path)
    lines = []
    for key, value in dict(pairs).items():
        shown = str(value).lower() if isinstance(value, bool) else str(value)
        shown = {"nan": "nan", "inf": "inf", "-inf": "-inf"}.get(shown, shown)
        lines.append(f"  {key} = {shown}")
    config = tmp_path / "fuzz.toml"
    config.write_text(
        '[[datasets]]\nresolution = 64\n  [[datasets.subsets]]\n  image_dir = "'
        + str(folder)
        + '"\n'
        + "\n".join(lines)
        + "\n"
    )
    result = CliRunner().invoke(
        cli,
        [
            "gate",
            "--trainer",
            "kohya",
            str(config),
            "--no-gpu-check",
            "--dry-run",
            "--ignore",
            "A,C,D,I,W",
        ],
    )
    assert result.exit_code in (0, 1, 2), result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
    if result.exit_code == 2:
        assert len(result.output.strip().splitlines()) == 1


def test_metadata_jsonl_alone_fails_for_kohya(tmp_path: Path) -> None:
    folder = tmp_path / "img"
    folder.mkdir()
    for name in ("a", "b"):
        Image.new("RGB", (32, 32)).save(folder / f"{name}.png")
    (folder / "metadata.jsonl").write_text(
        '{"file_name": "a.png", "text": "ohwx"}\n{"file_name": "b.png", "text": "ohwx"}\n'
    )
    config = tmp_path / "dataset.toml"
    config.write_text(
        f'[general]\ncaption_extension = ".txt"\n[[datasets]]\nresolution = 64\n'
        f'  [[datasets.subsets]]\n  image_dir = "{folder}"\n'
    )
    result = gate("kohya", config, Config(select=["T"]), gpu_check=False)
    assert result.verdict == "fail"
    [t010] = [d for d in result.training if d.code == "T010"]
    assert (
        "2 of 2 images train on an empty caption" in t010.message
        and "never reads the metadata.jsonl" in t010.message
    )


def test_kohya_caption_extension_that_is_a_path(tmp_path: Path) -> None:
    config = _dataset(tmp_path)
    config.write_text(
        config.read_text().replace(
            "[[datasets]]", '[general]\ncaption_extension = ".a/b"\n[[datasets]]'
        )
    )
    [t014] = [
        d
        for d in gate("kohya", config, Config(select=["T"]), gpu_check=False).training
        if d.code == "T014"
    ]
    assert "is not a file extension" in t014.message


def test_caption_link_out_of_the_dataset_is_not_read(tmp_path: Path) -> None:
    config = _dataset(tmp_path)
    secret = tmp_path / "secret.txt"
    secret.write_text("password hash")
    caption = tmp_path / "img" / "a.txt"
    caption.unlink()
    caption.symlink_to(secret)
    result = gate(
        "kohya", config, Config(select=["T"]), gpu_check=False, args=["--caption_extension", ".txt"]
    )
    [t016] = [d for d in result.training if d.code == "T016"]
    assert "leave the dataset" in t016.message
    assert all("password" not in c.text for c in result.runs[0].captions)
