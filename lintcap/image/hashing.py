"""Content and perceptual hashes.

The content hash (SHA-256 of the file's bytes) keys the fact cache and finds
exact duplicates; the perceptual hash (imagehash's DCT hash) finds the same
picture re-encoded, resized, slightly cropped or graded.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import imagehash
from PIL import Image


def content_hash(path: Path) -> str:
    """SHA-256 of the file, read in chunks (a huge file is not held in memory)."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def perceptual_hash(image: Image.Image) -> str:
    """64-bit DCT hash as 16 hex digits; Hamming distance compares two."""
    return str(imagehash.phash(image, hash_size=8))

