"""`make bench`: run every benchmarks/bench_*.py in its own process; JSON lands in results/."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
RESULTS = HERE / "results"


def main() -> int:
    RESULTS.mkdir(exist_ok=True)
    only = set(sys.argv[1:])
    failures = 0
    summary: dict[str, object] = {"started": time.strftime("%Y-%m-%dT%H:%M:%S"), "runs": {}}
    for script in sorted(HERE.glob("bench_*.py")):
        name = script.stem.removeprefix("bench_")
        if only and name not in only:
            continue
        print(f"== {script.name}", flush=True)
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", f"benchmarks.{script.stem}"], check=False)
        summary["runs"][name] = {  # type: ignore[index]
            "returncode": proc.returncode,
            "seconds": round(time.perf_counter() - start, 1),
        }
        failures += proc.returncode != 0
    (RESULTS / "summary.json").write_text(json.dumps(summary, indent=2))
    print(f"results in {RESULTS}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
