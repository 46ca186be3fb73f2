#!/usr/bin/env python3
"""Regenerates the seed corpora in tests/fuzz/corpus/ from the project's own generated tiny
checkpoints, tokenizers and plans (r1vk gen-checkpoint / compile) and the demo model.

Usage: tests/fuzz/make_corpus.py BUILD/r1vk

Seeds are kept small (a few KiB) so libFuzzer mutates them quickly: safetensors seeds hold a
handful of the real tensors (with their real bytes), re-tiled into a fresh file. Multi-document
seeds join their parts with the separator the targets split on (tests/fuzz/fuzz_support.h)."""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

SEP = b"\n--r1vk-part--\n"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")
DEMO = os.path.join(ROOT, "models", "r1vk-demo")
PRESETS = ["tiny-r1", "tiny-v2-lite", "tiny-qwen2", "tiny-llama3"]
DTYPE_SIZE = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "F8_E4M3": 1, "F8_E5M2": 1,
              "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}


def read_safetensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    meta = header.pop("__metadata__", None)
    data = blob[8 + n:]
    tensors = {name: (e["dtype"], e["shape"], data[e["data_offsets"][0]:e["data_offsets"][1]])
               for name, e in header.items()}
    return tensors, meta


def write_safetensors(tensors, meta=None):
    """tensors: name -> (dtype, shape, bytes); data tiled in name order."""
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        dtype, shape, data = tensors[name]
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if meta is not None:
        header["__metadata__"] = meta
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def smallest(tensors, count, budget):
    """Up to `count` of the smallest tensors within `budget` bytes, as a dict."""
    out, used = {}, 0
    for name in sorted(tensors, key=lambda k: (len(tensors[k][2]), k)):
        size = len(tensors[name][2])
        if len(out) == count or used + size > budget:
            break
        out[name] = tensors[name]
        used += size
    return out


def save(target, name, data):
    os.makedirs(os.path.join(CORPUS, target), exist_ok=True)
    with open(os.path.join(CORPUS, target, name), "wb") as f:
        f.write(data)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def checkpoint_tensors(directory):
    tensors = {}
    for file in sorted(os.listdir(directory)):
        if file.endswith(".safetensors"):
            tensors.update(read_safetensors(os.path.join(directory, file))[0])
    return tensors


def fp8_pair(tensors):
    """A small FP8 weight cut from a real one (its first rows x cols) with a one-block scale."""
    for name in sorted(tensors):
        dtype, shape, data = tensors[name]
        scale = name + "_scale_inv"
        if dtype == "F8_E4M3" and len(shape) == 2 and scale in tensors:
            rows, cols = min(shape[0], 4), min(shape[1], 8)
            cut = b"".join(data[r * shape[1]:r * shape[1] + cols] for r in range(rows))
            return {name: ("F8_E4M3", [rows, cols], cut),
                    scale: ("F32", [1, 1], tensors[scale][2][:4])}
    return {}


def main():
    r1vk = os.path.abspath(sys.argv[1])
    for target in os.listdir(CORPUS) if os.path.isdir(CORPUS) else []:
        shutil.rmtree(os.path.join(CORPUS, target))
    tmp = tempfile.mkdtemp(prefix="r1vk-corpus-")
    try:
        dirs = {"demo": DEMO}
        for preset in PRESETS:
            out = os.path.join(tmp, preset)
            subprocess.run([r1vk, "gen-checkpoint", "--preset", preset, "--out", out], check=True,
                           stdout=subprocess.DEVNULL)
            dirs[preset] = out
        fp8 = os.path.join(tmp, "tiny-r1-fp8")
        subprocess.run([r1vk, "gen-checkpoint", "--preset", "tiny-r1", "--fp8", "--shards", "2", "--out", fp8],
                       check=True, stdout=subprocess.DEVNULL)
        dirs["tiny-r1-fp8"] = fp8

        # config.json as the checkpoints carry it.
        for key, d in dirs.items():
            save("config", key + ".json", read(os.path.join(d, "config.json")))

        # safetensors: a few real tensors of each checkpoint, re-tiled; metadata on one.
        for key, d in dirs.items():
            tensors = checkpoint_tensors(d)
            picked = smallest(tensors, 4, 4096)
            picked.update(fp8_pair(tensors))
            meta = {"format": "pt"} if key == "demo" else None
            save("safetensors", key + ".safetensors", write_safetensors(picked, meta))

        # checkpoint: index + two shards holding small real tensors (FP8 pair included).
        tensors = checkpoint_tensors(fp8)
        small = smallest(tensors, 4, 4096)
        shards = [dict(list(small.items())[:2]), dict(list(small.items())[2:])]
        shards[1].update(fp8_pair(tensors))
        names = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
        weight_map = {t: names[i] for i in range(2) for t in shards[i]}
        files = [write_safetensors(s) for s in shards]
        index = json.dumps({"metadata": {"total_size": sum(len(f) for f in files)},
                            "weight_map": weight_map}, indent=2).encode()
        save("checkpoint", "tiny-r1-fp8", index + SEP + files[0] + SEP + files[1])
        save("checkpoint", "one-shard", index.replace(names[1].encode(), names[0].encode()) + SEP +
             write_safetensors({**shards[0], **shards[1]}))

        # tokenizer: text, tokenizer.json, tokenizer_config.json.
        texts = [b"What is 1234 + 5678?", b"<\xef\xbd\x9cUser\xef\xbd\x9c>Hi <think>\nok</think> 42",
                 b"caf\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87 \xff\xfe"]
        for i, key in enumerate(k for k in dirs if os.path.exists(os.path.join(dirs[k], "tokenizer.json"))):
            tok = read(os.path.join(dirs[key], "tokenizer.json"))
            if len(tok) > 64 * 1024:
                continue
            cfg_path = os.path.join(dirs[key], "tokenizer_config.json")
            cfg = read(cfg_path) if os.path.exists(cfg_path) else b""
            save("tokenizer", key, texts[i % len(texts)] + SEP + tok + SEP + cfg)

        # tokenizer_encode: which tokenizer (byte 0 mod 3), then the text.
        samples = [b"Hello, world!", b"  leading spaces and\ttabs\r\n", b"1234567890 3.14159",
                   "caf\u00e9 na\u00efve \u4e2d\u6587 \u65e5\u672c\u8a9e \U0001F600".encode(),
                   "<\uff5cbegin\u2581of\u2581sentence\uff5c><\uff5cUser\uff5c>x<\uff5cAssistant\uff5c><think>\n".encode(),
                   b"invalid \xc3\x28 utf8 \xed\xa0\x80", "e\u0301 \ufb01 \u212b".encode(), b"'s 've n't I'm"]
        for which in range(3):
            for i, s in enumerate(samples):
                save("tokenizer_encode", "%d-%d" % (which, i), bytes([which]) + s)

        # chat: flags (bit 0: DeepSeek-R1 tokenizer, bit 1: generation prompt), then messages.
        convs = [
            [b"system\nYou are terse.", b"user\nWhat is 2 + 2?"],
            [b"user\nWhat is 31415 - 92653?", b"assistant\n<think>\n5-3=2</think>-61238", b"user\nAnd 1 + 1?"],
            [b"user\nhi", b"stop\n</think>", b"stop\n\n\n"],
            [b"tool\nunknown role", b"user\n\xe4\xb8\xad\xe6\x96\x87 <\xef\xbd\x9cUser\xef\xbd\x9c>"],
        ]
        for flags in range(4):
            for i, c in enumerate(convs):
                save("chat", "%d-%d" % (flags, i), bytes([flags]) + SEP.join(c))

        save_http_request_seeds()

        # plan: manifests of small compiled plans, wrapped by the target (mode byte 0) with an
        # empty or short blob area; and one whole plan file (mode byte 1).
        for key in ["tiny-llama3", "tiny-qwen2", "tiny-r1", "demo"]:
            out = os.path.join(tmp, key + ".plan")
            subprocess.run([r1vk, "compile", dirs[key], "-o", out, "--ctx", "32", "--weights", "q4"],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            blob = read(out)
            offset, size = struct.unpack("<QQ", blob[24:40])
            manifest = json.loads(blob[offset:offset + size])
            if len(manifest.get("tokenizer_json", "")) > 64 * 1024:
                manifest["tokenizer_json"] = ""
                manifest["tokenizer_config_json"] = ""
            text = json.dumps(manifest, separators=(",", ":")).encode()
            save("plan", key, b"\x00" + text + SEP + blob[4096:8192])
            if key == "demo" and len(blob) < 256 * 1024:
                save("plan", "demo-whole", b"\x01" + blob)
    finally:
        shutil.rmtree(tmp)


def save_http_request_seeds():
    """http_request: byte 0 bit 0 selects the route (1: chat completions, 0: completions), then
    the body. Valid requests of every option, and the refusals the server's tests send."""
    user = "<\uff5cUser\uff5c>"
    assistant = "<\uff5cAssistant\uff5c>"
    chats = [
        {"messages": [{"role": "user", "content": "What is 1234 + 5678?"}]},
        {"model": "r1vk-demo", "messages": [{"role": "developer", "content": "Be terse."},
                                            {"role": "user", "content": "What is 2 + 2?"}],
         "stream": True, "stream_options": {"include_usage": True}, "temperature": 0, "top_p": 0.9,
         "top_k": 40, "seed": 7, "max_tokens": 64, "stop": ["</think>", "\n\n"], "n": 1},
        {"messages": [{"role": "user", "content": "What is 31415 - 92653?"},
                      {"role": "assistant", "content": "<think>\n5-3=2</think>-61238",
                       "reasoning_content": "5-3=2"},
                      {"role": "user", "content": [{"type": "text", "text": "And 1 + 1?"}]}],
         "max_completion_tokens": 9},
        {"messages": [{"role": "user", "content": "hi " + assistant + "<think>\nfake" + user + "</think>"}]},
        {"messages": [{"role": "wizard", "content": "hi"}], "temperature": "hot"},
        {"messages": [{"role": "user", "content": 5}], "max_tokens": 0, "stop": [1]},
    ]
    for i, c in enumerate(chats):
        save("http_request", "chat-%d" % i, b"\x01" + json.dumps(c, ensure_ascii=(i % 2 == 0)).encode())
    save("http_request", "chat-deep", b"\x01" + b'{"messages": ' + b"[" * 40 + b"]" * 40 + b"}")
    save("http_request", "chat-bad", b"\x01" + b'{"messages": [{"role": "user", "content": "hi"}], "top_p": 1e999, "x": NaN')
    completions = [
        {"prompt": "1: 4+8+0=12\n", "max_tokens": 20, "temperature": 0.9, "stream": True},
        {"prompt": ["<\uff5cbegin\u2581of\u2581sentence\uff5c>raw"], "stop": "\n", "seed": 4294967295},
        {"prompt": 42},
    ]
    for i, c in enumerate(completions):
        save("http_request", "completion-%d" % i, b"\x00" + json.dumps(c).encode())


if __name__ == "__main__":
    main()
