"""GPU and disk preflight, with torch when it is installed (extra ``llm``)."""

from __future__ import annotations

import shutil
from pathlib import Path

from pydantic import BaseModel


class GpuFacts(BaseModel):
    torch: bool = False
    #: A CUDA device; ROCm builds of torch report theirs through torch.cuda too.
    cuda: bool = False
    rocm: bool = False
    mps: bool = False
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
        rocm = bool(getattr(torch.version, "hip", None))
        backends = getattr(torch, "backends", None)
        mps_backend = getattr(backends, "mps", None)
        mps = bool(mps_backend is not None and mps_backend.is_available())
        if not torch.cuda.is_available():
            return GpuFacts(torch=True, mps=mps)
        properties = torch.cuda.get_device_properties(0)
        return GpuFacts(
            torch=True,
            cuda=True,
            rocm=rocm,
            mps=mps,
            name=properties.name,
            memory_gb=properties.total_memory / 1024**3,
        )
    except Exception as exc:  # a broken driver must be a finding, not a crash
        return GpuFacts(torch=True, error=f"{type(exc).__name__}: {exc}")


def free_disk_gb(folder: Path) -> float:
    return shutil.disk_usage(folder).free / 1024**3
