#!/usr/bin/python3
"""Times PyTorch's Python schedulers' step() on this machine, the peer of scheduler_bench.

Usage: /usr/bin/python3 bench/python_scheduler_bench.py [--cpp build/bench/scheduler_bench]
(Debian's python3-torch; or .venv/bin/python with build-pypi/bench/scheduler_bench for LibTorch
2.x). Prints one line per case: name, groups, CPU nanoseconds per Python step
(best of 5 repeats) and, with --cpp, the C++ scheduler_bench figure of the same case measured in
the same run (CPU time, best of 5 repetitions), and the ratio.
"""
import argparse
import functools
import json
import math
import subprocess
import time
import timeit
import warnings

import torch
from torch.optim import lr_scheduler


def wsd_factor(total, warmup, decay):
    """Warmup-stable-decay as a LambdaLR factor (PyTorch has no class; transformers'
    get_wsd_schedule is a LambdaLR of this kind), linear cooldown."""
    def factor(t):
        if t < warmup:
            return t / warmup
        if t < total - decay:
            return 1.0
        return max(0.0, 1 - (t - (total - decay)) / decay)
    return factor


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
    "StepLR": lambda o: lr_scheduler.StepLR(o, 2000, 0.5),
    "ConstantLR": lambda o: lr_scheduler.ConstantLR(o),
    "PolynomialLR": lambda o: lr_scheduler.PolynomialLR(o, total_iters=10**7, power=0.9),
    "LambdaLR": lambda o: lr_scheduler.LambdaLR(o, lambda t: 1.0 / math.sqrt(1.0 + t / 1000.0)),
    "CosineAnnealingLR": lambda o: lr_scheduler.CosineAnnealingLR(o, 10000, eta_min=1e-5),
    "CosineAnnealingWarmRestarts": lambda o: lr_scheduler.CosineAnnealingWarmRestarts(
        o, 1000, T_mult=2),
    "WarmupStableDecay": lambda o: lr_scheduler.LambdaLR(o, wsd_factor(10**7, 1000, 2 * 10**6)),
    "ReduceLROnPlateau": lambda o: lr_scheduler.ReduceLROnPlateau(o),
    "SequentialLR_Warmup_Cosine": lambda o: lr_scheduler.SequentialLR(
        o, [lr_scheduler.LinearLR(o, 0.01, 1.0, 1000), lr_scheduler.CosineAnnealingLR(o, 10**7)],
        [1000]),
    "ChainedScheduler_Constant_Exponential": lambda o: lr_scheduler.ChainedScheduler(
        [lr_scheduler.ConstantLR(o), lr_scheduler.ExponentialLR(o, 0.99994)]),
}

# Cases whose step() takes the monitored metric.
METRIC_CASES = {"ReduceLROnPlateau"}


def cpp_timings(binary):
    """CPU ns per step of each BM_<case>/<groups> of scheduler_bench, best of 5 repetitions. The
    Python figures are CPU time and the best of 5 repeats too: on a shared machine both sides
    count the time their own process ran, in its least disturbed run."""
    out = subprocess.run(
        [binary, "--benchmark_format=json", "--benchmark_repetitions=5",
         "--benchmark_min_time=0.2"],
        check=True, capture_output=True, text=True).stdout
    timings = {}
    for bench in json.loads(out)["benchmarks"]:
        if bench.get("run_type") == "iteration":
            name, groups = bench["run_name"][len("BM_"):].split("/")
            scale = {"ns": 1, "us": 1e3, "ms": 1e6}[bench["time_unit"]]
            key = (name, int(groups))
            timings[key] = min(timings.get(key, float("inf")), bench["cpu_time"] * scale)
    return timings


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cpp", help="path of the scheduler_bench binary to run in the same run")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    torch.set_num_threads(1)
    cpp = cpp_timings(args.cpp) if args.cpp else {}
    print(f"# PyTorch {torch.__version__}")
    header = f"{'case':38s} {'groups':>6s} {'Python ns':>10s}"
    if cpp:
        header += f" {'C++ ns':>8s} {'speed-up':>9s}"
    print(header)
    for name, make in CASES.items():
        for groups in (1, 64):
            scheduler = make(sgd(groups))
            step = functools.partial(scheduler.step, 1.0) if name in METRIC_CASES else scheduler.step
            number = 20000 if groups == 1 else 2000
            best = min(timeit.repeat(step, number=number, repeat=5, timer=time.process_time))
            best = best / number * 1e9
            line = f"{name:38s} {groups:6d} {best:10.0f}"
            if (name, groups) in cpp:
                ns = cpp[(name, groups)]
                line += f" {ns:8.0f} {best / ns:8.0f}x"
            print(line)


if __name__ == "__main__":
    main()
