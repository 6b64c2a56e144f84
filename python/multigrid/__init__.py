"""Multigrid training schedules for video models (Wu et al., CVPR 2020).

The plan answers every iteration's batch shape, learning rate and BatchNorm mode; the short-cycle
batch sampler cuts each process's shard of an epoch into batches of the plan's sizes; the BatchNorm
functions pool and tile the statistics of sub-batch BN. All of it is the C++ library
(include/multigrid/) underneath. See docs/python.md.
"""

from multigrid._core import (
    BatchNorm,
    Config,
    ConfigError,
    Plan,
    PopulationStatistics,
    Schedule,
    Shape,
    ShortCycleBatchSampler,
    Stage,
    StageSettings,
    Step,
    __version__,
    accumulate_equal_weight,
    batches_in_epoch,
    equal_weight_momentum,
    pool_split_statistics,
    tile_statistics,
)

__all__ = [
    "BatchNorm",
    "Config",
    "ConfigError",
    "Plan",
    "PopulationStatistics",
    "Schedule",
    "Shape",
    "ShortCycleBatchSampler",
    "Stage",
    "StageSettings",
    "Step",
    "__version__",
    "accumulate_equal_weight",
    "batches_in_epoch",
    "equal_weight_momentum",
    "pool_split_statistics",
    "tile_statistics",
]
