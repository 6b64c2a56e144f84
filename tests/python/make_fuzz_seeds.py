"""Writes the seed corpus of fuzz_checkpoint_reader: small checkpoints in the documented layout,
each behind the target's mode byte (1: the target re-seals the checksum, 0: it reads as is)."""
import json
import os
import struct
import sys
import tempfile

import numpy as np

import multigrid_checkpoint

POSITION = {"epoch": 1, "iteration_in_epoch": 2, "global_iteration": 6, "train_samples": 8,
            "wall_seconds": 1.5, "epoch_loss_sum": 2.25, "epoch_losses": 2}
# rng_state_to_bytes of a state without generators: empty CPU state, no CUDA devices, a seed and
# an opaque loader state.
RNG = struct.pack("<QQQQ", 0, 0, 7, 4) + b"abcd"


def checkpoint_bytes(tensors, metadata):
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "seed.ckpt")
        multigrid_checkpoint.write(path, tensors, metadata)
        with open(path, "rb") as file:
            return file.read()


def main(out):
    os.makedirs(out, exist_ok=True)
    weight = np.arange(6, dtype=np.float32).reshape(2, 3)
    bias = np.array([0.5, -0.5], dtype=np.float32)
    metadata = {"format": "multigrid-checkpoint", "format_version": "2",
                "position": json.dumps(POSITION),
                "metrics": json.dumps([{"type": "epoch", "epoch": 0, "stage": 0, "iterations": 4,
                                        "step": 4, "shape": {"per_process_batch": 2,
                                                             "global_batch": 2, "frames": 8,
                                                             "crop": 32},
                                        "lr": 0.1, "loss": 1.0, "clips_per_second": 3.0,
                                        "data_wait_share": 0.0, "epoch_seconds": 1.0,
                                        "wall_seconds": 1.0}]),
                "config": "MODEL:\n  NUM_CLASSES: 2\nSOLVER:\n  BASE_LR: 0.1\n"}
    full = {"model.head.weight": weight, "model.head.bias": bias,
            "optimizer.momentum.head.weight": weight * 0.1,
            "rng.0": np.frombuffer(RNG, np.uint8)}
    seeds = {
        "full": checkpoint_bytes(full, metadata),
        "model_only": checkpoint_bytes({"model.head.weight": weight, "model.head.bias": bias},
                                       metadata),
        "empty": checkpoint_bytes({}, metadata),
        "other_config": checkpoint_bytes(full, {**metadata, "config": "MODEL: {NUM_CLASSES: 5}"}),
    }
    for name, data in seeds.items():
        for mode in (0, 1):
            with open(os.path.join(out, "%s_%d" % (name, mode)), "wb") as file:
                file.write(bytes([mode]) + data)


if __name__ == "__main__":
    main(sys.argv[1])
