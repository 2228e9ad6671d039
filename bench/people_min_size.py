"""The smallest image on which the people detectors find a face: what
``people: min-image-side`` (rules/settings.yaml) rests on.

    python bench/people_min_size.py [opencv] [mediapipe]

The most favourable case for a detector: scikit-image's astronaut (a frontal,
smiling face) cropped to her face with 0, 20 or 40 pixels of margin, shifted
by -20, 0 and 20 pixels, then shrunk so that its short side is N pixels (area
and bilinear resampling). The table counts, for each N, the crops on which
each backend finds a face. ``min-image-side`` is set at the smallest N with a
find: below it no detector runs and the people facts say "not judged".
"""

from __future__ import annotations

import sys

import cv2
import numpy as np
from numpy.typing import NDArray
from rich.console import Console
from rich.table import Table
from skimage import data as photos

from lintcap.image.people import PeopleSettings, detect_people

SIZES = (12, 14, 15, 16, 17, 18, 19, 20, 24, 32)
#: Her face is about x 178-272, y 68-166 of the 512 x 512 photograph.
FACE = (178, 68, 272, 166)


def crops() -> list[NDArray[np.uint8]]:
    photo = np.ascontiguousarray(photos.astronaut()[..., :3], dtype=np.uint8)
    left, top, right, bottom = FACE
    return [
        photo[max(0, top - pad) : bottom + pad, max(0, left - pad + dx) : right + pad + dx]
        for dx in (-20, 0, 20)
        for pad in (0, 20, 40)
    ]


def shrink(image: NDArray[np.uint8], side: int, interpolation: int) -> NDArray[np.uint8]:
    height, width = image.shape[:2]
    scale = side / min(height, width)
    size = (max(side, round(width * scale)), max(side, round(height * scale)))
    return np.ascontiguousarray(cv2.resize(image, size, interpolation=interpolation))


def main() -> None:
    backends = sys.argv[1:] or ["opencv", "mediapipe"]
    settings = PeopleSettings(min_image_side=1)  # judge every size here
    table = Table(title="crops of a frontal face on which a face is found, by short side")
    table.add_column("short side px", justify="right")
    for backend in backends:
        table.add_column(backend, justify="right")
    faces = crops()
    modes = (cv2.INTER_AREA, cv2.INTER_LINEAR)
    for side in SIZES:
        row = [str(side)]
        for backend in backends:
            found = sum(
                bool(detect_people(shrink(face, side, mode), settings, backend).faces)  # type: ignore[arg-type]
                for face in faces
                for mode in modes
            )
            row.append(f"{found} / {len(faces) * len(modes)}")
        table.add_row(*row)
    Console().print(table)
    print(f"min-image-side now: {PeopleSettings().min_image_side}")


if __name__ == "__main__":
    main()
