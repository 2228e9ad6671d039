"""Rule files, presets, selection, configuration and what gets computed."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from lintcap import analyse
from lintcap.config import Config, ConfigError, find_config, load_config
from lintcap.engine.run import lint, load_rulebook, needs_for
from lintcap.engine.select import SelectionError, select_rules
from lintcap.engine.spec import RuleFileError, load_rule_files
from lintcap.resources import rules_dir
from tests.conftest import TRIGGER, MakeDataset

RULE = """
rules:
  - code: X001
    name: custom-rule
    scope: caption
    severity: warning
    check: {{kind: forbids, phrases: [beautiful]}}
    message: "'{{phrase}}' says nothing"
    why: Words of praise describe nothing the model can learn from the image.
{extra}
"""


def write(tmp_path: Path, text: str, name: str = "rules.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_shipped_rules_load_and_have_unique_codes_and_a_why() -> None:
    book = load_rulebook(Config())
    codes = [rule.code for rule in book.rules]
    assert len(codes) == len(set(codes))
    for code in ["F001", "F009", "C001", "C012", "A001", "A007"]:
        assert code in codes
    assert all(len(rule.why.split()) >= 15 for rule in book.rules)
    assert {"flux-character", "flux-style", "sdxl-tags"} <= set(book.presets)


@pytest.mark.parametrize(
    ("extra", "replace", "expected"),
    [
        ("", ("kind: forbids", "kind: forbidz"), "rule X001: check: Input tag 'forbidz'"),
        ("", ("severity: warning", "severity: fatal"), "rule X001: severity: Input should be"),
        ("", ("scope: caption", "scope: dataset"), "cannot be used in scope 'dataset'"),
        (
            "",
            ("phrases: [beautiful]", "patterns: ['(']"),
            "rule X001: check.forbids.patterns: Value error, invalid regex",
        ),
        (
            "",
            ("name: custom-rule", "name: custom-rule\n    colour: red"),
            "rule X001: colour: Extra inputs",
        ),
        ("", ("code: X001", "code: bad"), "rule bad: code: String should match pattern"),
    ],
)
def test_bad_rule_file_names_file_rule_and_field(
    tmp_path: Path, extra: str, replace: tuple[str, str], expected: str
) -> None:
    path = write(tmp_path, RULE.format(extra=extra).replace(*replace))
    with pytest.raises(RuleFileError) as error:
        load_rule_files([path])
    message = str(error.value)
    assert str(path) in message
    assert expected in message, message


def test_invalid_yaml_and_duplicate_codes(tmp_path: Path) -> None:
    with pytest.raises(RuleFileError, match="invalid YAML"):
        load_rule_files([write(tmp_path, "rules: [\n  - {code: X001")])
    first = write(tmp_path, RULE.format(extra=""), "a.yaml")
    second = write(tmp_path, RULE.format(extra=""), "b.yaml")
    with pytest.raises(RuleFileError, match="X001: code already defined"):
        load_rule_files([first, second])


def test_yaml_is_loaded_safely(tmp_path: Path) -> None:
    path = write(tmp_path, "rules: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(RuleFileError, match="invalid YAML"):
        load_rule_files([path])


def test_user_rule_file_extends_the_shipped_ones(tmp_path: Path, make_dataset: MakeDataset) -> None:
    extra = write(tmp_path, RULE.format(extra=""))
    root = make_dataset({"a": "ohwx, a photo of a beautiful woman."}, config=None)
    config = Config(trigger=TRIGGER, extend_rules=[extra], select=["X"])
    [finding] = lint([root], config).diagnostics
    assert finding.code == "X001" and finding.message == "'beautiful' says nothing"
    assert finding.column == len("ohwx, a photo of a ") + 1


def test_selection_by_prefix_and_all() -> None:
    book = load_rulebook(Config())
    codes = lambda rules: {r.code for r in rules}  # noqa: E731
    assert codes(select_rules(book, "flux-character", ["C00"], [], [])) == {
        f"C00{i}" for i in range(1, 10)
    }
    assert codes(select_rules(book, "flux-character", ["ALL"], [], ["F", "A"])) == {
        r.code for r in book.rules if r.code[0] not in "FA"
    }
    style = codes(select_rules(book, "flux-style", None, [], []))
    assert "A001" not in style and "C001" in style
    assert "A001" in codes(select_rules(book, "flux-style", None, ["A001"], []))
    with pytest.raises(SelectionError, match="'Z9' matches no rule"):
        select_rules(book, "flux-character", ["Z9"], [], [])
    with pytest.raises(SelectionError, match="unknown preset"):
        select_rules(book, "nope", None, [], [])


def test_preset_tunes_parameters() -> None:
    book = load_rulebook(Config())
    [flux] = [r for r in select_rules(book, "flux-character", ["C011"], [], [])]
    [sdxl] = [r for r in select_rules(book, "sdxl-tags", ["C011"], [], [])]
    assert (flux.check.unit, flux.check.max) == ("t5-tokens", 512)
    assert (sdxl.check.unit, sdxl.check.max) == ("clip-tokens", 75)


def test_thresholds_live_in_the_rule_files() -> None:
    book = load_rulebook(Config())
    needs = needs_for(select_rules(book, "flux-character", ["F009"], [], []))
    text = (rules_dir() / "files.yaml").read_text()
    assert f"max-caption-bytes: {needs.max_caption_bytes}" in text
    assert f"max-image-pixels: {needs.max_image_pixels}" in text


def test_caption_only_run_decodes_no_image(
    make_dataset: MakeDataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_dataset({"a": "ohwx, a photo of a man", "b": "ohwx, a photo of a dog"})

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("an image was opened")

    monkeypatch.setattr(analyse, "probe_image", forbidden)
    config = load_config(find_config(root))
    assert lint([root], config.model_copy(update={"select": ["C", "A"]})).images == 2


def test_run_leaves_the_collector_on_and_nothing_frozen(make_dataset: MakeDataset) -> None:
    """lint pauses the cyclic collector and hands its objects to the oldest
    generation without freezing them for good: cycles made during the run
    stay collectable."""
    root = make_dataset({"a": "ohwx, a photo of a man", "b": "ohwx, a photo of a dog"})
    config = load_config(find_config(root)).model_copy(update={"select": ["C"]})
    assert gc.isenabled()
    lint([root], config)
    assert gc.isenabled() and gc.get_freeze_count() == 0
    gc.disable()
    try:
        lint([root], config)
        assert not gc.isenabled()  # a caller's choice is kept
    finally:
        gc.enable()


def test_image_only_run_parses_no_caption(
    make_dataset: MakeDataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_dataset({"a": "ohwx, a photo of a man"})
    monkeypatch.setattr(analyse, "read_caption_file", lambda *a, **k: pytest.fail("caption read"))
    assert lint([root], Config(select=["F006", "F007"])).diagnostics == []


def test_config_found_upward_from_the_dataset(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.lintcap]\ntrigger = "zkw"\nignore = ["C006"]\n'
    )
    data = tmp_path / "datasets" / "one"
    data.mkdir(parents=True)
    found = find_config(data)
    assert found == tmp_path / "pyproject.toml"
    config = load_config(found)
    assert config.trigger == "zkw" and config.ignore == ["C006"]
    (data / "lintcap.toml").write_text('trigger = "nearer"\n')
    assert load_config(find_config(data)).trigger == "nearer"


def test_pyproject_without_lintcap_table_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    (tmp_path / "sub").mkdir()
    assert find_config(tmp_path / "sub") in (None, *[p / "lintcap.toml" for p in tmp_path.parents])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('trigger = "ohwx"\ntriger = "x"\n', "triger: Extra inputs are not permitted"),
        ("preset = 3\n", "preset: Input should be a valid string"),
        ('trigger = "two words "\n', "trigger must be a non-empty word"),
        ('trigger = "ohwx\n', "invalid TOML"),
        ('[subject]\nclass = "woman"\ntraits = []\n', "subject.traits: Extra inputs"),
    ],
)
def test_bad_config_is_a_clear_error(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "lintcap.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(path) in str(error.value) and expected in str(error.value)


def test_kebab_and_snake_case_keys(tmp_path: Path) -> None:
    path = tmp_path / "lintcap.toml"
    path.write_text(
        'caption-extension = ".caption"\nfail_on = "warning"\n'
        '[per-file-ignores]\n"closeups/*" = ["A005"]\n'
        '[subject]\nclass = "man"\nintrinsic = ["scar"]\n'
    )
    config = load_config(path)
    assert config.caption_extension == [".caption"]
    assert config.fail_on.value == "warning"
    assert config.per_file_ignores == {"closeups/*": ["A005"]}
    assert config.subject.class_ == "man" and config.subject.intrinsic == ["scar"]


def test_per_file_ignores(make_dataset: MakeDataset) -> None:
    root = make_dataset(
        {"keep/a": "a photo of a man", "skip/b": "a photo of a man"},
        config=f'trigger = "{TRIGGER}"\n[per-file-ignores]\n"skip/*" = ["C001"]\n',
    )
    config = load_config(find_config(root))
    paths = [
        Path(d.path or "").parent.name for d in lint([root], config).diagnostics if d.code == "C001"
    ]
    assert paths == ["keep"]


def test_trigger_is_inferred_when_not_configured(make_dataset: MakeDataset) -> None:
    captions = {f"{i}": f"zkw, a photo of a man number {i}" for i in range(4)}
    captions["odd"] = "a photo of a man without it"
    root = make_dataset(captions, config=None)
    result = lint([root], Config(select=["C001"]))
    assert (result.trigger.word, result.trigger.source) == ("zkw", "inferred")
    assert (result.trigger.count, result.trigger.total) == (4, 5)
    assert [Path(d.path or "").name for d in result.diagnostics] == ["odd.txt"]


def test_no_trigger_inferred_from_articles_or_weak_majorities(make_dataset: MakeDataset) -> None:
    articles = make_dataset(
        {f"{i}": f"A photo of a man {i}" for i in range(5)}, config=None, folder="x"
    )
    assert lint([articles], Config(select=["C001"])).trigger.source == "none"
    split = make_dataset(
        {"1": "aa, x", "2": "aa, y", "3": "bb, z", "4": "cc, w"}, config=None, folder="y"
    )
    assert lint([split], Config(select=["C001"])).trigger.source == "none"


def test_metadata_captions_point_into_the_jsonl(tmp_path: Path) -> None:
    import json

    from tests.conftest import photo

    photo().save(tmp_path / "a.jpg")
    line = json.dumps({"file_name": "a.jpg", "text": "a photo of é ohwx"})
    (tmp_path / "metadata.jsonl").write_text("\n" + line + "\n")
    [finding] = lint([tmp_path], Config(trigger=TRIGGER, select=["C001"])).diagnostics
    assert finding.path is not None and finding.path.endswith("metadata.jsonl")
    assert finding.line == 2
    assert line[finding.column - 1 : finding.end_column - 1] == "ohwx"


def test_html_report_shows_the_why_of_a_user_rule(
    tmp_path: Path, make_dataset: MakeDataset
) -> None:
    """The report's rule list comes from the run's rule book: a rule from
    ``extend-rules`` links to its own why (it was blank: the default book)."""
    from lintcap.report.html import render

    extra = write(tmp_path, RULE.format(extra=""))
    root = make_dataset({"a": "ohwx, a photo of a beautiful woman."}, config=None)
    config = Config(trigger=TRIGGER, extend_rules=[extra], select=["X"])
    result = lint([root], config)
    page = render(result, [str(root)], config=config)
    assert '<dt id="rule-X001">' in page
    assert "Words of praise describe nothing" in page
