"""The installers: the bundle's start-up against the source tree's, and the sizes.

    make package && .venv/bin/python -m benchmarks.bench_bundle

- start-up: process start to main window on screen (KEIKO_BENCH_EXIT_ON_SHOW prints the
  moment), each round in a new home (a first start), the frozen ``dist/keiko/keiko`` and
  ``python -m keiko_desktop`` alternating so both see the same machine load. The OS file cache
  is warm after the first, uncounted, round of each (dropping it needs root and slows everyone
  on the machine). Reported as frozen ÷ source (target ≤ 1.0: the same start-up budget).
- sizes: the one-folder bundle, the .deb, and the installed size its control file declares.

Without a bundle (``make bundle``) it records that it was skipped.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import summary, write_results

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = ROOT / "dist" / "keiko"
ROUNDS = int(os.environ.get("KEIKO_BENCH_ROUNDS", "5"))


def shown_after(command: list[str]) -> float:
    """Seconds from starting ``command`` (the window) to its window shown, in a new home."""
    with tempfile.TemporaryDirectory(prefix="keiko-bench-") as home:
        env = dict(os.environ, KEIKO_HOME=home, KEIKO_BENCH_EXIT_ON_SHOW="1")
        if not env.get("DISPLAY"):
            env["QT_QPA_PLATFORM"] = "offscreen"
        start = time.time()
        proc = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=120, check=False, cwd=ROOT
        )
        lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
        if proc.returncode != 0 or not lines:
            raise RuntimeError(f"{command[0]}: {proc.returncode} {proc.stderr[-800:]}")
        return float(json.loads(lines[-1])["shown_at"]) - start


def tree_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def deb_facts() -> dict[str, Any]:
    debs = sorted((ROOT / "dist").glob("keiko-desktop_*.deb"))
    if not debs:
        return {}
    field = subprocess.run(
        ["dpkg-deb", "--field", str(debs[-1]), "Installed-Size"],
        capture_output=True,
        text=True,
        check=False,
    )
    facts: dict[str, Any] = {"deb": debs[-1].name, "deb_mb": debs[-1].stat().st_size / 1e6}
    if field.returncode == 0 and field.stdout.strip().isdigit():
        facts["installed_mb"] = int(field.stdout.strip()) * 1024 / 1e6
    return facts


def main() -> int:
    frozen = [str(BUNDLE / "keiko")]
    if not (BUNDLE / "keiko").is_file():
        write_results("bundle", {"skipped": f"no bundle at {BUNDLE}: run `make bundle` first"})
        return 0
    source = [sys.executable, "-m", "keiko_desktop"]
    shown_after(frozen)  # each first run fills the OS file cache: not counted
    shown_after(source)
    frozen_s, source_s = [], []
    for _ in range(ROUNDS):
        frozen_s.append(shown_after(frozen))
        source_s.append(shown_after(source))
    ratios = sorted(f / s for f, s in zip(frozen_s, source_s, strict=True))
    headline = {
        "startup_frozen_s": summary(frozen_s)["median"],
        "startup_source_s": summary(source_s)["median"],
        "startup_ratio_frozen_over_source": ratios[len(ratios) // 2],
        "bundle_mb": tree_size(BUNDLE) / 1e6,
        **deb_facts(),
    }
    write_results(
        "bundle",
        {
            "headline": headline,
            "startup_frozen_s": summary(frozen_s),
            "startup_source_s": summary(source_s),
            "paired_ratios": ratios,
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
