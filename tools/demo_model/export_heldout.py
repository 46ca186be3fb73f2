"""Writes the 500 held-out problems (data.test_problems(), their own seed) as JSON Lines for
`r1vk eval`: one {"question", "answer", "kind"} object per line, in test_problems() order.

  /usr/bin/python3 tools/demo_model/export_heldout.py              # writes models/r1vk-demo/heldout.jsonl
  /usr/bin/python3 tools/demo_model/export_heldout.py --check      # exit 1 when the file differs

"answer" is the exact answer text the model must give after </think> (no leading zeros, "-"
for a negative result). "kind" is addition, subtraction >= 0 or subtraction < 0, the split
evaluate.py reports. Pure Python (no torch), so any python3 can run it.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_OUT = os.path.join(ROOT, "models", "r1vk-demo", "heldout.jsonl")


def kind(a, op, b):
    if op == "+":
        return "addition"
    return "subtraction >= 0" if a >= b else "subtraction < 0"


def render():
    lines = []
    for a, op, b in data.test_problems():
        row = {"question": data.question(a, op, b), "answer": str(data.answer_value(a, op, b)),
               "kind": kind(a, op, b)}
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
            print(f"{args.out} differs from a fresh export of data.test_problems()", file=sys.stderr)
            return 1
        print(f"{args.out}: identical to a fresh export ({count} problems)")
        return 0
    with open(args.out, "wb") as f:
        f.write(text)
    print(f"wrote {args.out} ({count} problems)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
