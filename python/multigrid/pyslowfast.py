"""A drop-in for PySlowFast's multigrid: slowfast/utils/multigrid.py's MultigridSchedule and
slowfast/datasets/multigrid_helper.py's ShortCycleBatchSampler, with this library's schedule.

Swap the imports and nothing else:

    # tools/train_net.py
    from multigrid.pyslowfast import MultigridSchedule
    # slowfast/datasets/loader.py
    from multigrid.pyslowfast import ShortCycleBatchSampler

The entry points take and return PySlowFast's yacs config as before, and set the same keys
(SOLVER.STEPS, SOLVER.LRS, SOLVER.MAX_EPOCH, then per stage DATA.NUM_FRAMES,
DATA.TRAIN_CROP_SIZE, TRAIN.BATCH_SIZE, BN.*, MULTIGRID.LONG_CYCLE_SAMPLING_RATE), to the values of
multigrid.Schedule: the same epochs as PySlowFast (358 for the Kinetics SlowFast-R50 recipe), a
BatchNorm split that divides the batch, a stage that changes only the batch recognised as a
change, and a short-cycle sampler whose length is exact and equal on every rank (it always drops
the last partial batch). A configuration the C++ tools would refuse raises ValueError naming the
key and its value, before training starts. Nothing here imports torch or yacs.
"""

import logging

from multigrid import _core

logger = logging.getLogger(__name__)

_KEY = _core._key_names
# PySlowFast's run-time keys, which it writes for its datasets (not configuration we read).
_DEFAULT_B = "MULTIGRID.DEFAULT_B"
_DEFAULT_T = "MULTIGRID.DEFAULT_T"
_DEFAULT_S = _KEY["multigrid_default_s"]
_LONG_CYCLE_SAMPLING_RATE = "MULTIGRID.LONG_CYCLE_SAMPLING_RATE"
# multigrid.BatchNorm.type -> PySlowFast's BN.NORM_TYPE.
_NORM_TYPE = {"plain": "batchnorm", "sub": "sub_batchnorm", "sync": "sync_batchnorm"}

_MISSING = object()
# The schedule of the latest MultigridSchedule.init_multigrid in this process: the sampler's
# batch sizes come from it, since init_multigrid rewrites the keys they would be computed from.
_latest_schedule = None


def _get(cfg, name):
    node = cfg
    for part in name.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif not isinstance(node, dict) and hasattr(node, part):
            node = getattr(node, part)
        else:
            return _MISSING
    return node


def _set(cfg, name, value):
    *sections, leaf = name.split(".")
    node = cfg
    for part in sections:
        node = node[part] if isinstance(node, dict) else getattr(node, part)
    if type(node) is dict:
        node[leaf] = value
    else:
        setattr(node, leaf, value)  # a yacs CfgNode checks here that it is not frozen


def schedule_of(cfg):
    """multigrid.Schedule of a PySlowFast config as written (before init_multigrid rewrites it)."""
    values = {}
    for name in _core._schedule_keys:
        value = _get(cfg, name)
        if value is not _MISSING:
            values[name] = value
    return _core.Schedule(_core.Config(values))


class MultigridSchedule:
    """PySlowFast's MultigridSchedule, computed by the library.

    After init_multigrid, `schedule` is PySlowFast's list of (LR stage, [batch factor, frames,
    crop], end epoch) with the long cycle on (None without it), and `plan` the multigrid.Schedule.
    """

    def __init__(self):
        self.schedule = None
        self.plan = None

    def init_multigrid(self, cfg):
        """Reads the schedule from cfg and writes its STEPS, LRS and MAX_EPOCH into it."""
        global _latest_schedule
        self.plan = schedule_of(cfg)
        _latest_schedule = self.plan
        _set(cfg, _DEFAULT_B, _get(cfg, _KEY["train_batch_size"]))
        _set(cfg, _DEFAULT_T, _get(cfg, _KEY["data_num_frames"]))
        _set(cfg, _DEFAULT_S, _get(cfg, _KEY["data_train_crop_size"]))
        config = self.plan.config
        if config.long_cycle:
            self.schedule = [
                (s.lr_stage, [s.batch_factor, s.settings.base.num_frames, s.settings.base.crop], s.end_epoch)
                for s in self.plan.stages
            ]
        if config.uses_multigrid:
            _set(cfg, _KEY["solver_steps"], list(self.plan.steps))
            if self.plan.relative_lrs:
                _set(cfg, _KEY["solver_lrs"], list(self.plan.relative_lrs))
            _set(cfg, _KEY["solver_max_epoch"], self.plan.max_epoch)
        for stage in self.plan.stages:
            logger.info("multigrid stage %s", stage)
        return cfg

    def update_long_cycle(self, cfg, cur_epoch):
        """Applies the stage of `cur_epoch` to cfg; returns (cfg, whether anything changed)."""
        if self.plan is None:
            raise RuntimeError("MultigridSchedule.update_long_cycle: call init_multigrid first")
        settings = self.plan.stages[self.plan.stage_of_epoch(cur_epoch)].settings
        base = settings.base
        batch_norm = settings.batch_norm
        wanted = {
            _KEY["data_num_frames"]: base.num_frames,
            _KEY["data_train_crop_size"]: base.crop,
            _KEY["train_batch_size"]: base.global_batch_size,
            _KEY["bn_norm_type"]: _NORM_TYPE[batch_norm.type],
            _KEY["bn_num_splits"]: batch_norm.splits,
            _KEY["bn_num_sync_devices"]: batch_norm.sync_devices,
            _LONG_CYCLE_SAMPLING_RATE: settings.sampling_rate[1],
        }
        changed = [name for name, value in wanted.items() if _get(cfg, name) != value]
        for name in changed:
            _set(cfg, name, wanted[name])
        if changed:
            logger.info("Long cycle updates at epoch %d: %s", cur_epoch, ", ".join(f"{n} {wanted[n]}" for n in changed))
        return cfg, bool(changed)


class ShortCycleBatchSampler:
    """PySlowFast's ShortCycleBatchSampler(sampler, batch_size, drop_last, cfg).

    Yields lists of (index, shape index) as PySlowFast's datasets take them. The batch sizes are
    the schedule's for the stage whose per-process batch is batch_size at cfg's current crop; the
    last partial batch is always dropped, so len() is exact and the same on every rank whose
    sampler has as many indices (DistributedSampler pads them to that).
    """

    def __init__(self, sampler, batch_size, drop_last, cfg, schedule=None):
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler = sampler
        self.drop_last = True
        schedule = schedule or _latest_schedule or schedule_of(cfg)
        crop = _get(cfg, _KEY["data_train_crop_size"])
        frames = _get(cfg, _KEY["data_num_frames"])
        for stage in schedule.stages:
            base = stage.settings.base
            if (base.batch_size, base.crop, base.num_frames) == (batch_size, crop, frames):
                self.batch_sizes = list(stage.settings.batch_sizes)
                break
        else:
            raise ValueError(
                f"ShortCycleBatchSampler: no stage of the schedule trains {batch_size} clips of "
                f"{frames} frames at {crop} px per process; call MultigridSchedule.init_multigrid "
                "and update_long_cycle on this config first"
            )

    def __iter__(self):
        remaining = len(self)
        if remaining == 0:
            return
        number = 0
        batch = []
        count = len(self.batch_sizes)
        for index in self.sampler:
            # PySlowFast's datasets read shape index 0 and 1 as the short crops, 2 as the base.
            batch.append((index, number % count if count == 3 else 2))
            if len(batch) == self.batch_sizes[number % count]:
                yield batch
                batch = []
                number += 1
                if number == remaining:
                    return

    def __len__(self):
        return _core.batches_in_epoch(len(self.sampler), self.batch_sizes)
