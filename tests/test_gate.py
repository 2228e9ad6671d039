"""lintcap gate: trainer configs in their own formats, against real datasets."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from lintcap.config import Config
from lintcap.gate import run as gate_run
from lintcap.gate.gpu import GpuFacts
from lintcap.gate.run import gate
from lintcap.gate.trainers import TrainerConfigError, load_ai_toolkit, load_kohya
from tests.conftest import MakeDataset, run_lintcap

GOOD = (
    "ohwx, a photo of a woman wearing a red wool coat, standing on a city street at night. "
    "She is smiling. close-up, from side, looking at viewer, neon lighting"
)
MARKER = "TRAINING-COMMAND-RAN"

# Written after ai-toolkit's config/examples/train_lora_flux_24gb.yaml layout.
AI_TOOLKIT = """\
job: extension
config:
  name: my_first_flux_lora_v1
  process:
    - type: sd_trainer
      training_folder: output
      device: cuda:0
      trigger_word: {trigger}
      network:
        type: lora
        linear: {rank}
        linear_alpha: 16
      save: {{dtype: float16, save_every: 250}}
      datasets:
        - folder_path: {folder}
          caption_ext: {ext}
          caption_dropout_rate: 0.05
          shuffle_tokens: {shuffle}
          cache_latents_to_disk: true
          resolution: [64]
      train:
        batch_size: 1
        steps: {steps}
        gradient_accumulation_steps: 1
        train_unet: true
        lr: {lr}
        optimizer: adamw8bit
      model:
        name_or_path: black-forest-labs/FLUX.1-dev
        is_flux: true
        quantize: true
"""


def ai_toolkit_config(tmp_path: Path, folder: Path, **values: object) -> Path:
    settings = {
        "trigger": "ohwx",
        "rank": 16,
        "ext": "txt",
        "shuffle": "false",
        "steps": 88,
        "lr": "1e-4",
    }
    settings.update(values)
    path = tmp_path / "train_lora_flux.yaml"
    path.write_text(AI_TOOLKIT.format(folder=folder, **settings))
    return path


def clean_dataset(make_dataset: MakeDataset, count: int = 4) -> Path:
    return make_dataset({f"{i:03d}": GOOD for i in range(count)}, config=None)


def marker_command() -> list[str]:
    return [sys.executable, "-c", f"print({MARKER!r})"]


def test_pass_runs_the_command(make_dataset: MakeDataset, tmp_path: Path) -> None:
    root = clean_dataset(make_dataset)
    config = ai_toolkit_config(tmp_path, root)
    result = run_lintcap(
        "gate",
        "--trainer",
        "ai-toolkit",
        config,
        "--no-gpu-check",
        "--ignore",
        "A007",
        "--",
        *marker_command(),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "gate: pass" in result.stdout
    assert MARKER in result.stdout


def test_fail_does_not_run_the_command(make_dataset: MakeDataset, tmp_path: Path) -> None:
    root = clean_dataset(make_dataset)
    (root / "000.txt").write_text(GOOD.replace("ohwx", "Ohwx", 1))
    config = ai_toolkit_config(tmp_path, root, ext="caption")
    result = run_lintcap(
        "gate", "--trainer", "ai-toolkit", config, "--no-gpu-check", "--", *marker_command()
    )
    assert result.returncode == 1
    assert MARKER not in result.stdout
    assert "T001" in result.stdout and "'.txt' captions" in result.stdout
    assert "gate: FAIL" in result.stdout


def test_dry_run_prints_the_plan(make_dataset: MakeDataset, tmp_path: Path) -> None:
    root = clean_dataset(make_dataset)
    config = ai_toolkit_config(tmp_path, root, steps=400)
    result = run_lintcap(
        "gate",
        "--trainer",
        "ai-toolkit",
        config,
        "--no-gpu-check",
        "--dry-run",
        "--",
        *marker_command(),
    )
    assert MARKER not in result.stdout
    assert "each image seen about 100.0 times" in result.stdout
    assert "T004" in result.stdout and "100.0 times" in result.stdout


def test_ai_toolkit_plan_values(tmp_path: Path) -> None:
    plan = load_ai_toolkit(ai_toolkit_config(tmp_path, tmp_path, lr="4e-4", shuffle="true"))
    [dataset] = plan.datasets
    assert (plan.trigger, plan.steps, plan.learning_rate, plan.rank) == ("ohwx", 88, 4e-4, 16)
    assert dataset.caption_extension == ".txt" and dataset.shuffle and dataset.resolutions == [64]
    assert plan.flux and plan.low_memory


def test_trigger_case_shuffle_lr_rank(make_dataset: MakeDataset, tmp_path: Path) -> None:
    root = clean_dataset(make_dataset)
    (root / "001.txt").write_text(GOOD.replace("ohwx", "OHWX", 1))
    config = ai_toolkit_config(tmp_path, root, shuffle="true", lr="1e-2", rank=512)
    result = gate("ai-toolkit", config, Config(), gpu_check=False)
    codes = {d.code for d in result.training}
    assert {"T002", "T003", "T005", "T006"} <= codes
    assert result.verdict == "fail"


KOHYA = """\
[general]
shuffle_caption = {shuffle}
keep_tokens = 0
{extension}

[[datasets]]
resolution = 64
batch_size = 1

  [[datasets.subsets]]
  image_dir = '{folder}'
  class_tokens = 'ohwx woman'
  num_repeats = 2
"""


def kohya_config(tmp_path: Path, folder: Path, shuffle: str = "false", extension: str = "") -> Path:
    path = tmp_path / "dataset.toml"
    path.write_text(KOHYA.format(folder=folder, shuffle=shuffle, extension=extension))
    return path


def test_kohya_default_caption_extension_is_dot_caption(
    make_dataset: MakeDataset, tmp_path: Path
) -> None:
    root = clean_dataset(make_dataset)
    config = kohya_config(tmp_path, root)
    plan = load_kohya(config, [], [])
    assert plan.datasets[0].caption_extension == ".caption"
    result = gate("kohya", config, Config(trigger="ohwx"), gpu_check=False)
    assert "T001" in {d.code for d in result.training}
    fixed = kohya_config(tmp_path, root, extension="caption_extension = '.txt'")
    assert "T001" not in {
        d.code for d in gate("kohya", fixed, Config(trigger="ohwx"), gpu_check=False).training
    }


def test_kohya_flux_cache_with_shuffle_and_multiline(
    make_dataset: MakeDataset, tmp_path: Path
) -> None:
    root = clean_dataset(make_dataset)
    (root / "002.txt").write_text(GOOD.replace(". close-up", ".\nclose-up"))
    config = kohya_config(tmp_path, root, shuffle="true", extension="caption_extension = '.txt'")
    command = [
        "accelerate",
        "launch",
        "flux_train_network.py",
        "--dataset_config",
        str(config),
        "--cache_text_encoder_outputs",
        "--learning_rate",
        "1e-4",
        "--network_dim",
        "16",
        "--network_alpha",
        "32",
        "--max_train_steps",
        "200",
    ]
    result = gate("kohya", config, Config(trigger="ohwx"), command=command, gpu_check=False)
    codes = {d.code for d in result.training}
    assert {"T003", "T008", "T009", "T006"} <= codes
    assert result.plan.learning_rate == 1e-4 and result.plan.steps == 200
    # 200 steps / (4 images x 2 repeats x 1 resolution)
    assert result.repeats_per_image == pytest.approx(25.0)
    assert "T004" not in codes


def test_kohya_args_option(make_dataset: MakeDataset, tmp_path: Path) -> None:
    root = clean_dataset(make_dataset)
    config = kohya_config(tmp_path, root, extension="caption_extension = '.txt'")
    plan = load_kohya(config, ["--learning_rate", "3e-4", "--max_train_steps", "100"], [])
    assert (plan.learning_rate, plan.steps) == (3e-4, 100)


def test_kohya_repeat_folders_without_toml(make_dataset: MakeDataset, tmp_path: Path) -> None:
    root = make_dataset({f"10_ohwx woman/{i}": GOOD for i in range(3)}, config=None, folder="train")
    (root / "10_ohwx woman" / "2.txt").unlink()
    result = gate(
        "kohya", root, Config(trigger="ohwx"), args=["--caption_extension", ".txt"], gpu_check=False
    )
    [dataset] = result.plan.datasets
    assert (dataset.repeats, dataset.class_tokens) == (10, "ohwx woman")
    [missing] = [d for d in result.training if d.code == "T010"]
    assert "'ohwx woman'" in missing.message


def test_small_images_below_resolution(make_dataset: MakeDataset, tmp_path: Path) -> None:
    root = clean_dataset(make_dataset)
    config = ai_toolkit_config(tmp_path, root)
    text = config.read_text().replace("resolution: [64]", "resolution: [512, 1024]")
    config.write_text(text)
    [finding] = [
        d
        for d in gate("ai-toolkit", config, Config(), gpu_check=False).training
        if d.code == "T007"
    ]
    assert "below the resolution 1024" in finding.message


def test_gpu_preflight(
    make_dataset: MakeDataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = clean_dataset(make_dataset)
    config = ai_toolkit_config(tmp_path, root)
    monkeypatch.setattr(gate_run, "gpu_facts", lambda: GpuFacts(torch=True, cuda=False))
    [finding] = [d for d in gate("ai-toolkit", config, Config()).training if d.code == "T011"]
    assert "no CUDA device" in finding.message
    small = GpuFacts(torch=True, cuda=True, name="Tiny GPU", memory_gb=12.0)
    monkeypatch.setattr(gate_run, "gpu_facts", lambda: small)
    [finding] = [d for d in gate("ai-toolkit", config, Config()).training if d.code == "T011"]
    assert "needs about 16 GB" in finding.message  # quantize: true
    big = GpuFacts(torch=True, cuda=True, name="H100", memory_gb=80.0)
    monkeypatch.setattr(gate_run, "gpu_facts", lambda: big)
    assert not [d for d in gate("ai-toolkit", config, Config()).training if d.code == "T011"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("job: extension\nconfig: {name: x}\n", "not an ai-toolkit config"),
        ("job: [unclosed\n", "invalid YAML"),
        ("- just\n- a list\n", "expected a mapping"),
    ],
)
def test_malformed_ai_toolkit_config(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(TrainerConfigError, match=expected):
        load_ai_toolkit(path)
    result = run_lintcap("gate", "--trainer", "ai-toolkit", path, "--no-gpu-check")
    assert result.returncode == 2 and expected in result.stderr and "Traceback" not in result.stderr


def test_malformed_kohya_config(tmp_path: Path) -> None:
    path = tmp_path / "dataset.toml"
    path.write_text("[general]\nshuffle_caption = true\n")
    with pytest.raises(TrainerConfigError, match="no \\[\\[datasets\\]\\]"):
        load_kohya(path, [], [])
