"""File helpers: atomic writes, content hashes, and careful image reading.

Every file SpinML writes goes through :func:`atomic_write` (write to a temporary
file in the same directory, then ``os.replace``), so an interrupted run never
leaves a half-written file that a rerun would trust. Set ``SPINML_FSYNC=1`` to
also fsync each file before the rename, for durability across a power loss
(it costs a disk flush per file, which is slow for thousands of small images).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np

from .errors import InputError

__all__ = ["atomic_write", "write_json", "read_json", "sha256_file", "sha256_bytes", "hash_tree",
           "pixel_hash", "read_image", "read_mask", "write_image", "encode_png", "MAX_IMAGE_PIXELS",
           "IMAGE_SUFFIXES"]

#: images larger than this are refused as possible decompression bombs (override with
#: the environment variable ``SPINML_MAX_IMAGE_PIXELS``)
MAX_IMAGE_PIXELS = int(os.environ.get("SPINML_MAX_IMAGE_PIXELS", 64_000_000))
FSYNC = os.environ.get("SPINML_FSYNC", "").strip().lower() in {"1", "true", "yes", "on"}
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif")


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "wb") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; on success it replaces ``path`` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as fh:
            yield fh
            if FSYNC:
                fh.flush()
                os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_json(path: str | os.PathLike[str], data: Any) -> None:
    """Write ``data`` as indented JSON, atomically."""
    with atomic_write(path, "w") as fh:
        json.dump(data, fh, indent=2, sort_keys=False, default=_json_default)
        fh.write("\n")


def read_json(path: str | os.PathLike[str]) -> Any:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if hasattr(obj, "model_dump"):
        return obj.model_dump(mode="json")
    raise TypeError(f"cannot serialise {type(obj).__name__} to JSON")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def pixel_hash(image: np.ndarray) -> str:
    """SHA-256 of decoded pixels (shape included): equal for the same image re-encoded losslessly."""
    h = hashlib.sha256(f"{image.shape}".encode())
    h.update(np.ascontiguousarray(image, dtype=np.uint8).tobytes())
    return h.hexdigest()


def hash_tree(path: str | os.PathLike[str]) -> str:
    """A content hash of a file or of every file below a directory (names and bytes)."""
    path = Path(path)
    h = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for f in files:
        rel = f.name if f == path else f.relative_to(path).as_posix()
        if any(part.startswith(".spinml") for part in Path(rel).parts):
            continue
        h.update(rel.encode() + b"\0" + sha256_file(f).encode() + b"\0")
    return h.hexdigest()


# -- images ------------------------------------------------------------------------------

def read_image(path: str | os.PathLike[str], *, max_pixels: int | None = None) -> np.ndarray:
    """Read an image as an ``H x W x 3`` uint8 RGB array, or raise one clear :class:`InputError`.

    Grayscale is replicated to three channels; an alpha channel is composited on
    black; 16-bit and float images are scaled to 8 bits; the EXIF orientation is
    applied; empty, truncated, non-image and oversized files are refused.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path)
    limit = max_pixels or MAX_IMAGE_PIXELS
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    except IsADirectoryError:
        raise InputError(path, "is a directory, not an image") from None
    if not data:
        raise InputError(path, "file is empty (0 bytes)")
    old_limit = Image.MAX_IMAGE_PIXELS
    try:
        # PIL would refuse at twice its own limit with a vaguer message; the header's size is
        # checked here against ``limit`` before any pixel is decoded
        Image.MAX_IMAGE_PIXELS = None
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                w, h = im.size
                if w * h > limit:
                    raise InputError(path, f"image is {w}x{h} = {w * h} pixels, over the "
                                     f"limit of {limit} (possible decompression bomb)",
                                     hint="raise SPINML_MAX_IMAGE_PIXELS if it is genuine")
                im.load()
                im = ImageOps.exif_transpose(im)
                arr = _to_rgb8(im)
    except InputError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InputError(path, f"image is too large: {exc}",
                         hint="raise SPINML_MAX_IMAGE_PIXELS if it is genuine") from None
    except UnidentifiedImageError:
        raise InputError(path, "not an image file (format not recognised)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise InputError(path, f"corrupt or truncated image: {exc}") from None
    finally:
        Image.MAX_IMAGE_PIXELS = old_limit
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise InputError(path, f"image has zero size ({arr.shape[1]}x{arr.shape[0]})")
    return arr


def _to_rgb8(im: Any) -> np.ndarray:
    from PIL import Image

    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        a = np.asarray(im, dtype=np.float64)
        top = a.max(initial=0)
        if im.mode == "F" and top <= 1.0:
            hi = 1.0  # float images in [0, 1]
        else:
            hi = 65535.0 if im.mode.startswith("I;16") or top > 255 else 255.0
        a = np.clip(a / hi * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(a[..., None], 3, axis=2)
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        im = im.convert("RGBA")
        a = np.asarray(im, dtype=np.float32)
        rgb = a[..., :3] * (a[..., 3:4] / 255.0)
        return np.clip(rgb + 0.5, 0, 255).astype(np.uint8)
    if im.mode != "RGB":
        im = im.convert("RGB")
    return np.asarray(im, dtype=np.uint8).copy() if isinstance(im, Image.Image) else im


def read_mask(path: str | os.PathLike[str], shape: tuple[int, int] | None = None) -> np.ndarray:
    """Read a mask file as a boolean ``H x W`` array (any non-zero pixel is inside).

    ``shape`` is the ``(H, W)`` of the image it belongs to; a mismatch is an error.
    """
    arr = read_image(path)
    mask = arr.max(axis=2) > 0
    if shape is not None and mask.shape != tuple(shape):
        raise InputError(path, f"mask is {mask.shape[1]}x{mask.shape[0]} but its image is "
                         f"{shape[1]}x{shape[0]}")
    return mask


def encode_png(array: np.ndarray) -> bytes:
    """PNG bytes of a uint8 (H, W), (H, W, 3) or (H, W, 4) array, or a boolean mask."""
    from PIL import Image

    a = np.asarray(array)
    if a.dtype == bool:
        a = a.astype(np.uint8) * 255
    if a.dtype != np.uint8:
        raise ValueError(f"expected a uint8 or bool array, got {a.dtype}")
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="PNG", optimize=False, compress_level=1)
    return buf.getvalue()


def write_image(path: str | os.PathLike[str], array: np.ndarray) -> str:
    """Write an array as PNG atomically; return the file's SHA-256."""
    data = encode_png(array)
    with atomic_write(path) as fh:
        fh.write(data)
    return sha256_bytes(data)
