"""Writes the held-out questions (data.heldout_items(): the 500 canonical problems of
data.test_problems(), then the phrasing and non-arithmetic ones, each from its own seed) as JSON
Lines for `r1vk eval`: one {"question", "answer", "kind"} object per line, in that order.

  /usr/bin/python3 tools/demo_model/export_heldout.py              # writes models/r1vk-demo/heldout.jsonl
  /usr/bin/python3 tools/demo_model/export_heldout.py --check      # exit 1 when the file differs

"answer" is the exact answer text the model must give after </think> (no leading zeros, "-"
for a negative result; phrasing.NOT_ARITHMETIC_ANSWER for a non-arithmetic question). "kind" is
addition, subtraction >= 0 or subtraction < 0 for the canonical phrasing, "phrasing: <name>" for
the others, "not arithmetic": the split evaluate.py and r1vk eval report. Pure Python (no
torch), so any python3 can run it.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_OUT = os.path.join(ROOT, "models", "r1vk-demo", "heldout.jsonl")


def render():
    lines = []
    for question, answer, kind in data.heldout_items():
        row = {"question": question, "answer": answer, "kind": kind}
        lines.append(json.dumps(row, ensure_ascii=True) + "\n")
    return "".join(lines).encode("ascii")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--check", action="store_true", help="compare with --out instead of writing it")
    args = ap.parse_args()
    text = render()
    count = text.count(b"\n")
    if args.check:
        try:
            with open(args.out, "rb") as f:
                old = f.read()
        except OSError as e:
            print(f"{args.out}: {e}", file=sys.stderr)
            return 1
        if old != text:
            print(f"{args.out} differs from a fresh export of data.heldout_items()", file=sys.stderr)
            return 1
        print(f"{args.out}: identical to a fresh export ({count} problems)")
        return 0
    with open(args.out, "wb") as f:
        f.write(text)
    print(f"wrote {args.out} ({count} problems)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
