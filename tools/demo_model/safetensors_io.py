"""Minimal safetensors writer/reader (BF16 and F32 only), written from the format description:
8-byte little-endian header length N, N bytes of JSON {name: {dtype, shape, data_offsets}},
then the data; offsets are relative to the end of the header, contiguous, in header order."""
import json
import struct

import numpy as np
import torch

_DTYPES = {"BF16": 2, "F32": 4}


def _to_bytes(t, dtype):
    t = t.detach().contiguous().cpu()
    if dtype == "BF16":
        return t.to(torch.bfloat16).view(torch.int16).numpy().astype("<i2").tobytes()
    return t.to(torch.float32).numpy().astype("<f4").tobytes()


def save(path, tensors, metadata=None):
    """tensors: dict name -> (torch tensor, "BF16" | "F32"). Names are stored sorted."""
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        t, dtype = tensors[name]
        b = _to_bytes(t, dtype)
        header[name] = {"dtype": dtype, "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    if metadata:
        header["__metadata__"] = metadata
    hjson = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hjson += b" " * ((8 - len(hjson) % 8) % 8)   # pad so the data starts 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for b in blobs:
            f.write(b)


def load(path):
    """name -> float32 torch tensor (BF16 widened exactly), plus the dtype map."""
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    base = 8 + n
    out, dtypes = {}, {}
    expected = 0
    entries = sorted(((k, v) for k, v in header.items() if k != "__metadata__"),
                     key=lambda kv: kv[1]["data_offsets"][0])
    for name, info in entries:
        b, e = info["data_offsets"]
        if b != expected:
            raise ValueError(f"{path}: tensor {name} data is not contiguous")
        expected = e
        dt = info["dtype"]
        count = int(np.prod(info["shape"])) if info["shape"] else 1
        if e - b != count * _DTYPES[dt]:
            raise ValueError(f"{path}: tensor {name} has {e - b} bytes for shape {info['shape']}")
        buf = raw[base + b:base + e]
        if dt == "BF16":
            bits = np.frombuffer(buf, dtype="<u2").astype(np.uint32) << 16
            arr = bits.view(np.float32)
        else:
            arr = np.frombuffer(buf, dtype="<f4").astype(np.float32)
        out[name] = torch.from_numpy(arr.reshape(info["shape"]).copy())
        dtypes[name] = dt
    if base + expected != len(raw):
        raise ValueError(f"{path}: data section is {len(raw) - base} bytes, header covers {expected}")
    return out, dtypes
