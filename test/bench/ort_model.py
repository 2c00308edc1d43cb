#!/usr/bin/python3
"""ort_model.py: the ONNX models of the ONNX Runtime reference of `make bench`.

    ort_model.py DIR KIND N D H CAUSAL

writes DIR/model.onnx, built with Debian's python3-onnx (1.12: IR version 8,
opset 17) around ONNX Runtime's contrib operator com.microsoft
MultiHeadAttention (version 1), the operator ORT's own transformer fusions
produce and whose CPU kernel has a fused flash-attention path (MLAS):

  KIND "single": inputs q, k, v of shape (1, N, D) -> MultiHeadAttention
      (num_heads = 1; default scale 1/sqrt(D)) -> output (1, N, D).
  KIND "mha": input x (1, N, D) -> MatMul wq / wk / wv (initializers, read
      from DIR/wq.npy ...: W row-major d_in x d_out, Q = x @ wq) ->
      MultiHeadAttention (num_heads = H, bias = [bq, bk, bv], which the
      operator adds while it splits the heads) -> MatMul wo -> Add bo ->
      output (1, N, D).

CAUSAL sets the operator's attribute unidirectional = 1 (each query sees
the keys at or before its own position).  The CPU kernel takes its fused
flash path only without a mask, so the causal models run its unfused path,
which materialises the N x N scores of each head (what the bench's memory
column shows).  Prints "MODEL path" on success.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def main():
    d, kind, n, dim, heads, causal = sys.argv[1:7]
    n, dim, heads, causal = int(n), int(dim), int(heads), int(causal)
    f32 = TensorProto.FLOAT
    attrs = {"num_heads": heads}
    if causal:
        attrs["unidirectional"] = 1
    inits = []
    if kind == "single":
        inputs = [helper.make_tensor_value_info(name, f32, [1, n, dim]) for name in ("q", "k", "v")]
        nodes = [helper.make_node("MultiHeadAttention", ["q", "k", "v"], ["output"],
                                  domain="com.microsoft", **attrs)]
    elif kind == "mha":
        def weight(name):
            a = np.load(os.path.join(d, name + ".npy")).astype(np.float32)
            inits.append(numpy_helper.from_array(a, name))
        for name in ("wq", "wk", "wv", "wo", "bo"):
            weight(name)
        qkv_bias = np.concatenate([np.load(os.path.join(d, b + ".npy")) for b in ("bq", "bk", "bv")])
        inits.append(numpy_helper.from_array(qkv_bias.astype(np.float32), "bqkv"))
        inputs = [helper.make_tensor_value_info("x", f32, [1, n, dim])]
        nodes = [
            helper.make_node("MatMul", ["x", "wq"], ["Q"]),
            helper.make_node("MatMul", ["x", "wk"], ["K"]),
            helper.make_node("MatMul", ["x", "wv"], ["V"]),
            helper.make_node("MultiHeadAttention", ["Q", "K", "V", "bqkv"], ["heads"],
                             domain="com.microsoft", **attrs),
            helper.make_node("MatMul", ["heads", "wo"], ["proj"]),
            helper.make_node("Add", ["proj", "bo"], ["output"]),
        ]
    else:
        raise SystemExit("ort_model.py: unknown kind %r" % kind)
    graph = helper.make_graph(nodes, "attention", inputs,
                              [helper.make_tensor_value_info("output", f32, [1, n, dim])],
                              initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid("com.microsoft", 1)],
                              producer_name="sqlite-attention bench")
    model.ir_version = 8
    path = os.path.join(d, "model.onnx")
    onnx.save(model, path)
    print("MODEL " + path)


if __name__ == "__main__":
    main()
