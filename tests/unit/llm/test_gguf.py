"""validate_gguf: every bad file is a ModelLoadError that names the file and says what to do."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from keiko_desktop.core.errors import ModelLoadError
from keiko_desktop.llm.gguf import (
    DEFAULT_HINT,
    load_failure,
    read_header,
    read_metadata,
    validate_gguf,
)


def header(version: int = 3, tensors: int = 10, kvs: int = 5) -> bytes:
    return b"GGUF" + struct.pack("<IQQ", version, tensors, kvs)


def expect_error(path: Path, fragment: str) -> ModelLoadError:
    with pytest.raises(ModelLoadError) as info:
        validate_gguf(path)
    err = info.value
    assert str(path) in err.message
    assert fragment in err.message.lower()
    assert err.hint
    assert str(path) in str(err)
    return err


def test_real_model_header(bundled_gguf: Path) -> None:
    h = read_header(bundled_gguf)
    assert h.version == 3
    assert h.tensor_count > 100  # 30 layers x 9 tensors + embeddings and norms
    assert h.kv_count > 10
    assert h.file_size == bundled_gguf.stat().st_size


def test_missing_file(tmp_path: Path) -> None:
    err = expect_error(tmp_path / "gone.gguf", "not found")
    assert err.hint == DEFAULT_HINT
    assert "Re-download" in err.hint


def test_directory(tmp_path: Path) -> None:
    folder = tmp_path / "models.gguf"
    folder.mkdir()
    err = expect_error(folder, "folder")
    assert ".gguf file inside" in err.hint


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.gguf"
    path.write_bytes(b"")
    expect_error(path, "empty")


def test_file_cut_inside_the_header(tmp_path: Path) -> None:
    path = tmp_path / "short.gguf"
    path.write_bytes(header()[:13])
    expect_error(path, "truncated")


def test_text_file_renamed_gguf(tmp_path: Path) -> None:
    path = tmp_path / "notes.gguf"
    path.write_text("These are my notes, not a model.\n" * 10)
    expect_error(path, "not a gguf")


def test_old_ggml_format(tmp_path: Path) -> None:
    path = tmp_path / "old.bin"
    path.write_bytes(b"ggjt" + b"\0" * 100)
    err = expect_error(path, "ggjt")
    assert "GGUF version" in err.hint


@pytest.mark.parametrize("version", [0, 1, 99])
def test_unsupported_version(tmp_path: Path, version: int) -> None:
    path = tmp_path / "v.gguf"
    path.write_bytes(header(version=version) + b"\0" * 64)
    expect_error(path, f"version {version}")


@pytest.mark.parametrize(("tensors", "kvs"), [(0, 5), (1 << 40, 5), (10, 1 << 40)])
def test_garbage_counts(tmp_path: Path, tensors: int, kvs: int) -> None:
    path = tmp_path / "garbage.gguf"
    path.write_bytes(header(tensors=tensors, kvs=kvs) + b"\0" * 64)
    expect_error(path, "damaged header")


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "locked.gguf"
    path.write_bytes(header())

    def deny(self: Path, *args: object, **kwargs: object) -> object:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "open", deny)
    err = expect_error(path, "permission denied")
    assert "permissions" in err.hint


def test_truncated_real_model_passes_the_cheap_check(truncated_gguf: Path) -> None:
    # The header is intact; llama.cpp finds the damage (see test_llama_backend).
    assert read_header(truncated_gguf).version == 3


def test_load_failure_wraps_llama_errors() -> None:
    err = load_failure("/m/x.gguf", ValueError("Failed to load model from file: /m/x.gguf"))
    assert "/m/x.gguf" in err.message
    assert "truncated" in err.message
    assert "ValueError" in err.message
    assert err.hint == DEFAULT_HINT


# ---------------------------------------------------------------- metadata


def _string(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("<Q", len(raw)) + raw


def _kv_file(path: Path, entries: list[bytes], cut: int = 0) -> Path:
    body = header(kvs=len(entries)) + b"".join(entries)
    path.write_bytes(body[: len(body) - cut] if cut else body + b"\0" * 64)
    return path


def test_read_metadata_keeps_scalars_and_skips_arrays(tmp_path: Path) -> None:
    entries = [
        _string("general.architecture") + struct.pack("<I", 8) + _string("llama"),
        _string("llama.context_length") + struct.pack("<II", 4, 8192),
        _string("llama.rope.freq_base") + struct.pack("<If", 6, 10000.0),
        _string("tokenizer.ggml.tokens")
        + struct.pack("<IIQ", 9, 8, 2)
        + _string("a")
        + _string("bc"),
        _string("tokenizer.ggml.scores") + struct.pack("<IIQ", 9, 6, 3) + b"\0" * 12,
        _string("llama.block_count") + struct.pack("<IQ", 10, 30),
    ]
    metadata = read_metadata(_kv_file(tmp_path / "m.gguf", entries))
    assert metadata == {
        "general.architecture": "llama",
        "llama.context_length": 8192,
        "llama.rope.freq_base": 10000.0,
        "llama.block_count": 30,
    }


def test_read_metadata_of_a_cut_file_names_it(tmp_path: Path) -> None:
    entries = [_string("general.architecture") + struct.pack("<I", 8) + _string("llama" * 20)]
    path = _kv_file(tmp_path / "cut.gguf", entries, cut=40)
    with pytest.raises(ModelLoadError) as info:
        read_metadata(path)
    assert str(path) in info.value.message
    assert "damaged metadata" in info.value.message


def test_read_metadata_refuses_a_huge_length(tmp_path: Path) -> None:
    entries = [struct.pack("<Q", 1 << 60)]
    with pytest.raises(ModelLoadError):
        read_metadata(_kv_file(tmp_path / "huge.gguf", entries))
