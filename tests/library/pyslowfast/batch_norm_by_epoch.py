#!/usr/bin/python3
"""Prints, for the configurations the BN tests of tests/library/stage_settings_test.cpp use, the
BatchNorm PySlowFast trains each epoch with, computed by PySlowFast's own MultigridSchedule
(slowfast/utils/multigrid.py): init_multigrid, then update_long_cycle before every epoch as
tools/train_net.py calls it, reading BN.NORM_TYPE, BN.NUM_SPLITS and BN.NUM_SYNC_DEVICES.

  /usr/bin/python3 tests/library/pyslowfast/batch_norm_by_epoch.py PATH/TO/slowfast/utils/multigrid.py

Each line: config name, then runs of epochs as `first-last:type` with type plain, sub<k>, sync<d>.
"""
import importlib.util
import sys
import types


class Node(dict):
    def __getattr__(self, name):
        return self[name]

    def __setattr__(self, name, value):
        self[name] = value


def config(num_gpus, batch, frames, crop, steps, max_epoch, long_cycle, short_cycle,
           norm_type="batchnorm", splits=1, sync_devices=1, factors=None):
    cfg = Node()
    cfg.NUM_GPUS = num_gpus
    cfg.TRAIN = Node(BATCH_SIZE=batch)
    cfg.DATA = Node(NUM_FRAMES=frames, TRAIN_CROP_SIZE=crop, SAMPLING_RATE=2)
    cfg.SOLVER = Node(STEPS=list(steps), MAX_EPOCH=max_epoch, GAMMA=0.1, LRS=[])
    cfg.BN = Node(NORM_TYPE=norm_type, NUM_SPLITS=splits, NUM_SYNC_DEVICES=sync_devices)
    cfg.MULTIGRID = Node(LONG_CYCLE=long_cycle, SHORT_CYCLE=short_cycle, EPOCH_FACTOR=1.5,
                         LONG_CYCLE_FACTORS=factors or [(0.25, 0.5 ** 0.5), (0.5, 0.5 ** 0.5),
                                                        (0.5, 1), (1, 1)],
                         SHORT_CYCLE_FACTORS=[0.5, 0.5 ** 0.5], BN_BASE_SIZE=8, DEFAULT_S=0,
                         DEFAULT_B=0, DEFAULT_T=0, LONG_CYCLE_SAMPLING_RATE=0)
    return cfg


def describe(cfg):
    if cfg.BN.NORM_TYPE == "sub_batchnorm":
        return "sub%d" % cfg.BN.NUM_SPLITS
    if cfg.BN.NORM_TYPE == "sync_batchnorm":
        return "sync%d" % cfg.BN.NUM_SYNC_DEVICES
    return "plain"


def by_epoch(multigrid, cfg):
    schedule = multigrid.MultigridSchedule()
    cfg = schedule.init_multigrid(cfg)
    runs = []
    for epoch in range(cfg.SOLVER.MAX_EPOCH):
        if cfg.MULTIGRID.LONG_CYCLE:
            cfg, _ = schedule.update_long_cycle(cfg, epoch)
        kind = describe(cfg)
        if runs and runs[-1][2] == kind:
            runs[-1][1] = epoch
        else:
            runs.append([epoch, epoch, kind])
    return " ".join("%d-%d:%s" % tuple(run) for run in runs)


def main():
    logging = types.ModuleType("slowfast.utils.logging")
    logging.get_logger = lambda name: types.SimpleNamespace(info=lambda *a, **k: None)
    for name in ("slowfast", "slowfast.utils"):
        sys.modules.setdefault(name, types.ModuleType(name))
    sys.modules["slowfast.utils.logging"] = logging
    spec = importlib.util.spec_from_file_location("multigrid", sys.argv[1])
    multigrid = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(multigrid)
    cases = {
        # Kinetics' recipe on 8 GPUs with the short cycle alone, and with sync-BN configured.
        "short_cycle_only_sync": config(8, 64, 32, 224, [0, 94, 154, 196], 239, False, True,
                                        "sync_batchnorm", 1, 4),
        # A long cycle whose one shape is the base shape never changes the configured BN.
        "one_long_cycle_shape_sync": config(16, 64, 32, 224, [0, 94, 154, 196], 239, True, True,
                                            "sync_batchnorm", 1, 2, factors=[(1, 1)]),
        # The full long cycle on 2 GPUs, configured sub-BN before the first stage.
        "long_cycle_two_gpus": config(2, 16, 16, 112, [0, 20, 30], 36, True, True,
                                      "sub_batchnorm", 2),
        # The standard schedule keeps the configured sub-BN.
        "standard_sub": config(1, 16, 8, 112, [0, 20, 30], 36, False, False, "sub_batchnorm", 4),
    }
    for name, cfg in cases.items():
        print(name, by_epoch(multigrid, cfg))


if __name__ == "__main__":
    main()
