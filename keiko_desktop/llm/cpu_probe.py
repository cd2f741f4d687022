"""The probe child: ``python -m keiko_desktop.llm.cpu_probe scores | run --config ID ...``.

Runs in its own process so that an instruction this CPU cannot run kills only the child
(see ``llm.cpu_backends``). Prints one JSON line on success.

- ``scores``: each CPU variant's ``ggml_backend_score()`` (0 = this CPU cannot run it).
- ``run``: loads the variant, a model, evaluates a batched prompt (where AMX code crashes)
  and decodes a few tokens on the given number of threads; reports tokens/s for both.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import signal
import sys
import time
from collections.abc import Sequence

from keiko_desktop.llm.cpu_backends import CpuConfig, activate, lib_dir, variant_files

PROMPT = (
    "Keiko checks that this computer can run the language model. It reads a short text, "
    "several sentences long, in one batch, and then writes a few words. "
) * 6
DECODE_STEPS = 8
# One batch of this many tokens: enough to take the batched matrix code (where AMX crashed),
# small enough that the slowest variant still answers in a few seconds.
PROBE_PROMPT_TOKENS = 128
# Config ids whose probe child dies of SIGILL on purpose: how tests show a crash is a fallback.
CRASH_ENV = "KEIKO_CPU_PROBE_CRASH"


def scores() -> dict[str, int]:
    out: dict[str, int] = {}
    folder = lib_dir()
    # Variants link to libggml-base: load it (and libggml) first, as llama_cpp would.
    import llama_cpp  # noqa: F401

    for name, path in variant_files(folder).items():
        try:
            lib = ctypes.CDLL(str(path))
            score = lib.ggml_backend_score
        except (OSError, AttributeError):
            out[name] = 0
            continue
        score.restype = ctypes.c_int
        out[name] = int(score())
    return out


def run(
    config: CpuConfig,
    model: str,
    threads: int,
    prompt_tokens: int = PROBE_PROMPT_TOKENS,
    decode_steps: int = DECODE_STEPS,
) -> dict[str, object]:
    """Evaluate ``prompt_tokens`` of text in one batch, then decode ``decode_steps`` greedily."""
    if config.id in os.environ.get(CRASH_ENV, "").split(","):
        os.kill(os.getpid(), signal.SIGILL)  # what an unsupported instruction does, for tests
    from keiko_desktop.llm.llama_logging import quiet_llama

    quiet_llama()  # llama.cpp's log lines go to logging, not this child's stderr
    activate(config)
    from llama_cpp import Llama

    llm = Llama(
        model_path=model,
        n_ctx=max(512, prompt_tokens + decode_steps + 16),
        n_batch=512,
        n_threads=threads,
        n_threads_batch=threads,
        verbose=False,
    )
    text = PROMPT
    tokens = llm.tokenize(text.encode(), add_bos=True)
    while len(tokens) < prompt_tokens:
        text += PROMPT
        tokens = llm.tokenize(text.encode(), add_bos=True)
    tokens = tokens[:prompt_tokens]
    t0 = time.perf_counter()
    llm.eval(tokens)
    t1 = time.perf_counter()
    for _ in range(decode_steps):
        token = llm.sample(temp=0.0)
        llm.eval([token])
    t2 = time.perf_counter()
    llm.close()
    return {
        "ok": True,
        "config": config.id,
        "prompt_tokens": len(tokens),
        "prompt_tokens_per_second": round(len(tokens) / max(t1 - t0, 1e-9), 1),
        "prompt_seconds": round(t1 - t0, 3),
        "decode_tokens_per_second": round(decode_steps / max(t2 - t1, 1e-9), 1),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="keiko-cpu-probe")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("scores")
    run_p = sub.add_parser("run")
    run_p.add_argument("--config", required=True)
    run_p.add_argument("--model", required=True)
    run_p.add_argument("--threads", type=int, default=2)
    run_p.add_argument("--prompt-tokens", type=int, default=PROBE_PROMPT_TOKENS)
    run_p.add_argument("--decode", type=int, default=DECODE_STEPS)
    args = parser.parse_args(argv)
    if args.command == "scores":
        result: dict[str, object] = dict(scores())
    else:
        result = run(
            CpuConfig.parse(args.config),
            args.model,
            max(1, args.threads),
            prompt_tokens=max(8, min(args.prompt_tokens, 8192)),
            decode_steps=max(1, min(args.decode, 2048)),
        )
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
