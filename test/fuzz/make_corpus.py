#!/usr/bin/env python3
"""make_corpus.py: (re)write the seed corpora of test/fuzz/corpus/.

    python3 test/fuzz/make_corpus.py

Deterministic (fixed seeds), standard library only.  The tensor-file seeds
are the fixtures of test/fixtures/tensors/ (made by numpy) plus a few
hand-made safetensors headers; the byte-driven targets (fuzz_matrix,
fuzz_sql) get random bytes of a few lengths, which they read as a program,
and a few programs with many rows (more than one block of the engine).
Inputs the fuzzers find interesting stay in the build folder; only inputs
that found a bug are kept, in test/fuzz/regressions/<target>/.
"""
import json
import os
import random
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "..", "fixtures", "tensors")


def out(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def safetensors(header, payload=b""):
    h = json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<Q", len(h)) + h + payload


def sql_many_rows(rnd, nrow, ndim):
    """A fuzz_sql program (the byte layout of fuzz_sql.c) that reaches the
    engine: a first byte of 224 or more for 25..128 rows, then nrow rows of
    ndim tame elements, all in sequence 0, source 0 (SELECT id, x, seq, pos
    FROM t), no keys SELECT, no hidden argument; random bytes after."""
    b = [0xe0, nrow - 25, ndim - 1]
    for _ in range(nrow):
        b += [0, 0, 0]              # x a float32 blob; seq, pos integers
        for _ in range(ndim):
            b += [1, rnd.randrange(256)]
        b += [0, rnd.randrange(30)]  # seq 0, pos -5..24
    b += [0, 1] + [1] * 18 + [1]    # source 0, no keys, no argument; text
    return bytes(b) + bytes(rnd.randrange(256) for _ in range(300))


def main():
    for t in ("fuzz_json", "fuzz_blob", "fuzz_matrix", "fuzz_npy",
              "fuzz_safetensors", "fuzz_sql"):
        shutil.rmtree(os.path.join(HERE, "corpus", t), ignore_errors=True)

    # JSON vectors, good and bad.
    for i, s in enumerate([
        "[1, 2.5, -3]", "[[1,2],[3,4]]", "[]", "[1e39]", "[1e-50]",
        "[0.1,-0,1e-45,3.4028235e+38,30]", " [ 1 ,\t2\n]\r ", "[[1],[2,3]]",
        "[-0.0e+5, 12345678901234567890]", "[1,,2]", "[1, 2", "[[[1]]]",
        "[1.]", "[.5]", "[01]", "[1e]", "[-]", "[\u00e9]", "[1]x",
        "[[1, 2], [3, 4], [5, 6]]", "[" + ",".join(["1.5"] * 64) + "]",
        "[" + "9" * 130 + "]", "[NaN, Infinity]", "[0x10]", "[[]]",
    ]):
        out("fuzz_json", "seed%02d" % i, s)

    # Float32 blobs.
    rnd = random.Random(1)
    blobs = [
        struct.pack("<3f", 1, 2.5, -3), b"", b"\0\0\0", b"\0" * 5,
        struct.pack("<I", 0x7fc00000), struct.pack("<I", 0x7f800000),
        struct.pack("<2I", 0x00000001, 0x7f7fffff),
        struct.pack("<8f", *[rnd.gauss(0, 1) for _ in range(8)]),
        struct.pack("<64f", *[rnd.gauss(0, 100) for _ in range(64)]),
        bytes(range(256)),
        # the rounding boundaries of the half types: float16 ties (1 + 2^-11,
        # 1 + 3·2^-11, 2^-25, -2^-25), 65520 (rounds to infinity) and the
        # float32 below it, bfloat16 ties (1 + 2^-8, 1 + 3·2^-8, 2^-134) and
        # its overflow tie 0x7f7f8000 and the float32 below it
        struct.pack("<11I", 0x3f801000, 0x3f803000, 0x33000000, 0xb3000000,
                    0x477ff000, 0x477fefff, 0x3f808000, 0x3f818000,
                    0x00008000, 0x7f7f8000, 0x7f7f7fff),
    ]
    for i, b in enumerate(blobs):
        out("fuzz_blob", "seed%02d" % i, b)

    # Byte-driven programs.
    rnd = random.Random(2)
    for i, n in enumerate([0, 16, 64, 200, 600, 1500, 3000, 5000]):
        out("fuzz_matrix", "seed%02d" % i, bytes(rnd.randrange(256) for _ in range(n)))
    rnd = random.Random(3)
    for i, n in enumerate([0, 8, 40, 150, 400, 900, 1600, 2500]):
        out("fuzz_sql", "seed%02d" % i, bytes(rnd.randrange(256) for _ in range(n)))
    # Many narrow rows in one sequence, more than a block or tile of 64,
    # which the targets choose on 1 input in 8.  fuzz_matrix: the second
    # byte has bits 1-3 = 010 (the first, even, skips the GEMM); the random
    # seeds are ones whose state is built and computed: 90 causal rows, 60
    # queries on 106 keys, 193 queries on 31 keys.
    for name, second, seed in (("seed08-many-rows", 0x04, 156),
                               ("seed09-many-keys", 0x05, 187),
                               ("seed10-many-queries", 0x05, 460)):
        rnd = random.Random(seed)
        out("fuzz_matrix", name,
            bytes([0, second]) + bytes(rnd.randrange(256) for _ in range(3000)))
    out("fuzz_sql", "seed08-many-rows", sql_many_rows(random.Random(5), 128, 3))

    # Tensor files.
    for f in sorted(os.listdir(FIX)):
        if f.endswith((".npy", ".npz")):
            with open(os.path.join(FIX, f), "rb") as fh:
                out("fuzz_npy", f, fh.read())
    with open(os.path.join(FIX, "model.safetensors"), "rb") as fh:
        out("fuzz_safetensors", "model.safetensors", fh.read())
    out("fuzz_safetensors", "empty.safetensors", safetensors({}))
    out("fuzz_safetensors", "meta.safetensors", safetensors(
        {"__metadata__": {"format": "pt", "nested": {"a": [1, {"b": None}]}},
         "w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}},
        struct.pack("<2f", 1, 2)))
    out("fuzz_safetensors", "dtypes.safetensors", safetensors(
        {"a": {"dtype": "F16", "shape": [2], "data_offsets": [0, 4]},
         "b": {"dtype": "BF16", "shape": [1, 2], "data_offsets": [4, 8]},
         "c": {"dtype": "I8", "shape": [], "data_offsets": [8, 9]},
         "d": {"dtype": "BOOL", "shape": [0, 3], "data_offsets": [9, 9]},
         "e": {"dtype": "F64", "shape": [1], "data_offsets": [9, 17]}},
        struct.pack("<2H", 0x3c00, 0xc000) + struct.pack("<2H", 0x3f80, 0x4000)
        + b"\x05" + struct.pack("<d", 0.25)))
    out("fuzz_safetensors", "bad-offsets.safetensors", safetensors(
        {"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 12]}},
        b"\0" * 12))
    out("fuzz_safetensors", "huge-shape.safetensors", safetensors(
        {"w": {"dtype": "F32", "shape": [65536, 65536, 65536, 65536],
               "data_offsets": [0, 4]}}, b"\0" * 4))


if __name__ == "__main__":
    main()
