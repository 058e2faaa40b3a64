"""Run the fuzz suite (tests/fuzz) round after round with fresh random inputs, for a time
budget (default ten minutes), stopping at the first failure.

    python scripts/fuzz.py [--minutes 10]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    args = parser.parse_args()
    env = {**os.environ, "SECTORWATCH_FUZZ_PROFILE": "fuzz"}
    deadline = time.monotonic() + args.minutes * 60
    rounds = 0
    while time.monotonic() < deadline:
        rounds += 1
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                               "--timeout", "600",
                               "tests/fuzz"], env=env)
        if done.returncode != 0:
            print(f"fuzz: failed in round {rounds}", file=sys.stderr)
            return done.returncode
    print(f"fuzz: {rounds} rounds in {args.minutes:g} minutes, no failure")
    return 0


if __name__ == "__main__":
    sys.exit(main())
