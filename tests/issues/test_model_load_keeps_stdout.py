"""Regression: loading a model swallowed everything the app printed meanwhile.

llama-cpp-python (verbose=False) swaps sys.stdout/sys.stderr and dup2()s fds 1 and 2 to
/dev/null while a model loads. Keiko loads on a worker thread, so `keiko chat` lost its
"keiko> " prompt (and any log line) printed during the load.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.model


def test_output_printed_during_model_load_reaches_stdout() -> None:
    script = textwrap.dedent(
        """
        import asyncio, sys
        from keiko_desktop.llm.llama_backend import LlamaChatModel
        from keiko_desktop.llm.registry import locate_bundled_model

        async def main():
            load = asyncio.ensure_future(
                LlamaChatModel.load(str(locate_bundled_model()), n_ctx=512, n_threads=1)
            )
            written = 0
            while not load.done():
                print(f"tick{written}", flush=True)
                written += 1
                await asyncio.sleep(0.002)
            model = await load
            await model.aclose()
            print(f"written={written}", flush=True)

        asyncio.run(main())
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env=dict(os.environ),
    ).stdout
    written = int(out.strip().splitlines()[-1].removeprefix("written="))
    assert written > 3  # the load took a while, and we printed meanwhile
    ticks = [line for line in out.splitlines() if line.startswith("tick")]
    assert len(ticks) == written
