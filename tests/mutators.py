"""The byte mutator every fuzz test shares (``tests/test_fuzz_parsers.py``, ``tests/net/test_fuzz.py``):
bit flips, truncation, extension, length or count fields set to 0 / all ones / the sign bit,
random bytes, spliced and deleted runs, bad UTF-8."""

from __future__ import annotations

import random


def mutate(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    op = rng.randrange(9)
    if op == 0 and b:
        for _ in range(rng.randint(1, 4)):
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
    elif op == 1:
        b = b[: rng.randrange(len(b) + 1)]
    elif op == 2:
        b += rng.randbytes(rng.randint(1, 40))
    elif op == 3 and b:  # a length or count field set to 0 / all ones / the sign bit / huge
        i, w = rng.randrange(len(b)), rng.choice((1, 2, 4, 8))
        b[i:i + w] = bytes([rng.choice((0, 0xFF, 0x7F, 0x80))]) * w
    elif op == 4 and b:
        b[rng.randrange(len(b))] = rng.randrange(256)
    elif op == 5:
        b = bytearray(rng.randbytes(rng.randrange(200)))
    elif op == 6 and b:
        i, j = rng.randrange(len(b)), rng.randrange(len(b))
        b[i:i] = b[j:j + rng.randint(1, 16)]
    elif op == 7 and b:
        i = rng.randrange(len(b))
        del b[i:i + rng.randint(1, 8)]
    elif len(b) > 2:
        i = rng.randrange(len(b) - 1)
        b[i:i + 2] = rng.choice((b"\xff\xff", b"\x00\x00", b"\x80\x00", b"\xc0\x80"))  # last: bad UTF-8
    return bytes(b)
