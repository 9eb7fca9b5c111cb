#!/usr/bin/env python3
"""scripts/table3.py on made-up runs: finished and running rows, the equal-cost columns and each
kind of verdict."""
import os
import shutil
import subprocess
import sys
import tempfile

from made_up_runs import run_dir as made_up_run

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "scripts", "table3.py")


def run_dir(results, row, evals, final=None, iterations=25000, target=None):
    made_up_run(os.path.join(results, row), evals, final, iterations, target)


def main():
    with tempfile.TemporaryDirectory() as top:
        results = os.path.join(top, "compare-table3")
        os.makedirs(results)
        # Nesterov: CLR short of fixed, which needs 61,000 to reach it.
        run_dir(results, "nesterov-triangular", [(25000, 79.0)], 79.0)
        run_dir(results, "nesterov-fixed",
                [(25000, 74.0), (60000, 78.0), (61000, 79.5), (70000, 80.5)], 80.5, 70000)
        # Adam: fixed reaches CLR's accuracy before 25,000; CLR 70k finished too. Both CLR rows
        # are also read at the end of their last full cycle (24,000 and 68,000).
        run_dir(results, "adam-triangular", [(24000, 77.0), (25000, 75.0)], 75.0)
        run_dir(results, "adam-fixed", [(20000, 75.5), (25000, 76.0), (70000, 81.0)], 81.0, 70000)
        run_dir(results, "adam-triangular-70k", [(68000, 81.5), (70000, 80.5)], 80.5, 70000)
        # AdaGrad: CLR above fixed, at 24,000 too.
        run_dir(results, "adagrad-triangular", [(24000, 77.0), (25000, 76.0)], 76.0)
        run_dir(results, "adagrad-fixed", [(25000, 72.0), (70000, 74.5)], 74.5, 70000)
        # RMSprop: CLR running, fixed not started.
        run_dir(results, "rmsprop-triangular", [(1000, 40.25), (2000, 50.5)])
        # A summary of an unfinished (stopped) run counts as running.
        run_dir(results, "adadelta-triangular", [(3000, 30.0)], 30.0, 3000, 25000)
        # Further seeds beside the results: seed 2 has only AdaGrad's CLR row, compared with seed
        # 1's fixed row; seed 3 has both of Nesterov's. A directory not named -seedN is not read.
        run_dir(os.path.join(top, "compare-table3-seed2"), "adagrad-triangular",
                [(24000, 73.0), (25000, 72.5)], 72.5)
        run_dir(os.path.join(top, "compare-table3-seed3"), "nesterov-triangular",
                [(25000, 78.0)], 78.0)
        run_dir(os.path.join(top, "compare-table3-seed3"), "nesterov-fixed",
                [(25000, 74.0), (70000, 80.0)], 80.0, 70000)
        run_dir(os.path.join(top, "compare-table3-seedx"), "adam-triangular", [(25000, 1.0)], 1.0)
        subprocess.run([sys.executable, SCRIPT, "--results", results], check=True,
                       stdout=subprocess.DEVNULL)
        out = os.path.join(top, "table3.md")
        table = open(out).read()
        assert not os.path.exists(out + ".partial")
        expected = [
            "| Nesterov | 0.001-0.006 | 81.3 | 82.1 |  | 79.00 | 80.50 |  | 74.00 | 61,000 | "
            "in part: CLR's 25k equals fixed at 61,000, but fixed ends 1.50 points higher | "
            "CLR 25k -0.8 against fixed 70k |",
            "| Adam | 0.0005-0.002 | 79.8 | 81.4 | 81.1 | 75.00 (24k: 77.00) | 81.00 | "
            "80.50 (68k: 81.50) | 76.00 | 20,000 (24k's: 70,000) | "
            "no: fixed reaches CLR's 25k accuracy by 20,000 and ends 6.00 points higher; "
            "at 24k, its last cycle's end, -4.00, an accuracy fixed first reaches at 70,000; "
            "CLR at 70k ends -0.50 against fixed (+0.50 at 68k) | "
            "CLR 25k -1.6 against fixed 70k; CLR 70k -0.3 |",
            "| RMSprop | 0.0001-0.0003 | 72.8 | 75.2 | 75.1 | *running: 50.50 at 2,000* | "
            "not started | not started |  |  | waiting for both rows to finish |",
            "| AdaGrad | 0.003-0.035 | 76.0 | 74.6 |  | 76.00 (24k: 77.00) | 74.50 |  | 72.00 | "
            "never (70,000) (24k's: never) | yes: CLR in 25k ends 1.50 points above fixed's 70k; "
            "at 24k, its last cycle's end, +2.50, an accuracy fixed never reaches | "
            "CLR 25k +1.4 against fixed 70k |",
            "| AdaDelta | 0.01-0.1 | 67.3 | 67.3 |  | *running: 30.00 at 3,000* | not started |",
            "| AdaGrad, CLR seed 2 (fixed: seed 1's) | 0.003-0.035 | 76.0 | 74.6 |  | "
            "72.50 (24k: 73.00) | 74.50 |  | 72.00 | 70,000 (24k's: 70,000) | "
            "in part: CLR's 25k equals fixed at 70,000, but fixed ends 2.00 points higher; "
            "at 24k, its last cycle's end, -1.50, an accuracy fixed first reaches at 70,000 |",
            "| Nesterov, seed 3 | 0.001-0.006 | 81.3 | 82.1 |  | 78.00 | 80.00 |  | 74.00 | "
            "70,000 | in part: CLR's 25k equals fixed at 70,000, but fixed ends 2.00 points higher |",
        ]
        for line in expected:
            assert line in table, f"missing:\n{line}\nin:\n{table}"
        # The panel plot's script: a curve for each row with an eval.csv, none for the others,
        # and the paper's figures; the image where gnuplot is installed.
        script = open(os.path.join(top, "table3.gp")).read()
        for row in ("nesterov-triangular", "nesterov-fixed", "adam-triangular-70k",
                    "adagrad-fixed", "rmsprop-triangular", "adadelta-triangular"):
            assert f"'compare-table3/{row}/eval.csv'" in script, row
        for row in ("rmsprop-fixed", "rmsprop-triangular-70k", "adadelta-fixed"):
            assert f"compare-table3/{row}/" not in script, row
        assert table.index("| AdaDelta |") < table.index("| AdaGrad, CLR seed 2") < \
            table.index("| Nesterov, seed 3 |"), table
        assert "| Adam, " not in table and "seedx" not in script
        assert "dt 2 pt 4 ps 0.4 title 'CLR 25k, seed 2'" in script, script
        assert "'compare-table3-seed3/nesterov-fixed/eval.csv'" in script
        assert "using (25000):(81.3)" in script and "using (70000):(75.1)" in script
        assert script.count("\nplot ") == 5, script
        drew = shutil.which("gnuplot") is not None
        assert os.path.isfile(os.path.join(top, "table3.png")) == drew
        assert ("](table3.png)" in table) == drew
        assert not [f for f in os.listdir(top) if f.endswith(".partial")]
        bad = subprocess.run([sys.executable, SCRIPT, "--results", os.path.join(top, "nowhere")],
                             capture_output=True, text=True)
        assert bad.returncode != 0 and "--results: expected a directory" in bad.stderr, bad.stderr
    print("table3: ok")


if __name__ == "__main__":
    main()
