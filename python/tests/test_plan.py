"""multigrid.Plan returns exactly what the C++ plan returns: the stage table, every queried
iteration (all of them for small plans) and the LR, for the bundled configs and for random
configurations; a configuration the C++ reader refuses, Python refuses too."""

import json
import random

import pytest

import multigrid
import plan_fields
from cpp_reference import bundled_configs, config_file, needs_helper
import cpp_reference


def queried_iterations(plan, rng, random_count=400):
    """Every iteration of a small plan; else each stage's first and last two and random ones."""
    total = len(plan)
    if total <= 3000:
        return list(range(total))
    chosen = {0, 1, total - 1}
    for stage in plan.stages:
        for offset in (-1, 0, 1, stage.iterations - 1):
            position = stage.first_iteration + offset
            if 0 <= position < total:
                chosen.add(position)
    chosen.update(rng.randrange(total) for _ in range(random_count))
    return sorted(chosen)


def assert_plan_equals_cpp(plan, path, train_samples, rng):
    at = queried_iterations(plan, rng)
    lr_epochs = sorted({0.0, plan.epochs - 1e-9} | {rng.uniform(0, plan.epochs) for _ in range(50)})
    cpp = cpp_reference.plan(path, train_samples, at=at, lr_at=lr_epochs)
    assert len(plan) == plan.total_iterations == cpp["total_iterations"]
    assert plan.epochs == cpp["epochs"]
    assert plan.steps == cpp["steps"]
    assert plan.relative_lrs == cpp["relative_lrs"]
    assert [plan_fields.stage(s) for s in plan.stages] == cpp["stages"]
    for global_iteration, expected in zip(at, cpp["at"]):
        step = plan.at(global_iteration)
        assert plan_fields.step(step) == expected
        assert plan_fields.step(plan.at(step.epoch, step.iteration)) == expected
        # The conveniences are the same numbers.
        assert (step.batch_size, step.num_frames, step.crop) == (
            expected["shape"]["batch_size"],
            expected["shape"]["num_frames"],
            expected["shape"]["crop"],
        )
        assert list(step.sampling_rate) == expected["settings"]["sampling_rate"]
        assert step.batch_norm == step.settings.batch_norm
    assert [plan.lr_at(e) for e in lr_epochs] == cpp["lr_at"]


@needs_helper
@pytest.mark.parametrize("path", bundled_configs(), ids=lambda p: p.split("configs/")[-1])
@pytest.mark.parametrize("train_samples", [234619, 5000, 1234])
def test_bundled_configs_equal_cpp(path, train_samples):
    cfg = multigrid.Config.from_yaml(path)
    try:
        plan = multigrid.Plan(cfg, train_samples)
    except ValueError:
        with pytest.raises(RuntimeError, match="too few"):
            cpp_reference.plan(path, train_samples)
        return
    assert_plan_equals_cpp(plan, path, train_samples, random.Random(train_samples))


def random_config(rng):
    gpus = rng.choice([0, 1, 2, 4, 8])
    devices = max(gpus, 1)
    crop = rng.choice([64, 96, 112, 160, 224, 256])
    max_epoch = rng.randint(3, 60)
    policy = rng.choice(["cosine", "cosine_batch_scaled", "steps", "steps_with_relative_lrs"])
    steps = [0] + sorted(rng.sample(range(1, max_epoch), min(rng.randint(0, 3), max_epoch - 1)))
    values = {
        "NUM_GPUS": gpus,
        "TRAIN": {"BATCH_SIZE": devices * rng.choice([1, 2, 4, 8, 16])},
        "DATA": {
            "NUM_FRAMES": rng.choice([4, 8, 16, 32]),
            "SAMPLING_RATE": rng.choice([1, 2, 4, 8]),
            "TRAIN_CROP_SIZE": crop,
            "TRAIN_JITTER_SCALES": [crop + rng.randint(0, 40), crop + rng.randint(41, 100)],
        },
        "SOLVER": {
            "BASE_LR": rng.choice([0.1, 0.0125, 1.6]),
            "LR_POLICY": policy,
            "MAX_EPOCH": max_epoch,
            "GAMMA": rng.choice([0.1, 0.5]),
            "WARMUP_EPOCHS": rng.choice([0.0, 1.0, 2.5]),
            "WARMUP_START_LR": 0.001,
            "COSINE_AFTER_WARMUP": rng.random() < 0.5,
        },
        "MULTIGRID": {
            "LONG_CYCLE": rng.random() < 0.6,
            "SHORT_CYCLE": rng.random() < 0.6,
            "EPOCH_FACTOR": rng.choice([1.0, 1.5, 2.0]),
            "BN_BASE_SIZE": rng.choice([2, 4, 8, 16]),
            "MIN_CROP_SIZE": rng.choice([0, 0, 40]),
            "LONG_CYCLE_LR_STAGES": rng.choice([0, 0, 1]),
            "LONG_CYCLE_STRIDE": rng.choice(["drawn", "drawn", "base_span", "base_stride"]),
        },
        "BN": {
            "NORM_TYPE": rng.choice(["batchnorm", "sub_batchnorm", "sync_batchnorm"]),
            "NUM_SPLITS": rng.choice([1, 2, 4]),
            "NUM_SYNC_DEVICES": rng.choice([1, 2, 4]),
        },
    }
    if policy.startswith("steps"):
        values["SOLVER"]["STEPS"] = steps
        if policy == "steps_with_relative_lrs":
            values["SOLVER"]["LRS"] = [0.1**i for i in range(len(steps))]
    elif rng.random() < 0.5:
        values["SOLVER"]["STEPS"] = steps
    return values


@needs_helper
def test_random_configs_equal_cpp():
    rng = random.Random(14)
    compared = refused = 0
    for _ in range(80):
        values = random_config(rng)
        train_samples = rng.choice([100, 1000, 9999, 50000])
        with config_file(values) as path:
            try:
                plan = multigrid.Plan(values, train_samples)
            except ValueError as error:
                # C++ refuses it as well, for the same reason.
                with pytest.raises(RuntimeError) as cpp_error:
                    cpp_reference.plan(path, train_samples)
                first_line = str(error).splitlines()[-1].split(": ", 1)[-1]
                assert first_line in str(cpp_error.value), json.dumps(values)
                refused += 1
                continue
            assert_plan_equals_cpp(plan, path, train_samples, rng)
            compared += 1
    assert compared >= 40, f"only {compared} of 80 random configurations were valid"
    assert refused >= 1


def test_queries_outside_the_plan_raise_index_error():
    plan = multigrid.Plan({"SOLVER": {"MAX_EPOCH": 2}}, 640)
    assert len(plan) == 20
    with pytest.raises(IndexError):
        plan.at(20)
    with pytest.raises(IndexError):
        plan.at(-1)
    with pytest.raises(IndexError):
        plan.at(2, 0)
    with pytest.raises(IndexError):
        plan.at(0, 10)


def test_steps_are_frozen():
    step = multigrid.Plan({}, 640).at(3)
    with pytest.raises(AttributeError):
        step.lr = 1.0
    with pytest.raises(AttributeError):
        step.shape.crop = 1


def test_kinetics_stage_table_matches_the_documented_schedule():
    plan = multigrid.Plan(multigrid.Config.from_yaml(bundled_configs()[0]), 234619)
    assert plan.steps == [0, 73, 110, 142, 158, 205, 228, 248, 259, 291, 308, 322, 329, 343]
    assert plan.epochs == 358
    first = plan.stages[0]
    assert (first.settings.base.batch_size, first.settings.base.num_frames, first.settings.base.crop) == (64, 8, 158)
    assert first.settings.batch_sizes == [128, 64, 64]
    schedule = multigrid.Schedule(plan.config)
    assert schedule.steps == plan.steps
    assert [s.settings.base for s in schedule.stages] == [s.settings.base for s in plan.stages]
    assert all(schedule.stage_of_epoch(e) == plan.stage_of_epoch(e) for e in range(plan.epochs))
    assert all(schedule.lr_at(e / 3) == plan.lr_at(e / 3) for e in range(3 * plan.epochs))


def test_plans_pickle_for_dataloader_workers():
    import pickle

    plan = multigrid.Plan(multigrid.Config.from_yaml(bundled_configs()[0]), 234619)
    again = pickle.loads(pickle.dumps(plan))
    assert len(again) == len(plan) and again.train_samples == plan.train_samples
    assert [plan_fields.stage(s) for s in again.stages] == [plan_fields.stage(s) for s in plan.stages]
    for position in (0, 1000, len(plan) - 1):
        assert plan_fields.step(again.at(position)) == plan_fields.step(plan.at(position))
    schedule = pickle.loads(pickle.dumps(multigrid.Schedule(plan.config)))
    assert schedule.steps == plan.steps
    config = pickle.loads(pickle.dumps(plan.config))
    assert repr(config) == repr(plan.config)
    assert multigrid.Plan(config, 234619).relative_lrs == plan.relative_lrs
    # Every field survives, ours too: the long cycle in the first LR stage only changes the steps.
    ours = multigrid.Config.from_yaml(bundled_configs()[0], ["MULTIGRID.LONG_CYCLE_LR_STAGES", "1"])
    again = pickle.loads(pickle.dumps(ours))
    assert repr(again) == repr(ours)
    assert multigrid.Schedule(again).steps == multigrid.Schedule(ours).steps != schedule.steps
    # ... and the coarse clips' stride changes the strides alone.
    assert {s.settings.sampling_rate for s in schedule.stages} == {(2, 2), (2, 4), (2, 8)}
    for choice, expected in (("base_stride", {(2, 2)}), ("base_span", {(2, 2), (4, 4), (8, 8)})):
        changed = multigrid.Config.from_yaml(bundled_configs()[0],
                                             ["MULTIGRID.LONG_CYCLE_STRIDE", choice])
        changed_again = pickle.loads(pickle.dumps(changed))
        assert repr(changed_again) == repr(changed)
        stages = multigrid.Schedule(changed_again).stages
        assert {s.settings.sampling_rate for s in stages} == expected
        assert multigrid.Schedule(changed_again).steps == schedule.steps
    # A pickle naming a choice this module does not know is refused, naming it.
    state = ours.__getstate__()
    for part, index, name in ((3, 1, "a policy from elsewhere"), (4, 10, "sideways")):
        changed_state = list(state)
        fields = list(changed_state[part])
        fields[index] = name
        changed_state[part] = tuple(fields)
        fresh = multigrid.Config.__new__(multigrid.Config)
        with pytest.raises(ValueError, match="unknown .*'%s'" % name):
            fresh.__setstate__(tuple(changed_state))
