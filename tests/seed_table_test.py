#!/usr/bin/env python3
"""scripts/seed_table.py on made-up runs: finished seeds, a running one, mean, sd and the
iteration where fixed first reaches each final accuracy."""
import os
import subprocess
import sys
import tempfile

from made_up_runs import run_dir as made_up_run

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_dir(results, directory, row, evals, final=None, iterations=25000):
    made_up_run(os.path.join(results, directory, row), evals, final, iterations)


def main():
    with tempfile.TemporaryDirectory() as results:
        run_dir(results, "compare-full", "triangular2-stages", [(24000, 77.0), (25000, 78.0)], 78.0)
        run_dir(results, "compare-full-seed2", "triangular2-stages", [(25000, 80.0)], 80.0)
        run_dir(results, "compare-full-seed3", "triangular2-stages", [(3000, 60.5)])  # running
        run_dir(results, "compare-full", "triangular2", [(24000, 75.5), (25000, 76.0)], 76.0)
        run_dir(results, "compare-full", "fixed",
                [(25000, 74.0), (30000, 76.5), (61000, 78.5), (70000, 80.0)], 80.0, 70000)
        run_dir(results, "other", "fixed", [(1000, 99.0)], 99.0, 1000)  # not a full-length dir
        out = os.path.join(results, "seeds.md")
        subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "seed_table.py"),
                        "--results", results], check=True, stdout=subprocess.DEVNULL)
        table = open(out).read()
        assert not os.path.exists(out + ".partial")
        expected = [
            "| triangular2 in three stages (Table 2), 25k | 81.4 (Tables 1-2) | 78.00 | 80.00 | "
            "*running: 60.50 at 3,000* | 79.00 | 1.41 |  | seed 1: 61,000 |",
            "| triangular2, 0.001-0.006, 25k | 81.4 (Table 1) | 76.00 |  |  | 76.00 |  | "
            "seed 1: 76.00 (24k: 75.50) | seed 1: 30,000 |",
            "| fixed (0.001, x0.1 at 60k and 65k), 70k | 81.4 (Table 1) | 80.00 |  |  | 80.00 |  | "
            "seed 1: 74.00 |  |",
        ]
        for line in expected:
            assert line in table, f"missing:\n{line}\nin:\n{table}"
        assert "99.0" not in table
        bad = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "seed_table.py"),
                              "--results", os.path.join(results, "nowhere")],
                             capture_output=True, text=True)
        assert bad.returncode != 0 and "--results: expected a directory" in bad.stderr, bad.stderr
    print("seed_table: ok")


if __name__ == "__main__":
    main()
