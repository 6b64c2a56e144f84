"""Writes the torch.save files that torch_save_test reads, each beside NAME.json: its tensors'
dtypes, shapes and values (row-major), so that the C++ side compares with what PyTorch holds, not
with another reader of ours. Run with Debian's /usr/bin/python3 and python3-torch:

  /usr/bin/python3 tests/train/make_torch_save_files.py OUT_FOLDER
"""
import collections
import json
import os
import struct
import sys
import zipfile

import torch


def describe(tensors):
    out = {}
    for name, tensor in tensors.items():
        flat = tensor.detach().reshape(-1)
        values = flat.double().tolist() if tensor.is_floating_point() else flat.long().tolist()
        out[name] = {"dtype": str(tensor.dtype).replace("torch.", ""),
                     "shape": list(tensor.shape), "values": values}
    return out


def save(folder, name, obj, tensors, **options):
    path = os.path.join(folder, name + ".pyth")
    torch.save(obj, path, **options)
    with open(os.path.join(folder, name + ".json"), "w") as file:
        json.dump(describe(tensors), file)
    return path


class Block(torch.nn.Module):
    """The layers a SlowFast stage has: conv, BatchNorm, classifier."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv3d(2, 4, (1, 3, 3), bias=False)
        self.bn = torch.nn.BatchNorm3d(4)
        self.head = torch.nn.Linear(4, 3)

    def forward(self, x):
        return self.head(self.bn(self.conv(x)).mean((2, 3, 4)))


def trained_block():
    torch.manual_seed(0)
    model = Block()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    model(torch.randn(2, 2, 1, 4, 4)).sum().backward()
    optimizer.step()  # momentum buffers, BN running statistics and num_batches_tracked
    return model, optimizer


def rewrite_as_zip64(source, target):
    """The same entries, with every size and offset in ZIP64 fields, as torch's writer does for
    entries past 4 GiB; torch.load must read it back for the file to count."""
    with zipfile.ZipFile(source) as archive:
        entries = [(info.filename.encode(), archive.read(info)) for info in archive.infolist()]
    out = bytearray()
    central = bytearray()
    saturated = 0xFFFFFFFF
    for name, data in entries:
        offset = len(out)
        crc = zipfile.crc32(data)
        local_extra = struct.pack("<HHQQ", 1, 16, len(data), len(data))
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 0, 0, 0, crc, saturated, saturated,
                           len(name), len(local_extra)) + name + local_extra + data
        extra = struct.pack("<HHQQQ", 1, 24, len(data), len(data), offset)
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 0, 0, 0, crc,
                               saturated, saturated, len(name), len(extra), 0, 0, 0, 0,
                               saturated) + name + extra
    directory_offset = len(out)
    out += central
    record_offset = len(out)
    out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, len(entries), len(entries),
                       len(central), directory_offset)
    out += struct.pack("<IIQI", 0x07064B50, 0, record_offset, 1)
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, saturated, saturated, 0)
    with open(target, "wb") as file:
        file.write(out)


def main(folder):
    os.makedirs(folder, exist_ok=True)
    model, optimizer = trained_block()
    state = model.state_dict()  # an OrderedDict, with _metadata
    assert isinstance(state, collections.OrderedDict)

    # As PySlowFast's save_checkpoint writes it (slowfast/utils/checkpoint.py), with a
    # GradScaler's state as mixed precision adds.
    save(folder, "pyslowfast", {
        "epoch": 7,
        "model_state": state,
        "optimizer_state": optimizer.state_dict(),
        "cfg": "TRAIN:\n  BATCH_SIZE: 8\nSOLVER:\n  BASE_LR: 0.1\n",
        "scaler_state": {"scale": 65536.0, "growth_factor": 2.0, "backoff_factor": 0.5,
                         "growth_interval": 2000, "_growth_tracker": 0},
    }, state)
    save(folder, "plain_dict", {"model_state": dict(state), "epoch": 1}, state)
    save(folder, "bare_state_dict", state, state)
    save(folder, "protocol4", {"model_state": state}, state, pickle_protocol=4)
    parameters = collections.OrderedDict(model.named_parameters())
    save(folder, "parameters", {"model_state": parameters}, parameters)

    # Views: torch.save writes the whole storage once and each view's offset and strides.
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    views = {"transposed_slice": base[1:, 2:5].t(), "row": base[2], "whole": base,
             "expanded": torch.arange(3.0).reshape(3, 1).expand(3, 4)}
    save(folder, "views", {"model_state": views}, views)

    dtypes = {str(dtype).replace("torch.", ""): torch.arange(-3, 3).to(dtype)
              for dtype in (torch.float64, torch.float32, torch.float16, torch.bfloat16,
                            torch.int64, torch.int32, torch.int16, torch.int8)}
    dtypes["uint8"] = torch.arange(250, 256, dtype=torch.uint8)
    dtypes["bool"] = torch.tensor([True, False, True])
    dtypes["scalar"] = torch.tensor(2.5)
    dtypes["empty"] = torch.empty(0, 5)
    dtypes["large_int64"] = torch.tensor([2**40 + 1, -(2**40)], dtype=torch.int64)
    save(folder, "dtypes", {"model_state": dtypes}, dtypes)

    plain = save(folder, "zip64_source", {"model_state": state}, state)
    zip64 = os.path.join(folder, "zip64.pyth")
    rewrite_as_zip64(plain, zip64)
    loaded = torch.load(zip64)["model_state"]
    assert all(torch.equal(loaded[name], value) for name, value in state.items())
    with open(os.path.join(folder, "zip64.json"), "w") as file:
        json.dump(describe(state), file)
    os.remove(plain)
    os.remove(os.path.join(folder, "zip64_source.json"))


if __name__ == "__main__":
    main(sys.argv[1])
