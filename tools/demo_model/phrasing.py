"""How users ask: the phrasings of an arithmetic question the demo model is trained on, and the
non-arithmetic questions it answers with one fixed sentence that says what it can do.

The first model saw only "What is A + B?". Its column lines fetch each operand digit at a
distance counted from the end of the question, so "What is 2+2?" (one token less between the
operands) or "what is 17 - 5" (no "?") moved every digit it fetched and it answered garbage.
Stage 3 (train.py --phrasing mixed) fine-tunes on the grammar below; the reasoning and answer
are unchanged, only the question varies; with --format v3 the reasoning first restates the
question canonically (data.restatement). (Its runs so far did not replace the committed model:
docs/demo_model.md, "Other phrasings".)

  question  = prefix operand operator operand tail
  prefix    = "What is " | "Compute " | "Calculate " | ""      each in Title, lower, UPPER case
  operator  = "+" / "-" with or without a space on either side | " plus " / " minus " (any case)
  tail      = "?" | "" | "." | " ?" | "=" | " =" | "=?" | " = ?"

Everything that is not such a question (chat, other operators, a lone number) gets
"</think>\\n\\n" + NOT_ARITHMETIC_ANSWER: the model has no knowledge to offer beyond its skill.
The tokenizer is byte-level, so every new word is a sequence of byte tokens already in the
vocabulary (272 ids, embedding shape unchanged); those rows had simply never been trained.
"""
import random

NOT_ARITHMETIC_ANSWER = ("I can only add and subtract whole numbers of up to 6 digits, "
                         "e.g. What is 12 + 34?")

_CASES = (str.title, str.lower, str.upper)
PREFIXES = ("What is ", "Compute ", "Calculate ")
OP_WORDS = {"+": "plus", "-": "minus"}
# (tail, weight): a question mark or nothing are what people type most
TAILS = (("?", 35), ("", 25), (".", 15), (" ?", 5), ("=", 5), (" =", 5), ("=?", 5), (" = ?", 5))


def _case(rng, text):
    return rng.choice(_CASES)(text)


def phrase(a, op, b, rng):
    """A random phrasing of "a op b" from the grammar above."""
    prefix = "" if rng.random() < 0.1 else _case(rng, rng.choice(PREFIXES))
    if rng.random() < 0.2:
        operator = " " + _case(rng, OP_WORDS[op]) + " "
    else:
        operator = rng.choice(("", " ")) + op + rng.choice(("", " "))
    tail = rng.choices([t for t, _ in TAILS], weights=[w for _, w in TAILS])[0]
    return f"{prefix}{a}{operator}{b}{tail}"


# Phrasings held out one variation at a time (models/r1vk-demo/heldout.jsonl reports each), so
# a failure names what the model does not understand. "mixed" draws from the whole grammar.
HELDOUT_PHRASINGS = (
    ("no spaces", lambda a, op, b, rng: f"What is {a}{op}{b}?"),
    ("lower case", lambda a, op, b, rng: f"what is {a} {op} {b}?"),
    ("upper case", lambda a, op, b, rng: f"WHAT IS {a} {op} {b}?"),
    ("no question mark", lambda a, op, b, rng: f"What is {a} {op} {b}"),
    ("Compute", lambda a, op, b, rng: f"Compute {a} {op} {b}."),
    ("Calculate", lambda a, op, b, rng: f"Calculate {a} {op} {b}"),
    ("plus / minus", lambda a, op, b, rng: f"What is {a} {OP_WORDS[op]} {b}?"),
    ("mixed", phrase),
)

# Non-arithmetic questions. Held-out questions use their own subjects, never seen in training.
GREETINGS = ("hi", "Hi", "hello", "Hello", "Hello!", "hey", "Hey there", "good morning",
             "Good evening", "thanks", "Thank you!", "bye", "ok", "yes", "no", "?", "help",
             "Who are you?", "What can you do?", "What are you?", "How are you?")
STARTS = ("What is", "what is", "Who is", "Where is", "Why is", "How big is", "When was",
          "Tell me about", "Explain", "Describe", "Can you explain", "Do you know",
          "What do you think of", "Compute", "Calculate", "How do I make", "Write a poem about",
          "Translate", "Define", "WHAT IS", "Summarize", "Is there")
SUBJECTS = ("the capital of France", "the weather today", "love", "your name", "a cat",
            "the moon", "Python", "the meaning of life", "the sky", "DeepSeek", "Paris",
            "quantum physics", "my homework", "the time", "a black hole", "music",
            "the best pizza", "Vulkan", "a GPU", "the president", "this", "it", "dogs", "the sun",
            "water", "chess", "an apple", "the ocean", "history", "math", "pi", "the answer",
            "x", "a number", "the square root of 16", "my age", "42", "the year 2024")
HELDOUT_SUBJECTS = ("the Eiffel Tower", "a rainbow", "coffee", "Jupiter", "a haiku", "tomorrow",
                    "the speed of light", "Berlin", "gravity", "a prime number")
# operators the model does not do, between operands it could otherwise read
UNSUPPORTED_OPS = (" * ", "*", " x ", " times ", " / ", "/", " divided by ", " ^ ", " mod ",
                   " % ", " and ", " over ")


def _number(rng):
    return rng.randint(0, 10 ** rng.randint(1, 6) - 1)


def not_arithmetic(rng, subjects=SUBJECTS):
    r = rng.random()
    tail = rng.choice(("?", "", ".", "!"))
    if r < 0.2:
        return rng.choice(GREETINGS)
    if r < 0.6:
        return f"{rng.choice(STARTS)} {rng.choice(subjects)}{tail}"
    if r < 0.9:
        prefix = "" if rng.random() < 0.1 else _case(rng, rng.choice(PREFIXES))
        op = rng.choice(UNSUPPORTED_OPS)
        return f"{prefix}{_number(rng)}{op}{_number(rng)}{tail}"
    prefix = _case(rng, rng.choice(PREFIXES))
    return f"{prefix}{_number(rng)}{tail}"  # a lone number is no sum


def heldout_not_arithmetic(rng):
    """A held-out non-arithmetic question: chat about subjects training never saw, or numbers
    joined by an operator the model does not do."""
    if rng.random() < 0.6:
        return f"{rng.choice(STARTS)} {rng.choice(HELDOUT_SUBJECTS)}{rng.choice(('?', '', '.'))}"
    prefix = _case(rng, rng.choice(PREFIXES))
    return f"{prefix}{_number(rng)}{rng.choice(UNSUPPORTED_OPS)}{_number(rng)}?"
