#!/usr/bin/env python3
"""Reads what r1vk writes for other tools with independent readers (numpy, Python's json) and
checks it against the formats' own rules and known values. Usage:
  check_outputs.py npy FILE.npy GOLDEN_DIR N     logits of the first N golden tokens, [N, vocab]
  check_outputs.py jsonl FILE                    every line one JSON object with a "type"
  check_outputs.py json FILE KEY...              one JSON object holding every KEY
  check_outputs.py checkpoint DIR                gen-checkpoint's safetensors + JSON files, read
                                                 by the format's spec (8-byte little-endian header
                                                 length, JSON header, data offsets) with numpy
Exits 1 with a message on the first problem."""
import json
import sys


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def check_npy(path, golden_dir, n):
    import numpy  # Debian python3-numpy: the reference reader of the format

    a = numpy.load(path)
    golden = json.load(open(golden_dir + "/golden.json"))
    vocab = golden["vocab_size"]
    if a.shape != (n, vocab):
        fail(f"{path}: numpy reads shape {a.shape}, expected ({n}, {vocab})")
    if a.dtype != numpy.float32:
        fail(f"{path}: dtype {a.dtype}, expected float32")
    # PyTorch's logits of the same tokens (tests/data/demo_logits), float32 row-major.
    ref = numpy.fromfile(golden_dir + "/" + golden["main_logits"]["file"], dtype="<f4").reshape(-1, vocab)[:n]
    err = float(numpy.max(numpy.abs(a - ref)))
    if not err < 1e-2:  # measured 1.6e-3 (f32 weights; PyTorch used bf16 weights in f32 math)
        fail(f"{path}: max |r1vk - PyTorch| = {err} over the logits")
    if not (a.argmax(axis=1) == ref.argmax(axis=1)).all():
        fail(f"{path}: the argmax of some row differs from PyTorch's")
    print(f"npy ok: shape {a.shape}, max abs error vs PyTorch {err:.2e}")


def check_jsonl(path):
    lines = [l for l in open(path, encoding="utf-8").read().split("\n") if l]
    if not lines:
        fail(f"{path}: no output")
    for i, line in enumerate(lines):
        try:
            event = json.loads(line)
        except json.JSONDecodeError as e:
            fail(f"{path} line {i + 1} is not JSON ({e}): {line!r}")
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            fail(f"{path} line {i + 1} is not an object with a string \"type\": {line!r}")
    if json.loads(lines[-1])["type"] != "done":
        fail(f"{path}: the last event is not \"done\"")
    print(f"jsonl ok: {len(lines)} events")


def check_json(path, keys):
    text = open(path, encoding="utf-8").read()
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        fail(f"{path} is not one JSON document ({e}): {text!r}")
    for key in keys:
        node = obj
        for part in key.split("."):
            if isinstance(node, list):
                node = node[0] if node else None
            if not isinstance(node, dict) or part not in node:
                fail(f"{path}: no {key!r} in {text!r}")
            node = node[part]
    print(f"json ok: {', '.join(keys)}")


SAFETENSORS_DTYPES = {"F32": "<f4", "F16": "<f2", "BF16": "<u2", "F8_E4M3": "u1", "I64": "<i8", "I32": "<i4",
                      "U8": "u1", "I8": "i1", "BOOL": "u1", "F64": "<f8"}


def check_checkpoint(directory):
    import glob
    import struct

    import numpy

    config = json.load(open(directory + "/config.json"))
    json.load(open(directory + "/tokenizer.json"))
    json.load(open(directory + "/tokenizer_config.json"))
    files = sorted(glob.glob(directory + "/*.safetensors"))
    if not files:
        fail(f"{directory}: no .safetensors files")
    tensors = 0
    where = {}
    for path in files:
        data = open(path, "rb").read()
        (n,) = struct.unpack("<Q", data[:8])
        header = json.loads(data[8:8 + n].decode("utf-8"))
        body = data[8 + n:]
        end = 0
        for name, t in sorted(((k, v) for k, v in header.items() if k != "__metadata__"),
                              key=lambda kv: kv[1]["data_offsets"][0]):
            begin, stop = t["data_offsets"]
            if begin != end:
                fail(f"{path}: {name} starts at {begin}, the previous tensor ended at {end}")
            dtype = numpy.dtype(SAFETENSORS_DTYPES[t["dtype"]])
            count = int(numpy.prod(t["shape"])) if t["shape"] else 1
            if stop - begin != count * dtype.itemsize:
                fail(f"{path}: {name} holds {stop - begin} bytes for shape {t['shape']} of {t['dtype']}")
            numpy.frombuffer(body[begin:stop], dtype=dtype).reshape(t["shape"])
            end = stop
            tensors += 1
            where[name] = path.rsplit("/", 1)[-1]
        if end != len(body):
            fail(f"{path}: {len(body) - end} bytes after the last tensor")
    index_path = directory + "/model.safetensors.index.json"
    if len(files) > 1:
        weight_map = json.load(open(index_path))["weight_map"]
        if weight_map != where:
            fail(f"{index_path}: weight_map does not name each tensor's file")
    print(f"checkpoint ok: {tensors} tensors in {len(files)} files, model_type {config.get('model_type')}")


if __name__ == "__main__":
    kind = sys.argv[1]
    if kind == "npy":
        check_npy(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif kind == "jsonl":
        check_jsonl(sys.argv[2])
    elif kind == "json":
        check_json(sys.argv[2], sys.argv[3:])
    elif kind == "checkpoint":
        check_checkpoint(sys.argv[2])
    else:
        fail("unknown kind " + kind)
