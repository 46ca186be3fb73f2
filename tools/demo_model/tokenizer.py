"""The demo model's tokenizer: a tiny byte-level BPE in Hugging Face tokenizer.json form.

Layout (all ids fixed):
  0..5    added tokens: <｜begin▁of▁sentence｜> <｜end▁of▁sentence｜> <｜User｜> <｜Assistant｜>
          <think> </think>   (matched literally before anything else, as HF does)
  6..261  the 256 byte symbols of the GPT-2 byte-to-unicode alphabet, in byte order
  262..   one token per merge, in merge (rank) order

Pre-tokenisation is a Sequence of two Split(isolated) regexes and ByteLevel(use_regex=false),
the shape DeepSeek's own tokenizer.json has:
  1. "[0-9]"                                   every digit is its own piece
  2. " ?[A-Za-z]+| ?[^A-Za-z0-9<ws>]+|[<ws>]+"   words (with one leading space), runs of other
                                               characters (with one leading space), whitespace;
                                               <ws> = \\t\\n\\x0B\\f\\r and space
The regexes use only explicit ASCII classes and leftmost-first alternation, which Python's re, PCRE2 and
Oniguruma evaluate identically, so encode() below yields exactly what a standard HF tokenizer
yields for this tokenizer.json.
"""
import json
import re

BOS = "<｜begin▁of▁sentence｜>"
EOS = "<｜end▁of▁sentence｜>"
USER = "<｜User｜>"
ASSISTANT = "<｜Assistant｜>"
THINK = "<think>"
END_THINK = "</think>"
SPECIALS = [BOS, EOS, USER, ASSISTANT, THINK, END_THINK]
SPECIAL_FLAG = {BOS: True, EOS: True, USER: True, ASSISTANT: True, THINK: False, END_THINK: False}

DIGIT_SPLIT = "[0-9]"
WS = "\\t\\n\\x0B\\f\\r "   # ASCII whitespace, spelled out: engines disagree on \\s and \\v
WORD_SPLIT = " ?[A-Za-z]+| ?[^A-Za-z0-9" + WS + "]+|[" + WS + "]+"

# Merges, in rank order (symbols in the byte-to-unicode alphabet: "Ġ" is space, "Ċ" newline).
MERGES = [
    ("Ġ", "i"), ("Ġi", "s"),                 # " is"
    ("W", "h"), ("Wh", "a"), ("Wha", "t"),  # "What"
    ("Ġ", "+"), ("Ġ", "-"),                 # " +", " -"
    ("Ċ", "Ċ"),                             # "\n\n"
    ("n", "e"), ("ne", "g"),                # "neg"
]


def bytes_to_unicode():
    """GPT-2's reversible byte -> printable unicode character map."""
    bs = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
          + list(range(ord("®"), ord("ÿ") + 1)))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


BYTE_TO_CHAR = bytes_to_unicode()
CHAR_TO_BYTE = {c: b for b, c in BYTE_TO_CHAR.items()}


def build_vocab():
    vocab = {}
    for s in SPECIALS:
        vocab[s] = len(vocab)
    for b in range(256):
        vocab[BYTE_TO_CHAR[b]] = len(vocab)
    for a, b in MERGES:
        assert a in vocab and b in vocab, (a, b)
        vocab[a + b] = len(vocab)
    return vocab


VOCAB = build_vocab()
ID_TO_TOKEN = {i: t for t, i in VOCAB.items()}
MERGE_RANK = {pair: r for r, pair in enumerate(MERGES)}
BOS_ID, EOS_ID = VOCAB[BOS], VOCAB[EOS]
USER_ID, ASSISTANT_ID = VOCAB[USER], VOCAB[ASSISTANT]
THINK_ID, END_THINK_ID = VOCAB[THINK], VOCAB[END_THINK]
VOCAB_SIZE = len(VOCAB)

_special_re = re.compile("(" + "|".join(re.escape(s) for s in SPECIALS) + ")")
_digit_re = re.compile(DIGIT_SPLIT)
_word_re = re.compile(WORD_SPLIT)


def _split_isolated(pieces, regex):
    out = []
    for p in pieces:
        pos = 0
        for m in regex.finditer(p):
            if m.start() > pos:
                out.append(p[pos:m.start()])
            if m.end() > m.start():
                out.append(m.group(0))
            pos = m.end()
        if pos < len(p):
            out.append(p[pos:])
    return out


def _bpe(word):
    symbols = list(word)
    while len(symbols) > 1:
        best = None
        for i in range(len(symbols) - 1):
            r = MERGE_RANK.get((symbols[i], symbols[i + 1]))
            if r is not None and (best is None or r < best[0]):
                best = (r, i)
        if best is None:
            break
        pair = (symbols[best[1]], symbols[best[1] + 1])
        merged, i = [], 0
        while i < len(symbols):
            if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == pair:
                merged.append(symbols[i] + symbols[i + 1])
                i += 2
            else:
                merged.append(symbols[i])
                i += 1
        symbols = merged
    return symbols


def encode(text):
    ids = []
    for chunk in _special_re.split(text):
        if not chunk:
            continue
        if chunk in VOCAB and chunk in SPECIALS:
            ids.append(VOCAB[chunk])
            continue
        pieces = _split_isolated(_split_isolated([chunk], _digit_re), _word_re)
        for p in pieces:
            mapped = "".join(BYTE_TO_CHAR[b] for b in p.encode("utf-8"))
            ids.extend(VOCAB[s] for s in _bpe(mapped))
    return ids


def decode(ids, skip_special=False):
    out, buf = [], []
    for i in ids:
        t = ID_TO_TOKEN[int(i)]
        if t in SPECIALS:
            if buf:
                out.append(bytes(buf).decode("utf-8", errors="replace"))
                buf = []
            if not (skip_special and SPECIAL_FLAG[t]):
                out.append(t)
        else:
            buf.extend(CHAR_TO_BYTE[c] for c in t)
    if buf:
        out.append(bytes(buf).decode("utf-8", errors="replace"))
    return "".join(out)


# A chat template written for this project that renders R1's format (MODEL_SPEC §4):
# bos, optional system text, <｜User｜>{user}, past assistant turns reduced to the text after
# </think> and closed by eos, and for the generation prompt <｜Assistant｜><think>\n.
CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{% if message['role'] == 'system' %}{{ message['content'] }}"
    "{% elif message['role'] == 'user' %}{{ '<｜User｜>' + message['content'] }}"
    "{% elif message['role'] == 'assistant' %}"
    "{% set content = message['content'] %}"
    "{% if '</think>' in content %}{% set content = content.split('</think>')[-1] %}{% endif %}"
    "{{ '<｜Assistant｜>' + content + eos_token }}"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<｜Assistant｜><think>\\n' }}{% endif %}"
)


def chat_prompt(user_text):
    """The rendered generation prompt for one user turn, no system prompt."""
    return BOS + USER + user_text + ASSISTANT + THINK + "\n"


def tokenizer_json():
    added = [{"id": VOCAB[s], "content": s, "single_word": False, "lstrip": False,
              "rstrip": False, "normalized": False, "special": SPECIAL_FLAG[s]} for s in SPECIALS]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": DIGIT_SPLIT}, "behavior": "Isolated",
             "invert": False},
            {"type": "Split", "pattern": {"Regex": WORD_SPLIT}, "behavior": "Isolated",
             "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False,
             "use_regex": False},
        ]},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False,
                    "use_regex": False},
        "model": {"type": "BPE", "dropout": None, "unk_token": None,
                  "continuing_subword_prefix": None, "end_of_word_suffix": None,
                  "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": VOCAB, "merges": [f"{a} {b}" for a, b in MERGES]},
    }


def tokenizer_config_json():
    return {
        # Every sequence the demo model saw in training starts with BOS, as R1's (add_bos_token: true).
        "add_bos_token": True,
        "add_eos_token": False,
        "bos_token": BOS,
        "eos_token": EOS,
        "pad_token": EOS,
        "unk_token": None,
        "clean_up_tokenization_spaces": False,
        "legacy": True,
        "model_max_length": 512,
        "tokenizer_class": "PreTrainedTokenizerFast",
        "chat_template": CHAT_TEMPLATE,
    }


def write_tokenizer_files(out_dir):
    import os
    with open(os.path.join(out_dir, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tokenizer_json(), f, ensure_ascii=False, indent=1)
        f.write("\n")
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(tokenizer_config_json(), f, ensure_ascii=False, indent=2)
        f.write("\n")
