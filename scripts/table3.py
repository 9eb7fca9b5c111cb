#!/usr/bin/env python3
"""The paper's Table 3 beside the measured rows: docs/results/table3.md from the committed runs.

Reads docs/results/compare-table3/ROW/ (each row's summary.json and eval.csv) and writes, for each
optimizer, the paper's figures and the measured ones side by side: CLR at 25,000 iterations, the
fixed schedule at 70,000 and, for Adam and RMSprop, CLR at 70,000. Then the comparison at equal
cost: the fixed schedule's accuracy at 25,000 iterations, the iteration at which it first reaches
CLR's 25,000-iteration accuracy, and a verdict for the optimizer. A triangular cycle is 4,000
iterations (stepsize 2,000), so 25,000 and 70,000 stop CLR partway up a new cycle: each CLR row is
also given at the end of its last full cycle (24,000, 68,000), where its LR is lowest and where
the paper advises stopping a CLR run. Rows not finished yet are shown with their last evaluation, in italics,
and take no part in a verdict.

Rows run with a further seed live beside RESULTS, in RESULTS-seedN/ (e.g. compare-table3-seed2/);
each optimizer with a CLR row there gets a line of its own below the seed-1 lines. Where that
directory has no fixed row of its own, the line compares against seed 1's fixed row and says so.

Beside the table it writes table3.gp and, where gnuplot is installed, table3.png: one panel per
optimizer with its rows' test accuracy over the iterations and the paper's figures as open
circles, so that where the fixed schedule catches up with CLR can be seen.

    python3 scripts/table3.py [--results docs/results/compare-table3] [--out docs/results/table3.md]
"""
import os
import re
import shutil
import subprocess
import sys

from results_files import (arguments, at, finished_summary, first_reach, read_eval, replace_file,
                           write_table)

# Optimizer: (label, CLR bounds, the paper's CLR 25k, fixed 70k and CLR 70k figures in %).
OPTIMIZERS = {
    "nesterov": ("Nesterov", "0.001-0.006", 81.3, 82.1, None),
    "adam": ("Adam", "0.0005-0.002", 79.8, 81.4, 81.1),
    "rmsprop": ("RMSprop", "0.0001-0.0003", 72.8, 75.2, 75.1),
    "adagrad": ("AdaGrad", "0.003-0.035", 76.0, 74.6, None),
    "adadelta": ("AdaDelta", "0.01-0.1", 67.3, 67.3, None),
}
CLR_ITERATIONS = 25000
CYCLE = 4000  # two steps of 2,000


def seed_dirs(results):
    """[(seed, directory)] of the further-seed runs beside `results`, RESULTS-seedN/, by seed."""
    parent = os.path.dirname(os.path.abspath(results))
    base = os.path.basename(os.path.normpath(results))
    found = []
    for name in os.listdir(parent):
        match = re.fullmatch(re.escape(base) + r"-seed([0-9]+)", name)
        if match and os.path.isdir(os.path.join(parent, name)):
            found.append((int(match.group(1)), os.path.join(parent, name)))
    return sorted(found)


def cycle_end(run):
    """(iteration, accuracy) at the end of a finished CLR run's last full cycle, or None where it
    stopped at one."""
    last = run["evals"][-1][0] if run["evals"] else None
    if last is None or last % CYCLE == 0:
        return None
    end = last // CYCLE * CYCLE
    accuracy = at(run["evals"], end)
    return None if accuracy is None else (end, accuracy)


def load(results, row):
    """{"evals": [(iteration, accuracy)], "final": accuracy or None (not finished)}, or None."""
    run_dir = os.path.join(results, row)
    eval_csv = os.path.join(run_dir, "eval.csv")
    if not os.path.isfile(eval_csv):
        return None
    summary = finished_summary(run_dir)
    final = None if summary is None else summary["final_test_accuracy"]
    return {"evals": read_eval(eval_csv), "final": final}


def cell(run, clr=False):
    if run is None:
        return "not started"
    if run["final"] is None:
        if not run["evals"]:
            return "*running*"
        i, a = run["evals"][-1]
        return f"*running: {a:.2f} at {i:,}*"
    end = cycle_end(run) if clr else None
    if end is None:
        return f"{run['final']:.2f}"
    return f"{run['final']:.2f} ({end[0] // 1000}k: {end[1]:.2f})"


def paper_cell(x):
    return "" if x is None else f"{x:.1f}"


def verdict(clr, fixed, clr70):
    """The measured comparison at equal cost, in words, and the iteration fixed needs."""
    if clr is None or fixed is None or clr["final"] is None or fixed["final"] is None:
        return "", "", "waiting for both rows to finish"
    fixed25 = at(fixed["evals"], CLR_ITERATIONS)
    reach = first_reach(fixed["evals"], clr["final"])
    fixed25_text = "" if fixed25 is None else f"{fixed25:.2f}"
    reach_at = "never (70,000)" if reach is None else f"{reach:,}"
    reach_text = reach_at
    end = cycle_end(clr)
    if end is not None:
        end_reach = first_reach(fixed["evals"], end[1])
        end_reach_at = "never" if end_reach is None else f"{end_reach:,}"
        reach_text += f" ({end[0] // 1000}k's: {end_reach_at})"
    gap = clr["final"] - fixed["final"]
    if gap >= 0:
        words = f"yes: CLR in 25k ends {gap:.2f} points above fixed's 70k"
    elif reach is not None and reach <= CLR_ITERATIONS:
        words = (f"no: fixed reaches CLR's 25k accuracy by {reach:,} and ends "
                 f"{-gap:.2f} points higher")
    else:
        words = (f"in part: CLR's 25k equals fixed at {reach_at}, but fixed ends "
                 f"{-gap:.2f} points higher")
    if end is not None:
        words += (f"; at {end[0] // 1000}k, its last cycle's end, {end[1] - fixed['final']:+.2f}, "
                  + ("an accuracy fixed never reaches" if end_reach is None else
                     f"an accuracy fixed first reaches at {end_reach:,}"))
    if clr70 is not None and clr70["final"] is not None:
        gap70 = clr70["final"] - fixed["final"]
        words += f"; CLR at 70k ends {gap70:+.2f} against fixed"
        end70 = cycle_end(clr70)
        if end70 is not None:
            words += f" ({end70[1] - fixed['final']:+.2f} at {end70[0] // 1000}k)"
    return fixed25_text, reach_text, words


def paper_verdict(clr, fixed, clr70):
    text = f"CLR 25k {clr - fixed:+.1f} against fixed 70k"
    if clr70 is not None:
        text += f"; CLR 70k {clr70 - fixed:+.1f}"
    return text


def plot_script(results, out_dir, image, seeds=()):
    """The gnuplot script of `image`, with paths relative to out_dir, where it is run: five panels,
    one per optimizer, each with those of its CLR 25k, fixed 70k and CLR 70k rows that have an
    eval.csv (a further seed's dashed), and the paper's figures as open circles."""
    gp = [
        "set datafile separator ','",
        "set terminal pngcairo size 1500,900 noenhanced",
        f"set output '{image}.partial'",
        "set multiplot layout 2,3 title \"CIFAR-10 test accuracy of the paper's Table 3 rows "
        "(open circles: the paper's figures)\"",
        "set grid",
        "set key bottom right",
        "set xrange [0:72000]",
        "set yrange [*:85]",
        "set xtics 10000",
        "set xlabel 'iteration'",
        "set ylabel 'test accuracy (%)'",
    ]
    # CLR 70k repeats CLR 25k up to 25,000: drawn before it, so that CLR 25k stays visible.
    styles = (("fixed", "fixed 70k", 2), ("triangular-70k", "CLR 70k", 3),
              ("triangular", "CLR 25k", 1))
    # Seed 1's rows solid; each further seed's dashed, with its own point type, named by seed.
    runs = [(results, "pt 7", "")] + [(seed_dir, f"dt {2 + n} pt {4 + 2 * n}", f", seed {seed}")
                                      for n, (seed, seed_dir) in enumerate(seeds)]
    for key, (label, bounds, p_clr, p_fixed, p_clr70) in OPTIMIZERS.items():
        curves = []
        for run_dir, style, suffix_title in runs:
            for suffix, name, colour in styles:
                path = os.path.relpath(os.path.join(run_dir, f"{key}-{suffix}", "eval.csv"),
                                       out_dir)
                if os.path.isfile(os.path.join(out_dir, path)):
                    curves.append(f"'{path}' every ::1 using 1:3 with linespoints lc {colour} "
                                  f"{style} ps 0.4 title '{name}{suffix_title}'")
        paper = [(CLR_ITERATIONS, p_clr, 1), (70000, p_fixed, 2)]
        if p_clr70 is not None:
            paper.append((70000, p_clr70, 3))
        for iteration, accuracy, colour in paper:
            curves.append(f"'+' using ({iteration}):({accuracy}) every ::0::0 with points "
                          f"lc {colour} pt 6 ps 2.5 notitle")
        gp.append(f"set title '{label}, CLR bounds {bounds}'")
        gp.append("plot " + ", \\\n     ".join(curves))
    gp += ["unset multiplot", "set output", ""]
    return "\n".join(gp)


def write_plot(results, out_dir, seeds=()):
    """Writes table3.gp into out_dir and, where gnuplot is installed, table3.png, each through a
    .partial file so that a failed plot leaves the old ones whole. Returns whether it drew."""
    image = "table3.png"
    script_path = os.path.join(out_dir, "table3.gp")
    replace_file(script_path, plot_script(results, out_dir, image, seeds))
    if shutil.which("gnuplot") is None:
        return False
    partial = os.path.join(out_dir, image + ".partial")
    done = subprocess.run(["gnuplot", "table3.gp"], cwd=out_dir, capture_output=True, text=True)
    if done.returncode != 0 or not os.path.isfile(partial):
        if os.path.exists(partial):
            os.remove(partial)
        sys.exit(f"gnuplot failed on {script_path}: {done.stderr.strip()}")
    os.replace(partial, os.path.join(out_dir, image))
    return True


def main():
    args = arguments(__doc__, "docs/results/compare-table3", "default: the parent of RESULTS/table3.md")
    out = os.path.abspath(args.out or os.path.join(os.path.dirname(os.path.abspath(args.results)),
                                                    "table3.md"))

    base = os.path.basename(os.path.normpath(args.results))
    lines = [
        "# The paper's Table 3 at full length, measured",
        "",
        f"Generated by `python3 scripts/table3.py` from the runs in `{base}/`; each run's command "
        "is in its `summary.json`. One seed (1) each, as in the paper. Accuracy: the 10,000-image "
        "test set, in %. *running*: not finished; its last evaluation is shown in italics. Lines "
        f"named with a seed come from a further seed's runs, in `{base}-seedN/`. CLR is the "
        "triangular policy, stepsize 2,000; fixed is the lower bound, x0.1 at 60,000 and 65,000.",
        "",
        "| optimizer | CLR bounds | paper: CLR 25k | paper: fixed 70k | paper: CLR 70k "
        "| CLR 25k (at its last cycle's end) | fixed 70k | CLR 70k (at its last cycle's end) "
        "| fixed at 25k | fixed first reaches CLR 25k's accuracy at "
        "| does CLR reach fixed's accuracy in fewer iterations? | the paper's figures |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    seeds = seed_dirs(args.results)
    for seed, results in [(None, args.results)] + seeds:
        for key, (label, bounds, p_clr, p_fixed, p_clr70) in OPTIMIZERS.items():
            clr = load(results, f"{key}-triangular")
            fixed = load(results, f"{key}-fixed")
            clr70 = load(results, f"{key}-triangular-70k") if p_clr70 is not None else None
            name = label
            if seed is not None:
                if clr is None:
                    continue
                name = f"{label}, seed {seed}"
                if fixed is None:
                    fixed = load(args.results, f"{key}-fixed")
                    name = f"{label}, CLR seed {seed} (fixed: seed 1's)"
            fixed25, reach, words = verdict(clr, fixed, clr70)
            lines.append(
                f"| {name} | {bounds} | {paper_cell(p_clr)} | {paper_cell(p_fixed)} | "
                f"{paper_cell(p_clr70)} | {cell(clr, True)} | {cell(fixed)} | "
                f"{cell(clr70, True) if p_clr70 is not None else ''} | {fixed25} | {reach} | "
                f"{words} | {paper_verdict(p_clr, p_fixed, p_clr70)} |")
    lines.append("")
    if write_plot(args.results, os.path.dirname(out), seeds):
        lines += ["![test accuracy of each optimizer's rows](table3.png)",
                  "", "The plot's script: `table3.gp`, run from this directory.", ""]
    write_table(out, lines)


if __name__ == "__main__":
    main()
