"""Cost per image of each image detector, one process on one core.

CPU time (all threads of the process, so a busy machine inflates it less than
wall time) of each stage of the analysis on the real photographs of
``../shared/realdata/photos`` (or DIR), decoded once to the working size:
quality, the colour family, both as the analyser runs them (sharing one
thumbnail), borders, the morphological text search, the learned text detector
(the text extra), the face boxes alone (the faces family, which the focus
measure reads) and the people backends (Haar cascades; mediapipe with its
Haar fallback, face mesh and pose). The pool runs one such process per core, so on 2
cores a dataset costs about half the sum per image.

    python bench/image_detectors.py [DIR] [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("photos", nargs="?", type=Path)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    import real_edits

    from lintcap.image import text
    from lintcap.image.load import LoadedImage, LoadFailure, load_image
    from lintcap.image.overlay import measure_overlay
    from lintcap.image.people import PeopleSettings, detect_faces, detect_people
    from lintcap.image.quality import colour_planes, measure_colour, measure_quality

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import cv2

    cv2.setNumThreads(1)
    folder = args.photos or real_edits.PHOTOS
    images = []
    decode_ms = []
    for path in sorted(folder.glob("*.jpg")):
        start = time.process_time()
        loaded = load_image(path, path.name, 178_956_970, 1024)
        decode_ms.append((time.process_time() - start) * 1000)
        if not isinstance(loaded, LoadFailure):
            images.append(loaded)
    people = PeopleSettings()
    from lintcap.config import Config
    from lintcap.engine.spec import load_rulebook

    # The detector alone, and as the rules run it: with the recogniser
    # reading the unsure lines (lintcap.image.wording, read-cues), and without
    # reading again the turned pieces of a tiling (lintcap.image.pieces)...
    plain = text.TextSettings(
        read_max_lines=0, extend_max_lines=0, turned_pass=False, large_pass=False
    )
    shipped = load_rulebook(Config()).settings.image_analysis.text
    ruled = shipped.model_copy(update={"turned_pass": False, "large_pass": False})
    unextended = ruled.model_copy(update={"extend_max_lines": 0})
    # ...and without reading by halves the lines read unsurely (lintcap.image.halves).
    unsplit = ruled.model_copy(update={"split_max_lines": 0})
    corners = plain.model_copy(update={"corner_pass": True})
    turned = plain.model_copy(update={"turned_pass": True})
    larger = plain.model_copy(update={"large_pass": True})
    # ...and as shipped: both second looks, read.

    def quality_and_colour(im: LoadedImage) -> None:
        planes = colour_planes(im.working, im.gray)  # made once, as the analyser shares them
        measure_colour(im.working, im.gray, None, planes)
        measure_quality(im.working, im.full_gray, None, None, None, im.gray, planes)

    stages: dict[str, Callable[..., object]] = {
        "quality": lambda im: measure_quality(im.working, im.full_gray, None, None, None, im.gray),
        "colour": lambda im: measure_colour(im.working, im.gray),
        "quality + colour (shared)": quality_and_colour,
        "borders only": lambda im: measure_overlay(im.working, im.gray, search_text=False),
        "text: morphology (+ borders)": lambda im: measure_overlay(im.working, im.gray),
        "text: learned (DB, 640 px)": lambda im: text.find_text(im.working, plain),
        "text: learned + reading (second looks off)": lambda im: text.find_text(im.working, ruled),
        "text: ... less piece reading": lambda im: text.find_text(im.working, unextended),
        "text: ... less halves reading": lambda im: text.find_text(im.working, unsplit),
        "text: learned + corner pass": lambda im: text.find_text(im.working, corners),
        "text: learned + turned pass": lambda im: text.find_text(im.working, turned),
        "text: learned + larger pass": lambda im: text.find_text(im.working, larger),
        "text: as shipped (both looks, + reading)": lambda im: text.find_text(im.working, shipped),
        "faces: mediapipe boxes alone": lambda im: detect_faces(
            im.working, people, "mediapipe", im.gray
        ),
        "people: opencv (Haar)": lambda im: detect_people(im.working, people, "opencv", im.gray),
        "people: mediapipe": lambda im: detect_people(im.working, people, "mediapipe", im.gray),
    }
    for stage in stages.values():  # models loaded, caches warm
        stage(images[0])
    print(f"{len(images)} photos, long side <= 1024 px, one process; CPU ms per image\n")
    print(f"{'stage':<42}{'mean ms':>9}{'median':>8}{'p90':>8}")
    decode_ms.sort()
    p90 = decode_ms[int(0.9 * (len(decode_ms) - 1))]
    print(
        f"{'decode (working size, grey)':<42}{statistics.mean(decode_ms):>9.1f}"
        f"{statistics.median(decode_ms):>8.1f}{p90:>8.1f}"
    )
    for name, stage in stages.items():
        times = []
        for _ in range(args.repeat):
            for image in images:
                start = time.process_time()
                stage(image)
                times.append((time.process_time() - start) * 1000)
        times.sort()
        p90 = times[int(0.9 * (len(times) - 1))]
        print(
            f"{name:<42}{statistics.mean(times):>9.1f}{statistics.median(times):>8.1f}{p90:>8.1f}"
        )


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(HERE))
    main()
