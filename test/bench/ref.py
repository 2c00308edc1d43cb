#!/usr/bin/python3
"""ref.py: the NumPy and PyTorch references of `make bench`.

Run by test/bench/bench.c as a coprocess, one per thread count, with
OPENBLAS_NUM_THREADS / OMP_NUM_THREADS set and OMP_WAIT_POLICY=PASSIVE (so
torch's OpenMP team does not spin on the cores OpenBLAS needs; see
shared/research/perf-anchors.md 1.4).  It reads commands on stdin, one per
line, and answers on stdout:

  run DIR KIND N D H CAUSAL THREADS
      DIR holds the inputs bench.c wrote (.npy float32): q, k, v for KIND
      "single" (one head, no projections); x, wq, wk, wv, wo, bq, bk, bv, bo
      for KIND "mha" (W row-major d_in x d_out: Q = x @ wq + bq).  DIR/ours.npy
      is our output for the same inputs.  For each reference: one untimed
      run that also gives the peak memory (VmHWM growth after resetting it
      through /proc/self/clear_refs), then timed runs (the rule of bench.c:
      until 1 s and 5 runs, at most 30; only 2 when one run takes over 1.5 s,
      and the untimed run itself when it took over 3 s); the median is reported, and the largest absolute difference between
      its output and ours.
      Answer: "RESULT key=value ..." with np_ms, np_mib, np_diff, np_max,
      torch_ms, torch_mib, torch_diff ("-" when the reference is missing).
  quit

References:
  numpy  softmax(q k^T * scale) v with OpenBLAS sgemm; causal adds a
         precomputed -inf upper triangle (built outside the timing).  For
         "mha": the projections, per-head softmax, concatenation and W_O.
  torch  single: torch.softmax(q @ k.T * scale) @ v (masked_fill with a
         precomputed mask when causal); mha: torch.nn.MultiheadAttention
         (eval, inference_mode, need_weights=False: the fused fast path),
         with our weights loaded (torch stores W transposed); causal passes
         the -inf mask as attn_mask.
"""
import os
import sys
import time


def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


try:
    import numpy as np
except Exception as e:  # pragma: no cover - reported to the bench
    np = None
    NP_WHY = "%s: %s" % (type(e).__name__, e)
try:
    import torch
except Exception as e:
    torch = None
    TORCH_WHY = "%s: %s" % (type(e).__name__, e)


def status_kib(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def timed(fn):
    """Peak memory of one untimed run, then the median of the timed runs."""
    ok = reset_peak()
    rss0 = status_kib("VmRSS")
    t0 = time.perf_counter()
    result = fn()
    first = time.perf_counter() - t0
    mib = (status_kib("VmHWM") - rss0) / 1024.0 if ok else float("nan")
    times = []
    if first > 3.0:
        return first * 1e3, mib, result      # one run is all it gets
    if first > 1.5:
        nmin, budget = 2, 0.0
    else:
        nmin, budget = 5, 1.0
    while len(times) < 30 and (len(times) < nmin or sum(times) < budget):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    n = len(times)
    med = times[n // 2] if n % 2 else 0.5 * (times[n // 2 - 1] + times[n // 2])
    return med * 1e3, mib, result


def blas_name():
    """The BLAS numpy calls, as loaded (OpenBLAS core name when it says)."""
    import ctypes
    names = set()
    with open("/proc/self/maps") as f:
        for line in f:
            p = line.split()[-1]
            if ("blas" in p or "lapack" in p) and p.endswith(tuple("0123456789o")):
                names.add(p)
    for p in sorted(names):
        try:
            lib = ctypes.CDLL(p)
            lib.openblas_get_corename.restype = ctypes.c_char_p
            core = lib.openblas_get_corename().decode()
            return "OpenBLAS %s (%s)" % (core, os.path.basename(os.path.realpath(p)))
        except Exception:
            continue
    return "reference BLAS? (%s)" % ", ".join(sorted(os.path.basename(p) for p in names))


def load(d, name):
    return np.load(os.path.join(d, name + ".npy"))


def np_attention(q, k, v, scale, bias):
    """softmax(q·kᵀ·scale + bias)·v in float32, the N×N scores in place."""
    s = q @ k.T
    s *= scale
    if bias is not None:
        s += bias
    s -= s.max(axis=1, keepdims=True)
    np.exp(s, out=s)
    s /= s.sum(axis=1, keepdims=True)
    return s @ v


def run(args):
    d, kind, n, dim, heads, causal, threads = args
    n, dim, heads, causal, threads = int(n), int(dim), int(heads), int(causal), int(threads)
    res = {}
    ours = np.load(os.path.join(d, "ours.npy")) if np is not None else None

    if np is None:
        out("NOTE numpy skipped: " + NP_WHY)
    else:
        f32 = np.float32
        if kind == "single":
            q, k, v = load(d, "q"), load(d, "k"), load(d, "v")
            scale = f32(1.0 / np.sqrt(dim))
            bias = None
            if causal:
                bias = np.triu(np.full((n, n), -np.inf, dtype=f32), 1)

            def np_fn():
                return np_attention(q, k, v, scale, bias)
        else:
            x = load(d, "x")
            w = {name: load(d, name) for name in ("wq", "wk", "wv", "wo", "bq", "bk", "bv", "bo")}
            dh = dim // heads
            scale = f32(1.0 / np.sqrt(dh))
            bias = np.triu(np.full((n, n), -np.inf, dtype=f32), 1) if causal else None

            def np_fn():
                qq = x @ w["wq"] + w["bq"]
                kk = x @ w["wk"] + w["bk"]
                vv = x @ w["wv"] + w["bv"]
                cat = np.empty((n, dim), dtype=f32)
                for h in range(heads):
                    sl = slice(h * dh, (h + 1) * dh)
                    cat[:, sl] = np_attention(qq[:, sl], kk[:, sl], vv[:, sl], scale, bias)
                return cat @ w["wo"] + w["bo"]

        ms, mib, o = timed(np_fn)
        res["np_ms"] = "%.3f" % ms
        res["np_mib"] = "%.1f" % mib
        res["np_diff"] = "%.3g" % float(np.max(np.abs(o.astype(np.float64) - ours)))
        res["np_max"] = "%.3g" % float(np.max(np.abs(o)))
        del o

    if torch is None or np is None:
        if torch is None:
            out("NOTE torch skipped: " + TORCH_WHY)
    else:
        torch.set_num_threads(threads)
        with torch.inference_mode():
            if kind == "single":
                tq, tk, tv = (torch.from_numpy(load(d, name)) for name in ("q", "k", "v"))
                scale = 1.0 / float(np.sqrt(dim))
                mask = torch.triu(torch.ones(n, n, dtype=torch.bool), 1) if causal else None

                def torch_fn():
                    s = (tq @ tk.T) * scale
                    if mask is not None:
                        s.masked_fill_(mask, float("-inf"))
                    return torch.softmax(s, dim=-1) @ tv
            else:
                x = torch.from_numpy(load(d, "x")).unsqueeze(0)
                w = {name: torch.from_numpy(load(d, name)) for name in
                     ("wq", "wk", "wv", "wo", "bq", "bk", "bv", "bo")}
                mha = torch.nn.MultiheadAttention(dim, heads, bias=True, batch_first=True)
                mha.in_proj_weight.copy_(torch.cat([w["wq"].T, w["wk"].T, w["wv"].T], 0))
                mha.in_proj_bias.copy_(torch.cat([w["bq"], w["bk"], w["bv"]], 0))
                mha.out_proj.weight.copy_(w["wo"].T)
                mha.out_proj.bias.copy_(w["bo"])
                mha.eval()
                amask = torch.triu(torch.full((n, n), float("-inf")), 1) if causal else None

                def torch_fn():
                    return mha(x, x, x, need_weights=False, attn_mask=amask)[0][0]

            ms, mib, o = timed(torch_fn)
        o = o.numpy()
        res["torch_ms"] = "%.3f" % ms
        res["torch_mib"] = "%.1f" % mib
        res["torch_diff"] = "%.3g" % float(np.max(np.abs(o.astype(np.float64) - ours)))
        del o
    out("RESULT " + " ".join("%s=%s" % kv for kv in sorted(res.items())))


def main():
    parts = ["READY"]
    parts.append("numpy=" + (np.__version__ if np is not None else "none"))
    parts.append("torch=" + (torch.__version__ if torch is not None else "none"))
    if np is not None:
        parts.append("blas=" + blas_name().replace(" ", "_"))
    out(" ".join(parts))
    if np is None:
        out("NOTE numpy is missing (%s): sh test/deps.sh bench installs it" % NP_WHY)
    if torch is None:
        out("NOTE torch is missing (%s): sh test/deps.sh bench installs it" % TORCH_WHY)
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == "quit":
            break
        if words[0] == "run":
            try:
                run(words[1:])
            except Exception as e:  # keep the bench going
                out("NOTE reference failed: %s: %s" % (type(e).__name__, e))
                out("RESULT")


if __name__ == "__main__":
    main()
