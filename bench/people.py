"""People-analysis speed: milliseconds per image for each backend.

    python bench/people.py                   # the opencv backend
    python bench/people.py opencv mediapipe  # both (mediapipe needs the faces extra)

Images are scikit-image's photographs resized to a 1024-pixel long side, as
the analyser passes them: two with people (astronaut: a frontal face;
camera: a profile) and five without (coffee, chelsea, rocket, a gradient,
hubble_deep_field). Each is analysed once to warm up, then REPEAT times;
the median is reported. One process, OpenCV on one thread; run it under
``taskset -c 0`` to hold MediaPipe's own threads to one core too.
"""

from __future__ import annotations

import statistics
import sys
import time

import cv2
import numpy as np
from numpy.typing import NDArray
from rich.console import Console
from rich.table import Table
from skimage import data as photos

from lintcap.image.people import PeopleSettings, detect_people

REPEAT = 7
IMAGES = ["astronaut", "camera", "coffee", "chelsea", "rocket", "gradient", "hubble_deep_field"]


def image(name: str, size: int = 1024) -> NDArray[np.uint8]:
    if name == "gradient":
        ramp = np.tile(np.linspace(0, 255, size, dtype=np.uint8), (size * 3 // 4, 1))
        return np.ascontiguousarray(np.stack([ramp, ramp[:, ::-1], ramp], axis=-1))
    array = np.asarray(getattr(photos, name)())
    if array.ndim == 2:
        array = np.stack([array] * 3, axis=-1)
    array = np.ascontiguousarray(array[..., :3], dtype=np.uint8)
    height, width = array.shape[:2]
    scale = size / max(height, width)
    dims = (round(width * scale), round(height * scale))
    return np.asarray(cv2.resize(array, dims, interpolation=cv2.INTER_CUBIC), dtype=np.uint8)


def main(backends: list[str]) -> None:
    cv2.setNumThreads(1)
    settings = PeopleSettings()
    table = Table("image", *[f"{backend} ms" for backend in backends], "faces / yaw / framing")
    pictures = {name: image(name) for name in IMAGES}
    rows: dict[str, list[str]] = {name: [] for name in IMAGES}
    notes: dict[str, str] = {}
    for backend in backends:
        for name, pixels in pictures.items():
            facts = detect_people(pixels, settings, backend)  # type: ignore[arg-type]
            times = []
            for _ in range(REPEAT):
                start = time.perf_counter()
                detect_people(pixels, settings, backend)  # type: ignore[arg-type]
                times.append((time.perf_counter() - start) * 1000)
            rows[name].append(f"{statistics.median(times):.1f}")
            notes[name] = f"{len(facts.faces)} / {facts.yaw} / {facts.framing}"
    for name in IMAGES:
        height, width = pictures[name].shape[:2]
        table.add_row(f"{name} {width}x{height}", *rows[name], notes[name])
    Console().print(table)


if __name__ == "__main__":
    main(sys.argv[1:] or ["opencv"])
