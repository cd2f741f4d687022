"""Check a GGUF model file before llama.cpp sees it, so a bad file gives a clear error.

``validate_gguf(path)`` catches what a cheap look can: a missing file, a folder, an unreadable or
empty file, one too short to hold a header, and one that is not GGUF at all. Deeper damage (a
download cut off in the middle of the weights) is found by llama.cpp when it loads; the backend
wraps that failure with ``load_failure``. Every error names the file and says what to do.

``read_metadata(path)`` reads the key/value metadata (architecture, trained context, layer and
head counts) without loading the model: ``context_budget`` sizes the context from it.
"""

from __future__ import annotations

import mmap
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


def is_context_failure(exc: BaseException) -> bool:
    """Whether llama.cpp failed to make the context (its KV cache), not to read the weights."""
    return "llama_context" in str(exc) or "create context" in str(exc).lower()


def context_failure(path: str | os.PathLike[str], n_ctx: int, exc: BaseException) -> ModelLoadError:
    """The error when the model file loaded but a context of ``n_ctx`` tokens could not be
    made: memory, not the file, is what is short."""
    return ModelLoadError(
        f"The model {path} loaded, but llama.cpp could not make a context of {n_ctx} tokens "
        f"({str(exc).strip() or exc.__class__.__name__}): most likely not enough free memory.",
        "Lower 'context_size' under [model] in settings.toml (Settings > Model), or close other"
        " programs.",
    )


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


# ---------------------------------------------------------------------- metadata

_SCALARS: dict[int, str] = {
    0: "<B",  # uint8
    1: "<b",  # int8
    2: "<H",  # uint16
    3: "<h",  # int16
    4: "<I",  # uint32
    5: "<i",  # int32
    6: "<f",  # float32
    7: "<?",  # bool
    10: "<Q",  # uint64
    11: "<q",  # int64
    12: "<d",  # float64
}
_STRING, _ARRAY = 8, 9
_MAX_KEY = 1 << 16
_MAX_KEPT_STRING = 1 << 12  # longer strings (chat templates) are skipped, not kept


class _Reader:
    """Reads through a GGUF file's bytes (memory-mapped) and never past their end."""

    def __init__(self, data: bytes | mmap.mmap, offset: int) -> None:
        self._data = data
        self._size = len(data)
        self.offset = offset

    def read(self, n: int) -> bytes:
        end = self.offset + n
        if n < 0 or end > self._size:
            raise ValueError("the metadata runs past the end of the file")
        raw = bytes(self._data[self.offset : end])
        self.offset = end
        return raw

    def skip(self, n: int) -> None:
        if n < 0 or self.offset + n > self._size:
            raise ValueError("the metadata runs past the end of the file")
        self.offset += n

    def unpack(self, fmt: str) -> int | float | bool:
        size = struct.calcsize(fmt)
        if self.offset + size > self._size:
            raise ValueError("the metadata runs past the end of the file")
        value: int | float | bool = struct.unpack_from(fmt, self._data, self.offset)[0]
        self.offset += size
        return value

    def length(self, limit: int) -> int:
        n = int(self.unpack("<Q"))
        if n > limit:
            raise ValueError(f"a length of {n} bytes cannot be right")
        return n

    def string(self) -> str | None:
        n = self.length(self._size)
        if n > _MAX_KEPT_STRING:
            self.skip(n)
            return None
        return self.read(n).decode("utf-8", errors="replace")

    def skip_strings(self, count: int) -> None:
        """Skip ``count`` strings (a vocabulary: tens of thousands), as fast as Python can."""
        data, offset, size = self._data, self.offset, self._size
        unpack_from = struct.unpack_from
        for _ in range(count):
            if offset + 8 > size:
                raise ValueError("the metadata runs past the end of the file")
            offset += 8 + unpack_from("<Q", data, offset)[0]
        if offset > size:
            raise ValueError("the metadata runs past the end of the file")
        self.offset = offset

    def value(self, kind: int) -> int | float | bool | str | None:
        """A scalar or a short string; None for arrays and long strings (skipped)."""
        fmt = _SCALARS.get(kind)
        if fmt is not None:
            return self.unpack(fmt)
        if kind == _STRING:
            return self.string()
        if kind == _ARRAY:
            item = int(self.unpack("<I"))
            count = self.length(self._size)
            item_fmt = _SCALARS.get(item)
            if item_fmt is not None:
                self.skip(count * struct.calcsize(item_fmt))
            elif item == _STRING:
                self.skip_strings(count)
            else:  # nested arrays: no model file has them, and they would need recursion
                raise ValueError(f"an array of type {item} is not supported")
            return None
        raise ValueError(f"unknown metadata type {kind}")


Metadata = dict[str, int | float | bool | str]
"""GGUF key/value metadata: numbers, booleans and short strings (arrays are left out)."""


def read_metadata(path: str | os.PathLike[str]) -> Metadata:
    """The scalar metadata of a GGUF file (``general.architecture``, ``<arch>.context_length``,
    ``<arch>.block_count``...), read without loading the model.

    Arrays (the tokenizer's vocabulary) and long strings (the chat template) are skipped.
    Raises ``ModelLoadError`` naming the file when the header or the metadata is damaged.
    """
    header = read_header(path)
    shown = str(path)
    out: Metadata = {}
    try:
        with (
            Path(path).open("rb") as fh,
            mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data,
        ):
            reader = _Reader(data, HEADER_SIZE)
            for _ in range(header.kv_count):
                key_len = reader.length(_MAX_KEY)
                key = reader.read(key_len).decode("utf-8", errors="replace")
                value = reader.value(int(reader.unpack("<I")))
                if value is not None:
                    out[key] = value
    except (OSError, ValueError, struct.error) as exc:
        raise ModelLoadError(
            f"Model file {shown} has damaged metadata ({exc}).", DEFAULT_HINT
        ) from exc
    return out
