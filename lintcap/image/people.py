"""People facts for one image: faces, head yaw, framing, expression and gaze.

:func:`detect_people` takes the RGB pixels of one image (already upright) and
returns a :class:`PeopleFacts`. Two backends answer behind that one function:

``opencv`` (core install; the fallback where the faces extra is missing)
    OpenCV's Haar cascades from ``cv2.data.haarcascades`` (OpenCV 4.x; the 5.x
    wheels no longer ship them, see :class:`PeopleBackendUnavailable`). The
    frontal-face cascade finds faces; the profile cascade, run on the image and
    on its mirror image, finds faces turned to the side; the smile cascade,
    run inside the lower half of the main face, tells smiling from not. Framing
    comes from the size and place of the main face. This backend measures no
    gaze and no signed yaw score (see "Yaw" below).

``mediapipe`` (the ``faces`` extra: ``pip install 'lintcap[faces]'``; the
    default where it is installed: ``people-backend: auto``)
    MediaPipe's face detector for the boxes, its face mesh with iris landmarks
    on the main face for yaw, expression and gaze, and its pose landmarks for
    the framing. Every model ships inside the ``mediapipe`` wheel: nothing is
    downloaded. Where the detector finds no face, the Haar cascades' main face
    counts if the face mesh finds a face on it (profiles, old photographs; the
    profile scans run only where the pose model sees a body);
    a main face the mesh cannot find is dropped unless the detector is sure
    of it; with no face at all, the pose alone gives the framing (a person
    seen from behind, or too small for a face). On the 78 labelled real
    photographs and their edits (``bench/image_quality.py --real``): faces
    found on all frontal and profile faces, 93 % of three-quarter ones, no
    false face; framing right on 94 %.

Directions
    **"left" and "right" are the viewer's**: ``yaw == "left"`` means the face is
    turned towards the left edge of the image (the person's own right), so
    mirroring the image swaps ``"left"`` and ``"right"`` and flips the sign of
    ``yaw_score``. ``yaw_score`` follows the image's x axis: negative is turned
    towards the left edge, positive towards the right edge.

Yaw
    OpenCV's profile cascade is trained on faces turned towards the left edge of
    the image, so a profile hit on the image means ``"left"`` and one on its
    mirror image means ``"right"``; a frontal hit with no profile hit on the same
    face means ``"front"`` (the frontal cascade fires up to roughly 30 degrees of
    yaw, a three-quarter view can fire both: then the profile side wins). No cheap
    cue from the cascades gave a signed angle that we could check, so the opencv
    backend leaves ``yaw_score`` at ``None``. The mediapipe backend estimates the
    angle in degrees from the face mesh: the nose tip against the midpoint of the
    two sides of the face, ``atan(offset / half-width / 1.3)``, where 1.3 is the
    nose's reach in half-widths of a head seen as a cylinder.

Framing
    From the main face: how many face heights of image lie below it
    (``PeopleSettings.close_up_below`` and the next two), or a face taller than
    ``close_up_face_share`` of the image. The mediapipe backend then asks its
    pose landmarks whether knees or ankles (full-body) or hips (waist-up) show.

Speed
    The frontal cascade scans a grey copy of about ``detect_size`` squared
    pixels (224 x 224 by default, whatever the input's size); the two profile
    scans (image and mirror image) cover the whole image, at ``profile_detect_size``
    squared, only when no frontal face was found, and otherwise only the main
    face's neighbourhood. On one core of the development machine, for a
    1024-pixel image: about 45 ms with a frontal face, 80 ms with a profile, 35
    to 120 ms with no face (busy textures cost most, flat pictures 10 ms);
    mediapipe 13 ms with no face, 25 ms with one, 100 ms when it also runs the
    pose. Cascades and MediaPipe solutions are built once per process, each
    on its first use. :func:`detect_faces` gives the face boxes alone (the
    focus measure's region): mediapipe's detector, about 5 ms, with no face
    mesh, Haar fallback or pose.
"""

from __future__ import annotations

import math
import os
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, Field, model_validator

from lintcap.image.quiet import native_stderr_silenced
from lintcap.lazy import cv2, import_mediapipe
from lintcap.strict import STRICT

Backend = Literal["opencv", "mediapipe"]
Yaw = Literal["front", "left", "right"]
Framing = Literal["close-up", "portrait", "waist-up", "full-body"]
Expression = Literal["smiling", "open-mouth", "neutral"]
Gaze = Literal["camera", "away"]
Box = tuple[int, int, int, int]
Gray = NDArray[np.uint8]
RGB = NDArray[np.uint8]

FRONTAL_CASCADE = "haarcascade_frontalface_alt2.xml"
PROFILE_CASCADE = "haarcascade_profileface.xml"
SMILE_CASCADE = "haarcascade_smile.xml"
#: Smallest window each cascade scans, in pixels (from the cascade files).
FRONTAL_WINDOW = 20
PROFILE_WINDOW = 20
#: The smile cascade looks at the lower half of the main face scaled to this width.
SMILE_FACE_WIDTH = 64
#: Scores MediaPipe's face detector itself keeps; PeopleSettings'
#: min_detection_confidence filters above this, so one detector serves all.
_DETECTOR_FLOOR = 0.2


class PeopleBackendUnavailable(RuntimeError):
    """The chosen people backend cannot run here: a package is missing or lacks
    its model files. The message says what to install."""


class Face(BaseModel):
    """One face, in pixels of the image given to :func:`detect_people`."""

    #: Left edge of the box.
    x: int
    #: Top edge of the box.
    y: int
    w: int
    h: int
    #: 0..1. mediapipe: the detector's score. opencv: ``n / (n + k)`` where ``n``
    #: is how many raw cascade windows were merged into this box (OpenCV's
    #: "neighbours") and ``k`` is ``PeopleSettings.haar_confidence_neighbours``:
    #: ``k`` neighbours give 0.5. It ranks faces of one run; it is no probability.
    confidence: float = Field(ge=0.0, le=1.0)


class PeopleSettings(BaseModel):
    """Every threshold of the people analysis (``settings: image-analysis:
    people:`` in the rule files, kebab-case keys)."""

    model_config = STRICT

    #: Faces whose box is shorter than this share of the image's short side are
    #: ignored (background people, posters). Both backends.
    min_face_share: float = Field(default=0.06, gt=0.0, lt=1.0)
    #: opencv: the frontal cascade scans a grey copy of about detect-size squared
    #: pixels (274 x 183 for a 3:2 image of 224). The cascade's 20-pixel window
    #: then sets a floor of 20 pixels there on the faces found, whatever
    #: min-face-share says. Time grows with the square. 224 with 2 neighbours
    #: (below) found more faces than 256 with 3, in 12 % less time.
    detect_size: int = Field(default=224, ge=64)
    #: opencv: the same for the two profile scans (image and mirror image), which
    #: run over the whole image only when no frontal face was found.
    profile_detect_size: int = Field(default=192, ge=64)
    #: mediapipe: where its detector finds no face and the frontal cascade
    #: none either, the profile scans (image and mirror image, about 35 ms of
    #: the 45 an image without a face costs) run only when the pose model sees
    #: a body, whose landmarks the framing needs then anyway. On the labelled
    #: real photographs every profile the scans add is on a body the pose sees
    #: (bench/image_quality.py --real: the same faces found).
    profile_scan_needs_body: bool = True
    #: opencv: step between the scales the cascades try (OpenCV's scaleFactor).
    scale_factor: float = Field(default=1.2, gt=1.0, le=2.0)
    #: opencv: raw frontal-cascade windows that must agree on a face. (The
    #: profile cascade needs its 3: with 2 it takes a cat's face for a profile.)
    frontal_min_neighbors: int = Field(default=2, ge=1)
    #: opencv: raw profile-cascade windows that must agree on a face.
    profile_min_neighbors: int = Field(default=3, ge=1)
    #: opencv: neighbours at which a face's confidence is 0.5 (see Face.confidence).
    haar_confidence_neighbours: float = Field(default=10.0, gt=0.0)
    #: opencv smile sensitivity: raw smile-cascade windows (scale step 1.1) that
    #: must agree on a smile inside the lower half of the main face, scaled to 64
    #: pixels wide. Lower finds more smiles, and more false ones.
    smile_min_neighbors: int = Field(default=14, ge=1)
    #: mediapipe: the face detector's score below which a face is dropped.
    min_detection_confidence: float = Field(default=0.5, ge=_DETECTOR_FLOOR, le=1.0)
    #: mediapipe: a main face on which the face mesh finds no face is dropped
    #: unless the detector's score reaches this.
    unconfirmed_min_confidence: float = Field(default=0.75, ge=0.0, le=1.0)
    #: mediapipe: |yaw| in degrees up to which a face counts as "front".
    yaw_front_max_degrees: float = Field(default=25.0, ge=0.0, le=90.0)
    #: mediapipe smile: the mouth's width over the distance between the outer
    #: eye corners, plus twice the rise of the mouth corners above the middle of
    #: the lips (as a share of the mouth's width), from which a face is "smiling".
    #: Neutral faces score about 0.35 to 0.65, smiles 0.6 to 1.0.
    smile_score: float = Field(default=0.66)
    #: mediapipe: gap between the inner lips, as a share of the mouth's width,
    #: from which a face that does not smile is "open-mouth".
    open_mouth_ratio: float = Field(default=0.3, ge=0.0)
    #: mediapipe: beyond this |yaw| in degrees, no expression is given (half the
    #: mouth is hidden).
    expression_max_yaw_degrees: float = Field(default=45.0, ge=0.0, le=90.0)
    #: mediapipe gaze: degrees of eye turn per unit of iris offset (the iris
    #: centre from the eye's middle, in half eye widths).
    gaze_degrees_per_offset: float = Field(default=60.0, ge=0.0)
    #: mediapipe: |head yaw + eye turn| in degrees up to which the person looks
    #: at the camera.
    gaze_camera_max_degrees: float = Field(default=20.0, ge=0.0, le=90.0)
    #: mediapipe: pose-landmark visibility from which a body part counts as seen.
    #: When the face leaves room below it (waist-up or full-body), knees or
    #: ankles seen inside the image make the framing full-body, hips waist-up.
    pose_min_visibility: float = Field(default=0.5, ge=0.0, le=1.0)
    #: Framing from the face: the image's height below the face's box, in face
    #: heights. Under close-up-below: close-up (the face, the neck); under
    #: portrait-below: portrait (head, shoulders and chest); under waist-up-below:
    #: waist-up (from the waist to above the knees); more: full-body. A standing
    #: adult is about 7.5 heads or 9.5 face boxes tall; below the chin lie the
    #: chest at about 1.25 face heights, the waist 2.5, the hips 3.75, the knees
    #: 5.6 and the feet 8. (mediapipe: the pose may then move waist-up and
    #: full-body, see pose-min-visibility.)
    close_up_below: float = Field(default=1.0, ge=0.0)
    portrait_below: float = Field(default=2.0, ge=0.0)
    waist_up_below: float = Field(default=5.5, ge=0.0)
    #: A face at least this share of the image height is a close-up wherever it sits.
    close_up_face_share: float = Field(default=0.4, gt=0.0, le=1.0)
    #: Images whose short side is under this many pixels are not judged (no
    #: detector runs; ``PeopleFacts.not_judged`` says so): on face crops of 16
    #: pixels or fewer neither backend finds a face (``bench/people_min_size.py``:
    #: mediapipe's first finds are at 17), and the detectors would cost ~18 ms
    #: an image for nothing.
    min_image_side: int = Field(default=17, ge=1)

    @model_validator(mode="after")
    def _framing_in_order(self) -> PeopleSettings:
        if not self.close_up_below <= self.portrait_below <= self.waist_up_below:
            raise ValueError(
                "framing thresholds must grow: close-up-below <= portrait-below <= waist-up-below"
            )
        return self


class PeopleFacts(BaseModel):
    """What one image shows of people. Facts, not verdicts; ``None`` is "not
    measured" (no face, or this backend cannot tell)."""

    backend: Backend
    #: Largest first; the first is the "main subject" that the other facts describe.
    faces: list[Face] = []
    #: Where the main face is turned, from the VIEWER's side: "left" is towards
    #: the left edge of the image; a mirror image swaps left and right.
    yaw: Yaw | None = None
    #: Signed head yaw in degrees (mediapipe only): negative towards the image's
    #: left edge, positive towards its right edge; mirroring flips the sign.
    yaw_score: float | None = None
    framing: Framing | None = None
    expression: Expression | None = None
    gaze: Gaze | None = None
    #: Fact name -> what produced it, e.g. ``{"yaw": "opencv:profile-cascade"}``.
    sources: dict[str, str] = {}
    #: Why no detector looked at the image (too small): then nothing is known,
    #: not "no face"; counts and rules leave the image out.
    not_judged: str | None = None


def detect_people(
    rgb: np.ndarray,
    settings: PeopleSettings = PeopleSettings(),  # noqa: B008 - immutable in use
    backend: Backend = "opencv",
    gray: Gray | None = None,
    faces: list[Face] | None = None,
) -> PeopleFacts:
    """People facts for one HxWx3 uint8 RGB image (EXIF-oriented). ``gray``,
    its luminance, spares the opencv backend a conversion when the caller
    already has it; ``faces``, what :func:`detect_faces` found on this image
    with the same settings, spares the mediapipe backend its face detector.

    Raises :class:`PeopleBackendUnavailable` when the backend cannot run here.
    """
    image = _checked(rgb)
    reason = _too_small(image, backend, settings)
    if reason is not None:
        return PeopleFacts(backend=backend, not_judged=reason)
    if backend == "opencv":
        return _detect_opencv(image, settings, _gray_of(image, gray))
    return _detect_mediapipe(image, settings, gray, faces)


def detect_faces(
    rgb: np.ndarray,
    settings: PeopleSettings = PeopleSettings(),  # noqa: B008 - immutable in use
    backend: Backend = "opencv",
    gray: Gray | None = None,
) -> list[Face] | None:
    """The face boxes alone, largest first: what the focus measure needs;
    None when the image is too small to judge (as :func:`detect_people`).

    mediapipe: its face detector (BlazeFace, full range), about 5 ms for a
    1024-pixel image, without the face mesh, the Haar fallback or the pose
    that :func:`detect_people` adds (about 45 ms more). These are the boxes
    :func:`detect_people` starts from, before the mesh confirms the main
    face. opencv: the cascades' faces (the same run as :func:`detect_people`).
    """
    image = _checked(rgb)
    if _too_small(image, backend, settings) is not None:
        return None
    if backend == "opencv":
        return _detect_opencv(image, settings, _gray_of(image, gray)).faces
    return _mp_detect(_mediapipe(), image, settings)


def _checked(rgb: np.ndarray) -> RGB:
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an HxWx3 uint8 RGB array, got {rgb.dtype} {rgb.shape}")
    return np.ascontiguousarray(rgb)


def _too_small(rgb: np.ndarray, backend: str, settings: PeopleSettings) -> str | None:
    """Why the image is not judged (too small for any detector), or None."""
    if backend not in ("opencv", "mediapipe"):
        raise ValueError(f"unknown people backend {backend!r}: expected 'opencv' or 'mediapipe'")
    short_side = min(rgb.shape[0], rgb.shape[1])
    if short_side < settings.min_image_side:
        return f"image too small: {short_side} px short side, under {settings.min_image_side}"
    return None


def _gray_of(image: RGB, gray: Gray | None) -> Gray:
    if gray is None or gray.shape != image.shape[:2]:
        gray = _u8(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY))
    return np.ascontiguousarray(gray)


# --- shared geometry ---------------------------------------------------------


def framing_from_face(face: Box, image_height: int, settings: PeopleSettings) -> Framing:
    """Framing from the main face: how much image lies below it, in face heights."""
    _, y, _, h = face
    if h <= 0:
        raise ValueError("face box of no height")
    if h >= settings.close_up_face_share * image_height:
        return "close-up"
    below = max(0, image_height - (y + h)) / h
    if below < settings.close_up_below:
        return "close-up"
    if below < settings.portrait_below:
        return "portrait"
    if below < settings.waist_up_below:
        return "waist-up"
    return "full-body"


def _min_face(shape: tuple[int, ...], settings: PeopleSettings) -> int:
    return max(1, math.ceil(settings.min_face_share * min(shape[0], shape[1])))


def _overlap(a: Box, b: Box) -> float:
    """Intersection over the smaller box's area."""
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0, min(ay + ah, by + bh) - max(ay, by))
    smaller = min(aw * ah, bw * bh)
    return ix * iy / smaller if smaller > 0 else 0.0


# --- opencv ------------------------------------------------------------------


@dataclass(frozen=True)
class _Cascades:
    frontal: cv2.CascadeClassifier
    profile: cv2.CascadeClassifier
    smile: cv2.CascadeClassifier


_cascade_lock = threading.Lock()


@lru_cache(maxsize=1)
def _load_cascades() -> _Cascades:
    folder = getattr(getattr(cv2, "data", None), "haarcascades", "") or ""
    loaded = []
    for name in (FRONTAL_CASCADE, PROFILE_CASCADE, SMILE_CASCADE):
        path = os.path.join(folder, name)
        cascade = cv2.CascadeClassifier(path) if os.path.isfile(path) else None
        if cascade is None or cascade.empty():
            raise PeopleBackendUnavailable(
                f"the opencv people backend needs OpenCV's Haar cascade {name}, which "
                f"OpenCV {cv2.__version__} does not ship (the 5.x wheels dropped them): "
                "pip install 'opencv-python-headless>=4.8,<5'"
            )
        loaded.append(cascade)
    return _Cascades(*loaded)


def _cascades() -> _Cascades:
    with _cascade_lock:
        return _load_cascades()


def _detect(
    cascade: cv2.CascadeClassifier,
    gray: Gray,
    scale_factor: float,
    min_neighbors: int,
    min_size: int,
    max_size: int = 0,
) -> list[tuple[Box, int]]:
    """Boxes with their neighbour counts."""
    if min(gray.shape) < min_size:
        return []
    boxes, neighbours = cascade.detectMultiScale2(
        gray,
        scaleFactor=scale_factor,
        minNeighbors=min_neighbors,
        minSize=(min_size, min_size),
        maxSize=(max_size, max_size) if max_size else (0, 0),
    )
    return [
        ((int(x), int(y), int(w), int(h)), int(n))
        for (x, y, w, h), n in zip(boxes, np.ravel(neighbours), strict=True)
    ]


def _u8(pixels: Any) -> NDArray[np.uint8]:
    """OpenCV's result as the uint8 array it is (its stubs say less)."""
    return np.asarray(pixels, dtype=np.uint8)


def _mirror(box: Box, width: int) -> Box:
    x, y, w, h = box
    return (width - x - w, y, w, h)


def _downscale(gray: Gray, size: int) -> tuple[Gray, float]:
    """``gray`` shrunk to about ``size * size`` pixels (never enlarged), and the scale."""
    height, width = gray.shape
    scale = min(1.0, size / math.sqrt(height * width))
    if scale >= 1.0:
        return gray, 1.0
    dims = (max(1, round(width * scale)), max(1, round(height * scale)))
    return _u8(cv2.resize(gray, dims, interpolation=cv2.INTER_AREA)), scale


def _to_face(
    box: Box, neighbours: int, scale: float, shape: tuple[int, ...], settings: PeopleSettings
) -> Face:
    """A cascade's box on the image scaled by ``scale``, in pixels of the image."""
    height, width = shape[:2]
    x, y, w, h = (round(v / scale) for v in box)
    confidence = neighbours / (neighbours + settings.haar_confidence_neighbours)
    return Face(
        x=x, y=y, w=min(w, width - x), h=min(h, height - y), confidence=round(confidence, 4)
    )


def _frontal_hits(
    cascades: _Cascades, gray_full: Gray, settings: PeopleSettings
) -> tuple[list[tuple[Box, int]], Gray, float]:
    """The frontal cascade's boxes (largest first) on the grey image shrunk
    to ``detect_size``, that image and its scale."""
    gray, scale = _downscale(gray_full, settings.detect_size)
    min_face = _min_face(gray_full.shape, settings)
    frontal = _detect(
        cascades.frontal,
        gray,
        settings.scale_factor,
        settings.frontal_min_neighbors,
        max(FRONTAL_WINDOW, round(min_face * scale)),
    )
    frontal.sort(key=lambda item: -item[0][2])
    return frontal, gray, scale


def _profile_hits(
    cascades: _Cascades, gray_full: Gray, settings: PeopleSettings
) -> tuple[list[tuple[Box, int, Yaw | None]], float]:
    """The profile cascade's faces (image and mirror image, merged) on the
    grey image shrunk to ``profile_detect_size``, and its scale."""
    gray, scale = _downscale(gray_full, settings.profile_detect_size)
    min_profile = max(PROFILE_WINDOW, round(_min_face(gray_full.shape, settings) * scale))
    hits = _profiles(cascades.profile, gray, settings.scale_factor, settings, min_profile)
    return _merge_profiles(hits), scale


def _detect_opencv(rgb: RGB, settings: PeopleSettings, gray_full: Gray) -> PeopleFacts:
    cascades = _cascades()
    height = rgb.shape[0]
    facts = PeopleFacts(backend="opencv")
    frontal, gray, scale = _frontal_hits(cascades, gray_full, settings)
    if frontal:
        facts.faces = [_to_face(box, n, scale, rgb.shape, settings) for box, n in frontal]
        facts.sources["faces"] = "opencv:frontal-cascade"
        side = _profile_side_near(cascades.profile, gray, frontal[0][0], settings)
        facts.yaw = side or "front"
        facts.sources["yaw"] = "opencv:profile-cascade" if side else "opencv:frontal-cascade"
        facts.expression = _smile(cascades.smile, gray_full, facts.faces[0], settings)
        facts.sources["expression"] = "opencv:smile-cascade"
    else:
        hits, scale = _profile_hits(cascades, gray_full, settings)
        if hits:
            facts.faces = [_to_face(box, n, scale, rgb.shape, settings) for box, n, _ in hits]
            facts.yaw = hits[0][2]
            facts.sources["faces"] = "opencv:profile-cascade"
            if facts.yaw is not None:
                facts.sources["yaw"] = "opencv:profile-cascade"
    if facts.faces:
        main = facts.faces[0]
        facts.framing = framing_from_face((main.x, main.y, main.w, main.h), height, settings)
        facts.sources["framing"] = "opencv:face-geometry"
    return facts


def _profiles(
    profile: cv2.CascadeClassifier,
    gray: Gray,
    scale_factor: float,
    settings: PeopleSettings,
    min_size: int,
    max_size: int = 0,
) -> list[tuple[Box, int, Yaw]]:
    """Profile faces with their neighbours and side: the cascade finds faces
    turned towards the image's left edge, and on the mirror image those turned
    towards its right edge."""
    width = gray.shape[1]
    hits: list[tuple[Box, int, Yaw]] = [
        (box, n, "left")
        for box, n in _detect(
            profile, gray, scale_factor, settings.profile_min_neighbors, min_size, max_size
        )
    ]
    mirrored = _u8(cv2.flip(gray, 1))
    hits += [
        (_mirror(box, width), n, "right")
        for box, n in _detect(
            profile, mirrored, scale_factor, settings.profile_min_neighbors, min_size, max_size
        )
    ]
    return hits


def _merge_profiles(hits: list[tuple[Box, int, Yaw]]) -> list[tuple[Box, int, Yaw | None]]:
    """One entry per face, largest first. Hits that overlap are one face, with
    the box of its strongest hit; the profile cascade may fire both ways on one
    face, and then the side with more neighbours wins (a tie leaves the side
    unknown)."""
    groups: list[list[tuple[Box, int, Yaw]]] = []
    for hit in sorted(hits, key=lambda item: -item[1]):
        group = next((g for g in groups if _overlap(hit[0], g[0][0]) > 0.5), None)
        if group is None:
            groups.append([hit])
        else:
            group.append(hit)
    faces: list[tuple[Box, int, Yaw | None]] = []
    for group in groups:
        left = sum(n for _, n, side in group if side == "left")
        right = sum(n for _, n, side in group if side == "right")
        side: Yaw | None = "left" if left > right else "right" if right > left else None
        faces.append((group[0][0], max(left, right), side))
    return sorted(faces, key=lambda face: -face[0][2])


def _profile_side_near(
    profile: cv2.CascadeClassifier, gray: Gray, face: Box, settings: PeopleSettings
) -> Yaw | None:
    """Which way a frontal face is turned, if the profile cascade also fires on
    it (a three-quarter view) in only one of the two directions."""
    x, y, w, h = face
    height, width = gray.shape
    x0, y0 = max(0, x - w // 2), max(0, y - h // 2)
    x1, y1 = min(width, x + w + w // 2), min(height, y + h + h // 2)
    roi = gray[y0:y1, x0:x1]
    # The face at about twice the cascade's window: a handful of scales to scan.
    zoom = min(1.0, 2 * PROFILE_WINDOW / max(1, w))
    if zoom < 1.0:
        roi = _u8(cv2.resize(roi, None, fx=zoom, fy=zoom, interpolation=cv2.INTER_AREA))
    face_size = w * zoom
    min_size = max(PROFILE_WINDOW, round(face_size * 0.7))
    max_size = max(min_size + 1, round(face_size * 1.5))
    local = (round((x - x0) * zoom), round((y - y0) * zoom), round(w * zoom), round(h * zoom))
    sides = {
        side
        for box, _, side in _profiles(profile, roi, 1.1, settings, min_size, max_size)
        if _overlap(box, local) > 0.5
    }
    return sides.pop() if len(sides) == 1 else None


def _smile(
    smile: cv2.CascadeClassifier, gray_full: Gray, face: Face, settings: PeopleSettings
) -> Expression:
    """Smiling when the smile cascade fires in the lower half of the face,
    scaled to SMILE_FACE_WIDTH pixels wide and histogram-equalised."""
    top = face.y + face.h // 2
    bottom = min(gray_full.shape[0], face.y + face.h + face.h // 10)
    mouth = gray_full[top:bottom, face.x : face.x + face.w]
    if mouth.size == 0:
        return "neutral"
    zoom = SMILE_FACE_WIDTH / max(1, face.w)
    interpolation = cv2.INTER_AREA if zoom < 1 else cv2.INTER_LINEAR
    mouth = _u8(cv2.resize(mouth, None, fx=zoom, fy=zoom, interpolation=interpolation))
    mouth = _u8(cv2.equalizeHist(mouth))
    found = smile.detectMultiScale(
        mouth, scaleFactor=1.1, minNeighbors=settings.smile_min_neighbors, minSize=(24, 12)
    )
    return "smiling" if len(found) else "neutral"


# --- mediapipe ---------------------------------------------------------------


class _MediaPipe:
    """The MediaPipe solutions for still images, built once per process, each
    on its first use: a run that wants face boxes alone never builds (nor
    pays for) the face mesh and the pose. They are not thread-safe: every
    call holds ``lock``."""

    def __init__(self, mp: Any) -> None:
        self._solutions = mp.solutions
        self.lock = threading.Lock()
        self._mesh: Any = None
        self._pose: Any = None
        # model_selection=1: the full-range model, which finds small faces too.
        self.detector = self._built(
            lambda s: s.face_detection.FaceDetection(
                model_selection=1, min_detection_confidence=_DETECTOR_FLOOR
            )
        )

    @property
    def mesh(self) -> Any:
        if self._mesh is None:
            self._mesh = self._built(
                lambda s: s.face_mesh.FaceMesh(
                    static_image_mode=True, max_num_faces=1, refine_landmarks=True
                )
            )
        return self._mesh

    @property
    def pose(self) -> Any:
        if self._pose is None:
            # model_complexity=1 is the only pose model inside the wheel (0
            # and 2 would be downloaded).
            self._pose = self._built(
                lambda s: s.pose.Pose(
                    static_image_mode=True, model_complexity=1, enable_segmentation=False
                )
            )
        return self._pose

    def _built(self, make: Any) -> Any:
        """A solution, built and run once on a blank frame while stderr is
        pointed away: each graph sets up its inference on its first frame
        and logs it from its own threads, and those lines must never reach
        the user."""
        with native_stderr_silenced():
            solution = make(self._solutions)
            solution.process(np.zeros((64, 64, 3), dtype=np.uint8))
        return solution


_mediapipe_lock = threading.Lock()
_mediapipe_models: list[_MediaPipe] = []


def _mediapipe() -> _MediaPipe:
    with _mediapipe_lock:
        if not _mediapipe_models:
            try:
                mp = import_mediapipe()  # optional, and slow to import
            except ImportError as exc:
                raise PeopleBackendUnavailable(
                    "the mediapipe people backend needs the 'faces' extra: "
                    "pip install 'lintcap[faces]'"
                ) from exc
            _mediapipe_models.append(_MediaPipe(mp))
        return _mediapipe_models[0]


def _mp_detect(models: _MediaPipe, rgb: RGB, settings: PeopleSettings) -> list[Face]:
    with models.lock, native_stderr_silenced():
        detections = models.detector.process(rgb).detections or []
    return _mp_faces(detections, rgb.shape, settings)


def _detect_mediapipe(
    rgb: RGB, settings: PeopleSettings, gray: Gray | None = None, faces: list[Face] | None = None
) -> PeopleFacts:
    models = _mediapipe()
    height = rgb.shape[0]
    facts = PeopleFacts(backend="mediapipe")
    facts.faces = list(faces) if faces is not None else _mp_detect(models, rgb, settings)
    mesh = None
    for _ in range(2):
        # A main face the mesh cannot find is kept only when the detector is
        # sure of it (a phone held before a face scores about 0.7).
        if not facts.faces:
            break
        mesh = _mp_mesh(models, rgb, facts.faces[0])
        if mesh is not None or facts.faces[0].confidence >= settings.unconfirmed_min_confidence:
            break
        facts.faces.pop(0)
    pose = _Pose(models, rgb)
    if facts.faces:
        facts.sources["faces"] = "mediapipe:face-detection"
    else:
        # MediaPipe's detector misses some profiles and some faces on old or
        # odd photographs that the Haar cascades find; a cascade face counts
        # only when the face mesh, run on it, finds a face there too (alone,
        # the cascades take signs and window frames for faces).
        found, source = _haar_main_face(rgb, settings, _gray_of(rgb, gray), pose)
        if found is not None:
            mesh = _mp_mesh(models, rgb, found)
            if mesh is not None:
                facts.faces = [found]
                facts.sources["faces"] = source + "+mediapipe:face-mesh"
    if not facts.faces:
        # No face (turned away, hidden, too small): the pose may still show
        # how much of a person the picture holds.
        _framing_from_pose(pose, None, facts, settings)
        return facts
    main = facts.faces[0]
    if mesh is not None:
        _mesh_facts(mesh, facts, settings)
    facts.framing = framing_from_face((main.x, main.y, main.w, main.h), height, settings)
    facts.sources["framing"] = "mediapipe:face-geometry"
    if facts.framing in ("waist-up", "full-body"):
        # Room for hips or legs below the face: the pose tells whether they show.
        _framing_from_pose(pose, main, facts, settings)
    return facts


class _Pose:
    """The pose landmarks of one image, found on the first ask (the pose
    model costs about 16 ms) and kept for the next."""

    def __init__(self, models: _MediaPipe, rgb: RGB) -> None:
        self.models, self.rgb = models, rgb
        self._asked, self._landmarks = False, None

    def landmarks(self) -> Any:
        if not self._asked:
            with self.models.lock, native_stderr_silenced():
                self._landmarks = self.models.pose.process(self.rgb).pose_landmarks
            self._asked = True
        return self._landmarks


def _haar_main_face(
    rgb: RGB, settings: PeopleSettings, gray_full: Gray, pose: _Pose
) -> tuple[Face | None, str]:
    """The Haar cascades' main face and which cascade found it: the frontal
    cascade's largest, else the profile cascade's (with
    ``profile_scan_needs_body``, only when the pose model sees a body). The
    same face as :func:`_detect_opencv`'s first, without the yaw and smile
    that backend adds."""
    cascades = _cascades()
    frontal, _, scale = _frontal_hits(cascades, gray_full, settings)
    if frontal:
        box, neighbours = frontal[0]
        return _to_face(box, neighbours, scale, rgb.shape, settings), "opencv:frontal-cascade"
    if settings.profile_scan_needs_body and pose.landmarks() is None:
        return None, ""
    hits, scale = _profile_hits(cascades, gray_full, settings)
    if not hits:
        return None, ""
    box, neighbours, _ = hits[0]
    return _to_face(box, neighbours, scale, rgb.shape, settings), "opencv:profile-cascade"


def _framing_from_pose(
    pose_of: _Pose, face: Face | None, facts: PeopleFacts, settings: PeopleSettings
) -> None:
    """Set the framing from the body pose (relative to ``face`` when one was
    found), when the pose model sees a body."""
    pose = pose_of.landmarks()
    rgb = pose_of.rgb
    framing = _pose_framing(pose, face, rgb.shape, settings) if pose is not None else None
    if framing is not None:
        facts.framing = framing
        facts.sources["framing"] = "mediapipe:pose"


def _mp_faces(
    detections: list[Any], shape: tuple[int, ...], settings: PeopleSettings
) -> list[Face]:
    height, width = shape[:2]
    min_face = _min_face(shape, settings)
    faces = []
    for detection in detections:
        score = float(detection.score[0]) if detection.score else 0.0
        if score < settings.min_detection_confidence:
            continue
        box = detection.location_data.relative_bounding_box
        x0 = max(0, round(box.xmin * width))
        y0 = max(0, round(box.ymin * height))
        x1 = min(width, round((box.xmin + box.width) * width))
        y1 = min(height, round((box.ymin + box.height) * height))
        if x1 - x0 < 1 or y1 - y0 < min_face:
            continue
        faces.append(Face(x=x0, y=y0, w=x1 - x0, h=y1 - y0, confidence=round(min(1.0, score), 4)))
    faces.sort(key=lambda face: -face.w * face.h)
    return faces


def _mp_mesh(models: _MediaPipe, rgb: RGB, face: Face) -> NDArray[np.float64] | None:
    """The 478 mesh landmarks of the main face, in pixels of the whole image.

    The mesh runs on the face's box grown to three times its size and enlarged
    to at least 256 pixels: its own detector then sees a large face, whatever
    the framing."""
    height, width = rgb.shape[:2]
    cx, cy = face.x + face.w / 2, face.y + face.h / 2
    half = 1.5 * max(face.w, face.h)
    x0, y0 = max(0, round(cx - half)), max(0, round(cy - half))
    x1, y1 = min(width, round(cx + half)), min(height, round(cy + half))
    crop = np.ascontiguousarray(rgb[y0:y1, x0:x1])
    zoom = 1.0
    if max(crop.shape[:2]) < 256:
        zoom = 256 / max(crop.shape[:2])
        crop = _u8(cv2.resize(crop, None, fx=zoom, fy=zoom, interpolation=cv2.INTER_LINEAR))
    with models.lock, native_stderr_silenced():
        result = models.mesh.process(crop).multi_face_landmarks
    if not result:
        return None
    crop_h, crop_w = crop.shape[:2]
    points = np.array([(p.x * crop_w, p.y * crop_h, p.z * crop_w) for p in result[0].landmark])
    points /= zoom
    points[:, 0] += x0
    points[:, 1] += y0
    return points


# Face-mesh landmark indices. "VL" is the one nearer the image's left edge on an
# upright, unmirrored face (the person's right), "VR" the other.
_NOSE_TIP = 1
_SIDE_VL, _SIDE_VR = 234, 454
_EYE_OUTER_VL, _EYE_INNER_VL = 33, 133
_EYE_INNER_VR, _EYE_OUTER_VR = 362, 263
_IRIS_VL, _IRIS_VR = 468, 473
_MOUTH_VL, _MOUTH_VR = 61, 291
_LIP_INNER_TOP, _LIP_INNER_BOTTOM = 13, 14
#: The nose tip's reach in half-widths of the head, seen as a cylinder: turns
#: the nose's offset into an angle.
_NOSE_REACH = 1.3


def _mesh_facts(points: NDArray[np.float64], facts: PeopleFacts, settings: PeopleSettings) -> None:
    xy = points[:, :2]
    # The face's own frame: u along the eye line (towards the image's right on an
    # upright face), v down the face; a tilted head then measures the same.
    eye_line = xy[_EYE_OUTER_VR] - xy[_EYE_OUTER_VL]
    eye_span = float(np.hypot(*eye_line))
    if eye_span < 1e-6:
        return
    u = eye_line / eye_span
    v = np.array([-u[1], u[0]])

    def along(index: int) -> float:
        return float(xy[index] @ u)

    def down(index: int) -> float:
        return float(xy[index] @ v)

    # Yaw: the nose tip against the midpoint of the two sides of the face.
    left, right = along(_SIDE_VL), along(_SIDE_VR)
    half_width = abs(right - left) / 2
    if half_width < 1e-6:
        return
    offset = (along(_NOSE_TIP) - (left + right) / 2) / half_width
    yaw = math.degrees(math.atan(offset / _NOSE_REACH))
    facts.yaw_score = round(yaw, 2)
    if abs(yaw) <= settings.yaw_front_max_degrees:
        facts.yaw = "front"
    else:
        facts.yaw = "left" if yaw < 0 else "right"
    facts.sources["yaw"] = facts.sources["yaw_score"] = "mediapipe:face-mesh"
    # Gaze: the head's yaw plus the eyes' turn (iris against each eye's middle).
    turns = []
    for outer, inner, iris in (
        (_EYE_OUTER_VL, _EYE_INNER_VL, _IRIS_VL),
        (_EYE_INNER_VR, _EYE_OUTER_VR, _IRIS_VR),
    ):
        a, b = along(outer), along(inner)
        if abs(b - a) > 1e-6:
            turns.append((along(iris) - (a + b) / 2) / (abs(b - a) / 2))
    if turns:
        looking = yaw + float(np.mean(turns)) * settings.gaze_degrees_per_offset
        facts.gaze = "camera" if abs(looking) <= settings.gaze_camera_max_degrees else "away"
        facts.sources["gaze"] = "mediapipe:iris"
    # Expression: a wide mouth with lifted corners smiles; apart lips are open.
    if abs(yaw) > settings.expression_max_yaw_degrees:
        return  # the far half of the mouth is hidden: the mesh guesses it
    mouth_width = abs(along(_MOUTH_VR) - along(_MOUTH_VL))
    if mouth_width < 1e-6:
        return
    lips_middle = (down(_LIP_INNER_TOP) + down(_LIP_INNER_BOTTOM)) / 2
    corners = (down(_MOUTH_VL) + down(_MOUTH_VR)) / 2
    lift = (lips_middle - corners) / mouth_width
    gap = (down(_LIP_INNER_BOTTOM) - down(_LIP_INNER_TOP)) / mouth_width
    if mouth_width / eye_span + 2 * lift >= settings.smile_score:
        facts.expression = "smiling"
    elif gap >= settings.open_mouth_ratio:
        facts.expression = "open-mouth"
    else:
        facts.expression = "neutral"
    facts.sources["expression"] = "mediapipe:face-mesh"


# Pose landmark indices (BlazePose).
_NOSE = 0
_SHOULDERS = (11, 12)
_HIPS = (23, 24)
_KNEES_ANKLES = (25, 26, 27, 28)


def _pose_framing(
    pose: Any, face: Face | None, shape: tuple[int, ...], settings: PeopleSettings
) -> Framing | None:
    """Full-body when knees or ankles are seen inside the image, waist-up when
    the hips are; None when neither, or when the pose is of someone else (its
    nose is not in the main face's box grown by half). Without a face, the
    head (nose) and a shoulder must be seen: a person, not a pair of legs."""
    height, width = shape[:2]
    marks = pose.landmark
    nose_x, nose_y = marks[_NOSE].x * width, marks[_NOSE].y * height
    if face is not None and not (
        face.x - face.w / 2 <= nose_x <= face.x + 1.5 * face.w
        and face.y - face.h / 2 <= nose_y <= face.y + 1.5 * face.h
    ):
        return None

    def seen(indices: tuple[int, ...]) -> bool:
        return any(
            marks[i].visibility >= settings.pose_min_visibility
            and 0.0 <= marks[i].x <= 1.0
            and 0.0 <= marks[i].y <= 1.0
            for i in indices
        )

    if face is None and not (seen((_NOSE,)) and seen(_SHOULDERS)):
        return None
    if seen(_KNEES_ANKLES):
        return "full-body"
    if seen(_HIPS):
        return "waist-up"
    return None
