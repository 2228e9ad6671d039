"""lintcap gate with kohya sd-scripts (and FluxGym, the kohya_ss GUI): configs
written here in sd-scripts' documented layout (docs/config_README-en.md), each
asserting what kohya-ss/sd-scripts@48d368fa does (file:line in docs/trainers.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from lintcap.cli import cli
from lintcap.config import Config
from lintcap.gate.buckets import bucket
from lintcap.gate.plan import PlannedDataset
from lintcap.gate.run import GateResult, gate
from lintcap.gate.trainers import TrainerConfigError
from tests.conftest import flat_images

QUIET = Config(select=["T", "F"])
SUB = "  [[datasets.subsets]]\n  "  # a subset table, indented as the docs write it
TXT = '[general]\ncaption_extension = ".txt"\n'
CAPTION = "ohwx woman, red coat, city street, night"


def images(
    folder: Path,
    count: int,
    captions: str | None = CAPTION,
    ext: str = ".txt",
    size: tuple[int, int] = (64, 64),
) -> Path:
    """``count`` tiny images, each with a caption file of ``ext`` unless None."""
    return flat_images(folder, count, captions, ext, size, tint=(9, 60, 200))


def toml(tmp_path: Path, text: str, name: str = "dataset.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def run_gate(config: Path, args: str = "", settings: Config = QUIET) -> GateResult:
    return gate("kohya", config, settings, args=args.split(), gpu_check=False)


def codes(result: GateResult) -> set[str]:
    return {d.code for d in result.findings}


def test_unknown_keys_are_refused_with_did_you_mean(tmp_path: Path) -> None:
    folder = images(tmp_path / "img", 2)
    config = toml(
        tmp_path,
        f'[general]\ncaption_extention = ".txt"\n\n[[datasets]]\nresolution = 512\n\n'
        f'  {SUB}image_dir = "{folder}"\n  num_repeat = 20\n',
    )
    result = run_gate(config)
    [t014] = [d for d in result.training if d.code == "T014"]
    assert (
        "unknown key 'num_repeat'" in t014.message and "did you mean 'num_repeats'" in t014.message
    )
    assert "did you mean 'caption_extension'" in t014.message
    assert "T001" not in codes(result)  # not a misleading extension finding
    assert result.verdict == "fail"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("num_repeats = 1e400", "num_repeats must be an integer"),
        ("class_tokens = 5", "class_tokens must be a string"),
    ],
)
def test_wrong_types_are_refused_in_one_line(tmp_path: Path, line: str, expected: str) -> None:
    folder = images(tmp_path / "img", 1)
    config = toml(
        tmp_path,
        f'[[datasets]]\nresolution = 512\n  {SUB}image_dir = "{folder}"\n  {line}\n',
    )
    [t014] = [d for d in run_gate(config).training if d.code == "T014"]
    assert expected in t014.message and "\n" not in t014.message


def test_default_extension_steps_and_alias(tmp_path: Path) -> None:
    folder = images(tmp_path / "img", 4)
    config = toml(
        tmp_path,
        f'[[datasets]]\nresolution = 64\n  {SUB}image_dir = "{folder}"\n',
    )
    result = run_gate(config)
    # .caption by default (train_util.py:4493): nothing read, and 1600 steps (:3952)
    assert "T001" in codes(result) and "T010" in codes(result)
    assert (result.steps[0], result.plan.steps_source) == (1600, "default")
    aliased = run_gate(config, "--caption_extention .txt")  # train_util.py:5404-5406
    assert "T001" not in codes(aliased)
    assert aliased.runs[0].captions[0].text == CAPTION
    # 1600 steps x batch 1 / 4 images
    assert aliased.runs[0].passes == pytest.approx(400.0)


def test_max_train_epochs_and_dataset_batch_size(tmp_path: Path) -> None:
    folder = images(tmp_path / "img", 10)
    config = toml(
        tmp_path,
        f"{TXT}[[datasets]]\nresolution = 64\nbatch_size = 2\n"
        f'  {SUB}image_dir = "{folder}"\n  num_repeats = 2\n',
    )
    result = run_gate(config, "--max_train_epochs 5 --train_batch_size 8 --max_train_steps 999")
    # epochs override steps (train_network.py:799-802): 5 x ceil(10 x 2 / 2) = 50
    assert result.steps[0] == 50 and result.plan.steps_source == "epochs"
    # the dataset's batch_size 2 wins over --train_batch_size: 50 x 2 x 2 / 20
    assert result.runs[0].passes == pytest.approx(10.0)


def test_reg_subset_trains_on_class_tokens_and_shares_the_epoch(tmp_path: Path) -> None:
    train = images(tmp_path / "train", 10)
    reg = images(tmp_path / "reg", 5, captions=None)
    config = toml(
        tmp_path,
        f"{TXT}[[datasets]]\nresolution = 64\n"
        f'  {SUB}image_dir = "{train}"\n'
        f'  {SUB}image_dir = "{reg}"\n  is_reg = true\n  class_tokens = "woman"\n',
    )
    result = run_gate(config, "--max_train_steps 100")
    train_run, reg_run = result.runs
    assert [c.text for c in reg_run.captions] == ["woman"] * 5
    assert "T010" not in codes(result) and result.verdict == "pass"
    # reg images repeat to match the 10 train images (train_util.py:2166-2182): 100 x 1 / 20
    assert train_run.passes == pytest.approx(5.0)
    assert reg_run.passes == pytest.approx(10.0)


def test_separator_prefix_and_first_line(tmp_path: Path) -> None:
    folder = images(tmp_path / "img", 2, captions="ohwx, woman ||| red coat, street\nsecond line")
    config = toml(
        tmp_path,
        f'{TXT}shuffle_caption = true\nkeep_tokens_separator = "|||"\n'
        f'[[datasets]]\nresolution = 64\n  {SUB}image_dir = "{folder}"\n',
    )
    result = run_gate(config)
    caption = result.runs[0].captions[0]
    assert caption.text == "ohwx, woman, red coat, street" and caption.fixed_tokens == 2
    assert "T003" not in codes(result)
    assert "T008" in codes(result)  # the second line is dropped (train_util.py:1968)
    prefixed = toml(
        tmp_path,
        f'{TXT}caption_prefix = "ohwx"\nshuffle_caption = true\n'
        f'keep_tokens = 1\n[[datasets]]\nresolution = 64\n  {SUB}image_dir = "{folder}"\n',
        "prefixed.toml",
    )
    caption = run_gate(prefixed).runs[0].captions[0]
    assert caption.text.startswith("ohwx ohwx, woman |||") and caption.fixed_tokens == 1
    unkept = toml(tmp_path, prefixed.read_text().replace("keep_tokens = 1\n", ""), "unkept.toml")
    [t003] = [d for d in run_gate(unkept).training if d.code == "T003"]
    assert "shuffled away" in t003.message and len(t003.related) == 2


def test_empty_caption_file_stops_kohya(tmp_path: Path) -> None:
    folder = images(tmp_path / "img", 2)
    (folder / "000.txt").write_text("")
    config = toml(
        tmp_path,
        f'{TXT}[[datasets]]\nresolution = 64\n  {SUB}image_dir = "{folder}"\n',
    )
    [t016] = [d for d in run_gate(config).training if d.code == "T016"]
    assert "kohya stops at start-up" in t016.message and t016.related[0].endswith("000.txt")


def test_image_dir_is_not_searched_recursively(tmp_path: Path) -> None:
    parent = tmp_path / "train"
    images(parent / "10_ohwx woman", 3)
    config = toml(
        tmp_path,
        f'{TXT}[[datasets]]\nresolution = 64\n  {SUB}image_dir = "{parent}"\n',
    )
    [t017] = [d for d in run_gate(config).training if d.code == "T017"]
    assert "3 are in sub-folders" in t017.message
    folders = run_gate(parent, "--caption_extension .txt --resolution 64")  # train_data_dir form
    assert (
        folders.runs[0].dataset.repeats == 10
        and folders.runs[0].dataset.class_tokens == "ohwx woman"
    )
    assert folders.runs[0].passes == pytest.approx(1600 / 3)


def test_fine_tuning_metadata(tmp_path: Path) -> None:
    folder = images(tmp_path / "img", 3, captions=None)
    meta = tmp_path / "meta.json"
    meta.write_text(
        json.dumps(
            {f"{i:03d}.png": {"caption": "ohwx woman", "tags": "red coat"} for i in range(3)}
        )
    )
    config = toml(
        tmp_path,
        f'[[datasets]]\nresolution = 64\n{SUB}image_dir = "{folder}"\n  metadata_file = "{meta}"\n',
    )
    result = run_gate(config)
    # caption + caption_separator + tags (train_util.py:2333-2339)
    assert [c.text for c in result.runs[0].captions] == ["ohwx woman,red coat"] * 3
    assert "T010" not in codes(result) and "T017" not in codes(result)
    in_json = run_gate(folder, f"--in_json {meta} --resolution 64")
    assert (
        in_json.runs[0].dataset.caption_source == "metadata" and len(in_json.runs[0].captions) == 3
    )


def test_training_config_file_and_gui_json(tmp_path: Path) -> None:
    folder = images(tmp_path / "img", 4)
    dataset = toml(
        tmp_path,
        f'{TXT}[[datasets]]\nresolution = 64\n  {SUB}image_dir = "{folder}"\n',
    )
    training = toml(
        tmp_path,
        f'[model]\npretrained_model_name_or_path = "flux1-dev.safetensors"\n[training]\n'
        f'max_train_epochs = 3\nlearning_rat = 1e-4\ndataset_config = "{dataset}"\n',
        "train.toml",
    )
    result = run_gate(dataset, f"--config_file {training}")
    assert result.steps[0] == 12  # 3 epochs x 4 batches
    [t015] = [d for d in result.training if d.code == "T015"]
    assert "'learning_rat' (did you mean 'learning_rate'?)" in t015.message
    gui = tmp_path / "kohya_ss.json"
    gui.write_text(
        json.dumps(
            {
                "train_data_dir": str(tmp_path / "sets"),
                "max_train_steps": 200,
                "LoRA_type": "Standard",
                "caption_extension": ".txt",
                "resolution": "64,64",
            }
        )
    )
    images(tmp_path / "sets" / "5_ohwx", 4)
    from_gui = run_gate(gui)
    assert from_gui.steps[0] == 200 and from_gui.runs[0].dataset.repeats == 5
    assert from_gui.runs[0].passes == pytest.approx(50.0)  # 200 x 1 x 5 / 20
    assert "LoRA_type" in next(d.message for d in from_gui.training if d.code == "T015")
    # the GUI's own names: epoch sets the steps when max_train_steps is 0, max_resolution
    gui.write_text(
        json.dumps(
            {
                "train_data_dir": str(tmp_path / "sets"),
                "max_train_steps": 0,
                "epoch": 3,
                "max_resolution": "64,64",
                "caption_extension": ".txt",
                "optimizer": "Prodigy",
            }
        )
    )
    from_gui = run_gate(gui)
    # lora_gui.py:1690-1730: ceil(4 images x 5 repeats / batch 1 x 3 epochs)
    assert from_gui.steps[0] == 60 and from_gui.plan.optimizer == "Prodigy"
    assert "T015" not in {d.code for d in from_gui.training}


def test_json_dataset_config_and_fluxgym_layout(tmp_path: Path) -> None:
    folder = images(tmp_path / "img", 5)
    as_json = tmp_path / "dataset.json"
    as_json.write_text(
        json.dumps(
            {
                "general": {"caption_extension": ".txt"},
                "datasets": [{"resolution": 64, "subsets": [{"image_dir": str(folder)}]}],
            }
        )
    )
    assert len(run_gate(as_json).runs[0].captions) == 5
    # FluxGym's dataset.toml (cocktailpeanut/fluxgym app.py:520-533) with its command's arguments.
    fluxgym = toml(
        tmp_path,
        "[general]\nshuffle_caption = false\ncaption_extension = '.txt'\nkeep_tokens = 1\n\n"
        "[[datasets]]\nresolution = 64\nbatch_size = 1\nkeep_tokens = 1\n\n"
        f"  [[datasets.subsets]]\n  image_dir = '{folder}'\n"
        "  class_tokens = 'ohwx woman'\n  num_repeats = 10\n",
        "fluxgym.toml",
    )
    result = run_gate(
        fluxgym,
        "--max_train_epochs 16 --learning_rate 8e-4 --optimizer_type adamw8bit --network_dim 4",
    )
    assert result.steps[0] == 16 * 50
    assert "T005" not in codes(result)  # FluxGym's default lr 8e-4 (app.py:991) is in the band
    assert result.runs[0].passes == pytest.approx(160.0)  # 800 x 1 x 10 / 50


def test_kohya_buckets_upscale_unless_no_upscale() -> None:
    base = PlannedDataset(
        folder=Path("."), caption_extension=".txt", resolution_wh=(1024, 1024), enable_bucket=True
    )
    # make_bucket_resolutions (model_util.py:1316-1344): sides capped at max_bucket_reso
    # 1024, nearest aspect ratio (train_util.py:295-297): 848/1264 = 0.671 -> 704/1024
    assert bucket("kohya", base, 848, 1264, 1024) == (704, 1024)
    assert bucket("kohya", base, 300, 400, 1024) == (768, 1024)  # upscaled
    no_upscale = base.model_copy(update={"bucket_no_upscale": True})
    assert bucket("kohya", no_upscale, 300, 400, 1024) == (256, 384)  # train_util.py:333-338
    assert bucket("kohya", base.model_copy(update={"enable_bucket": False}), 300, 400, 1024) == (
        1024,
        1024,
    )


def test_accelerate_options_are_not_the_scripts(tmp_path: Path) -> None:
    folder = images(tmp_path / "img", 4)
    config = toml(tmp_path, f'{TXT}[[datasets]]\nresolution = 64\n{SUB}image_dir = "{folder}"\n')
    command = [
        "accelerate", "launch", "--config_file", "accelerate.yaml", "--num_processes", "1",
        "flux_train_network.py", "--dataset_config", str(config), "--max_train_steps", "40",
    ]  # fmt: skip
    result = gate("kohya", config, QUIET, command=command, gpu_check=False)
    assert result.steps[0] == 40 and result.plan.flux
    assert result.runs[0].passes == pytest.approx(10.0)


def test_argument_errors_are_one_line(tmp_path: Path) -> None:
    folder = images(tmp_path / "img", 1)
    config = toml(
        tmp_path,
        f'[[datasets]]\nresolution = 64\n  {SUB}image_dir = "{folder}"\n',
    )
    runner = CliRunner()
    for args, expected in (
        ("--max_train_steps abc", "invalid int value"),
        ('--caption_prefix "unclosed', "check the quotes"),
    ):
        result = runner.invoke(
            cli, ["gate", "--trainer", "kohya", str(config), "--no-gpu-check", "--args", args]
        )
        assert result.exit_code == 2, result.output
        assert expected in result.output and len(result.output.strip().splitlines()) == 1
    with pytest.raises(TrainerConfigError, match="no \\[\\[datasets\\]\\]"):
        run_gate(toml(tmp_path, "[general]\nshuffle_caption = true\n", "bad.toml"))


def test_documented_mixed_layout(tmp_path: Path) -> None:
    """docs/config_README-en.md's first example, with folders of our own: a
    DreamBooth dataset (two subsets and a reg subset) and a fine-tuning one."""
    hoge = images(tmp_path / "hoge", 8)
    fuga = images(tmp_path / "fuga", 4)
    reg = images(tmp_path / "reg", 6, captions=None)
    piyo = images(tmp_path / "piyo", 4, captions=None)
    meta = piyo / "piyo_md.json"
    meta.write_text(json.dumps({f"{i:03d}.png": {"caption": "piyo, a bird"} for i in range(4)}))
    config = toml(
        tmp_path,
        "[general]\nshuffle_caption = true\ncaption_extension = '.txt'\nkeep_tokens = 1\n\n"
        "[[datasets]]\nresolution = 64\nbatch_size = 4\nkeep_tokens = 2\n"
        f"{SUB}image_dir = '{hoge}'\n  class_tokens = 'hoge girl'\n"
        f"{SUB}image_dir = '{fuga}'\n  class_tokens = 'fuga boy'\n  keep_tokens = 3\n"
        f"{SUB}is_reg = true\n  image_dir = '{reg}'\n"
        "  class_tokens = 'human'\n  keep_tokens = 1\n\n"
        f"[[datasets]]\nresolution = [64, 64]\nbatch_size = 2\n"
        f"{SUB}image_dir = '{piyo}'\n  metadata_file = '{meta}'\n",
    )
    result = run_gate(config, "--max_train_steps 100")
    keeps = [r.dataset.keep_tokens for r in result.runs]
    assert keeps == [2, 3, 1, 1]  # subset, then dataset, then [general]
    # epoch: (8 + 4 train + 6 reg x 2 repeats) / batch 4 + 4 / batch 2 = 8 batches
    assert [round(r.passes or 0, 2) for r in result.runs] == [12.5, 12.5, 25.0, 12.5]
    assert result.runs[2].captions[0].text == "human"
    assert result.runs[3].captions[0].text == "piyo, a bird"
    assert "T014" not in codes(result) and "T010" not in codes(result)
