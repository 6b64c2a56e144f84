"""Reads and writes multigrid checkpoints (docs/training.md, "Checkpoint layout") with the standard
library and NumPy only: a safetensors file whose metadata starts with a checksum. The tests use it
to check the layout against its description, and to make seed inputs for the fuzz targets."""
import json
import struct

import numpy as np

CHECKSUM_PREFIX = b'{"__metadata__":{"checksum":"'
CHECKSUM_AT = 8 + len(CHECKSUM_PREFIX)
MASK = (1 << 64) - 1
PRIME, BASIS = 0x100000001B3, 0xCBF29CE484222325
DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64,
          "I32": np.int32, "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}


def checksum(data: bytes) -> int:
    """FNV-1a over 64-bit little-endian words in four lanes, then the tail bytes and the length."""
    lanes = [BASIS, BASIS + 1, BASIS + 2, BASIS + 3]
    blocks = len(data) // 32
    words = struct.unpack_from("<%dQ" % (4 * blocks), data)
    for i, word in enumerate(words):
        lanes[i % 4] = ((lanes[i % 4] ^ word) * PRIME) & MASK
    value = BASIS
    for lane in lanes:
        value = ((value ^ lane) * PRIME) & MASK
    for byte in data[32 * blocks:]:
        value = ((value ^ byte) * PRIME) & MASK
    return ((value ^ len(data)) * PRIME) & MASK


def seal(data: bytes) -> bytes:
    """Sets the checksum field: the checksum of the file with the field read as sixteen '0's."""
    zeroed = data[:CHECKSUM_AT] + b"0" * 16 + data[CHECKSUM_AT + 16:]
    return zeroed[:CHECKSUM_AT] + b"%016x" % checksum(zeroed) + zeroed[CHECKSUM_AT + 16:]


def write(path, tensors, metadata):
    """tensors: name -> NumPy array (C order); metadata: name -> str, written after the checksum."""
    meta = {"checksum": "0" * 16, **metadata}
    header, offset, data = {"__metadata__": meta}, 0, []
    for name, array in tensors.items():
        dtype = next(key for key, value in DTYPES.items() if np.dtype(value) == array.dtype)
        raw = np.ascontiguousarray(array).tobytes()
        header[name] = {"dtype": dtype, "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        data.append(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    blob = seal(struct.pack("<Q", len(text)) + text + b"".join(data))
    with open(path, "wb") as file:
        file.write(blob)


def read(path):
    """Returns (tensors, metadata); raises ValueError when the checksum does not match."""
    with open(path, "rb") as file:
        blob = file.read()
    (size,) = struct.unpack_from("<Q", blob)
    header = json.loads(blob[8:8 + size])
    metadata = header.pop("__metadata__", {})
    if metadata.get("checksum") != "%016x" % checksum(
            blob[:CHECKSUM_AT] + b"0" * 16 + blob[CHECKSUM_AT + 16:]):
        raise ValueError(path + ": checksum mismatch")
    tensors = {}
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        raw = blob[8 + size + begin:8 + size + end]
        tensors[name] = np.frombuffer(raw, DTYPES[entry["dtype"]]).reshape(entry["shape"])
    return tensors, metadata
