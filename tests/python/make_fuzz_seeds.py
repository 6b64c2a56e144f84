"""Writes the seed corpora of the fuzz targets into CORPUS/NAME (tests/fuzz/corpus):

  fuzz_checkpoint_reader    small checkpoints in the documented layout
  fuzz_pyslowfast_weights   small torch.save files as PySlowFast writes them (needs torch:
                            Debian's /usr/bin/python3 with python3-torch)

each behind the target's mode byte (1: the target makes the checksum or CRCs match first, 0: it
reads the bytes as they are). Usage: make_fuzz_seeds.py CORPUS
"""
import collections
import io
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


def write_seeds(out, seeds):
    os.makedirs(out, exist_ok=True)
    for name, data in seeds.items():
        for mode in (0, 1):
            with open(os.path.join(out, "%s_%d" % (name, mode)), "wb") as file:
                file.write(bytes([mode]) + data)


def checkpoint_seeds(out):
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
    write_seeds(out, seeds)


def torch_save_bytes(obj, **options):
    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer, **options)
    return buffer.getvalue()


def pyslowfast_weights_seeds(out):
    import torch

    torch.manual_seed(0)
    model = torch.nn.Sequential(collections.OrderedDict([
        ("conv", torch.nn.Conv3d(1, 2, 1, bias=False)), ("bn", torch.nn.BatchNorm3d(2)),
        ("flatten", torch.nn.Flatten()), ("head", torch.nn.Linear(2, 2))]))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.randn(2, 1, 1, 1, 1)).sum().backward()
    optimizer.step()
    state = model.state_dict()
    base = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    views = {"slice": base[1:, 1:3].t(), "row": base[2], "half": torch.ones(2).half(),
             "flags": torch.tensor([True, False]), "count": torch.tensor(3)}
    write_seeds(out, {
        "pyslowfast": torch_save_bytes({"epoch": 1, "model_state": state,
                                        "optimizer_state": optimizer.state_dict(),
                                        "cfg": "TRAIN:\n  BATCH_SIZE: 8\n"}),
        "bare_state_dict": torch_save_bytes(state),
        "views_and_dtypes": torch_save_bytes({"model_state": views}),
        "protocol4": torch_save_bytes({"model_state": state}, pickle_protocol=4),
    })


def main(corpus):
    checkpoint_seeds(os.path.join(corpus, "fuzz_checkpoint_reader"))
    pyslowfast_weights_seeds(os.path.join(corpus, "fuzz_pyslowfast_weights"))


if __name__ == "__main__":
    main(sys.argv[1])
