"""Content and perceptual hashes.

The content hash (SHA-256 of the file's bytes) keys the fact cache and finds
exact duplicates; the perceptual hash (imagehash's DCT hash, computed here so
that the install needs neither imagehash nor the scipy and PyWavelets it
brings, about 155 MB) finds the same picture re-encoded, resized, slightly
cropped or graded.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from lintcap.lazy import cv2
from lintcap.safefs import open_binary

#: imagehash's phash: the DCT of a 32 x 32 grey thumbnail, its 8 x 8 lowest
#: frequencies against their median.
_THUMBNAIL = 32
_HASH_SIZE = 8
#: The lowest rows of the (unnormalised, scipy ``fftpack``) DCT-II matrix:
#: the 8 x 8 corner of the 2-D DCT is ``_DCT @ pixels @ _DCT.T``.
_DCT = 2.0 * np.cos(
    np.pi
    * np.arange(_HASH_SIZE)[:, None]
    * (2 * np.arange(_THUMBNAIL)[None, :] + 1)
    / (2 * _THUMBNAIL)
)


def content_hash(path: Path) -> str:
    """SHA-256 of the file, read in chunks (a huge file is not held in memory)."""
    digest = hashlib.sha256()
    with open_binary(path) as stream:  # a FIFO or device is refused, not read
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def perceptual_hash(gray: NDArray[np.uint8]) -> str:
    """64-bit DCT hash as 16 hex digits; Hamming distance compares two.

    imagehash's ``phash``, computed from the grey working image the analysis
    already holds: an area-average thumbnail instead of Pillow's Lanczos
    resize of the full picture, which took longer than the rest of the hash
    (about 8 ms of 9 for a 1024-pixel image).
    """
    thumbnail = cv2.resize(gray, (_THUMBNAIL, _THUMBNAIL), interpolation=cv2.INTER_AREA)
    pixels = np.asarray(thumbnail, dtype=np.float64)
    low = _DCT @ pixels @ _DCT.T
    return bits_to_hex(low > np.median(low))


def bits_to_hex(bits: NDArray[np.bool_]) -> str:
    """The bits, row by row, as zero-padded hex: imagehash's ``str(ImageHash)``,
    so that hashes (and the cache holding them) are unchanged."""
    flat = bits.flatten()
    value = 0
    for bit in flat:
        value = (value << 1) | int(bit)
    return f"{value:0{(len(flat) + 3) // 4}x}"
