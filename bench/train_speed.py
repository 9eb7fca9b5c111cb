#!/usr/bin/python3
"""Trains the CIFAR-10 example's network with PyTorch's Python API and prints images/s.

The same network (Caffe's cifar10_full), param groups, optimizer, LR schedule, batch, data and
per-iteration work as `cifar10 train --policy triangular`: the whole training set in one
contiguous tensor, batches gathered with index_select into preallocated tensors, one CSV line
an iteration. Run by bench/train_speed.sh next to the C++ example.
"""
import argparse
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def read_cifar10(root):
    batches = os.path.join(root, "cifar-10-batches-bin")
    if os.path.isdir(batches):
        root = batches
    files = [os.path.join(root, f"data_batch_{i}.bin") for i in range(1, 6)]
    records = np.concatenate([np.fromfile(f, dtype=np.uint8).reshape(-1, 3073) for f in files])
    targets = torch.from_numpy(records[:, 0].astype(np.int64))
    images = torch.from_numpy(records[:, 1:].reshape(-1, 3, 32, 32).astype(np.float32))
    images -= images.double().mean(0).float()
    return images.contiguous(), targets


def within_channel_lrn(x, size=3, alpha=5e-5, beta=0.75):
    mean_square = F.avg_pool2d(x.square(), size, stride=1, padding=(size - 1) // 2,
                               count_include_pad=True)
    return x * mean_square.mul(alpha).add_(1.0).pow(-beta)


class CifarNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, 5, padding=2)
        self.conv2 = nn.Conv2d(32, 32, 5, padding=2)
        self.conv3 = nn.Conv2d(32, 64, 5, padding=2)
        self.fc = nn.Linear(64 * 4 * 4, 10)
        with torch.no_grad():
            self.conv1.weight.normal_(0, 1e-4)
            for w in (self.conv2.weight, self.conv3.weight, self.fc.weight):
                w.normal_(0, 0.01)
            for b in (self.conv1.bias, self.conv2.bias, self.conv3.bias, self.fc.bias):
                b.zero_()

    def forward(self, x):
        x = within_channel_lrn(F.max_pool2d(self.conv1(x), 3, 2, ceil_mode=True).relu_())
        x = within_channel_lrn(F.avg_pool2d(self.conv2(x).relu_(), 3, 2, ceil_mode=True))
        x = F.avg_pool2d(self.conv3(x).relu_(), 3, 2, ceil_mode=True)
        return self.fc(x.flatten(1))


def param_groups(model, lr, weight_decay=0.004):
    return [
        {"params": [model.conv1.weight, model.conv2.weight, model.conv3.weight, model.conv3.bias],
         "lr": lr, "weight_decay": weight_decay},
        {"params": [model.conv1.bias, model.conv2.bias], "lr": 2 * lr,
         "weight_decay": weight_decay},
        {"params": [model.fc.weight], "lr": lr, "weight_decay": 250 * weight_decay},
        {"params": [model.fc.bias], "lr": 2 * lr, "weight_decay": 0.0},
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="data/cifar10")
    parser.add_argument("--iters", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=20, help="untimed iterations first")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--csv", default=os.devnull, help="where the per-iteration CSV goes")
    parser.add_argument("--channels-last", action="store_true",
                        help="lay each batch out channels-last, as the C++ example does")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    images, targets = read_cifar10(args.data_dir)
    model = CifarNet()
    multipliers = [1.0, 2.0, 1.0, 2.0]
    optimizer = torch.optim.SGD(param_groups(model, 0.001), lr=0.001, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.CyclicLR(
        optimizer, base_lr=[0.001 * m for m in multipliers],
        max_lr=[0.006 * m for m in multipliers], step_size_up=2000, mode="triangular",
        cycle_momentum=False)

    batch = args.batch_size
    per_epoch = images.shape[0] // batch
    batch_images = torch.empty(batch, 3, 32, 32)
    batch_targets = torch.empty(batch, dtype=torch.int64)
    order = torch.empty(images.shape[0], dtype=torch.int64)
    generator = np.random.default_rng(1)
    model.train()
    with open(args.csv, "w") as log:
        log.write("iteration,lr,momentum,loss\n")
        start = None
        for t in range(args.warmup + args.iters):
            if t == args.warmup:
                start = time.perf_counter()
                cpu_start = time.process_time()
            if t % per_epoch == 0:
                order.copy_(torch.from_numpy(generator.permutation(images.shape[0])))
            index = order.narrow(0, (t % per_epoch) * batch, batch)
            torch.index_select(images, 0, index, out=batch_images)
            torch.index_select(targets, 0, index, out=batch_targets)
            lr = optimizer.param_groups[0]["lr"]
            momentum = optimizer.param_groups[0]["momentum"]
            optimizer.zero_grad(set_to_none=True)
            inputs = batch_images
            if args.channels_last:
                inputs = batch_images.contiguous(memory_format=torch.channels_last)
            loss = F.cross_entropy(model(inputs), batch_targets)
            loss.backward()
            optimizer.step()
            value = loss.item()
            scheduler.step()
            log.write(f"{t},{lr:.9g},{momentum:.6g},{value:.6g}\n")
        seconds = time.perf_counter() - start
        cpu_seconds = time.process_time() - cpu_start
    print(f"python images/s: {args.iters * batch / seconds:.1f} "
          f"({args.iters} iterations, {seconds:.1f} s, {args.threads} threads, "
          f"torch {torch.__version__}); images per CPU-second: "
          f"{args.iters * batch / cpu_seconds:.1f}")


if __name__ == "__main__":
    sys.exit(main())
