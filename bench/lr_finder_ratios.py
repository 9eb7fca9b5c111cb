#!/usr/bin/python3
"""max_lr / divergence LR of the LR finder's suggestion on the least-squares problems of the
`Analytic.*` tests, summarised per family, for one seed or many.

Usage: /usr/bin/python3 bench/lr_finder_ratios.py [--tests build/tests/torchclr_lr_finder_tests]
       [--seeds 20]

Runs the tests with TORCHCLR_ANALYTIC_SEEDS=SEEDS (each case with seeds 1..SEEDS), reads the ratio
every case records as a test property from the XML report, and prints, per family, the number of
cases, the smallest and the largest ratio, and whether every test passed.
"""
import argparse
import os
import re
import subprocess
import tempfile
import xml.etree.ElementTree as ET

FAMILIES = [
    ("sgd", "SGD", "32 and 64 rows"),
    ("momentum0.5", "SGD, momentum 0.5", "full, 32 rows"),
    ("momentum0.9", "SGD, momentum 0.9", "full, 32 rows"),
    ("sgd_noiseless", "SGD, full batch (no noise)", "full"),
]
KEY = re.compile(r"^(?P<family>.+)_lambda(?P<lam>[0-9.e+]+)_cond(?P<cond>[0-9.e+]+)"
                 r"_batch(?P<batch>\d+)_seed(?P<seed>\d+)$")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tests", default="build/tests/torchclr_lr_finder_tests")
    parser.add_argument("--seeds", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        report = os.path.join(work, "analytic.xml")
        env = dict(os.environ, TORCHCLR_ANALYTIC_SEEDS=str(args.seeds))
        run = subprocess.run([args.tests, "--gtest_filter=Analytic.*",
                              f"--gtest_output=xml:{report}"], env=env, capture_output=True,
                             text=True)
        root = ET.parse(report).getroot()
    ratios = {}
    for prop in root.iter("property"):
        match = KEY.match(prop.get("name"))
        if match:
            ratios.setdefault(match["family"], []).append(float(prop.get("value")))
    failures = int(root.get("failures", "0")) + int(root.get("errors", "0"))
    print(f"# seeds 1..{args.seeds}; tests {'passed' if run.returncode == 0 else 'FAILED'}"
          f" ({root.get('tests')} tests, {failures} failures)")
    print(f"{'optimizer':28s} {'batches':16s} {'cases':>6s} {'min':>6s} {'max':>6s}")
    for key, name, batches in FAMILIES:
        values = ratios.get(key, [])
        if values:
            print(f"{name:28s} {batches:16s} {len(values):6d} {min(values):6.2f} "
                  f"{max(values):6.2f}")
    noisy = [v for k in ("sgd", "momentum0.5", "momentum0.9") for v in ratios.get(k, [])]
    if noisy:
        print(f"{'all but noiseless SGD':28s} {'':16s} {len(noisy):6d} {min(noisy):6.2f} "
              f"{max(noisy):6.2f}")
    if run.returncode != 0:
        print(run.stdout[-4000:])
    return run.returncode


if __name__ == "__main__":
    raise SystemExit(main())
