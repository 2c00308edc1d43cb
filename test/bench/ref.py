#!/usr/bin/python3
"""ref.py: the NumPy and PyTorch references of `make bench`.

Run by test/bench/bench.c as a coprocess, one per thread count, with
OPENBLAS_NUM_THREADS / OMP_NUM_THREADS set and OMP_WAIT_POLICY=PASSIVE (so
torch's OpenMP team does not spin on the cores OpenBLAS needs; see
shared/research/perf-anchors.md 1.4).  It reads commands on stdin, one per
line, and answers on stdout (ort.js speaks the same protocol); "NOTE ..."
lines go to the bench's log, "FAILED" answers any command that failed:

  load DIR KIND N D H CAUSAL THREADS
      DIR holds the inputs bench.c wrote (.npy float32): q, k, v for KIND
      "single" (one head, no projections); x, wq, wk, wv, wo, bq, bk, bv, bo
      for KIND "mha" (W row-major d_in x d_out: Q = x @ wq + bq).  Prepares
      each reference that is installed.  Answer: "LOADED numpy torch" (the
      names of those prepared).
  warm NAME   one untimed run of reference NAME; the first after a load
              also gives its peak memory (growth of VmHWM over VmRSS, after
              resetting the peak through /proc/self/clear_refs).
              Answer: "WARM ms=.. mib=.."
  time NAME   one timed run (wall clock).  Answer: "TIME ms=.."
  check NAME  the largest absolute difference between NAME's last output
              and DIR/ours.npy (our output for the same inputs), and the
              largest absolute value of its output.  "CHECK diff=.. max=.."
  unload      drops the inputs and outputs.  "UNLOADED"
  quit

bench.c decides how often each runs, in the rounds in which it times ours.

References:
  numpy  softmax(q k^T * scale) v with OpenBLAS sgemm; causal adds a
         precomputed -inf upper triangle (built at load, outside the
         timing).  For "mha": the projections, per-head softmax,
         concatenation and W_O.
  torch  single: torch.softmax(q @ k.T * scale) @ v (masked_fill with a
         precomputed mask when causal); mha: torch.nn.MultiheadAttention
         (eval, inference_mode, need_weights=False: the fused fast path),
         with our weights loaded (torch stores W transposed); causal passes
         the -inf mask as attn_mask.  torch.set_num_threads(THREADS).
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



def make_numpy(d, kind, n, dim, heads, causal):
    f32 = np.float32
    if kind == "single":
        q, k, v = load(d, "q"), load(d, "k"), load(d, "v")
        scale = f32(1.0 / np.sqrt(dim))
        bias = np.triu(np.full((n, n), -np.inf, dtype=f32), 1) if causal else None
        return lambda: np_attention(q, k, v, scale, bias)
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
    return np_fn


def make_torch(d, kind, n, dim, heads, causal, threads):
    torch.set_num_threads(threads)
    with torch.inference_mode():
        if kind == "single":
            tq, tk, tv = (torch.from_numpy(load(d, name)) for name in ("q", "k", "v"))
            scale = 1.0 / float(np.sqrt(dim))
            mask = torch.triu(torch.ones(n, n, dtype=torch.bool), 1) if causal else None

            def fn():
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

            def fn():
                return mha(x, x, x, need_weights=False, attn_mask=amask)[0][0]

    def torch_fn():
        with torch.inference_mode():
            return fn().numpy()
    return torch_fn


class Loaded:
    """The references of one configuration, between load and unload."""

    def __init__(self, args):
        d, kind, n, dim, heads, causal, threads = args
        n, dim, heads, causal, threads = int(n), int(dim), int(heads), int(causal), int(threads)
        self.dir = d
        self.fns = {}
        self.first = set()
        self.last = {}
        if np is not None:
            self.fns["numpy"] = make_numpy(d, kind, n, dim, heads, causal)
        if torch is not None and np is not None:
            self.fns["torch"] = make_torch(d, kind, n, dim, heads, causal, threads)
        self.first = set(self.fns)

    def run(self, name):
        fn = self.fns[name]
        self.last.pop(name, None)        # free the previous output first
        t0 = time.perf_counter()
        o = fn()
        ms = (time.perf_counter() - t0) * 1e3
        self.last[name] = o
        return ms

    def warm(self, name):
        if name not in self.first:
            return "WARM ms=%.3f mib=-" % self.run(name)
        self.first.discard(name)
        self.last.pop(name, None)
        ok = reset_peak()
        rss0 = status_kib("VmRSS")
        ms = self.run(name)
        mib = "%.1f" % ((status_kib("VmHWM") - rss0) / 1024.0) if ok else "-"
        return "WARM ms=%.3f mib=%s" % (ms, mib)

    def check(self, name):
        ours = np.load(os.path.join(self.dir, "ours.npy")).astype(np.float64)
        o = np.asarray(self.last[name])
        if o.shape != ours.shape:
            out("NOTE %s output has shape %s, ours %s" % (name, o.shape, ours.shape))
            return "FAILED"
        diff = float(np.max(np.abs(o.astype(np.float64) - ours)))
        return "CHECK diff=%.3g max=%.3g" % (diff, float(np.max(np.abs(o))))


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
    cur = None
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        cmd, args = words[0], words[1:]
        if cmd == "quit":
            break
        try:
            if cmd == "load":
                cur = None
                cur = Loaded(args)
                out("LOADED " + " ".join(sorted(cur.fns)))
            elif cmd == "warm":
                out(cur.warm(args[0]))
            elif cmd == "time":
                out("TIME ms=%.3f" % cur.run(args[0]))
            elif cmd == "check":
                out(cur.check(args[0]))
            elif cmd == "unload":
                cur = None
                out("UNLOADED")
            else:
                out("NOTE ref.py: unknown command " + cmd)
        except Exception as e:  # keep the bench going without this reference
            out("NOTE reference failed: %s: %s" % (type(e).__name__, e))
            out("FAILED")


if __name__ == "__main__":
    main()
