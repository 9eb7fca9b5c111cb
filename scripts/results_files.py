"""What the results scripts share: reading a run's eval.csv and summary.json, writing a table."""
import argparse
import csv
import json
import os
import sys


def read_eval(path):
    """[(iteration, test accuracy)] from a run's eval.csv."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))[1:]
    return [(int(r[0]), float(r[2])) for r in rows if len(r) >= 3]


def finished_summary(run_dir):
    """The run's summary.json as a dict if the run reached its target length, else None."""
    path = os.path.join(run_dir, "summary.json")
    if not os.path.isfile(path):
        return None
    with open(path) as f:
        summary = json.load(f)
    return summary if summary.get("iterations") == summary.get("target_iterations") else None


def first_reach(evals, accuracy):
    """The first evaluated iteration whose accuracy is at least `accuracy`, or None."""
    return next((i for i, a in evals if a >= accuracy), None)


def at(evals, iteration):
    """The accuracy evaluated at `iteration`, or None."""
    return next((a for i, a in evals if i == iteration), None)


def replace_file(path, text):
    """Writes `text` to `path` through a temporary file, so that a kill leaves the old file whole."""
    tmp = path + ".partial"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def write_table(out, lines):
    """Writes the lines to `out` (replace_file) and prints them."""
    replace_file(out, "\n".join(lines))
    print("\n".join(lines))


def arguments(doc, results, out_help):
    """The scripts' command line, --results DIR and --out FILE; a --results that is not a
    directory ends the program with a message naming it."""
    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    parser.add_argument("--results", default=results)
    parser.add_argument("--out", default=None, help=out_help)
    args = parser.parse_args()
    if not os.path.isdir(args.results):
        sys.exit(f"--results: expected a directory, but got '{args.results}'")
    return args
