"""Screenshots: the type is read from the bytes, never the client's word, and metadata is stripped."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import re
import warnings
from pathlib import Path

from PIL import Image, ImageOps

# Larger than any phone or monitor screenshot; bigger images are refused before decoding (bombs).
MAX_PIXELS = 40_000_000
_SIGNATURES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}


class ScreenshotRejected(ValueError):
    pass


@dataclasses.dataclass(frozen=True)
class CleanScreenshot:
    filename: str
    content_type: str
    data: bytes
    width: int
    height: int

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def storage_name(self) -> str:
        return f"{self.sha256}.{'png' if self.content_type == 'image/png' else 'jpg'}"


def sniff_type(data: bytes) -> str | None:
    for signature, content_type in _SIGNATURES.items():
        if data.startswith(signature):
            return content_type
    return None


def safe_filename(filename: str) -> str:
    name = os.path.basename(filename.replace("\\", "/")).strip() or "screenshot"
    name = re.sub(r"[^A-Za-z0-9._ -]", "_", name)
    return name[:100]


def clean(filename: str, data: bytes, *, max_bytes: int) -> CleanScreenshot:
    """Check one upload and re-encode it with no metadata (EXIF, GPS, text chunks, ICC comments)."""
    label = safe_filename(filename)
    if len(data) > max_bytes:
        raise ScreenshotRejected(f"{label} is larger than {max_bytes // (1024 * 1024)} MB")
    content_type = sniff_type(data)
    if content_type is None:
        raise ScreenshotRejected(f"{label} is not a PNG or JPEG image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                if probe.width * probe.height > MAX_PIXELS:
                    raise ScreenshotRejected(f"{label} has too many pixels to be a screenshot")
                probe.verify()
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                upright = ImageOps.exif_transpose(image)
    except ScreenshotRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ScreenshotRejected(f"{label} has too many pixels to be a screenshot") from None
    except Exception:  # Pillow raises many types for corrupt files; all mean the same to the user.
        raise ScreenshotRejected(f"{label} could not be read as an image; it may be damaged") from None

    # Copy only the pixels into a fresh image, so no metadata can come along.
    mode = upright.mode
    if content_type == "image/jpeg" and mode not in {"RGB", "L"}:
        upright, mode = upright.convert("RGB"), "RGB"
    if content_type == "image/png" and mode not in {"RGB", "RGBA", "L", "LA", "P"}:
        upright, mode = upright.convert("RGBA"), "RGBA"
    pixels_only = Image.new(mode, upright.size)
    if mode == "P":
        pixels_only.putpalette(upright.getpalette() or [])
    pixels_only.paste(upright)
    output = io.BytesIO()
    if content_type == "image/png":
        pixels_only.save(output, format="PNG", optimize=False)
    else:
        pixels_only.save(output, format="JPEG", quality=90)
    return CleanScreenshot(label, content_type, output.getvalue(), pixels_only.width, pixels_only.height)


def store(directory: Path, screenshot: CleanScreenshot) -> Path | None:
    """Write the file if it is not already there. Returns the path if this call created it."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / screenshot.storage_name
    if path.exists():
        return None
    temporary = directory / f".{screenshot.storage_name}.{os.getpid()}.tmp"
    temporary.write_bytes(screenshot.data)
    os.replace(temporary, path)
    return path
