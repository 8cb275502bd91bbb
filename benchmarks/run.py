"""Run every benchmark in this folder (``make bench``); pass ``--full`` for the long runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def main() -> int:
    full = "--full" in sys.argv[1:]
    failed = 0
    for script in sorted(Path(__file__).parent.glob("bench_*.py")):
        print(f"\n=== {script.name} ===", flush=True)
        command = [sys.executable, str(script)] + ([] if full else ["--quick"])
        failed |= subprocess.run(command, check=False).returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
