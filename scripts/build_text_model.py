"""Build lintcap's text detector model from PP-OCRv4's DB detector.

The learned text detector (:mod:`lintcap.image.text`) runs PaddleOCR's
PP-OCRv4 DB text detection model (Apache-2.0), in the ONNX export that
rapidocr-onnxruntime 1.4.4 ships (``models/ch_PP-OCRv4_det_infer.onnx``).
That export spends most of its time outside its convolutions: every
PP-LCNetV3 block multiplies and shifts its tensors by learned scalars (the
"learnable affine blocks") and spells hardswish out as four operations, so
onnxruntime cannot fuse them into the convolutions and copies every tensor
in and out of its blocked layout around each of them. This script rewrites
the graph into the same function with fewer operations:

* a convolution followed by a scalar multiply and a scalar add: both folded
  into its weights and bias;
* ``x * clip(x + 3, 0, 6) / 6``: one ``HardSwish`` (opset 14), which
  onnxruntime fuses into the convolution before it;
* a scalar multiply after an activation, read only by convolutions: folded
  into their weights (zero padding scales alike); a scalar add there folded
  into the bias of convolutions without padding (with padding, the border
  would see the shift where the original sees zeros, so that add stays, as
  a BatchNormalization that adds it: onnxruntime keeps that in its blocked
  layout).

The rewrite is exact up to float rounding (the probability maps differ by
less than 1e-4; ``tests/test_text_model.py`` checks this against the original when
rapidocr-onnxruntime is installed). With ``--int8`` the two 3x3
convolutions at a quarter of the resolution (the neck's last and the head's
first, a third of the remaining time) are also quantized to int8 (static,
per channel), calibrated on scikit-image's photographs and synthetic scenes
with text drawn on them (tests/imageset.py).

Needs the ``onnx`` package (a development dependency; lintcap itself needs
only onnxruntime). Writes ``lintcap/models/ppocrv4_det.onnx``; its licence
and provenance are in ``lintcap/models/NOTICE``.

    python scripts/build_text_model.py [--source FILE] [--out FILE] [--int8]
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "lintcap" / "models" / "ppocrv4_det.onnx"
#: The two dense 3x3 convolutions at a quarter of the input's resolution
#: (96 to 24 channels): about 800 M multiply-adds of the 1.3 G at 640 x 480.
INT8_NODES = ("p2o.Conv.58", "p2o.Conv.61")
OPSET = 17


def rapidocr_model() -> Path:
    spec = importlib.util.find_spec("rapidocr_onnxruntime")
    if spec is None or spec.origin is None:
        raise SystemExit("rapidocr-onnxruntime==1.4.4 is not installed: pass --source FILE")
    return Path(spec.origin).parent / "models" / "ch_PP-OCRv4_det_infer.onnx"


class _Graph:
    """The graph's nodes, constants and users, for the rewrites below."""

    def __init__(self, model: Any) -> None:
        from onnx import numpy_helper

        self.model = model
        self.graph = model.graph
        self.values: dict[str, np.ndarray] = {
            i.name: numpy_helper.to_array(i) for i in self.graph.initializer
        }
        for node in self.graph.node:
            if node.op_type == "Constant":
                self.values[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
        self.outputs = {o.name for o in self.graph.output}
        self.serial = 0

    def users(self, name: str) -> list[Any]:
        return [node for node in self.graph.node if name in node.input]

    def scalar(self, name: str) -> float | None:
        value = self.values.get(name)
        return float(value.reshape(())) if value is not None and value.size == 1 else None

    def scalar_operand(self, node: Any, other: str) -> float | None:
        """The scalar constant ``node`` combines with ``other``, if it is one."""
        rest = [name for name in node.input if name != other]
        return self.scalar(rest[0]) if len(rest) == 1 and len(node.input) == 2 else None

    def put(self, stem: str, value: np.ndarray) -> str:
        self.serial += 1
        name = f"{stem}__lintcap{self.serial}"
        self.values[name] = value.astype(np.float32)
        return name

    def conv_weights(self, conv: Any) -> tuple[np.ndarray, np.ndarray]:
        weight = self.values[conv.input[1]].astype(np.float64)
        bias = (
            self.values[conv.input[2]].astype(np.float64)
            if len(conv.input) > 2
            else np.zeros(weight.shape[0])
        )
        return weight, bias

    def set_conv(self, conv: Any, weight: np.ndarray, bias: np.ndarray) -> None:
        conv.input[1] = self.put(conv.input[1], weight)
        name = self.put(conv.name + "_bias", bias)
        if len(conv.input) > 2:
            conv.input[2] = name
        else:
            conv.input.append(name)

    def finish(self) -> Any:
        from onnx import numpy_helper

        used = {name for node in self.graph.node for name in node.input}
        nodes = [
            node
            for node in self.graph.node
            if not (node.op_type == "Constant" and node.output[0] not in used)
        ]
        del self.graph.node[:]
        self.graph.node.extend(nodes)
        constants = {n.output[0] for n in nodes if n.op_type == "Constant"}
        del self.graph.initializer[:]
        self.graph.initializer.extend(
            numpy_helper.from_array(value, name=name)
            for name, value in self.values.items()
            if name in used and name not in constants
        )
        return self.model


def _fold_affine_into_conv(g: _Graph) -> int:
    """Conv -> Mul(scalar) / Add(scalar): into the weights and bias."""
    folded, changed = 0, True
    while changed:
        changed = False
        for conv in list(g.graph.node):
            if conv.op_type != "Conv" or conv.output[0] in g.outputs:
                continue
            users = g.users(conv.output[0])
            if len(users) != 1 or users[0].op_type not in ("Mul", "Add"):
                continue
            after = users[0]
            value = g.scalar_operand(after, conv.output[0])
            if value is None:
                continue
            weight, bias = g.conv_weights(conv)
            if after.op_type == "Mul":
                weight, bias = weight * value, bias * value
            else:
                bias = bias + value
            g.set_conv(conv, weight, bias)
            conv.output[0] = after.output[0]
            g.graph.node.remove(after)
            folded += 1
            changed = True
    return folded


def _hardswish(g: _Graph) -> int:
    """Add(x, 3) -> Clip(0, 6) -> Mul(x, .) -> Div(6): one HardSwish."""
    from onnx import helper

    found = 0
    for add in list(g.graph.node):
        if add.op_type != "Add":
            continue
        x = next((name for name in add.input if g.scalar_operand(add, name) == 3.0), None)
        if x is None:
            continue
        clip = g.users(add.output[0])
        if len(clip) != 1 or clip[0].op_type != "Clip":
            continue
        low, high = (g.scalar(name) for name in clip[0].input[1:3])
        if (low, high) != (0.0, 6.0):
            continue
        mul = g.users(clip[0].output[0])
        if len(mul) != 1 or mul[0].op_type != "Mul" or x not in mul[0].input:
            continue
        div = g.users(mul[0].output[0])
        if len(div) != 1 or div[0].op_type != "Div" or g.scalar(div[0].input[1]) != 6.0:
            continue
        out = div[0].output[0]
        at = list(g.graph.node).index(add)
        for node in (add, clip[0], mul[0], div[0]):
            g.graph.node.remove(node)
        g.graph.node.insert(at, helper.make_node("HardSwish", [x], [out], name=out + "_hardswish"))
        found += 1
    return found


def _no_padding(conv: Any) -> bool:
    pads = [p for a in conv.attribute if a.name == "pads" for p in a.ints]
    auto = [a.s for a in conv.attribute if a.name == "auto_pad"]
    return all(p == 0 for p in pads) and auto in ([], [b"NOTSET"], [b"VALID"])


def _fold_affine_before_conv(g: _Graph) -> int:
    """h -> Mul(c) [-> Add(d)] -> Conv(s): c into the weights; d into the
    bias where the convolutions have no padding, else an Add(d / c) stays."""
    folded = 0
    for mul in list(g.graph.node):
        if mul.op_type != "Mul":
            continue
        h = next((n for n in mul.input if g.scalar_operand(mul, n) is not None), None)
        if h is None:
            continue
        scale = g.scalar_operand(mul, h)
        assert scale is not None
        if scale == 0.0:
            continue
        tail, shift = mul, None
        after = g.users(mul.output[0])
        if len(after) == 1 and after[0].op_type == "Add":
            shift = g.scalar_operand(after[0], mul.output[0])
            if shift is not None:
                tail = after[0]
        convs = g.users(tail.output[0])
        if (
            not convs
            or tail.output[0] in g.outputs
            or any(c.op_type != "Conv" or list(c.input).index(tail.output[0]) != 0 for c in convs)
        ):
            continue
        for conv in convs:
            weight, bias = g.conv_weights(conv)
            g.set_conv(conv, weight * scale, bias)
        g.graph.node.remove(mul)
        if shift is None:
            for conv in convs:
                conv.input[0] = h
        elif all(_no_padding(conv) for conv in convs):
            for conv in convs:
                weight, bias = g.conv_weights(conv)  # already scaled by c
                g.set_conv(conv, weight, bias + weight.sum(axis=(1, 2, 3)) * (shift / scale))
                conv.input[0] = h
            g.graph.node.remove(tail)
        else:
            tail.input[0], tail.input[1] = h, g.put(tail.name + "_shift", np.array([shift / scale]))
        folded += 1
    return folded


def _shift_as_batch_norm(g: _Graph) -> int:
    """The scalar adds left before padded convolutions as BatchNormalization
    (scale 1, mean 0, variance 1 - epsilon, bias the shift): the same sum,
    which onnxruntime keeps in its blocked layout (it runs a batch norm as a
    1x1 depthwise convolution there) where an Add of a scalar sends the
    tensor out of it and back, twice per block."""
    from onnx import helper

    epsilon, replaced = 1e-5, 0
    for add in list(g.graph.node):
        if add.op_type != "Add":
            continue
        x = next((n for n in add.input if g.scalar_operand(add, n) is not None), None)
        convs = g.users(add.output[0])
        if x is None or not convs or any(c.op_type != "Conv" for c in convs):
            continue
        shift = g.scalar_operand(add, x)
        assert shift is not None
        weight = g.values[convs[0].input[1]]
        groups = next((a.i for a in convs[0].attribute if a.name == "group"), 1)
        channels = weight.shape[1] * groups
        names = [
            g.put(f"{add.name}_scale", np.ones(channels)),
            g.put(f"{add.name}_bias", np.full(channels, shift)),
            g.put(f"{add.name}_mean", np.zeros(channels)),
            g.put(f"{add.name}_variance", np.full(channels, 1.0 - epsilon)),
        ]
        norm = helper.make_node(
            "BatchNormalization", [x, *names], [add.output[0]], name=add.name, epsilon=epsilon
        )
        at = list(g.graph.node).index(add)
        g.graph.node.remove(add)
        g.graph.node.insert(at, norm)
        replaced += 1
    return replaced


def fold(source: Path) -> Any:
    """The rewritten model (see the module's docstring)."""
    import onnx
    from onnx import version_converter

    model = version_converter.convert_version(onnx.load(str(source)), OPSET)
    g = _Graph(model)
    counts = (_fold_affine_into_conv(g), _hardswish(g), _fold_affine_before_conv(g))
    norms = _shift_as_batch_norm(g)
    model = g.finish()
    onnx.checker.check_model(model)
    print(f"folded {counts[0]} affine layers into convolutions, {counts[1]} hardswish, "
          f"{counts[2]} affine layers into the next convolutions, {norms} shifts as "
          "batch norms")  # fmt: skip
    return model


def calibration_images() -> Iterator[np.ndarray]:
    """scikit-image's photographs (and grey ones as RGB), each also with text
    drawn on it, and synthetic scenes (tests/imageset.py): never the real
    photographs the benchmarks score."""
    sys.path.insert(0, str(ROOT / "tests"))
    import cv2
    import imageset
    from skimage import data

    colour = ["astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "retina"]
    colour += ["hubble_deep_field", "colorwheel", "cat", "logo"]
    grey = ["camera", "text", "page", "coins", "moon", "clock", "brick", "grass", "gravel"]
    photos = [np.asarray(getattr(data, name)())[..., :3] for name in colour]
    photos.append(data.stereo_motorcycle()[0])
    photos += [np.stack([getattr(data, name)()] * 3, axis=-1) for name in grey]
    fonts, yellow = imageset.FONTS, (255, 255, 0)
    edits = [
        imageset.watermark("SAMPLE", fonts[1], 2.0, 0.5, "centre", 30),
        imageset.watermark("(c) Studio 2024", fonts[0], 0.8, 0.9, "bottom-right"),
        imageset.watermark("PREVIEW", fonts[3], 1.5, 0.35, "centre", -20),
        imageset.watermark("Jane Doe Photography", fonts[4], 1.0, 1.0, "bottom-left"),
        imageset.watermark("hello world caption", fonts[0], 1.0, 1.0, "bottom", colour=yellow),
        imageset.watermark("TOP", fonts[5], 1.2, 0.8, "top-left", colour=(0, 0, 0)),
        imageset.logo,
    ]  # fmt: skip
    for index, photo in enumerate(photos):
        photo = np.ascontiguousarray(photo.astype(np.uint8))
        yield photo
        if photo.shape[0] < 200:
            photo = cv2.resize(photo, (photo.shape[1] * 2, photo.shape[0] * 2))
        yield edits[index % len(edits)](photo)
    for seed in range(6):
        scene = imageset.generated(seed, (768, 1024))
        yield edits[(seed + 3) % len(edits)](scene) if seed % 2 else scene


def quantize(model_path: Path, out: Path) -> None:
    """``INT8_NODES`` quantized to int8, calibrated on ``calibration_images``."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    # onnxruntime's own graph optimisations first, so that the quantized
    # convolutions fuse (without them the int8 model ran slower than float).
    prepared = out.with_suffix(".prepared.onnx")
    quant_pre_process(str(model_path), str(prepared), skip_symbolic_shape=True)

    sys.path.insert(0, str(ROOT))
    from lintcap.image.text import TextSettings, model_input

    size = TextSettings().size

    class Reader(CalibrationDataReader):  # type: ignore[misc]
        def __init__(self) -> None:
            self.inputs = ({"x": model_input(image, size)[0]} for image in calibration_images())

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self.inputs, None)

    quantize_static(
        str(prepared),
        str(out),
        Reader(),
        quant_format=QuantFormat.QDQ,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        per_channel=True,
        calibrate_method=CalibrationMethod.MinMax,
        nodes_to_quantize=list(INT8_NODES),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", type=Path, help="the DB model (default: rapidocr's)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--int8", action="store_true", help="quantize the two largest convs")
    args = parser.parse_args()
    import onnx

    model = fold(args.source or rapidocr_model())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if not args.int8:
        onnx.save(model, str(args.out))
    else:
        with tempfile.TemporaryDirectory() as scratch:
            folded = Path(scratch) / "folded.onnx"
            onnx.save(model, str(folded))
            quantize(folded, args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
