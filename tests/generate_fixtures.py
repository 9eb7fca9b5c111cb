#!/usr/bin/python3
"""Writes the golden LR/momentum sequences of PyTorch's own Python schedulers to fixtures/, and
the golden parameter trajectories of PyTorch's Python Adadelta to fixtures/adadelta/.

Runs with PyTorch 1.13 (Debian's python3-torch: `/usr/bin/python3 tests/generate_fixtures.py`) and
2.x (`.venv/bin/python tests/generate_fixtures.py`, scripts/lane.sh --libtorch pypi); both write the
same files but for the cases in VERSION_DIFFERENCES, where the committed fixture is 2.x's (torchclr
follows 2.x). Each fixture is a text file: a `config` line (how the C++ test builds the same
scheduler), a `columns` line, then one row per iteration t = 0..N: t, then the values after
construction (t = 0) or after the t-th `step()`. The long runs (tens of thousands to a million
iterations) keep a sample of the rows: every k-th, the first and last ones, and every row near a
cycle boundary or milestone. Optional `#` comment lines come first; a `metric` column holds the
value passed to that step (nan in row 0). The Adadelta fixtures are described in `adadelta()`.

Every scheduler fixture comes from PyTorch's own scheduler classes, except where PyTorch has no
such schedule: WarmupStableDecay and the warm restarts' cycle_decay/cycle_limit (timm's) are
written out below from their papers' formulas, and a warm-up before ReduceLROnPlateau (which
PyTorch's SequentialLR cannot hold) is PyTorch's LinearLR followed by PyTorch's ReduceLROnPlateau,
stepped by hand. Such fixtures say so in their first line.

`--check` writes nothing into fixtures/: it generates into a temporary directory and compares with
the committed files, each number to 1e-12 relative; a documented difference must still differ
(CTest runs it as fixtures_match_pytorch with each lane's Python).
"""
import argparse
import functools
import math
import os
import sys
import tempfile
import warnings

import torch
from torch.optim import lr_scheduler

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "fixtures")
OUT = FIXTURES  # where write() puts files; main() and @case point it elsewhere
TOLERANCE = 1e-12
# Float32 trajectories (the Adadelta fixtures) round differently with the PyTorch version and the
# CPU's vector instructions: 1.13 and 2.15 on an AVX-512 Xeon agree with each other and differ
# from 2.x on an AMD EPYC (which wrote the committed files) by up to 3.2e-6 relative after 100
# steps, as 1.13 differed from 2.x there. They are compared to three times that.
FLOAT32_TOLERANCE = 1e-5
TORCH_VERSION = tuple(int(v) for v in torch.__version__.split("+")[0].split(".")[:2])

# Where PyTorch versions disagree. Fixture ("name" or "adadelta/name") -> (first PyTorch version
# that writes the committed file, what older versions do). Older versions write such a case aside,
# never over the committed file; `--check` requires that it still differs there (or raises).
VERSION_DIFFERENCES = {
    "cyclic_momentum_adam": (
        (2, 0), "CyclicLR cycles Adam's betas[0] since PyTorch 2.0; 1.13 raises ValueError "
                "(optimizer must support momentum)"),
}
# Fixture -> (what this older PyTorch did with a documented difference, the file it wrote aside
# or None).
OLDER = {}
_older_dir = None  # a tempfile.TemporaryDirectory for what older versions write, removed at exit


def case(write_case, folder=""):
    """Marks a function that writes one fixture into OUT/folder, named by its first argument: under
    a PyTorch older than the fixture's entry in VERSION_DIFFERENCES it writes into a temporary
    directory and records what happened, instead of overwriting the committed file."""
    @functools.wraps(write_case)
    def run(name, *args, **kwargs):
        global OUT, _older_dir
        key = os.path.join(folder, name)
        since = VERSION_DIFFERENCES.get(key, (None, ""))[0]
        if since is None or TORCH_VERSION >= since:
            write_case(name, *args, **kwargs)
            return
        _older_dir = _older_dir or tempfile.TemporaryDirectory(prefix="torchclr-older-")
        out, OUT = OUT, _older_dir.name
        try:
            write_case(name, *args, **kwargs)
            OLDER[key] = ("writes other values", os.path.join(OUT, key + ".txt"))
        except Exception as e:  # the difference may be an error in the older version
            OLDER[key] = (f"raises {type(e).__name__}: {e}", None)
        finally:
            OUT = out
    return run


# Custom scale functions, defined identically in scheduler_golden_test.cpp.
SCALE_FNS = {
    "hyperbolic": lambda x: 1.0 / (1.0 + 0.5 * x),
    "slow_decay": lambda x: 1.0 / (1.0 + 0.01 * x),
}

# LambdaLR factors, defined identically in fixture.cpp (lambda_named).
LAMBDAS = {
    "warmup_rsqrt": lambda t: (t + 1) / 10.0 if t < 10 else (10.0 / (t + 1)) ** 0.5,
    "step_thirds": lambda t: 1.0 / (1 + t // 3),
}


def make_optimizer(kind, lrs, momentum):
    params = [torch.nn.Parameter(torch.zeros(1)) for _ in lrs]
    groups = [{"params": [p], "lr": lr} for p, lr in zip(params, lrs)]
    if kind == "sgd":
        return torch.optim.SGD(groups, lr=lrs[0], momentum=momentum)
    if kind == "rmsprop":
        return torch.optim.RMSprop(groups, lr=lrs[0], momentum=momentum)
    if kind == "adam":
        return torch.optim.Adam(groups, lr=lrs[0])
    raise ValueError(kind)


def momentum_of(group):
    return group["betas"][0] if "betas" in group else group["momentum"]


def fmt_list(values):
    return ",".join(repr(float(v)) if isinstance(v, float) else str(v) for v in values)


def sampled(steps, every, boundaries=(), window=3, ends=50):
    """The rows a long fixture keeps: every `every`-th iteration, the first and last `ends`, and
    those within `window` of a boundary (a cycle's start or peak, a milestone)."""
    near = set()
    for b in boundaries:
        near.update(range(max(0, b - window), min(steps, b + window) + 1))
    return lambda t: t % every == 0 or t <= ends or t >= steps - ends or t in near


def write(name, config, optimizer, scheduler, steps, with_momentum, keep=None, metrics=None):
    """Steps `scheduler` `steps` times (with metrics[t] at step t when given) and records."""
    groups = optimizer.param_groups
    columns = [f"lr{g}" for g in range(len(groups))]
    if with_momentum:
        columns += [f"momentum{g}" for g in range(len(groups))]
    if metrics is not None:
        columns.append("metric")
    path = os.path.join(OUT, name + ".txt")
    with open(path, "w") as f:
        f.write("config " + " ".join(f"{k}={v}" for k, v in config.items()) + "\n")
        f.write("columns " + " ".join(columns) + "\n")
        for t in range(steps + 1):
            if t > 0:
                if metrics is None:
                    scheduler.step()
                else:
                    scheduler.step(metrics[t])
            if keep is not None and not keep(t):
                continue
            row = [g["lr"] for g in groups]
            if with_momentum:
                row += [momentum_of(g) for g in groups]
            if metrics is not None:
                row.append(metrics[t] if t > 0 else math.nan)
            f.write(str(t) + " " + " ".join(repr(v) for v in row) + "\n")


def write_rows(name, config, columns, rows, comment):
    """A fixture whose rows (one per iteration from 0) come from elsewhere than one scheduler."""
    with open(os.path.join(OUT, name + ".txt"), "w") as f:
        f.write("# " + comment + "\n")
        f.write("config " + " ".join(f"{k}={v}" for k, v in config.items()) + "\n")
        f.write("columns " + " ".join(columns) + "\n")
        for t, row in enumerate(rows):
            f.write(str(t) + " " + " ".join(repr(float(v)) for v in row) + "\n")


@case
def cyclic(name, base_lr, max_lr, up, down=None, mode="triangular", gamma=1.0, scale_fn=None,
           scale_mode="cycle", cycle_momentum=False, base_momentum=0.8, max_momentum=0.9,
           optimizer="sgd", lrs=(0.1,), steps=None, every=None, ends=50):
    opt = make_optimizer(optimizer, list(lrs), momentum=0.9)
    sched = lr_scheduler.CyclicLR(
        opt, base_lr=base_lr, max_lr=max_lr, step_size_up=up, step_size_down=down, mode=mode,
        gamma=gamma, scale_fn=SCALE_FNS[scale_fn] if scale_fn else None, scale_mode=scale_mode,
        cycle_momentum=cycle_momentum, base_momentum=base_momentum, max_momentum=max_momentum)
    as_list = lambda v: v if isinstance(v, (list, tuple)) else [v]
    config = {
        "scheduler": "CyclicLR", "optimizer": optimizer, "lrs": fmt_list(lrs),
        "base_lr": fmt_list(as_list(base_lr)), "max_lr": fmt_list(as_list(max_lr)),
        "step_size_up": up, "step_size_down": down if down is not None else up, "mode": mode,
        "gamma": repr(gamma), "scale_fn": scale_fn or "none", "scale_mode": scale_mode,
        "cycle_momentum": int(cycle_momentum), "base_momentum": fmt_list(as_list(base_momentum)),
        "max_momentum": fmt_list(as_list(max_momentum)),
    }
    period = up + (down if down is not None else up)
    steps = steps or 3 * period + 7
    keep = None
    if every:
        # Rows near every cycle start and peak, where cycles are long enough to sample between.
        starts = range(0, steps + 1, period) if period >= 100 else []
        keep = sampled(steps, every, [b for s in starts for b in (s, s + up)], ends=ends)
    write(name, config, opt, sched, steps, cycle_momentum, keep)


@case
def one_cycle(name, max_lr, total, pct_start=0.3, anneal="cos", div_factor=25.0,
              final_div_factor=1e4, three_phase=False, cycle_momentum=True, base_momentum=0.85,
              max_momentum=0.95, optimizer="sgd", lrs=(0.1,), every=None):
    opt = make_optimizer(optimizer, list(lrs), momentum=0.9)
    sched = lr_scheduler.OneCycleLR(
        opt, max_lr=max_lr, total_steps=total, pct_start=pct_start, anneal_strategy=anneal,
        div_factor=div_factor, final_div_factor=final_div_factor, three_phase=three_phase,
        cycle_momentum=cycle_momentum, base_momentum=base_momentum, max_momentum=max_momentum)
    as_list = lambda v: v if isinstance(v, (list, tuple)) else [v]
    config = {
        "scheduler": "OneCycleLR", "optimizer": optimizer, "lrs": fmt_list(lrs),
        "max_lr": fmt_list(as_list(max_lr)), "total_steps": total, "pct_start": repr(pct_start),
        "anneal_strategy": anneal, "div_factor": repr(div_factor),
        "final_div_factor": repr(final_div_factor), "three_phase": int(three_phase),
        "cycle_momentum": int(cycle_momentum), "base_momentum": fmt_list(as_list(base_momentum)),
        "max_momentum": fmt_list(as_list(max_momentum)),
    }
    # Iterations 0 .. total - 1: PyTorch extrapolates at t = total, torchclr holds (documented).
    phase_ends = [pct_start * total - 1, 2 * pct_start * total - 2] if three_phase else \
        [pct_start * total - 1]
    keep = sampled(total - 1, every, [round(e) for e in phase_ends]) if every else None
    write(name, config, opt, sched, total - 1, cycle_momentum, keep)


@case
def multi_step(name, milestones, gamma, lrs, steps, every=None):
    opt = make_optimizer("sgd", list(lrs), momentum=0.9)
    sched = lr_scheduler.MultiStepLR(opt, milestones=milestones, gamma=gamma)
    config = {"scheduler": "MultiStepLR", "optimizer": "sgd", "lrs": fmt_list(lrs),
              "milestones": fmt_list(milestones), "gamma": repr(gamma)}
    keep = sampled(steps, every, milestones) if every else None
    write(name, config, opt, sched, steps, False, keep)


@case
def exponential(name, gamma, lrs, steps, every=None):
    opt = make_optimizer("sgd", list(lrs), momentum=0.9)
    sched = lr_scheduler.ExponentialLR(opt, gamma=gamma)
    config = {"scheduler": "ExponentialLR", "optimizer": "sgd", "lrs": fmt_list(lrs),
              "gamma": repr(gamma)}
    keep = sampled(steps, every) if every else None
    write(name, config, opt, sched, steps, False, keep)


@case
def linear(name, start_factor, end_factor, total_iters, lrs, steps, every=None):
    opt = make_optimizer("sgd", list(lrs), momentum=0.9)
    sched = lr_scheduler.LinearLR(opt, start_factor=start_factor, end_factor=end_factor,
                                  total_iters=total_iters)
    config = {"scheduler": "LinearLR", "optimizer": "sgd", "lrs": fmt_list(lrs),
              "start_factor": repr(start_factor), "end_factor": repr(end_factor),
              "total_iters": total_iters}
    keep = sampled(steps, every, [total_iters]) if every else None
    write(name, config, opt, sched, steps, False, keep)


# Builders of the schedulers added after the CLR set: each returns (scheduler, config) for an
# optimizer, config keys as fixture.cpp reads them. Composites take already built children.
def step_lr(opt, step_size, gamma=0.1):
    return (lr_scheduler.StepLR(opt, step_size=step_size, gamma=gamma),
            {"scheduler": "StepLR", "step_size": step_size, "gamma": repr(gamma)})


def constant_lr(opt, factor=1.0 / 3, total_iters=5):
    return (lr_scheduler.ConstantLR(opt, factor=factor, total_iters=total_iters),
            {"scheduler": "ConstantLR", "factor": repr(factor), "total_iters": total_iters})


def linear_lr(opt, start_factor, end_factor, total_iters):
    return (lr_scheduler.LinearLR(opt, start_factor=start_factor, end_factor=end_factor,
                                  total_iters=total_iters),
            {"scheduler": "LinearLR", "start_factor": repr(start_factor),
             "end_factor": repr(end_factor), "total_iters": total_iters})


def exponential_lr(opt, gamma):
    return (lr_scheduler.ExponentialLR(opt, gamma=gamma),
            {"scheduler": "ExponentialLR", "gamma": repr(gamma)})


def multi_step_lr(opt, milestones, gamma):
    return (lr_scheduler.MultiStepLR(opt, milestones=milestones, gamma=gamma),
            {"scheduler": "MultiStepLR", "milestones": fmt_list(milestones), "gamma": repr(gamma)})


def polynomial_lr(opt, total_iters, power):
    return (lr_scheduler.PolynomialLR(opt, total_iters=total_iters, power=power),
            {"scheduler": "PolynomialLR", "total_iters": total_iters, "power": repr(power)})


def lambda_lr(opt, names):
    fns = [LAMBDAS[n] for n in names]
    return (lr_scheduler.LambdaLR(opt, fns if len(fns) > 1 else fns[0]),
            {"scheduler": "LambdaLR", "lambdas": ",".join(names)})


def cosine_lr(opt, t_max, eta_min=0.0):
    return (lr_scheduler.CosineAnnealingLR(opt, T_max=t_max, eta_min=eta_min),
            {"scheduler": "CosineAnnealingLR", "t_max": t_max, "eta_min": repr(eta_min)})


def warm_restarts(opt, t_0, t_mult=1, eta_min=0.0):
    return (lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=t_0, T_mult=t_mult, eta_min=eta_min),
            {"scheduler": "CosineAnnealingWarmRestarts", "t_0": t_0, "t_mult": t_mult,
             "eta_min": repr(eta_min), "cycle_decay": "1.0", "cycle_limit": 0})


def plateau(opt, mode="min", factor=0.1, patience=10, threshold=1e-4, threshold_mode="rel",
            cooldown=0, min_lr=0.0, eps=1e-8):
    sched = lr_scheduler.ReduceLROnPlateau(
        opt, mode=mode, factor=factor, patience=patience, threshold=threshold,
        threshold_mode=threshold_mode, cooldown=cooldown, min_lr=min_lr, eps=eps)
    as_list = min_lr if isinstance(min_lr, (list, tuple)) else [min_lr]
    return sched, {"scheduler": "ReduceLROnPlateau", "mode": mode, "factor": repr(factor),
                   "patience": patience, "threshold": repr(threshold),
                   "threshold_mode": threshold_mode, "cooldown": cooldown,
                   "min_lr": fmt_list([float(v) for v in as_list]), "eps": repr(eps)}


@case
def single(name, make, lrs, steps, optimizer="sgd"):
    opt = make_optimizer(optimizer, list(lrs), momentum=0.9)
    sched, config = make(opt)
    write(name, {**config, "optimizer": optimizer, "lrs": fmt_list(lrs)}, opt, sched, steps, False)


def flatten_children(children_configs):
    config = {"children": len(children_configs)}
    for i, child in enumerate(children_configs):
        for key, value in child.items():
            config[f"child{i}.{key}"] = value
    return config


@case
def sequential(name, makes, milestones, lrs, steps):
    opt = make_optimizer("sgd", list(lrs), momentum=0.9)
    built = [make(opt) for make in makes]
    sched = lr_scheduler.SequentialLR(opt, [b[0] for b in built], milestones=milestones)
    config = {"scheduler": "SequentialLR", "optimizer": "sgd", "lrs": fmt_list(lrs),
              "milestones": fmt_list(milestones), **flatten_children([b[1] for b in built])}
    write(name, config, opt, sched, steps, False)


@case
def chained(name, makes, lrs, steps):
    opt = make_optimizer("sgd", list(lrs), momentum=0.9)
    built = [make(opt) for make in makes]
    sched = lr_scheduler.ChainedScheduler([b[0] for b in built])
    config = {"scheduler": "ChainedScheduler", "optimizer": "sgd", "lrs": fmt_list(lrs),
              **flatten_children([b[1] for b in built])}
    write(name, config, opt, sched, steps, False)


def plateau_metrics(steps, seed, mode="min"):
    """A noisy metric that improves, stalls, improves a little, then stalls for good."""
    gen = torch.Generator().manual_seed(seed)
    noise = (torch.rand(steps + 1, generator=gen, dtype=torch.float64) - 0.5).tolist()
    values = []
    for t in range(steps + 1):
        trend = 2.0 / (1 + 0.3 * t) if t < steps // 3 else 2.0 / (1 + 0.1 * steps) + 0.002 * (t % 7)
        value = trend + 0.01 * noise[t]
        values.append(value if mode == "min" else 1.0 - value)
    return values


@case
def plateau_fixture(name, lrs, steps, seed, **kwargs):
    opt = make_optimizer("sgd", list(lrs), momentum=0.9)
    sched, config = plateau(opt, **kwargs)
    metrics = plateau_metrics(steps, seed, kwargs.get("mode", "min"))
    write(name, {**config, "optimizer": "sgd", "lrs": fmt_list(lrs)}, opt, sched, steps, False,
          metrics=metrics)


@case
def warmup_then_plateau(name, warmup_iters, start_factor, lrs, steps, seed, **kwargs):
    """SequentialLR(LinearLR, ReduceLROnPlateau), milestone warmup_iters: PyTorch's SequentialLR
    cannot hold ReduceLROnPlateau, so this steps PyTorch's LinearLR, then a ReduceLROnPlateau
    built on the same optimizer at the original LR (iteration warmup_iters is its first step)."""
    opt = make_optimizer("sgd", list(lrs), momentum=0.9)
    warmup = lr_scheduler.LinearLR(opt, start_factor=start_factor, end_factor=1.0,
                                   total_iters=warmup_iters)
    metrics = plateau_metrics(steps, seed, kwargs.get("mode", "min"))
    rows = [[g["lr"] for g in opt.param_groups] + [math.nan]]
    plateau_sched = None
    plateau_config = None
    for t in range(1, steps + 1):
        if t < warmup_iters:
            warmup.step()
        else:
            if plateau_sched is None:
                for group in opt.param_groups:
                    group["lr"] = group["initial_lr"]
                plateau_sched, plateau_config = plateau(opt, **kwargs)
            plateau_sched.step(metrics[t])
        rows.append([g["lr"] for g in opt.param_groups] + [metrics[t]])
    _, warmup_config = (None, {"scheduler": "LinearLR", "start_factor": repr(start_factor),
                               "end_factor": "1.0", "total_iters": warmup_iters})
    config = {"scheduler": "SequentialLR", "optimizer": "sgd", "lrs": fmt_list(lrs),
              "milestones": warmup_iters, **flatten_children([warmup_config, plateau_config])}
    columns = [f"lr{g}" for g in range(len(lrs))] + ["metric"]
    write_rows(name, config, columns, rows,
               "reference: PyTorch's LinearLR, then PyTorch's ReduceLROnPlateau from the milestone "
               "on (PyTorch's SequentialLR cannot hold it)")


def wsd_formula(base, t, total, warmup, decay_steps, shape, min_lr, decay_from=None):
    """Warmup-stable-decay as MiniCPM (arXiv 2404.06395) and Hagele et al. (arXiv 2405.18392)
    define it: linear warm-up from 0, constant, then the cooldown over decay_steps."""
    start = total - decay_steps if decay_from is None else decay_from
    if t < warmup:
        return base * (t / warmup)
    if t < start:
        return base
    if t >= start + decay_steps:
        return min_lr
    p = (t - start) / decay_steps
    value = {"linear": 1 - p, "cosine": (1 + math.cos(math.pi * p)) / 2,
             "one_minus_sqrt": 1 - math.sqrt(p)}[shape]
    return min_lr + (base - min_lr) * value


@case
def wsd(name, lrs, total, warmup, decay_steps, shape, min_lr, steps, decay_from=None):
    min_lrs = min_lr if isinstance(min_lr, (list, tuple)) else [min_lr] * len(lrs)
    rows = [[wsd_formula(base, t, total, warmup, decay_steps, shape, m, decay_from)
             for base, m in zip(lrs, min_lrs)] for t in range(steps + 1)]
    config = {"scheduler": "WarmupStableDecay", "optimizer": "sgd", "lrs": fmt_list(lrs),
              "total_steps": total, "warmup_steps": warmup, "decay_steps": decay_steps,
              "decay": shape, "min_lr": fmt_list([float(m) for m in min_lrs]),
              "decay_from": "none" if decay_from is None else decay_from}
    write_rows(name, config, [f"lr{g}" for g in range(len(lrs))], rows,
               "reference: the WSD formula in generate_fixtures.py (PyTorch has no such class)")


@case
def warm_restarts_formula(name, lrs, t_0, t_mult, eta_min, cycle_decay, cycle_limit, steps):
    """SGDR with timm's cycle_decay (the peak of cycle i is base * cycle_decay^i) and cycle_limit
    (eta_min from cycle cycle_limit on), written out with integer cycle lengths."""
    rows = []
    for t in range(steps + 1):
        cycle, t_cur, t_i = 0, t, t_0
        while t_cur >= t_i:
            t_cur -= t_i
            t_i *= t_mult
            cycle += 1
        row = []
        for base in lrs:
            if cycle_limit and cycle >= cycle_limit:
                row.append(eta_min)
            else:
                peak = base * cycle_decay ** cycle
                row.append(eta_min + (peak - eta_min) * (1 + math.cos(math.pi * t_cur / t_i)) / 2)
        rows.append(row)
    config = {"scheduler": "CosineAnnealingWarmRestarts", "optimizer": "sgd", "lrs": fmt_list(lrs),
              "t_0": t_0, "t_mult": t_mult, "eta_min": repr(eta_min),
              "cycle_decay": repr(cycle_decay), "cycle_limit": cycle_limit}
    write_rows(name, config, [f"lr{g}" for g in range(len(lrs))], rows,
               "reference: SGDR with timm's cycle_decay and cycle_limit, written out in "
               "generate_fixtures.py (PyTorch has neither)")


@functools.partial(case, folder="adadelta")
def adadelta(name, groups, steps=100, dtype=torch.float32, cyclic=None, seed=0):
    """PyTorch's Adadelta (single-tensor path) on random parameters and a fixed random gradient
    sequence. `groups`: one dict per param group: the Adadelta options, `shapes` (one parameter
    each) and optionally `skip` (steps at which the group's first parameter has no gradient).
    `cyclic`: (base_lr, max_lr, step_size_up) of a triangular CyclicLR stepped after every
    optimizer step, its LRs scaled per group like the groups' own LRs. Lines of the fixture:
      config dtype=.. steps=.. [cyclic=BASE,MAX,UP]
      group G lr rho eps weight_decay maximize
      param P G SHAPE v...            initial values (SHAPE: comma-separated sizes)
      lr T G v                        the LR of group G during step T (T = 1..steps)
      grad T P v... | grad T P none   the gradient given to step T
      after T P v...                  the parameter after step T
      state P step square_avg... / acc_delta P v...   the state after the last step
    """
    torch.manual_seed(seed)
    fmt = (lambda v: "%.9g" % v) if dtype == torch.float32 else repr
    values = lambda t: " ".join(fmt(v) for v in t.flatten().tolist())
    params, param_groups, lines, skips = [], [], [], []
    for g, spec in enumerate(groups):
        options = {k: spec[k] for k in ("lr", "rho", "eps", "weight_decay", "maximize")}
        group_params = []
        for shape in spec["shapes"]:
            p = torch.nn.Parameter(torch.randn(shape, dtype=dtype))
            lines.append(f"param {len(params)} {g} {','.join(map(str, shape))} {values(p)}")
            skips.append(spec.get("skip", set()) if not group_params else set())
            params.append(p)
            group_params.append(p)
        param_groups.append(dict(params=group_params, **options))
        lines.insert(g, "group {} {!r} {!r} {!r} {!r} {}".format(
            g, *(float(options[k]) for k in ("lr", "rho", "eps", "weight_decay")),
            int(options["maximize"])))
    opt = torch.optim.Adadelta(param_groups, foreach=False)
    config = f"config dtype={str(dtype).replace('torch.', '')} steps={steps}"
    sched = None
    if cyclic:
        base, peak, up = cyclic
        scales = [spec["lr"] / groups[0]["lr"] for spec in groups]
        sched = lr_scheduler.CyclicLR(opt, base_lr=[base * s for s in scales],
                                      max_lr=[peak * s for s in scales], step_size_up=up,
                                      cycle_momentum=False)
        config += f" cyclic={base!r},{peak!r},{up}"
    for t in range(1, steps + 1):
        for g, group in enumerate(opt.param_groups):
            lines.append(f"lr {t} {g} {group['lr']!r}")
        scale = 0.1 + 2.0 * (t % 7) / 7  # gradients of changing size
        for i, p in enumerate(params):
            if t in skips[i]:
                p.grad = None
                lines.append(f"grad {t} {i} none")
            else:
                p.grad = (torch.randn(p.shape, dtype=dtype) * scale).to(dtype)
                lines.append(f"grad {t} {i} {values(p.grad)}")
        opt.step()
        if sched:
            sched.step()
        for i, p in enumerate(params):
            lines.append(f"after {t} {i} {values(p.detach())}")
    for i, p in enumerate(params):
        state = opt.state[p]
        lines.append(f"state {i} {int(state['step'])} {values(state['square_avg'])}")
        lines.append(f"acc_delta {i} {values(state['acc_delta'])}")
    os.makedirs(os.path.join(OUT, "adadelta"), exist_ok=True)
    with open(os.path.join(OUT, "adadelta", name + ".txt"), "w") as f:
        f.write(config + "\n" + "\n".join(lines) + "\n")


def adadelta_group(shapes, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, maximize=False,
                   skip=()):
    return dict(shapes=shapes, lr=lr, rho=rho, eps=eps, weight_decay=weight_decay,
                maximize=maximize, skip=set(skip))


def read_fixture(path):
    with open(path) as f:
        return [line.split() for line in f.read().splitlines()]


def same_token(expected, actual, tolerance=TOLERANCE):
    """Equal words, or numbers within `tolerance` relative."""
    if expected == actual:
        return True
    try:
        e, a = float(expected), float(actual)
    except ValueError:
        return False
    return abs(e - a) <= tolerance * max(abs(e), abs(a))


def differences(expected_path, actual_path):
    """What differs between two fixture files, in words; empty when they agree to TOLERANCE."""
    expected, actual = read_fixture(expected_path), read_fixture(actual_path)
    if len(expected) != len(actual):
        return [f"{len(actual)} lines instead of {len(expected)}"]
    float32 = bool(expected) and "dtype=float32" in expected[0]
    tolerance = FLOAT32_TOLERANCE if float32 else TOLERANCE
    return [f"line {n}: {' '.join(a)[:100]} instead of {' '.join(e)[:100]}"
            for n, (e, a) in enumerate(zip(expected, actual), 1)
            if len(e) != len(a) or not all(same_token(x, y, tolerance) for x, y in zip(e, a))]


def fixture_files(directory):
    """The fixtures under `directory`, by name: "cyclic_triangular", "adadelta/groups", ..."""
    names = set()
    for sub in ("", "adadelta"):
        folder = os.path.join(directory, sub)
        if os.path.isdir(folder):
            names.update(os.path.join(sub, f[:-4]) for f in os.listdir(folder)
                         if f.endswith(".txt"))
    return names


def check():
    """Regenerates every fixture into a temporary directory and compares with the committed ones."""
    global OUT
    version = torch.__version__
    with tempfile.TemporaryDirectory() as tmp:
        OUT = tmp
        main()
        committed, produced = fixture_files(FIXTURES), fixture_files(tmp)
        problems = []
        for name in sorted(committed | produced | set(OLDER)):
            committed_file = os.path.join(FIXTURES, name + ".txt")
            if name in OLDER:
                what, older = OLDER[name]
                if older and not differences(committed_file, older):
                    problems.append(f"{name}: documented as differing in PyTorch {version}, but "
                                    "equal: remove it from VERSION_DIFFERENCES")
                else:
                    print(f"{name}: documented difference, PyTorch {version} {what} "
                          f"({VERSION_DIFFERENCES[name][1]})")
            elif name not in produced:
                problems.append(f"{name}: committed, but PyTorch {version} does not write it")
            elif name not in committed:
                problems.append(f"{name}: written by PyTorch {version}, but not committed")
            else:
                found = differences(committed_file, os.path.join(tmp, name + ".txt"))
                problems += [f"{name}: {d}" for d in found[:5]]
    for p in problems:
        print("MISMATCH", p)
    print(f"PyTorch {version}: {len(committed) - len(OLDER)} fixtures compared to {TOLERANCE:g} "
          f"relative (float32 ones to {FLOAT32_TOLERANCE:g}), {len(OLDER)} documented differences, "
          f"{len(problems)} problems")
    return not problems


def cli():
    global OUT
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="compare with the committed fixtures instead of writing them")
    parser.add_argument("--out", default=FIXTURES, help="where to write the fixtures")
    args = parser.parse_args()
    if args.check:
        sys.exit(0 if check() else 1)
    OUT = args.out
    main()
    for name, (what, _) in OLDER.items():
        print(f"{name}: kept the committed file, PyTorch {torch.__version__} {what}")


def main():
    warnings.simplefilter("ignore")
    kept = {key for key, (since, _) in VERSION_DIFFERENCES.items() if TORCH_VERSION < since}
    for folder in ("", "adadelta"):
        os.makedirs(os.path.join(OUT, folder), exist_ok=True)
        for f in os.listdir(os.path.join(OUT, folder)):
            if f.endswith(".txt") and os.path.join(folder, f[:-4]) not in kept:
                os.remove(os.path.join(OUT, folder, f))


    cyclic("cyclic_triangular", 0.001, 0.006, up=20)
    cyclic("cyclic_triangular_asymmetric", 0.001, 0.006, up=7, down=23)
    cyclic("cyclic_triangular_odd_ratio", 1e-4, 3e-3, up=3, down=10)
    cyclic("cyclic_triangular_up10", 0.001, 0.006, up=10, steps=130)
    # Cycle 1,024, the last before PyTorch's 2.0 ** (cycle - 1) overflows (pytorch#52989); the
    # amplitude has vanished below base_lr's last bit from about cycle 55 on.
    cyclic("cyclic_triangular2", 0.001, 0.006, up=5, mode="triangular2", steps=10239, every=37,
           ends=700)
    cyclic("cyclic_triangular2_asymmetric", 0.01, 0.1, up=5, down=11, mode="triangular2")
    cyclic("cyclic_exp_range", 0.001, 0.006, up=25, mode="exp_range", gamma=0.99)
    cyclic("cyclic_exp_range_paper_gamma", 0.001, 0.006, up=200, mode="exp_range",
           gamma=0.99994, steps=2000)
    cyclic("cyclic_scale_fn_cycle", 0.001, 0.006, up=8, down=12, scale_fn="hyperbolic",
           scale_mode="cycle")
    cyclic("cyclic_scale_fn_iterations", 0.001, 0.006, up=8, down=12, scale_fn="slow_decay",
           scale_mode="iterations")
    cyclic("cyclic_groups", [0.001, 0.002, 0.0005], [0.006, 0.012, 0.001], up=9, down=6,
           mode="triangular2", lrs=(0.1, 0.2, 0.3))
    cyclic("cyclic_momentum_sgd", 0.001, 0.006, up=10, cycle_momentum=True)
    cyclic("cyclic_momentum_groups", [0.01, 0.02], [0.1, 0.2], up=6, down=9, mode="exp_range",
           gamma=0.995, cycle_momentum=True, base_momentum=[0.8, 0.85], max_momentum=[0.9, 0.95],
           lrs=(0.1, 0.1))
    cyclic("cyclic_momentum_rmsprop", 0.001, 0.006, up=10, mode="triangular2",
           cycle_momentum=True, optimizer="rmsprop")
    cyclic("cyclic_momentum_adam", 0.001, 0.006, up=10, cycle_momentum=True, optimizer="adam")

    one_cycle("one_cycle_cos", 0.1, 100)
    one_cycle("one_cycle_linear", 0.1, 100, anneal="linear")
    one_cycle("one_cycle_three_phase", 0.1, 100, three_phase=True)
    one_cycle("one_cycle_three_phase_linear", 0.05, 77, pct_start=0.25, anneal="linear",
              three_phase=True)
    one_cycle("one_cycle_odd", 0.3, 37, pct_start=0.41, div_factor=10.0, final_div_factor=100.0)
    one_cycle("one_cycle_groups", [0.1, 0.01], 50, base_momentum=[0.85, 0.8],
              max_momentum=[0.95, 0.9], lrs=(0.1, 0.1))
    one_cycle("one_cycle_adam", 0.01, 60, optimizer="adam")
    one_cycle("one_cycle_no_momentum", 0.1, 40, cycle_momentum=False)

    multi_step("multi_step_caffe", [60, 65], 0.1, (0.001,), 80)
    multi_step("multi_step_repeated", [3, 10, 10, 25], 0.5, (0.1, 0.05), 40)
    exponential("exponential_paper", 0.99994, (0.001,), 1500)
    exponential("exponential_groups", 0.9, (0.1, 0.02), 60)
    linear("linear_paper_decay", 1.0, 1.0 / 7.0, 40, (0.007,), 60)
    linear("linear_warmup", 0.25, 1.0, 17, (0.1, 0.3), 30)

    single("step_lr", lambda o: step_lr(o, 7, 0.5), (0.1, 0.05), 40)
    single("step_lr_every_iteration", lambda o: step_lr(o, 1, 0.9), (0.01,), 30)
    single("constant_lr_default", lambda o: constant_lr(o), (0.1, 0.3), 12)
    single("constant_lr_quarter", lambda o: constant_lr(o, 0.25, 9), (0.05,), 15)
    single("polynomial_lr_square", lambda o: polynomial_lr(o, 12, 2.0), (0.1,), 20)
    single("polynomial_lr_groups", lambda o: polynomial_lr(o, 30, 0.9), (0.1, 0.01), 35)
    single("lambda_lr", lambda o: lambda_lr(o, ["warmup_rsqrt"]), (0.1,), 40)
    single("lambda_lr_groups", lambda o: lambda_lr(o, ["warmup_rsqrt", "step_thirds"]),
           (0.1, 0.02), 30)
    single("cosine_lr", lambda o: cosine_lr(o, 25, 0.001), (0.1, 0.05), 60)
    single("cosine_lr_to_zero", lambda o: cosine_lr(o, 40), (0.1,), 40)
    single("warm_restarts", lambda o: warm_restarts(o, 7), (0.1,), 30)
    single("warm_restarts_doubling", lambda o: warm_restarts(o, 5, 2, 1e-4), (0.1, 0.02), 80)
    warm_restarts_formula("warm_restarts_decay", (0.1, 0.02), 5, 2, 1e-4, 0.7, 0, 80)
    warm_restarts_formula("warm_restarts_limit", (0.1,), 6, 1, 0.001, 0.5, 3, 30)

    plateau_fixture("plateau_min_rel", (0.1,), 80, 1, patience=3)
    plateau_fixture("plateau_min_abs_cooldown", (0.1, 0.05), 80, 2, patience=2,
                    threshold=0.01, threshold_mode="abs", cooldown=3, min_lr=[0.002, 0.004])
    plateau_fixture("plateau_max_rel", (0.1,), 80, 3, mode="max", patience=4, factor=0.5)
    plateau_fixture("plateau_max_abs_eps", (0.1,), 100, 4, mode="max", patience=1, factor=0.5,
                    threshold=0.001, threshold_mode="abs", eps=1e-3)

    sequential("sequential_warmup_cosine",
               [lambda o: linear_lr(o, 0.1, 1.0, 5), lambda o: cosine_lr(o, 20, 1e-4)], [5],
               (0.1, 0.05), 40)
    sequential("sequential_constant_exponential",
               [lambda o: constant_lr(o, 0.1, 2), lambda o: exponential_lr(o, 0.9)], [2], (1.0,),
               20)
    sequential("sequential_three",
               [lambda o: linear_lr(o, 0.25, 1.0, 4), lambda o: warm_restarts(o, 5, 2),
                lambda o: multi_step_lr(o, [3, 6], 0.5)], [6, 21], (0.1,), 35)
    warmup_then_plateau("sequential_warmup_plateau", 6, 0.1, (0.1, 0.02), 70, 5, patience=3,
                        cooldown=2)

    chained("chained_constant_exponential",
            [lambda o: constant_lr(o, 0.5, 10), lambda o: exponential_lr(o, 0.95)], (0.1,), 30)
    chained("chained_three",
            [lambda o: linear_lr(o, 0.2, 1.0, 8), lambda o: step_lr(o, 5, 0.5),
             lambda o: polynomial_lr(o, 30, 1.5)], (0.1, 0.04), 35)

    wsd("wsd_linear", (0.1,), 50, 10, 15, "linear", 0.0, 55)
    wsd("wsd_cosine", (0.1, 0.02), 60, 5, 20, "cosine", [0.001, 0.0005], 64)
    wsd("wsd_one_minus_sqrt", (0.1,), 40, 0, 8, "one_minus_sqrt", 0.001, 45)
    wsd("wsd_decay_from", (0.1,), 1000, 4, 10, "one_minus_sqrt", 0.0, 40, decay_from=17)


    adadelta("defaults", [adadelta_group([(3, 4), (5,)])])
    adadelta("weight_decay", [adadelta_group([(4, 3), (6,)], weight_decay=0.05)])
    adadelta("groups", [
        adadelta_group([(2, 3), (4,)], lr=0.5, rho=0.95, eps=1e-6, weight_decay=0.004,
                       skip=range(10, 100, 9)),
        adadelta_group([(2, 2, 2)], lr=2.0, rho=0.5, eps=1e-4),
        adadelta_group([(5,)], lr=0.1, rho=0.0, eps=1e-8, weight_decay=1.0),
        adadelta_group([(3,)], lr=1.0, rho=1.0, eps=1e-6, maximize=True)])
    adadelta("cyclic_float64", [
        adadelta_group([(3, 3)], lr=0.01, weight_decay=0.004),
        adadelta_group([(4,)], lr=0.02, weight_decay=0.0)],
        dtype=torch.float64, cyclic=(0.01, 0.1, 10))

    # Long runs, sampled: the paper's 70,000 iterations (CIFAR-10, step size 2000, Caffe's
    # schedules), 1cycle's 10,000 and a million iterations of 5-iteration cycles.
    cyclic("cyclic_triangular2_paper_70k", 0.001, 0.006, up=2000, mode="triangular2",
           cycle_momentum=True, steps=70000, every=100)
    cyclic("cyclic_exp_range_paper_70k", 0.001, 0.006, up=2000, mode="exp_range", gamma=0.99994,
           steps=70000, every=100)
    multi_step("multi_step_caffe_70k", [60000, 65000], 0.1, (0.001,), 70000, every=500)
    exponential("exponential_paper_70k", 0.99994, (0.001,), 70000, every=100)
    linear("linear_paper_decay_25k", 1.0, 1.0 / 7.0, 4000, (0.007,), 25000, every=100)
    one_cycle("one_cycle_10k", 3.0, 10000, pct_start=0.45, anneal="linear", div_factor=30.0,
              three_phase=True, every=50)
    cyclic("cyclic_short_cycles_1m", 0.001, 0.006, up=2, down=3, cycle_momentum=True,
           steps=1000000, every=997)


if __name__ == "__main__":
    cli()
