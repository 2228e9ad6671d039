"""GPU and disk preflight, with torch when it is installed (extra ``llm``)."""

from __future__ import annotations

import shutil
from pathlib import Path

from pydantic import BaseModel


class GpuFacts(BaseModel):
    torch: bool = False
    cuda: bool = False
    name: str | None = None
    memory_gb: float | None = None
    error: str | None = None


def gpu_facts() -> GpuFacts:
    """What torch can see; never raises."""
    try:
        import torch
    except ImportError:
        return GpuFacts()
    try:
        if not torch.cuda.is_available():
            return GpuFacts(torch=True)
        properties = torch.cuda.get_device_properties(0)
        return GpuFacts(
            torch=True,
            cuda=True,
            name=properties.name,
            memory_gb=properties.total_memory / 1024**3,
        )
    except Exception as exc:  # a broken driver must be a finding, not a crash
        return GpuFacts(torch=True, error=f"{type(exc).__name__}: {exc}")


def free_disk_gb(folder: Path) -> float:
    return shutil.disk_usage(folder).free / 1024**3
