"""How large a context a model gets: the setting, bounded by the model and by free RAM.

``plan_context(requested, metadata, file_size, available_ram)`` is pure: the caller reads the
GGUF metadata (``gguf.read_metadata``) and the free RAM (``psutil``). The context used is the
smallest of

- the ``context_size`` setting;
- the context the model was trained for (``<arch>.context_length``): beyond it a model writes
  nonsense, and llama.cpp only warns;
- what free RAM holds for the KV cache: K and V, per layer, ``n_embd_kv`` f16 values per token,
  within half of the RAM left once the model file is in memory. Without this bound a large
  setting grows ``keiko ask`` until the kernel's OOM killer ends it.

``ContextPlan.reason`` says in words why the context is smaller than asked ("" when it is not).
``available_memory()`` is the one part that reads the machine: psutil's available RAM, lowered
to what a cgroup memory cap still allows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

KV_BYTES = 2
"""Bytes per cached value: llama.cpp's KV cache is f16 by default."""
RAM_SHARE = 0.5
"""The share of the RAM left after the model file that the KV cache may take."""
MIN_CONTEXT = 256
"""The smallest context the RAM bound lowers to (a smaller setting is kept as it is)."""
ROUND_TO = 256
"""A context lowered for RAM is rounded down to a multiple of this (llama.cpp pads to it)."""

Limit = Literal["setting", "model", "ram"]


@dataclass(frozen=True)
class ContextPlan:
    """The context a model is loaded with, and why."""

    n_ctx: int
    reason: str = ""
    """Why ``n_ctx`` is below ``requested``, in words; empty when it is not."""
    requested: int = 0
    trained: int | None = None
    """The model's trained context, when its metadata says."""
    ram_tokens: int | None = None
    """How many tokens of KV cache free RAM holds, when it could be computed."""
    bytes_per_token: int | None = None
    limited_by: Limit = "setting"

    @property
    def lowered(self) -> bool:
        return self.n_ctx < self.requested


def _int(metadata: Mapping[str, object], key: str) -> int | None:
    value = metadata.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        return None
    return value


def kv_bytes_per_token(metadata: Mapping[str, object]) -> int | None:
    """Bytes of KV cache one token of context takes, or None when the metadata lacks the
    sizes (an unknown architecture)."""
    arch = metadata.get("general.architecture")
    if not isinstance(arch, str):
        return None
    layers = _int(metadata, f"{arch}.block_count")
    embd = _int(metadata, f"{arch}.embedding_length")
    heads = _int(metadata, f"{arch}.attention.head_count")
    kv_heads = _int(metadata, f"{arch}.attention.head_count_kv") or heads
    if layers is None or kv_heads is None:
        return None
    head_dim = embd // heads if embd is not None and heads is not None else None
    key = _int(metadata, f"{arch}.attention.key_length") or head_dim
    value = _int(metadata, f"{arch}.attention.value_length") or head_dim
    if key is None or value is None:
        return None
    return layers * kv_heads * (key + value) * KV_BYTES


def trained_context(metadata: Mapping[str, object]) -> int | None:
    arch = metadata.get("general.architecture")
    return _int(metadata, f"{arch}.context_length") if isinstance(arch, str) else None


def _size(n: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def plan_context(
    requested: int,
    metadata: Mapping[str, object],
    file_size: int,
    available_ram: int | None,
) -> ContextPlan:
    """The context to load a model with: ``requested``, bounded by the model's trained
    context and by ``available_ram`` (bytes; None: not known, no bound) for the KV cache."""
    requested = max(1, int(requested))
    trained = trained_context(metadata)
    per_token = kv_bytes_per_token(metadata)
    ram_tokens: int | None = None
    if per_token is not None and available_ram is not None:
        budget = max(0, int((available_ram - max(0, file_size)) * RAM_SHARE))
        ram_tokens = budget // per_token

    n_ctx = requested
    limit: Limit = "setting"
    reason = ""
    if trained is not None and trained < n_ctx:
        n_ctx, limit = trained, "model"
        reason = (
            f"context lowered from {requested} to {trained} tokens: the model was trained "
            f"for {trained}"
        )
    if ram_tokens is not None and per_token is not None and ram_tokens < n_ctx:
        floor = min(n_ctx, MIN_CONTEXT)
        fitted = max(floor, ram_tokens // ROUND_TO * ROUND_TO or ram_tokens)
        if fitted < n_ctx:
            n_ctx, limit = fitted, "ram"
            assert available_ram is not None
            reason = (
                f"context lowered from {requested} to {fitted} tokens: free RAM "
                f"({_size(available_ram)}, less the {_size(file_size)} model file, half of it "
                f"for the cache) holds {ram_tokens} tokens of KV cache at "
                f"{_size(per_token)} a token"
            )
            if fitted > ram_tokens:
                reason += "; even this may not fit, close other programs"
    return ContextPlan(
        n_ctx=n_ctx,
        reason=reason,
        requested=requested,
        trained=trained,
        ram_tokens=ram_tokens,
        bytes_per_token=per_token,
        limited_by=limit,
    )


# ---------------------------------------------------------------------- reading the machine

_CGROUP_ROOT = Path("/sys/fs/cgroup")


def _cgroup_room() -> int | None:
    """Bytes this process's cgroup (v2) and its parents still allow, or None without a cap."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    rel = next((line[3:] for line in lines if line.startswith("0::")), None)
    if rel is None:
        return None
    room: int | None = None
    folder = (_CGROUP_ROOT / rel.lstrip("/")).resolve()
    for _ in range(32):  # a cgroup path is never this deep; bound the walk anyway
        try:
            limit = (folder / "memory.max").read_text().strip()
            used = int((folder / "memory.current").read_text().strip())
        except (OSError, ValueError):
            limit, used = "max", 0
        if limit != "max" and limit.isdigit():
            left = max(0, int(limit) - used)
            room = left if room is None else min(room, left)
        if folder == _CGROUP_ROOT or _CGROUP_ROOT not in folder.parents:
            break
        folder = folder.parent
    return room


def available_memory() -> int | None:
    """Bytes of RAM free for a new allocation: psutil's ``available``, lowered to what a
    memory cap (cgroup v2) still allows; None when it cannot be told."""
    try:
        import psutil

        free: int | None = int(psutil.virtual_memory().available)
    except Exception:  # noqa: BLE001 - an exotic platform: no bound rather than no model
        free = None
    room = _cgroup_room()
    if room is None:
        return free
    return room if free is None else min(free, room)
