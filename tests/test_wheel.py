"""The rule packs ship inside the wheel: a wheel built from this checkout,
installed into a fresh virtual environment outside it, lists every rule."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent


def test_wheel_ships_the_rules(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "--outdir",
            str(dist),
            str(REPO),
        ],
        check=True,
        capture_output=True,
        cwd=tmp_path,
    )
    [wheel] = dist.glob("lintcap-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        shipped = set(archive.namelist())
    # The text detector's model, with its licence and provenance.
    assert {
        "lintcap/models/ppocrv4_det.onnx",
        "lintcap/models/NOTICE",
        "lintcap/models/LICENSE-Apache-2.0.txt",
    } <= shipped
    # Both licences are declared in the metadata and their files ride along.
    [metadata_name] = [name for name in shipped if name.endswith(".dist-info/METADATA")]
    with zipfile.ZipFile(wheel) as archive:
        metadata = archive.read(metadata_name).decode("utf-8")
    assert "License-Expression: MIT AND Apache-2.0" in metadata
    licences = {name.rsplit("/", 1)[-1] for name in shipped if "/licenses/" in name}
    assert {"LICENSE", "NOTICE", "LICENSE-Apache-2.0.txt"} <= licences

    env_dir = tmp_path / "fresh-venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--no-deps", "--no-index", "--quiet", str(wheel)],
        check=True,
        capture_output=True,
    )
    # The wheel's dependencies (spaCy, pydantic, ...) come from this test
    # environment's site-packages, appended after the fresh venv's own; the
    # checkout itself is not on the path.
    fresh_site = next((env_dir / "lib").glob("python3*/site-packages"))
    (fresh_site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    environment = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    where = subprocess.run(
        [str(python), "-c", "import lintcap.resources as r; print(r.rules_dir())"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environment,
        check=True,
    )
    assert Path(where.stdout.strip()).is_relative_to(env_dir), where.stdout

    listing = subprocess.run(
        [str(env_dir / "bin" / "lintcap"), "rules", "list"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environment,
    )
    assert listing.returncode == 0, listing.stderr
    shipped = [
        rule["code"]
        for path in sorted((REPO / "rules").glob("*.yaml"))
        for rule in (yaml.safe_load(path.read_text()) or {}).get("rules", [])
    ]
    assert len(shipped) > 25
    for code in shipped:
        assert code in listing.stdout, code

    # The HTML report's template ships too: the installed lintcap writes a
    # report on the example dataset (caption rules only, to stay quick).
    report = tmp_path / "report.html"
    checked = subprocess.run(
        [str(env_dir / "bin" / "lintcap"), "check", str(REPO / "examples" / "character"),
         "--select", "C", "--html", str(report)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environment,
    )  # fmt: skip
    assert checked.returncode == 1, checked.stderr
    assert report.read_text(encoding="utf-8").count('<article class="card') == 18
