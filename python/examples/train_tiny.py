#!/usr/bin/env python3
"""A tiny 3D CNN trained with multigrid in plain PyTorch: the plan decides every batch's shape,
the LR and the BatchNorm splits; the short-cycle sampler makes the batches; a sub-batch BatchNorm
is a few lines on top of multigrid.pool_split_statistics and tile_statistics.

The clips are generated: a bright square moving across noise, and the class is the direction it
moves in, so that the model must see motion. Run `python3 train_tiny.py` (about 90 s on two
cores) or `--quick` (what the tests run).
"""

import argparse
import time

import torch
import torch.nn.functional as F
from torch import nn

import multigrid

DIRECTIONS = [(0, 1), (0, -1), (1, 0), (-1, 0)]  # (dy, dx) per frame: the four classes


class MovingSquares(torch.utils.data.Dataset):
    """Clip `index` at the shape the sampler asks for: (index, shape_index) -> (clip, label)."""

    def __init__(self, size, plan, seed):
        self.size, self.plan, self.seed, self.epoch = size, plan, seed, 0

    def __len__(self):
        return self.size

    def shape_of(self, shape_index):
        settings = self.plan.stages[self.plan.stage_of_epoch(self.epoch)].settings
        return settings.cycle[shape_index], settings.sampling_rate

    def __getitem__(self, item):
        index, shape_index = item
        shape, sampling_rate = self.shape_of(shape_index)
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + index)
        stride = int(torch.randint(sampling_rate[0], sampling_rate[1] + 1, (1,), generator=generator))
        return render(index, shape.num_frames, shape.crop, stride, generator), index % len(DIRECTIONS)


def render(index, frames, crop, stride, generator):
    """A square of crop/5 pixels moving crop/64 pixels per source frame, sampled every `stride`."""
    dy, dx = DIRECTIONS[index % len(DIRECTIONS)]
    side = max(2, crop // 5)
    speed = crop / 64.0
    clip = 0.2 * torch.rand(3, frames, crop, crop, generator=generator)
    start = torch.rand(2, generator=generator) * (crop - side)
    for f in range(frames):
        y = int(start[0] + dy * speed * stride * f) % (crop - side)
        x = int(start[1] + dx * speed * stride * f) % (crop - side)
        clip[:, f, y : y + side, x : x + side] += 0.8
    return clip


class SubBatchNorm3d(nn.Module):
    """BatchNorm over `splits` blocks of consecutive clips, with running statistics per (split,
    channel), split-major, and one affine pair. Evaluation uses the splits' pooled statistics."""

    def __init__(self, channels, momentum=0.1):
        super().__init__()
        self.channels, self.splits, self.momentum = channels, 1, momentum
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))

    def set_splits(self, splits):
        """A new stage: pool the statistics into one BN, then tile them into `splits`."""
        mean, var = self.pooled()
        self.splits = splits
        self.running_mean = multigrid.tile_statistics(mean, splits, torch.empty(splits * self.channels))
        self.running_var = multigrid.tile_statistics(var, splits, torch.empty(splits * self.channels))

    def pooled(self):
        return multigrid.pool_split_statistics(
            self.running_mean, self.running_var, self.splits, torch.empty(self.channels), torch.empty(self.channels)
        )

    def forward(self, x):
        n, c = x.shape[:2]
        if self.training and self.splits > 1:
            # (N, C, ...) -> (N / k, k * C, ...) with split j the j-th block of N / k clips.
            blocks = x.view(self.splits, n // self.splits, c, *x.shape[2:]).transpose(0, 1)
            y = F.batch_norm(blocks.reshape(n // self.splits, self.splits * c, *x.shape[2:]),
                             self.running_mean, self.running_var, training=True, momentum=self.momentum)
            y = y.view(n // self.splits, self.splits, c, *x.shape[2:]).transpose(0, 1).reshape(x.shape)
        elif self.training:
            y = F.batch_norm(x, self.running_mean, self.running_var, training=True, momentum=self.momentum)
        else:
            mean, var = self.pooled()
            y = F.batch_norm(x, mean, var, training=False)
        shape = (1, c) + (1,) * (x.dim() - 2)
        return y * self.weight.view(shape) + self.bias.view(shape)


class TinyNet(nn.Module):
    def __init__(self, classes):
        super().__init__()
        self.conv1 = nn.Conv3d(3, 8, 3, stride=(1, 2, 2), padding=1, bias=False)
        self.bn1 = SubBatchNorm3d(8)
        self.conv2 = nn.Conv3d(8, 16, 3, stride=2, padding=1, bias=False)
        self.bn2 = SubBatchNorm3d(16)
        self.head = nn.Linear(16, classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        return self.head(x.mean(dim=(2, 3, 4)))

    def set_batch_norm(self, batch_norm):
        splits = batch_norm.splits if batch_norm.type == "sub" else 1  # one process: no sync-BN
        for module in self.modules():
            if isinstance(module, SubBatchNorm3d):
                module.set_splits(splits)


def evaluate(model, plan, size, seed):
    """Accuracy at the base shape (MULTIGRID's evaluation shape), stride at the base rate."""
    base = plan.config
    model.eval()
    with torch.no_grad():
        clips = torch.stack([render(i, base.num_frames, base.train_crop_size, base.sampling_rate,
                                    torch.Generator().manual_seed(seed + i)) for i in range(size)])
        labels = torch.tensor([i % len(DIRECTIONS) for i in range(size)])
        accuracy = (model(clips).argmax(dim=1) == labels).float().mean().item()
    model.train()
    return accuracy


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few epochs on few clips")
    arguments = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(2)

    # PySlowFast's keys, scaled down: 8 clips of 8 frames at 32 px, multigrid on.
    values = {
        "TRAIN": {"BATCH_SIZE": 8},
        "DATA": {"NUM_FRAMES": 8, "SAMPLING_RATE": 2, "TRAIN_CROP_SIZE": 32, "TRAIN_JITTER_SCALES": [32, 40]},
        "SOLVER": {"BASE_LR": 0.05, "LR_POLICY": "steps_with_relative_lrs", "STEPS": [0, 6, 8],
                   "LRS": [1, 0.1, 0.01], "MAX_EPOCH": 10, "WARMUP_EPOCHS": 1.0, "WARMUP_START_LR": 0.005},
        "MULTIGRID": {"LONG_CYCLE": True, "SHORT_CYCLE": True, "BN_BASE_SIZE": 4},
    }
    if arguments.quick:
        values["SOLVER"].update({"STEPS": [0, 2], "LRS": [1, 0.1], "MAX_EPOCH": 3, "WARMUP_EPOCHS": 0.0})
    config = multigrid.Config(values)
    train_size = 256 if arguments.quick else 1024
    plan = multigrid.Plan(config, train_size)
    print(f"{plan}: STEPS {plan.steps}")

    dataset = MovingSquares(train_size, plan, seed=1)
    sampler = multigrid.ShortCycleBatchSampler(plan, seed=0, with_shape_index=True)
    loader = torch.utils.data.DataLoader(dataset, batch_sampler=sampler)
    model = TinyNet(len(DIRECTIONS))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0, momentum=0.9)

    start = time.time()
    iterations = 0
    for epoch in range(plan.epochs):
        sampler.set_epoch(epoch)
        dataset.epoch = epoch
        losses = []
        for iteration, (clips, labels) in enumerate(loader):
            step = plan.at(epoch, iteration)
            assert tuple(clips.shape) == (step.batch_size, 3, step.num_frames, step.crop, step.crop)
            if step.stage_begins:
                model.set_batch_norm(step.batch_norm)
            for group in optimizer.param_groups:
                group["lr"] = step.lr
            loss = F.cross_entropy(model(clips), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            iterations += 1
        base = plan.stages[plan.stage_of_epoch(epoch)].settings
        print(f"epoch {epoch:2d}: {base.base.batch_size:2d} x {base.base.num_frames} x {base.base.crop:2d} px, "
              f"BN {base.batch_norm.type} x{base.batch_norm.splits}, {len(losses)} steps, "
              f"loss {sum(losses) / len(losses):.3f}, lr {step.lr:.4f}")
    assert iterations == len(plan), (iterations, len(plan))
    accuracy = evaluate(model, plan, 64 if arguments.quick else 256, seed=10_000)
    print(f"trained {iterations} iterations in {time.time() - start:.0f} s; test accuracy {accuracy:.2f} "
          f"(chance {1 / len(DIRECTIONS):.2f})")


if __name__ == "__main__":
    main()
