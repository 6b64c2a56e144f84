"""multigrid.pyslowfast: PySlowFast's MultigridSchedule and ShortCycleBatchSampler, on a stand-in
for its yacs config, give this library's schedule."""

import os

import pytest

import multigrid
from multigrid.pyslowfast import MultigridSchedule, ShortCycleBatchSampler
from cpp_reference import SOURCE_DIR

import yaml  # noqa: E402  (CTest skips this file where PyYAML is missing)

KINETICS = os.path.join(
    SOURCE_DIR, "reference", "configs", "Kinetics", "SLOWFAST_8x8_R50_stepwise_multigrid.yaml"
)


class CfgNode(dict):
    """What the entry points use of yacs' CfgNode: a dict with attribute access."""

    def __init__(self, values=()):
        super().__init__()
        for key, value in dict(values).items():
            self[key] = CfgNode(value) if isinstance(value, dict) else value

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name, value):
        self[name] = value


def pyslowfast_config(path=KINETICS):
    """The YAML over the PySlowFast defaults that the entry points read or write."""
    cfg = CfgNode(
        {
            "NUM_GPUS": 1,
            "TRAIN": {"BATCH_SIZE": 64},
            "DATA": {"NUM_FRAMES": 8, "SAMPLING_RATE": 8, "TRAIN_CROP_SIZE": 224, "TRAIN_JITTER_SCALES": [256, 320]},
            "SOLVER": {"BASE_LR": 0.1, "LR_POLICY": "cosine", "STEPS": [], "LRS": [], "MAX_EPOCH": 300, "GAMMA": 0.1},
            "MULTIGRID": {"LONG_CYCLE": False, "SHORT_CYCLE": False, "EPOCH_FACTOR": 1.5, "DEFAULT_S": 0,
                          "LONG_CYCLE_FACTORS": [[0.25, 0.5**0.5], [0.5, 0.5**0.5], [0.5, 1], [1, 1]],
                          "SHORT_CYCLE_FACTORS": [0.5, 0.5**0.5], "BN_BASE_SIZE": 8, "EVAL_FREQ": 3,
                          "LONG_CYCLE_SAMPLING_RATE": 0, "DEFAULT_B": 0, "DEFAULT_T": 0},
            "BN": {"NORM_TYPE": "batchnorm", "NUM_SPLITS": 1, "NUM_SYNC_DEVICES": 1, "USE_PRECISE_STATS": False},
            "MODEL": {"NUM_CLASSES": 400},
        }
    )
    with open(path) as file:
        for section, values in yaml.safe_load(file).items():
            if isinstance(values, dict):
                cfg.setdefault(section, CfgNode()).update(values)
            else:
                cfg[section] = values
    return cfg


def test_init_multigrid_writes_the_library_schedule():
    cfg = pyslowfast_config()
    reference = multigrid.Plan(multigrid.Config.from_yaml(KINETICS), 234619)
    schedule = MultigridSchedule()
    assert schedule.init_multigrid(cfg) is cfg
    assert cfg.SOLVER.STEPS == reference.steps == [0, 73, 110, 142, 158, 205, 228, 248, 259, 291, 308, 322, 329, 343]
    assert cfg.SOLVER.LRS == reference.relative_lrs
    assert cfg.SOLVER.MAX_EPOCH == reference.epochs == 358
    assert (cfg.MULTIGRID.DEFAULT_B, cfg.MULTIGRID.DEFAULT_T, cfg.MULTIGRID.DEFAULT_S) == (64, 32, 224)
    assert len(schedule.schedule) == len(reference.stages)
    assert schedule.schedule[0] == (0, [8, 8, 158], 73)
    assert schedule.schedule[-1][2] == 358


def test_update_long_cycle_applies_every_stage_of_the_plan():
    cfg = pyslowfast_config()
    reference = multigrid.Plan(multigrid.Config.from_yaml(KINETICS), 234619)
    schedule = MultigridSchedule()
    schedule.init_multigrid(cfg)
    previous = None
    for epoch in range(cfg.SOLVER.MAX_EPOCH):
        cfg, changed = schedule.update_long_cycle(cfg, epoch)
        settings = reference.stages[reference.stage_of_epoch(epoch)].settings
        applied = (cfg.DATA.NUM_FRAMES, cfg.DATA.TRAIN_CROP_SIZE, cfg.TRAIN.BATCH_SIZE,
                   cfg.BN.NORM_TYPE, cfg.BN.NUM_SPLITS, cfg.MULTIGRID.LONG_CYCLE_SAMPLING_RATE)
        base = settings.base
        assert applied[:3] == (base.num_frames, base.crop, base.global_batch_size)
        assert applied[4] == settings.batch_norm.splits
        assert applied[5] == settings.sampling_rate[1]
        assert changed == (applied != previous)
        previous = applied
    assert cfg.BN.NORM_TYPE == "sub_batchnorm" or cfg.BN.NORM_TYPE == "batchnorm"


def test_the_sampler_cuts_the_stage_short_cycle():
    cfg = pyslowfast_config()
    schedule = MultigridSchedule()
    schedule.init_multigrid(cfg)
    cfg, _ = schedule.update_long_cycle(cfg, 0)
    per_gpu = cfg.TRAIN.BATCH_SIZE // cfg.NUM_GPUS
    indices = list(range(1000))
    sampler = ShortCycleBatchSampler(indices, per_gpu, True, cfg)
    assert sampler.batch_sizes == schedule.plan.stages[0].settings.batch_sizes == [128, 64, 64]
    batches = list(sampler)
    # Three cycles of 256, then 128 and 64; the 40 left are dropped.
    assert len(sampler) == len(batches) == multigrid.batches_in_epoch(1000, [128, 64, 64]) == 11
    assert [len(b) for b in batches] == [128, 64, 64] * 3 + [128, 64]
    assert [{m for _, m in b} for b in batches] == ([{0}, {1}, {2}] * 4)[:11]
    assert [i for b in batches for i, _ in b] == indices[:960]
    assert sampler.sampler is indices  # PySlowFast's loader calls sampler.sampler.set_epoch


def test_a_sampler_for_a_shape_the_schedule_does_not_train_is_refused():
    cfg = pyslowfast_config()
    MultigridSchedule().init_multigrid(cfg)
    with pytest.raises(ValueError, match="no stage of the schedule trains 3 clips"):
        ShortCycleBatchSampler(list(range(10)), 3, True, cfg)
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        ShortCycleBatchSampler(list(range(10)), 0, True, cfg)


def test_a_bad_config_raises_before_training_naming_the_key():
    cfg = pyslowfast_config()
    cfg.SOLVER.STEPS = [0, 100, 50]
    with pytest.raises(ValueError, match=r"SOLVER.STEPS\[2\] = 50"):
        MultigridSchedule().init_multigrid(cfg)
    cfg = pyslowfast_config()
    cfg.MULTIGRID.BN_BASE_SIZE = "eight"
    with pytest.raises(ValueError, match="MULTIGRID.BN_BASE_SIZE = eight"):
        MultigridSchedule().init_multigrid(cfg)


def test_short_cycle_alone_stretches_the_epochs_as_pyslowfast():
    cfg = pyslowfast_config()
    cfg.MULTIGRID.LONG_CYCLE = False
    steps, max_epoch = list(cfg.SOLVER.STEPS), cfg.SOLVER.MAX_EPOCH
    schedule = MultigridSchedule()
    schedule.init_multigrid(cfg)
    assert schedule.schedule is None
    assert cfg.SOLVER.STEPS == [int(s * 1.5) for s in steps]
    assert cfg.SOLVER.MAX_EPOCH == int(max_epoch * 1.5)
    cfg, changed = schedule.update_long_cycle(cfg, 0)
    assert (cfg.DATA.NUM_FRAMES, cfg.DATA.TRAIN_CROP_SIZE) == (32, 224)
