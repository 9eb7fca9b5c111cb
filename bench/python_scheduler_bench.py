#!/usr/bin/python3
"""Times PyTorch's Python schedulers' step() on this machine, the peer of scheduler_bench.

Usage: /usr/bin/python3 bench/python_scheduler_bench.py [--cpp build/bench/scheduler_bench]
[--rounds N] (Debian's python3-torch; or .venv/bin/python with build-pypi/ for LibTorch 2.x).
Prints one line per case: name, groups, nanoseconds per Python step (best of 5 repeats) and, with
--cpp, the C++ scheduler_bench figure of the same case measured in the same run (median of 5
repetitions), and the ratio. With --rounds N, C++ and Python alternate N times and each side keeps
its fastest round per case: on a shared machine, the rounds least disturbed by other processes.
"""
import argparse
import json
import subprocess
import timeit
import warnings

import torch
from torch.optim import lr_scheduler


def sgd(groups):
    params = [{"params": [torch.nn.Parameter(torch.zeros(1))]} for _ in range(groups)]
    return torch.optim.SGD(params, lr=0.1, momentum=0.9)


CASES = {
    "CyclicLR_Triangular": lambda o: lr_scheduler.CyclicLR(
        o, 1e-3, 6e-3, step_size_up=2000, cycle_momentum=False),
    "CyclicLR_Triangular2_Momentum": lambda o: lr_scheduler.CyclicLR(
        o, 1e-3, 6e-3, step_size_up=2000, mode="triangular2"),
    "CyclicLR_ExpRange_Momentum": lambda o: lr_scheduler.CyclicLR(
        o, 1e-3, 6e-3, step_size_up=2000, mode="exp_range", gamma=0.99994),
    "OneCycleLR_Momentum": lambda o: lr_scheduler.OneCycleLR(o, 0.1, total_steps=10**7),
    "MultiStepLR": lambda o: lr_scheduler.MultiStepLR(o, [60000, 65000]),
    "ExponentialLR": lambda o: lr_scheduler.ExponentialLR(o, 0.99994),
    "LinearLR": lambda o: lr_scheduler.LinearLR(o, 1.0, 1.0 / 7, 4000),
}


def cpp_timings(binary):
    """ns per step of each BM_<case>/<groups> of scheduler_bench (real time, median of 5)."""
    out = subprocess.run(
        [binary, "--benchmark_format=json", "--benchmark_repetitions=5",
         "--benchmark_report_aggregates_only=true", "--benchmark_min_time=0.2"],
        check=True, capture_output=True, text=True).stdout
    timings = {}
    for bench in json.loads(out)["benchmarks"]:
        if bench.get("aggregate_name") == "median":
            name, groups = bench["run_name"][len("BM_"):].split("/")
            scale = {"ns": 1, "us": 1e3, "ms": 1e6}[bench["time_unit"]]
            timings[(name, int(groups))] = bench["real_time"] * scale
    return timings


def python_timings():
    """ns per Python step() of each case, best of 5 timeit repeats."""
    timings = {}
    for name, make in CASES.items():
        for groups in (1, 64):
            scheduler = make(sgd(groups))
            number = 20000 if groups == 1 else 2000
            best = min(timeit.repeat(scheduler.step, number=number, repeat=5)) / number * 1e9
            timings[(name, groups)] = best
    return timings


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cpp", help="path of the scheduler_bench binary to run in the same run")
    parser.add_argument("--rounds", type=int, default=1,
                        help="alternate C++ and Python this many times; keep each side's best")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    torch.set_num_threads(1)
    cpp, python = {}, {}
    for _ in range(args.rounds):
        for case, ns in (cpp_timings(args.cpp) if args.cpp else {}).items():
            cpp[case] = min(ns, cpp.get(case, ns))
        for case, ns in python_timings().items():
            python[case] = min(ns, python.get(case, ns))
    print(f"# PyTorch {torch.__version__}")
    header = f"{'case':34s} {'groups':>6s} {'Python ns':>10s}"
    if cpp:
        header += f" {'C++ ns':>8s} {'speed-up':>9s}"
    print(header)
    for (name, groups), best in python.items():
        line = f"{name:34s} {groups:6d} {best:10.0f}"
        if (name, groups) in cpp:
            ns = cpp[(name, groups)]
            line += f" {ns:8.0f} {best / ns:8.0f}x"
        print(line)


if __name__ == "__main__":
    main()
