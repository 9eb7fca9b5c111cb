#!/usr/bin/python3
"""Times PyTorch's Python schedulers' step() on this machine, the peer of scheduler_bench.

Usage: /usr/bin/python3 bench/python_scheduler_bench.py  (Debian's python3-torch)
Prints one line per case: name, groups, nanoseconds per step (best of 5 repeats).
"""
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


def main():
    warnings.simplefilter("ignore")
    torch.set_num_threads(1)
    print(f"# PyTorch {torch.__version__}")
    print(f"{'case':34s} {'groups':>6s} {'ns/step':>10s}")
    for name, make in CASES.items():
        for groups in (1, 64):
            scheduler = make(sgd(groups))
            number = 20000 if groups == 1 else 2000
            best = min(timeit.repeat(scheduler.step, number=number, repeat=5)) / number
            print(f"{name:34s} {groups:6d} {best * 1e9:10.0f}")


if __name__ == "__main__":
    main()
