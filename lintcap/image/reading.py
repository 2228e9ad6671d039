"""Reading what a detected line says, for the lines whose geometry leaves it open.

The detector of :mod:`lintcap.image.text` finds where text is and
classifies it by geometry alone. Some lines stay unsure: a keyboard's keys
or a row of teeth look like a tiling, a centred mark looks like a sign. The
``rapidocr-onnxruntime`` wheel of the text extra ships PaddleOCR's PP-OCRv4
recognition model too (``models/ch_PP-OCRv4_rec_infer.onnx``, Apache-2.0,
its character list in the model's metadata); this module runs it on a
bounded number of those lines (CTC, greedy decoding) and returns the text
and the model's confidence. What the text means is decided in
:mod:`lintcap.image.wording` from the cue lists of ``rules/settings.yaml``.

The input follows PaddleOCR's recogniser: the line cut out upright, 48 px
high, RGB→BGR, scaled to [-1, 1], its width in proportion (capped).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from lintcap.lazy import cv2

if TYPE_CHECKING:
    from lintcap.image.text import TextBox

RGB = NDArray[np.uint8]

#: Where the model sits inside the rapidocr-onnxruntime package.
REC_MODEL_FILE = "models/ch_PP-OCRv4_rec_infer.onnx"
#: The distribution that ships it (the text extra).
REC_DISTRIBUTION = "rapidocr-onnxruntime"
#: The model's input height, pixels.
LINE_HEIGHT = 48

_LOCK = threading.Lock()


def model_path() -> Path | None:
    """The recognition model of the installed rapidocr-onnxruntime."""
    from lintcap.image.text import rapidocr_folder

    folder = rapidocr_folder()
    if folder is None:
        return None
    path = folder / REC_MODEL_FILE
    return path if path.is_file() else None


@lru_cache(maxsize=1)
def _session() -> tuple[Any, list[str]]:
    path = model_path()
    if path is None:
        raise FileNotFoundError(REC_MODEL_FILE)
    from lintcap.image.sessions import single_thread_session

    session = single_thread_session(path)
    characters = session.get_modelmeta().custom_metadata_map.get("character", "").splitlines()
    # CTC: index 0 is the blank, the last index a space.
    return session, ["", *characters, " "]


def available() -> bool:
    """Whether lines can be read here."""
    return model_path() is not None


def recogniser_id() -> str | None:
    """What reads the lines here, for the text facts' cache key (facts
    measured without reading, or by another release of the recogniser, are
    not this run's); None when lines cannot be read."""
    if not available():
        return None
    from importlib.metadata import PackageNotFoundError, version

    try:
        release = version(REC_DISTRIBUTION)
    except PackageNotFoundError:
        release = "unknown"
    return f"{REC_DISTRIBUTION}=={release}:{REC_MODEL_FILE}"


def cut_line(
    rgb: RGB, centre: tuple[float, float], length: float, height: float, angle: float
) -> RGB:
    """The line of ``length`` by ``height`` around ``centre`` at ``angle``
    (degrees counter-clockwise, image y down), turned level and cut out."""
    cx, cy = centre
    matrix = cv2.getRotationMatrix2D((cx, cy), -angle, 1.0)
    # Rotating about the centre, then shifting it to the middle of the cut.
    out_w, out_h = max(4, round(length)), max(4, round(height))
    matrix[0, 2] += out_w / 2 - cx
    matrix[1, 2] += out_h / 2 - cy
    return np.asarray(
        cv2.warpAffine(
            rgb, matrix, (out_w, out_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        ),
        dtype=np.uint8,
    )


def read_boxes(
    rgb: RGB, boxes: Sequence[TextBox], max_width: int, factor: float = 1.0
) -> list[tuple[str, float]]:
    """What each detected line says (:func:`read_lines`), each cut out
    upright around its centre, ``factor`` times its length (a piece of a
    longer word read whole: :mod:`lintcap.image.pieces`)."""
    from lintcap.image.text import _length

    cuts = [
        cut_line(rgb, (b.x + b.w / 2, b.y + b.h / 2), factor * _length(b), b.height, b.angle)
        for b in boxes
    ]
    return read_lines(cuts, max_width)


def read_lines(lines: list[RGB], max_width: int) -> list[tuple[str, float]]:
    """Text and mean character confidence (0-1; 0 when nothing is read) of
    each cut-out line, one model call per line (lines differ in width),
    each scaled to 48 px high and at most ``max_width`` wide
    (``read-max-width``)."""
    if not lines:
        return []
    with _LOCK:
        session, characters = _session()
    name = session.get_inputs()[0].name
    results: list[tuple[str, float]] = []
    for line in lines:
        height, width = line.shape[:2]
        new_w = int(min(max_width, max(LINE_HEIGHT // 2, round(width * LINE_HEIGHT / height))))
        small = cv2.resize(line, (new_w, LINE_HEIGHT), interpolation=cv2.INTER_AREA)
        tensor = small[..., ::-1].astype(np.float32) / 127.5 - 1.0
        tensor = np.ascontiguousarray(tensor.transpose(2, 0, 1)[None])
        scores = session.run(None, {name: tensor})[0][0]
        results.append(_decode(np.asarray(scores), characters))
    return results


def _decode(scores: NDArray[np.float32], characters: list[str]) -> tuple[str, float]:
    """Greedy CTC: the best class per step, repeats and blanks dropped."""
    best = scores.argmax(axis=1)
    probability = scores.max(axis=1)
    keep = best != 0
    keep[1:] &= best[1:] != best[:-1]
    if not keep.any():
        return "", 0.0
    text = "".join(characters[i] if i < len(characters) else "" for i in best[keep])
    return text, float(probability[keep].mean())
