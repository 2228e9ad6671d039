"""The text detector's model file (lintcap/models/ppocrv4_det.onnx): rebuilt
byte for byte by scripts/build_text_model.py from rapidocr's export of
PP-OCRv4's detector, and computing what that export computes."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import cv2
import numpy as np
import onnxruntime
from skimage import data

from lintcap.image import reading, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import build_text_model  # noqa: E402


def _run(path: Path, tensor: np.ndarray) -> np.ndarray:
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return np.asarray(session.run(None, {"x": tensor})[0][0, 0])


def test_the_shipped_model_is_what_the_script_builds() -> None:
    shipped = text.model_path()
    assert shipped is not None and shipped.parent.name == "models"
    built = build_text_model.fold(build_text_model.rapidocr_model())
    digest = hashlib.sha256(built.SerializeToString()).hexdigest()
    assert digest == hashlib.sha256(shipped.read_bytes()).hexdigest()
    kinds = {node.op_type for node in built.graph.node}
    assert "HardSwish" in kinds and "Div" not in kinds and "Clip" not in kinds
    scalars = {i.name for i in built.graph.initializer if int(np.prod(i.dims)) == 1} | {
        n.output[0]
        for n in built.graph.node
        if n.op_type == "Constant" and int(np.prod(n.attribute[0].t.dims)) == 1
    }
    conv_inputs = {n.input[0] for n in built.graph.node if n.op_type == "Conv"}
    shifts = [n for n in built.graph.node if n.op_type == "Add" and scalars & set(n.input)]
    # 77 in the original; those before a convolution are folded or batch norms.
    assert len(shifts) == 2 and not [n for n in shifts if n.output[0] in conv_inputs]
    assert (ROOT / "lintcap" / "models" / "NOTICE").read_text().count("Apache License") == 2
    # The recogniser still comes from rapidocr's wheel, not from beside the detector.
    recogniser = reading.model_path()
    assert recogniser is not None and recogniser.is_file() and reading.available()


def test_the_folded_model_computes_the_original_function() -> None:
    photo = np.ascontiguousarray(data.astronaut())
    cv2.putText(photo, "(c) Jane Doe 2024", (250, 490), cv2.FONT_HERSHEY_SIMPLEX, 0.9,
                (255, 255, 255), 2, cv2.LINE_AA)  # fmt: skip
    tensor, _, _ = text.model_input(photo, 320)
    assert tensor.shape == (1, 3, 320, 320)
    original = _run(build_text_model.rapidocr_model(), tensor)
    folded = _run(text.model_path() or Path(), tensor)
    assert float(np.abs(original - folded).max()) < 1e-4
    assert (original > 0.3).sum() > 200  # the credit is text to both
    np.testing.assert_array_equal(original > 0.3, folded > 0.3)


def test_the_input_is_the_normalised_bgr_image() -> None:
    rgb = np.random.default_rng(3).integers(0, 256, (100, 150, 3), dtype=np.uint8)
    tensor, scale_x, scale_y = text.model_input(rgb, 96)
    assert tensor.shape == (1, 3, 64, 96) and tensor.dtype == np.float32
    assert (scale_x, scale_y) == (150 / 96, 100 / 64)
    small = cv2.resize(rgb, (96, 64), interpolation=cv2.INTER_AREA)
    mean = np.array([0.406, 0.456, 0.485], dtype=np.float32)
    std = np.array([0.225, 0.224, 0.229], dtype=np.float32)
    expected = ((small[..., ::-1].astype(np.float32) / 255.0 - mean) / std).transpose(2, 0, 1)
    np.testing.assert_array_equal(tensor[0], expected)  # the same float32 arithmetic


def test_only_a_picture_well_below_the_size_is_enlarged() -> None:
    """upscale-below 0.8 of 640: a 300 px picture goes in at 640 px (cubic),
    a 600 px one at its own scale, and nothing is enlarged by default."""
    rgb = np.random.default_rng(5).integers(0, 256, (200, 300, 3), dtype=np.uint8)
    tensor, scale_x, scale_y = text.model_input(rgb, 640, 0.8)
    assert tensor.shape == (1, 3, 416, 640)
    assert (scale_x, scale_y) == (300 / 640, 200 / 416)
    assert text.model_input(rgb, 640)[0].shape == (1, 3, 192, 288)
    wide = np.zeros((400, 600, 3), np.uint8)
    assert text.model_input(wide, 640, 0.8)[0].shape == (1, 3, 384, 608)
