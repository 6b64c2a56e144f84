"""The Python objects of a plan as the plain values plan_reference prints, for comparisons."""


def shape(value):
    return {
        "batch_size": value.batch_size,
        "global_batch_size": value.global_batch_size,
        "num_frames": value.num_frames,
        "crop": value.crop,
        "jitter": list(value.jitter),
    }


def settings(value):
    return {
        "base": shape(value.base),
        "sampling_rate": list(value.sampling_rate),
        "batch_norm": {
            "type": value.batch_norm.type,
            "splits": value.batch_norm.splits,
            "sync_devices": value.batch_norm.sync_devices,
        },
        "cycle": [shape(s) for s in value.cycle],
    }


def step(value):
    return {
        "epoch": value.epoch,
        "iteration": value.iteration,
        "global_iteration": value.global_iteration,
        "iterations_in_epoch": value.iterations_in_epoch,
        "epoch_position": value.epoch_position,
        "lr": value.lr,
        "stage": value.stage,
        "stage_begins": value.stage_begins,
        "shape_index": value.shape_index,
        "shape": shape(value.shape),
        "settings": settings(value.settings),
    }


def stage(value):
    return {
        "lr_stage": value.lr_stage,
        "begin_epoch": value.begin_epoch,
        "end_epoch": value.end_epoch,
        "batch_factor": value.batch_factor,
        "fine_tune": value.fine_tune,
        "iterations_per_epoch": value.iterations_per_epoch,
        "first_iteration": value.first_iteration,
        "settings": settings(value.settings),
    }
