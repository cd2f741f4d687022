"""Check a GGUF model file before llama.cpp sees it, so a bad file gives a clear error.

``validate_gguf(path)`` catches what a cheap look can: a missing file, a folder, an unreadable or
empty file, one too short to hold a header, and one that is not GGUF at all. Deeper damage (a
download cut off in the middle of the weights) is found by llama.cpp when it loads; the backend
wraps that failure with ``load_failure``. Every error names the file and says what to do.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

from keiko_desktop.core.errors import ModelLoadError

GGUF_MAGIC = b"GGUF"
HEADER_SIZE = 24  # magic, uint32 version, uint64 tensor count, uint64 metadata count
SUPPORTED_VERSIONS = (2, 3)
# No real model has anywhere near this many; a bigger number means the header is garbage.
_SANE_COUNT = 1 << 24

DEFAULT_HINT = (
    "Re-download it, or pick another model in Settings; Keiko keeps using the bundled model."
)
_OLD_FORMATS = {b"ggml": "GGML", b"ggmf": "GGMF", b"ggjt": "GGJT", b"lmgg": "GGML", b"fmgg": "GGMF"}


@dataclass(frozen=True)
class GGUFHeader:
    """The fixed-size start of a GGUF file."""

    version: int
    tensor_count: int
    kv_count: int
    file_size: int


def read_header(path: str | os.PathLike[str]) -> GGUFHeader:
    """Read and check the header of a GGUF file; raise ModelLoadError naming the file if bad."""
    p = Path(path)
    shown = str(p)
    try:
        if p.is_dir():
            raise ModelLoadError(
                f"The model path {shown} is a folder, not a GGUF file.",
                "Choose the .gguf file inside it, or pick another model in Settings.",
            )
        with p.open("rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            raw = fh.read(HEADER_SIZE)
    except FileNotFoundError as exc:
        raise ModelLoadError(f"Model file not found: {shown}.", DEFAULT_HINT) from exc
    except PermissionError as exc:
        raise ModelLoadError(
            f"Cannot read model file {shown}: permission denied.",
            "Check the file's permissions, or pick another model in Settings.",
        ) from exc
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        raise ModelLoadError(f"Cannot read model file {shown}: {reason}.", DEFAULT_HINT) from exc

    if size == 0:
        raise ModelLoadError(f"Model file {shown} is empty.", DEFAULT_HINT)
    magic = raw[:4]
    if len(raw) >= 4 and magic != GGUF_MAGIC:
        old = _OLD_FORMATS.get(magic)
        if old is not None:
            raise ModelLoadError(
                f"Model file {shown} is in the old {old} format, not GGUF.",
                "Download a GGUF version of the model, or pick another model in Settings.",
            )
        raise ModelLoadError(f"{shown} is not a GGUF model file.", DEFAULT_HINT)
    if len(raw) < HEADER_SIZE:
        raise ModelLoadError(
            f"Model file {shown} is truncated ({size} bytes): the download is incomplete.",
            DEFAULT_HINT,
        )
    version, tensor_count, kv_count = struct.unpack("<IQQ", raw[4:HEADER_SIZE])
    if version not in SUPPORTED_VERSIONS:
        raise ModelLoadError(
            f"Model file {shown} uses GGUF version {version}, which Keiko cannot load.",
            "Download a current GGUF build of the model, or pick another model in Settings.",
        )
    if not 0 < tensor_count < _SANE_COUNT or kv_count >= _SANE_COUNT:
        raise ModelLoadError(f"Model file {shown} has a damaged header.", DEFAULT_HINT)
    return GGUFHeader(version, tensor_count, kv_count, size)


def validate_gguf(path: str | os.PathLike[str]) -> GGUFHeader:
    """Alias of ``read_header`` for call sites that only want the check."""
    return read_header(path)


def load_failure(path: str | os.PathLike[str], exc: BaseException) -> ModelLoadError:
    """The error to raise when llama.cpp refuses a file whose header looked fine."""
    detail = str(exc).strip()
    if str(path) in detail or not detail:
        detail = exc.__class__.__name__
    return ModelLoadError(
        f"Could not load model file {path}: it is truncated, damaged, or uses a model "
        f"architecture this llama.cpp does not support ({detail}).",
        DEFAULT_HINT,
    )
