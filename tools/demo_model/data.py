"""Problem generator: addition and subtraction of 1..6-digit numbers with worked reasoning.

A problem is (a, op, b). The user asks "What is 4512 + 873?". The assistant's reasoning works
column by column from the units, one fixed-width line per column (n = the longer operand's
digit count), so the model can locate digits by position:

  addition     "k: a+b+c=Cd"   column k, digits a and b, carry-in c, two-digit column sum
                               (C = carry-out, d = written digit)
  subtraction  "k: a-b-c=Bd"   borrow-in c; B = 1 when the column had to borrow 10, d the digit

A subtraction settles its order up front, in its first line: when a < b every column works
b - a instead, written with a's digit still first and b's second, as "k:-a+b-c=Bd" (-a + b
minus borrow-in c; the "-" takes the place of the space after the colon), so the larger is taken
from the smaller column by column and no borrow is left over; the answer gets a minus sign.
Operand digits sit at exactly the same places in both kinds of line, and every line takes them
from the question at a distance that depends only on the column. The answer drops leading zeros.

  <think>                   <think>
  1: 2+3+0=05               1:-5+3-0=18
  2: 1+7+0=08               2:-1+5-1=03
  3: 5+8+0=13               </think>
  4: 4+0+1=05
  </think>                  -38<｜end▁of▁sentence｜>     (15 - 53)

  5385<｜end▁of▁sentence｜>

(The generation prompt already ends with "<think>\\n", so the completion starts at "1:".)

Format v3 (train.py --format v3; not yet the committed model's) writes one line before the
columns: the question restated canonically, "4512 + 873 =?", whatever the user's phrasing
("what is 4512+873", "Compute 4512 plus 873."). Copying the operands in order is an easy pattern for attention; the
column lines then fetch each digit at a distance from that restated line that depends only on
the column and the operands' lengths, as they did from the canonical question, instead of at a
distance that depends on how the question was phrased (what v2 could not learn).
"""
import random

import phrasing
import tokenizer as tok

MAX_DIGITS = 6
TEST_SEED = 20260501
TEST_COUNT = 500


def sample_problem(rng):
    la = rng.randint(1, MAX_DIGITS)
    lb = rng.randint(1, MAX_DIGITS)
    a = rng.randint(0 if la == 1 else 10 ** (la - 1), 10 ** la - 1)
    b = rng.randint(0 if lb == 1 else 10 ** (lb - 1), 10 ** lb - 1)
    op = rng.choice("+-")
    return a, op, b


def question(a, op, b):
    """The canonical phrasing, the only one stages 1 and 2 saw (phrasing.py has the others)."""
    return f"What is {a} {op} {b}?"


def kind(a, op, b):
    if op == "+":
        return "addition"
    return "subtraction >= 0" if a >= b else "subtraction < 0"


def answer_value(a, op, b):
    return a + b if op == "+" else a - b


def _digits(x, n):
    return [(x // 10 ** k) % 10 for k in range(n)]


def _add_lines(a, b, n):
    lines, carry = [], 0
    for k, (x, y) in enumerate(zip(_digits(a, n), _digits(b, n)), start=1):
        s = x + y + carry
        lines.append(f"{k}: {x}+{y}+{carry}={s // 10}{s % 10}")
        carry = s // 10
    return lines, carry


def _sub_lines(a, b, n):
    """Columns of a - b: (lines "k: x-y-c=Bd", final borrow)."""
    lines, borrow = [], 0
    for k, (x, y) in enumerate(zip(_digits(a, n), _digits(b, n)), start=1):
        s = x - y - borrow
        out = 1 if s < 0 else 0
        lines.append(f"{k}: {x}-{y}-{borrow}={out}{s + 10 * out}")
        borrow = out
    return lines


def _rsub_lines(a, b, n):
    """Columns of b - a, a's digit first: lines "k:-x+y-c=Bd" (x from a, y from b)."""
    lines, borrow = [], 0
    for k, (x, y) in enumerate(zip(_digits(a, n), _digits(b, n)), start=1):
        s = y - x - borrow
        out = 1 if s < 0 else 0
        lines.append(f"{k}:-{x}+{y}-{borrow}={out}{s + 10 * out}")
        borrow = out
    return lines


# "v2" is the format above. "v1" was the first one: a - b first and, when that ended with a
# borrow, "neg" and a second pass b - a, whose operand digits lie at distances that depend on
# the number of first-pass lines (the model never learnt it: 1/134 negative results). The
# committed model was trained on v1 first, then fine-tuned on v2 (train.py --format), whose
# lines keep every operand digit where v1 had it. "v3" is v2 after the restated question
# (below); a fine-tune to it for other phrasings is not the committed model yet
# (docs/demo_model.md, "Other phrasings").
FORMATS = ("v1", "v2", "v3")
FORMAT = "v2"


def restatement(a, op, b):
    """Format v3's first line: the question restated canonically, whatever its phrasing. Its
    tail " =?" puts as many tokens between the last digit of b and the first column line as the
    canonical prompt's "?<｜Assistant｜><think>\\n" did."""
    return f"{a} {op} {b} =?"


def reasoning(a, op, b):
    n = max(len(str(a)), len(str(b)))
    if FORMAT == "v3":
        return restatement(a, op, b) + "\n" + _columns(a, op, b, n)
    return _columns(a, op, b, n)


def _columns(a, op, b, n):
    if op == "+":
        lines, _ = _add_lines(a, b, n)
    elif FORMAT == "v1":
        lines = _sub_lines(a, b, n)
        if a < b:
            lines = lines + ["neg"] + _sub_lines(b, a, n)
    elif a < b:
        lines = _rsub_lines(a, b, n)
    else:
        lines = _sub_lines(a, b, n)
    return "\n".join(lines)


def completion(a, op, b):
    return reasoning(a, op, b) + "\n" + tok.END_THINK + "\n\n" + str(answer_value(a, op, b)) + tok.EOS


def not_arithmetic_completion():
    """What the model writes for anything that is not a question it can answer."""
    return tok.END_THINK + "\n\n" + phrasing.NOT_ARITHMETIC_ANSWER + tok.EOS


def prompt_text(a, op, b):
    return tok.chat_prompt(question(a, op, b))


def encode_text_example(question_text, completion_text):
    """(token ids, index of the first completion token) of one chat turn."""
    p = tok.encode(tok.chat_prompt(question_text))
    c = tok.encode(completion_text)
    return p + c, len(p)


def encode_example(a, op, b):
    """(token ids, index of the first completion token) of the canonical phrasing."""
    return encode_text_example(question(a, op, b), completion(a, op, b))


def answer_text(completion_text):
    """The text after </think>, as r1vk eval compares it (EOS dropped, whitespace trimmed), or
    None when there is no </think>."""
    if tok.END_THINK not in completion_text:
        return None
    return completion_text.split(tok.END_THINK, 1)[1].replace(tok.EOS, "").strip()


def parse_answer(text):
    """The final answer after </think>, as an int, or None when malformed."""
    if tok.END_THINK not in text:
        return None
    tail = text.split(tok.END_THINK, 1)[1].replace(tok.EOS, "").strip()
    try:
        return int(tail)
    except ValueError:
        return None


def test_problems():
    """The 500 held-out problems (own seed, no duplicates)."""
    rng = random.Random(TEST_SEED)
    seen, out = set(), []
    while len(out) < TEST_COUNT:
        p = sample_problem(rng)
        if p not in seen:
            seen.add(p)
            out.append(p)
    return out


# Phrasing held-out set: HELDOUT_PER_PHRASING problems per phrasing.HELDOUT_PHRASINGS entry and
# as many non-arithmetic questions, from their own seed, after the 500 canonical ones.
PHRASING_SEED = 20261129
HELDOUT_PER_PHRASING = 40
NOT_ARITHMETIC_KIND = "not arithmetic"


def heldout_items():
    """Every held-out question as (question, answer text after </think>, kind): the 500
    canonical problems (kinds addition / subtraction >= 0 / subtraction < 0), then
    HELDOUT_PER_PHRASING per phrasing (kind "phrasing: <name>") and as many non-arithmetic
    questions (kind "not arithmetic"). No problem appears twice."""
    items = [(question(*p), str(answer_value(*p)), kind(*p)) for p in test_problems()]
    used = set(test_problems())
    rng = random.Random(PHRASING_SEED)
    for name, render in phrasing.HELDOUT_PHRASINGS:
        n = 0
        while n < HELDOUT_PER_PHRASING:
            p = sample_problem(rng)
            if p in used:
                continue
            used.add(p)
            items.append((render(*p, rng), str(answer_value(*p)), "phrasing: " + name))
            n += 1
    seen = set()
    while len(seen) < HELDOUT_PER_PHRASING:
        q = phrasing.heldout_not_arithmetic(rng)
        if q not in seen:
            seen.add(q)
            items.append((q, phrasing.NOT_ARITHMETIC_ANSWER, NOT_ARITHMETIC_KIND))
    return items


def heldout_exclusions():
    """(problems, non-arithmetic questions) of heldout_items(), which training must skip."""
    problems = set(test_problems())
    rng = random.Random(PHRASING_SEED)
    for _, render in phrasing.HELDOUT_PHRASINGS:
        n = 0
        while n < HELDOUT_PER_PHRASING:
            p = sample_problem(rng)
            if p in problems:
                continue
            problems.add(p)
            render(*p, rng)  # keeps the draws in step with heldout_items()
            n += 1
    questions = {q for q, _, k in heldout_items() if k == NOT_ARITHMETIC_KIND}
    return problems, questions


def training_stream(seed, exclude):
    """Endless training problems from `seed`, skipping every problem in `exclude`."""
    rng = random.Random(seed)
    while True:
        p = sample_problem(rng)
        if p not in exclude:
            yield p


def canonical_text_stream(seed, exclude):
    """training_stream as (question, completion) texts, canonical phrasing (stages 1 and 2)."""
    for p in training_stream(seed, exclude):
        yield question(*p), completion(*p)


def mixed_text_stream(seed, exclude_problems, exclude_questions, canonical_frac, other_frac):
    """Endless (question, completion) texts for stage 3: a fraction `other_frac` of
    non-arithmetic questions, `canonical_frac` of the canonical phrasing (so the skill the
    earlier stages built is kept), the rest random phrasings of phrasing.py's grammar."""
    rng = random.Random(seed)
    while True:
        r = rng.random()
        if r < other_frac:
            q = phrasing.not_arithmetic(rng)
            if q not in exclude_questions:
                yield q, not_arithmetic_completion()
            continue
        p = sample_problem(rng)
        if p in exclude_problems:
            continue
        q = question(*p) if r < other_frac + canonical_frac else phrasing.phrase(*p, rng)
        yield q, completion(*p)


if __name__ == "__main__":
    for p in test_problems()[:4] + [(123, "-", 4567), (1000, "-", 999), (999999, "+", 1), (15, "-", 53), (7, "-", 7)]:
        print(repr(prompt_text(*p) + completion(*p)))
        ids, start = encode_example(*p)
        print(len(ids), start, tok.decode(ids) == prompt_text(*p) + completion(*p))
