#!/usr/bin/env python3
"""What the Python module costs a training loop, beside bench/library/plan_benchmark.cpp's C++
numbers: a plan query by global iteration and by (epoch, iteration), the query plus reading the
fields a loop reads, the LR alone, building the Kinetics plan, and one epoch of sampler batches.

    PYTHONPATH=build/python python3 bench/python/plan_query_bench.py

Each figure is the best of several repetitions (the machine's noise only adds).
"""

import os
import random
import sys
import time

import multigrid

KINETICS = os.path.join(os.path.dirname(__file__), "..", "..", "reference", "configs", "Kinetics",
                        "SLOWFAST_8x8_R50_stepwise_multigrid.yaml")
TRAIN_SAMPLES = 234619  # Kinetics-400's training videos, as the C++ benchmark uses


def best_of(repetitions, function, count):
    best = float("inf")
    for _ in range(repetitions):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best / count


def main():
    config = multigrid.Config.from_yaml(KINETICS)
    plan = multigrid.Plan(config, TRAIN_SAMPLES)
    rng = random.Random(1)
    positions = [rng.randrange(len(plan)) for _ in range(100_000)]
    pairs = [(s.epoch, s.iteration) for s in map(plan.at, positions[:4096])] * 25
    epochs = [rng.uniform(0, plan.epochs) for _ in range(100_000)]

    def empty_loop():
        for _ in positions:
            pass

    def by_global():
        at = plan.at
        for g in positions:
            at(g)

    def by_epoch():
        at = plan.at
        for e, i in pairs:
            at(e, i)

    def query_and_fields():
        at = plan.at
        for g in positions:
            step = at(g)
            step.lr, step.batch_size, step.num_frames, step.crop, step.stage_begins

    def lr_only():
        lr_at = plan.lr_at
        for e in epochs:
            lr_at(e)

    loop = best_of(5, empty_loop, len(positions))
    rows = [
        ("plan.at(global_iteration)", best_of(5, by_global, len(positions)) - loop),
        ("plan.at(epoch, iteration)", best_of(5, by_epoch, len(pairs)) - loop),
        ("plan.at(g) + lr, batch, frames, crop, stage_begins", best_of(5, query_and_fields, len(positions)) - loop),
        ("plan.lr_at(epoch)", best_of(5, lr_only, len(epochs)) - loop),
    ]
    print(f"Python {sys.version.split()[0]}, multigrid {multigrid.__version__}; Kinetics SlowFast-R50 multigrid, "
          f"{TRAIN_SAMPLES} samples, {len(plan)} iterations")
    for name, seconds in rows:
        print(f"  {name:<52} {seconds * 1e9:8.0f} ns")
    build = best_of(20, lambda: multigrid.Plan(config, TRAIN_SAMPLES), 1)
    print(f"  {'multigrid.Plan(config, 234619)':<52} {build * 1e6:8.1f} us")
    read = best_of(5, lambda: multigrid.Config.from_yaml(KINETICS), 1)
    print(f"  {'multigrid.Config.from_yaml(Kinetics)':<52} {read * 1e6:8.1f} us")
    sampler = multigrid.ShortCycleBatchSampler(plan, rank=0)
    epoch_time = best_of(3, lambda: sum(1 for _ in sampler), 1)
    print(f"  {'one epoch of sampler batches (rank 0 of 8, epoch 0)':<52} {epoch_time * 1e3:8.1f} ms "
          f"({len(sampler)} batches, {epoch_time / len(sampler) * 1e6:.1f} us each)")


if __name__ == "__main__":
    main()
