"""Benchmark one business date: generation, then the pipeline without and with Prefect.

    .venv/bin/python bench/run_day.py --rows 100000      # rows per channel (WeChat and Alipay)

Prints the seconds per stage (from the run's own progress log), the whole run without Prefect, the
same date through `recon run` in a fresh process (Prefect's start-up included) and the peak RSS, so
that Prefect's fixed cost is reported apart from the per-row cost.
"""

from __future__ import annotations

import argparse
import logging
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000, help="rows per channel per day")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip-cli", action="store_true", help="do not time `recon run` (Prefect)")
    args = parser.parse_args()

    from flows.config import load_rules
    from flows.reconcile import run_day
    from sample_data.generate import generate

    day = date(2026, 3, 2)
    with tempfile.TemporaryDirectory(prefix="recon-bench-") as tmp:
        data_dir = Path(tmp)
        began = time.perf_counter()
        generate(data_dir, start=day, days=1, seed=args.seed, rows_per_channel=args.rows)
        print(f"generate {args.rows} rows/channel: {time.perf_counter() - began:.1f} s")

        logger = logging.getLogger("recon")
        logger.addHandler(logging.StreamHandler(sys.stdout))
        logger.setLevel(logging.INFO)
        logger.propagate = False
        rules, _ = load_rules(data_dir, None)
        began = time.perf_counter()
        result = run_day(day, data_dir, rules)
        plain = time.perf_counter() - began
        rows = result.report.outcomes.height
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"run_day without Prefect: {plain:.1f} s for {rows} outcome rows "
              f"({plain / rows * 1e6:.0f} µs/row), peak RSS {peak_mb:.0f} MB")
        logger.handlers.clear()

        if not args.skip_cli:
            began = time.perf_counter()
            cli = [str(REPO / ".venv" / "bin" / "recon"), "run", "--date", day.isoformat(),
                   "--data-dir", str(data_dir), "--quiet"]
            done = subprocess.run(cli, capture_output=True, text=True, check=False)
            total = time.perf_counter() - began
            print(f"recon run (fresh process, Prefect ephemeral API): {total:.1f} s, exit {done.returncode}; "
                  f"Prefect's fixed cost ≈ {total - plain:.1f} s")


if __name__ == "__main__":
    main()
