"""lintcap gate with ai-toolkit: configs written here in ai-toolkit's documented
layout (config/examples/train_lora_flux_24gb.yaml), each asserting what
ostris/ai-toolkit@27a03a91 does (file:line in docs/trainers.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from lintcap.cli import cli
from lintcap.config import Config
from lintcap.gate import run as gate_run
from lintcap.gate.buckets import ai_toolkit_bucket
from lintcap.gate.captions import inject_trigger
from lintcap.gate.gpu import GpuFacts
from lintcap.gate.run import GateResult, gate
from lintcap.gate.trainers import TrainerConfigError, load_ai_toolkit
from tests.conftest import flat_images, run_lintcap

GOOD = (
    "ohwx, a photo of a woman wearing a red wool coat, standing on a city street at night. "
    "She is smiling. close-up, from side, looking at viewer, neon lighting"
)
MARKER = "TRAINING-COMMAND-RAN"
QUIET = Config(select=["T", "F", "C001"])


def images(
    folder: Path, count: int, captions: str | None = GOOD, size: tuple[int, int] = (64, 64)
) -> Path:
    """``count`` tiny images, each with a ``.txt`` caption unless None."""
    return flat_images(folder, count, captions, size=size, tint=(7, 90, 160))


def job(
    tmp_path: Path,
    datasets: str,
    train: str = "steps: 100",
    extra: str = "",
    name: str = "lora.yaml",
) -> Path:
    """An ai-toolkit job in its example layout: one sd_trainer process."""
    path = tmp_path / name
    path.write_text(
        f"""\
job: extension
config:
  name: my_first_lora
  process:
    - type: sd_trainer
      training_folder: output
      device: cuda:0
      trigger_word: ohwx
{extra}      network:
        type: lora
        linear: 16
        linear_alpha: 16
      datasets:
{datasets}
      train:
        {train}
        lr: 1e-4
        optimizer: adamw8bit
      model:
        name_or_path: black-forest-labs/FLUX.1-dev
        is_flux: true
        quantize: true
"""
    )
    return path


def dataset(folder: Path, **keys: object) -> str:
    lines = [f"        - folder_path: {folder}"]
    lines += [f"          {key}: {json.dumps(value)}" for key, value in keys.items()]
    return "\n".join(lines)


def run_gate(config: Path, settings: Config = QUIET) -> GateResult:
    return gate("ai-toolkit", config, settings, gpu_check=False)


def gate_cli(config: Path, *extra: str) -> Result:
    """``lintcap gate --trainer ai-toolkit CONFIG --no-gpu-check EXTRA...`` in
    process (click's runner): the command line as typed, without the GPU probe
    that would make the verdict depend on the machine."""
    return CliRunner().invoke(
        cli, ["gate", "--trainer", "ai-toolkit", str(config), "--no-gpu-check", *extra]
    )


def codes(result: GateResult) -> set[str]:
    return {d.code for d in result.findings}


# --- captions: which file, what text -------------------------------------------


def test_metadata_jsonl_alone_fails_every_image_trains_on_the_bare_trigger(tmp_path: Path) -> None:
    folder = images(tmp_path / "data", 3, captions=None)
    (folder / "metadata.jsonl").write_text(
        "".join(json.dumps({"file_name": f"{i:03d}.png", "text": GOOD}) + "\n" for i in range(3))
    )
    result = run_gate(job(tmp_path, dataset(folder)))
    assert result.verdict == "fail"
    [t010] = [d for d in result.training if d.code == "T010"]
    assert "3 of 3 images train on the bare trigger 'ohwx'" in t010.message
    assert "never reads the metadata.jsonl" in t010.message
    assert len(t010.related) == 3
    assert [c.text for c in result.runs[0].captions] == ["ohwx "] * 3


def test_trigger_injection_and_replacement() -> None:
    # toolkit/prompt_utils.py:715-748
    assert inject_trigger("a woman", "ohwx", True) == "ohwx a woman"
    assert inject_trigger("a woman, ohwx style", "ohwx", True) == "a woman, ohwx style"
    assert inject_trigger("[trigger] a woman", "ohwx", True) == "ohwx a woman"
    assert inject_trigger("[trigger] a woman", None, True) == " a woman"
    assert inject_trigger("Ohwx a woman", "ohwx", True) == "ohwx Ohwx a woman"
    assert inject_trigger("a woman", "ohwx", False) == "a woman"  # reg datasets


def test_caption_as_built_and_house_style_does_not_block(tmp_path: Path) -> None:
    folder = images(tmp_path / "data", 2, captions="a woman,red coat")
    (folder / "001.txt").write_text("a photo of ohwx, smiling")
    result = run_gate(job(tmp_path, dataset(folder)))
    built = [c.text for c in result.runs[0].captions]
    # dataloader_mixins.py:420,434: split on "," and joined with ", "; then the trigger.
    assert built == ["ohwx a woman, red coat", "a photo of ohwx,  smiling"]
    # C001 (trigger not first) is house style on the built text: reported, not blocking.
    assert "C001" in codes(result)
    assert result.verdict == "pass"


def test_default_caption_and_placeholder_without_trigger(tmp_path: Path) -> None:
    folder = images(tmp_path / "data", 2, captions="[trigger] on a beach")
    (folder / "001.txt").unlink()
    config = job(tmp_path, dataset(folder, default_caption="a photo"))
    config.write_text(config.read_text().replace("      trigger_word: ohwx\n", ""))
    result = run_gate(config)
    captions = result.runs[0].captions
    assert [c.text for c in captions] == [" on a beach", "a photo"]
    assert captions[1].fallback == "default_caption"
    [t002] = [d for d in result.training if d.code == "T002"]
    assert "ai-toolkit removes it" in t002.message
    assert "T010" not in codes(result)  # default_caption is deliberate


# --- steps and passes ------------------------------------------------------------


def test_passes_ignore_resolutions_and_a_lone_datasets_repeats(tmp_path: Path) -> None:
    folder = images(tmp_path / "data", 20)
    config = job(
        tmp_path,
        dataset(folder, resolution=[512, 768, 1024], num_repeats=5),
        train="steps: 300\n        batch_size: 2\n        gradient_accumulation: 2",
    )
    result = run_gate(config)
    # steps x batch x gradient_accumulation / images = 300 x 2 x 2 / 20
    assert result.runs[0].passes == pytest.approx(60.0)
    [t004] = [d for d in result.training if d.code == "T004"]
    assert "about 60.0 times" in t004.message


def test_legacy_accumulation_draws_one_batch_per_step(tmp_path: Path) -> None:
    folder = images(tmp_path / "data", 20)
    config = job(
        tmp_path, dataset(folder), train="steps: 300\n        gradient_accumulation_steps: 4"
    )
    result = run_gate(config)
    assert result.plan.gradient_accumulation == 1
    assert result.runs[0].passes == pytest.approx(15.0)
    assert "T013" in codes(result)
    both = job(
        tmp_path,
        dataset(folder),
        train="steps: 3\n        gradient_accumulation: 2\n        gradient_accumulation_steps: 2",
    )
    with pytest.raises(TrainerConfigError, match="mutually exclusive"):
        run_gate(both)


def test_dataset_batch_size_and_reg_every_other_step(tmp_path: Path) -> None:
    train = images(tmp_path / "train", 10)
    reg = images(tmp_path / "reg", 5, captions="a woman")
    config = job(
        tmp_path,
        dataset(train, batch_size=4) + "\n" + dataset(reg, is_reg=True),
        train="steps: 100\n        batch_size: 1",
    )
    result = run_gate(config)
    train_run, reg_run = result.runs
    # even steps 0..98 draw from the reg dataset: 50 train steps x batch 4 / 10 images
    assert train_run.passes == pytest.approx(20.0)
    assert reg_run.passes == pytest.approx(10.0)  # 50 steps x batch 1 / 5 images
    assert reg_run.captions[0].text == "a woman"  # no trigger on reg


def test_bucket_and_repeat_rules(tmp_path: Path) -> None:
    folder = images(tmp_path / "data", 10)
    zero = run_gate(job(tmp_path, dataset(folder, num_repeats=0)))  # data_loader.py:452: as 1
    assert zero.runs[0].dataset.repeats == 1 and zero.runs[0].passes == pytest.approx(10.0)
    mixed = job(tmp_path, dataset(folder, buckets=False) + "\n" + dataset(folder))
    with pytest.raises(TrainerConfigError, match="all buckets or none"):
        run_gate(mixed)
    unbucketed = job(tmp_path, dataset(folder, buckets=False, batch_size=2))
    with pytest.raises(TrainerConfigError, match="needs buckets enabled"):
        run_gate(unbucketed)


def test_default_steps_are_1000(tmp_path: Path) -> None:
    folder = images(tmp_path / "data", 10)
    result = run_gate(job(tmp_path, dataset(folder), train="batch_size: 1"))
    assert (result.steps[0], result.plan.steps_source) == (1000, "default")
    assert result.runs[0].passes == pytest.approx(100.0)


# --- buckets -----------------------------------------------------------------------


def test_bucket_by_area_without_upscaling(tmp_path: Path) -> None:
    # toolkit/buckets.py:17-48 with bucket_tolerance 64 (config_modules.py:950)
    assert ai_toolkit_bucket(848, 1264, 1024, 64) == (832, 1216)
    assert ai_toolkit_bucket(512, 512, 1024, 64) == (512, 512)
    assert ai_toolkit_bucket(2000, 1000, 512, 64) == (768, 320)  # nearest area of 4 candidates
    big = images(tmp_path / "data", 2, size=(848, 1264))
    result = run_gate(job(tmp_path, dataset(big, resolution=1024)))
    assert "T007" not in codes(result)  # full 1024² area, though its short side is 848
    small = images(tmp_path / "small", 2, size=(300, 400))
    [t007] = [
        d
        for d in run_gate(job(tmp_path, dataset(small, resolution=1024))).training
        if d.code == "T007"
    ]
    assert "their own, smaller size (e.g. 320x384)" in t007.message


def test_shuffle_tokens_moves_the_trigger_despite_keep_tokens(tmp_path: Path) -> None:
    folder = images(tmp_path / "data", 2)
    result = run_gate(job(tmp_path, dataset(folder, shuffle_tokens=True, keep_tokens=1)))
    [t003] = [d for d in result.training if d.code == "T003"]
    assert "the trigger included" in t003.message
    assert result.verdict == "fail"


# --- config forms -------------------------------------------------------------------


def test_every_process_is_checked(tmp_path: Path) -> None:
    first = images(tmp_path / "a", 4)
    second = images(tmp_path / "b", 2, captions=None)
    config = job(tmp_path, dataset(first))
    text = config.read_text()
    process = text[text.index("    - type: sd_trainer") :]
    config.write_text(text + process.replace(str(first), str(second)))
    result = run_gate(config)
    assert len(result.plans) == 2 and result.runs[1].plan_index == 1
    [t010] = [d for d in result.training if d.code == "T010"]
    assert t010.path is not None and t010.path.rstrip("/").endswith("b")


def test_env_vars_name_json_and_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    images(tmp_path / "sets" / "my_first_lora", 3)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATA_ROOT", "sets")
    config = job(tmp_path, dataset(Path("${DATA_ROOT}/[name]")))
    result = run_gate(config)
    assert result.runs[0].dataset.folder == tmp_path / "sets" / "my_first_lora"
    assert len(result.runs[0].captions) == 3
    monkeypatch.delenv("DATA_ROOT")
    with pytest.raises(TrainerConfigError, match="environment variable DATA_ROOT is not set"):
        run_gate(config)
    as_json = tmp_path / "lora.json"
    data = {
        "job": "extension",
        "config": {
            "name": "x",
            "process": [
                {
                    "type": "sd_trainer",
                    "datasets": [{"dataset_path": "sets/my_first_lora", "folder_path": "nowhere"}],
                }
            ],
        },
    }
    as_json.write_text(json.dumps(data))
    assert len(run_gate(as_json).runs[0].captions) == 3  # dataset_path wins over folder_path
    jsonc = tmp_path / "lora.jsonc"
    jsonc.write_text("// comment\n" + json.dumps(data))
    with pytest.raises(TrainerConfigError, match="invalid JSONC"):
        run_gate(jsonc)


def test_dataset_path_json_captions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = images(tmp_path / "data", 4, captions=None)
    captions = {str(folder / f"{i:03d}.png"): {"caption": f"a woman, pose {i}"} for i in range(3)}
    (tmp_path / "captions.json").write_text(json.dumps(captions))
    monkeypatch.chdir(tmp_path)
    config = job(tmp_path, "        - dataset_path: captions.json", train="steps: 30")
    result = run_gate(config)
    run = result.runs[0]
    # data_loader.py:443-447: the JSON's keys are the images; dataloader_mixins.py:336-341
    assert run.dataset.caption_source == "metadata" and len(run.captions) == 3
    assert run.captions[0].text == "ohwx a woman,  pose 0"
    assert run.passes == pytest.approx(10.0)  # 30 x 1 / 3
    assert "T010" not in codes(result)


def test_unknown_process_type_and_job(tmp_path: Path) -> None:
    folder = images(tmp_path / "data", 1)
    config = job(tmp_path, dataset(folder))
    config.write_text(config.read_text().replace("type: sd_trainer", "type: sd_trainr"))
    with pytest.raises(TrainerConfigError, match="did you mean 'sd_trainer'"):
        run_gate(config)
    config.write_text(config.read_text().replace("job: extension", "job: extensions"))
    with pytest.raises(TrainerConfigError, match="unknown job type"):
        run_gate(config)


def test_learning_rate_band_knows_the_optimizer(tmp_path: Path) -> None:
    folder = images(tmp_path / "data", 2)
    prodigy = job(
        tmp_path, dataset(folder), train="steps: 10\n        lr: 1.0\n        optimizer: prodigy"
    ).read_text()
    path = tmp_path / "p.yaml"
    path.write_text(prodigy.replace("        lr: 1e-4\n        optimizer: adamw8bit\n", ""))
    assert "T005" not in codes(run_gate(path))
    path.write_text(path.read_text().replace("optimizer: prodigy", "optimizer: adamw"))
    [t005] = [d for d in run_gate(path).training if d.code == "T005"]
    assert "learning rate 1 is outside" in t005.message


def test_gpu_preflight_knows_mps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = images(tmp_path / "data", 2)
    config = job(tmp_path, dataset(folder))
    settings = Config(select=["T011"])
    monkeypatch.setattr(gate_run, "gpu_facts", lambda: GpuFacts(torch=True, cuda=False))
    [finding] = [d for d in gate("ai-toolkit", config, settings).training if d.code == "T011"]
    assert "no CUDA or ROCm device" in finding.message
    small = GpuFacts(torch=True, cuda=True, rocm=True, name="Tiny GPU", memory_gb=12.0)
    monkeypatch.setattr(gate_run, "gpu_facts", lambda: small)
    [finding] = [d for d in gate("ai-toolkit", config, settings).training if d.code == "T011"]
    assert "needs about 16 GB" in finding.message  # quantize: true
    config.write_text(config.read_text().replace("device: cuda:0", "device: mps"))
    monkeypatch.setattr(gate_run, "gpu_facts", lambda: GpuFacts(torch=True, mps=True))
    assert not [d for d in gate("ai-toolkit", config, settings).training if d.code == "T011"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("job: extension\nconfig: {name: x}\n", "config.process must be a non-empty list"),
        ("job: [unclosed\n", "invalid YAML"),
        ("- just\n- a list\n", "expected a mapping"),
        ("job: extension\nconfig: {process: []}\n", "config.name is missing"),
    ],
)
def test_malformed_ai_toolkit_config(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(TrainerConfigError, match=expected):
        load_ai_toolkit(path)


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ({"caption_ext": ".a/b"}, "is not a file extension"),
        ({"num_repeats": 1e400}, "must be a whole number"),
        ({"num_repeats": 2.5}, "must be a whole number"),
    ],
)
def test_bad_dataset_values_are_one_line(
    tmp_path: Path, keys: dict[str, object], expected: str
) -> None:
    folder = images(tmp_path / "data", 1)
    text = dataset(folder, **keys).replace("Infinity", "1e400")
    result = gate_cli(job(tmp_path, text))
    assert result.exit_code == 2, result.output
    assert expected in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


# --- the command line -------------------------------------------------------------------


def marker_command() -> list[str]:
    return [sys.executable, "-c", f"print({MARKER!r})"]


def test_pass_runs_the_command(tmp_path: Path) -> None:
    config = job(tmp_path, dataset(images(tmp_path / "data", 4)), train="steps: 88")
    result = run_lintcap(
        "gate",
        "--trainer",
        "ai-toolkit",
        config,
        "--no-gpu-check",
        "--ignore",
        "A,D,I,C,W",
        "--",
        *marker_command(),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "gate: pass" in result.stdout and MARKER in result.stdout


def test_command_without_dashes_is_refused(tmp_path: Path) -> None:
    config = job(tmp_path, dataset(images(tmp_path / "data", 2)))
    runner = CliRunner()
    result = runner.invoke(
        cli, ["gate", "--trainer", "ai-toolkit", str(config), "python", "run.py", "--dry-run"]
    )
    assert result.exit_code == 2 and "put '--' before the training command" in result.output
    result = runner.invoke(cli, ["gate", "--trainer", "ai-toolkit", str(config), "--", ""])
    assert result.exit_code == 2 and "empty program name" in result.output


def test_fail_does_not_run_the_command(tmp_path: Path) -> None:
    config = job(tmp_path, dataset(images(tmp_path / "data", 2, captions=None)))
    result = gate_cli(config, "--", "false")
    assert result.exit_code == 1
    assert "gate: FAIL" in result.output and "T010" in result.output


def test_dry_run_json(tmp_path: Path) -> None:
    folder = images(tmp_path / "data", 10)
    config = job(
        tmp_path, dataset(folder, resolution=[512, 1024]), train="steps: 250\n        batch_size: 2"
    )
    result = gate_cli(config, "--dry-run", "--format", "json")
    payload = json.loads(result.output)
    assert payload["verdict"] in {"pass", "fail"}
    plan = payload["plan"]
    assert (plan["trainer"], plan["steps"], plan["batch_size"], plan["gradient_accumulation"]) == (
        "ai-toolkit",
        250,
        2,
        1,
    )
    [entry] = plan["datasets"]
    assert (
        entry["images"] == 10 and entry["captions"] == 10 and entry["caption_source"] == "sidecar"
    )
    assert entry["resolutions"] == [512, 1024] and entry["is_reg"] is False
    assert entry["passes_per_image"] == 50.0
    assert all(
        set(f) >= {"code", "severity", "path", "message", "related"} for f in payload["findings"]
    )


def test_explain_shows_the_trainer_caption_and_buckets(tmp_path: Path) -> None:
    folder = images(tmp_path / "data", 1, captions="a woman, red coat", size=(848, 1264))
    config = job(tmp_path, dataset(folder, resolution=[512, 1024], shuffle_tokens=True))
    result = gate_cli(config, "--explain", "--ignore", "A,C,D,I,W")
    assert "⟨ohwx a woman,  red coat⟩" in result.output
    assert "848x1264 -> 512: 448x576, 1024: 832x1216" in result.output
    assert "100.0 passes per image" in result.output
