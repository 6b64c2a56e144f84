"""multigrid.ShortCycleBatchSampler yields the batches the C++ sampler makes (copy_rank_shard and
short_cycle_batch_sampler over the same epoch order), as many as the plan's iterations, the same
number on every rank, and disjoint across ranks."""

import random

import pytest

import multigrid
import cpp_reference
from cpp_reference import config_file, needs_helper

SHORT_CYCLE = {
    "NUM_GPUS": 4,
    "TRAIN": {"BATCH_SIZE": 16},
    "DATA": {"NUM_FRAMES": 8, "TRAIN_CROP_SIZE": 112, "TRAIN_JITTER_SCALES": [128, 160]},
    "SOLVER": {"LR_POLICY": "steps_with_relative_lrs", "STEPS": [0, 6, 9], "LRS": [1, 0.1, 0.01], "MAX_EPOCH": 12},
    "MULTIGRID": {"LONG_CYCLE": True, "SHORT_CYCLE": True},
}


@needs_helper
@pytest.mark.parametrize("shuffle, seed", [(True, 0), (True, 7), (False, 0)])
def test_batches_equal_cpp_on_every_rank(shuffle, seed):
    train_samples = 2999
    plan = multigrid.Plan(SHORT_CYCLE, train_samples)
    epochs = sorted({0, plan.epochs - 1} | {s.begin_epoch for s in plan.stages if not s.empty})
    with config_file(SHORT_CYCLE) as path:
        for epoch in epochs:
            seen = set()
            for rank in range(4):
                sampler = multigrid.ShortCycleBatchSampler(plan, rank=rank, shuffle=shuffle, seed=seed)
                sampler.set_epoch(epoch)
                batches = list(sampler)
                expected = cpp_reference.batches(path, train_samples, epoch, rank, shuffle, seed)
                assert batches == expected["batches"]
                assert len(sampler) == len(batches) == plan.iterations_in_epoch(epoch)
                cycle = plan.stages[plan.stage_of_epoch(epoch)].settings.batch_sizes
                assert [len(b) for b in batches] == [cycle[n % len(cycle)] for n in range(len(batches))]
                indices = [i for b in batches for i in b]
                assert not seen.intersection(indices)
                seen.update(indices)


@needs_helper
def test_random_plans_and_epochs_equal_cpp():
    rng = random.Random(3)
    for _ in range(15):
        values = {
            "NUM_GPUS": rng.choice([1, 2, 3]),
            "TRAIN": {"BATCH_SIZE": 6 * rng.choice([1, 2])},
            "SOLVER": {"MAX_EPOCH": rng.randint(2, 20)},
            "MULTIGRID": {"LONG_CYCLE": rng.random() < 0.5, "SHORT_CYCLE": rng.random() < 0.7},
        }
        train_samples = rng.randint(400, 3000)
        plan = multigrid.Plan(values, train_samples)
        with config_file(values) as path:
            epoch = rng.randrange(plan.epochs)
            rank = rng.randrange(plan.config.devices)
            seed = rng.randrange(1 << 40)
            sampler = multigrid.ShortCycleBatchSampler(plan, rank=rank, seed=seed)
            sampler.set_epoch(epoch)
            assert list(sampler) == cpp_reference.batches(path, train_samples, epoch, rank, True, seed)["batches"]


def test_epochs_differ_and_repeat():
    plan = multigrid.Plan(SHORT_CYCLE, 2000)
    sampler = multigrid.ShortCycleBatchSampler(plan, rank=1)
    first = list(sampler)
    assert list(sampler) == first
    sampler.set_epoch(1)
    assert list(sampler) != first
    sampler.set_epoch(0)
    assert list(sampler) == first


def test_resuming_inside_an_epoch_skips_the_batches_before():
    plan = multigrid.Plan(SHORT_CYCLE, 2000)
    sampler = multigrid.ShortCycleBatchSampler(plan, rank=2, seed=5)
    sampler.set_epoch(4)
    whole = list(sampler)
    sampler.set_epoch(4, first_batch=7)
    assert len(sampler) == len(whole) - 7
    assert list(sampler) == whole[7:]
    with pytest.raises(IndexError):
        sampler.set_epoch(4, first_batch=len(whole) + 1)


def test_shape_indices_come_with_the_indices_when_asked():
    plan = multigrid.Plan(SHORT_CYCLE, 2000)
    plain = list(multigrid.ShortCycleBatchSampler(plan, seed=1))
    tagged = list(multigrid.ShortCycleBatchSampler(plan, seed=1, with_shape_index=True))
    for n, (indices, pairs) in enumerate(zip(plain, tagged)):
        assert [i for i, _ in pairs] == indices
        assert {m for _, m in pairs} == {plan.at(0, n).shape_index}


def test_world_size_and_rank_are_checked():
    plan = multigrid.Plan(SHORT_CYCLE, 2000)
    assert multigrid.ShortCycleBatchSampler(plan).world_size == 4
    with pytest.raises(ValueError, match="world_size 2 is not the plan's NUM_GPUS 4"):
        multigrid.ShortCycleBatchSampler(plan, world_size=2)
    with pytest.raises(ValueError, match="rank 4"):
        multigrid.ShortCycleBatchSampler(plan, rank=4)
    with pytest.raises(IndexError):
        multigrid.ShortCycleBatchSampler(plan).set_epoch(plan.epochs)


def test_batches_in_epoch_is_the_library_count():
    assert multigrid.batches_in_epoch(100, [32, 16, 8]) == 4  # 32 16 8 | 32, and 12 left
    assert multigrid.batches_in_epoch(100, [8]) == 12
    with pytest.raises(ValueError):
        multigrid.batches_in_epoch(100, [])
