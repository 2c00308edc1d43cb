-- recipe_llama.sql: a Llama decoder layer, run in SQL (see docs/recipes.md):
-- RMSNorm, grouped-query attention with RoPE (rotate_half), causal, and
-- the SwiGLU MLP, with the residuals.  The checkpoint is
-- test/fixtures/layers/llama.safetensors, a transformers
-- LlamaDecoderLayer's state_dict under LlamaForCausalLM's names
-- (model.layers.0...., hidden 32, 4 heads and 2 key/value heads of 8,
-- intermediate 96, rms_norm_eps 1e-6, rope_theta 10000), exported by
-- test/fixtures/gen_torch.py; llama/hidden_states.npy (1 x 14 x 32) is its
-- input, llama/output.npy what PyTorch computed.  From the top of the
-- repository:
--
--   sqlite3 :memory: -cmd '.load dist/attention' '.read sql/recipe_llama.sql'
--
-- It prints the largest difference from PyTorch's output relative to the
-- output's largest element (about 2e-7; the tests require less than 1e-5).

-- 1. The layer as one row, in one INSERT.  Every weight is an nn.Linear
--    weight without bias, stored (out, in): attn_transpose(W, out).
CREATE TABLE llama(name TEXT PRIMARY KEY, ln_1_w BLOB, wq BLOB, wk BLOB, wv BLOB, wo BLOB,
                   ln_2_w BLOB, gate_w BLOB, up_w BLOB, down_w BLOB,
                   heads INT, kv_heads INT, causal INT, rope REAL, rope_style TEXT);
INSERT INTO llama
SELECT 'model.layers.0',
       max(CASE name WHEN 'input_layernorm.weight' THEN data END),
       attn_transpose(max(CASE name WHEN 'self_attn.q_proj.weight' THEN data END), 32),
       attn_transpose(max(CASE name WHEN 'self_attn.k_proj.weight' THEN data END), 16),
       attn_transpose(max(CASE name WHEN 'self_attn.v_proj.weight' THEN data END), 16),
       attn_transpose(max(CASE name WHEN 'self_attn.o_proj.weight' THEN data END), 32),
       max(CASE name WHEN 'post_attention_layernorm.weight' THEN data END),
       attn_transpose(max(CASE name WHEN 'mlp.gate_proj.weight' THEN data END), 96),
       attn_transpose(max(CASE name WHEN 'mlp.up_proj.weight' THEN data END), 96),
       attn_transpose(max(CASE name WHEN 'mlp.down_proj.weight' THEN data END), 32),
       4, 2, 1, 10000, 'neox'
  FROM (SELECT substr(name, length('model.layers.0.') + 1) AS name, data
          FROM attn_tensors('test/fixtures/layers/llama.safetensors')
         WHERE name GLOB 'model.layers.0.*');

-- 2. The input: the rows of hidden_states, one per position.
CREATE TABLE tokens(id INTEGER PRIMARY KEY, h BLOB);
WITH m AS (SELECT data, json_extract(shape, '$[1]') AS n
             FROM attn_tensors('test/fixtures/layers/llama/hidden_states.npy')),
     r(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM r, m WHERE i + 1 < n)
INSERT INTO tokens SELECT i, attn_slice(data, i * 32, 32) FROM r, m;

-- 3. The layer: h1 = h + attn(rmsnorm(h)), out = h1 + mlp(rmsnorm(h1)),
--    with mlp(x) = down(silu(gate(x)) · up(x)).  RoPE positions (HF's
--    position_ids) are the token numbers.  One attention() call.
CREATE TABLE result AS
WITH a AS (SELECT id, output
             FROM attention('SELECT id, id AS pos, attn_rmsnorm(h, ln_1_w, 1e-6) AS x FROM tokens, llama')
            WHERE params = 'SELECT wq, wk, wv, wo, heads, kv_heads, causal, rope, rope_style FROM llama'),
     h1 AS (SELECT id, attn_add(h, output) AS h FROM tokens JOIN a USING (id)),
     n AS (SELECT id, h, attn_rmsnorm(h, ln_2_w, 1e-6) AS x FROM h1, llama)
SELECT id, attn_add(h, attn_project(attn_mul(attn_silu(attn_project(x, gate_w)),
                                             attn_project(x, up_w)), down_w)) AS out
  FROM n, llama;

-- 4. Compare with PyTorch's output (1 x 14 x 32), element by element.
WITH t AS (SELECT data FROM attn_tensors('test/fixtures/layers/llama/output.npy')),
     d AS (SELECT o.value AS ours, w.value AS torch
             FROM result AS r, t,
                  json_each(attn_json(r.out)) AS o,
                  json_each(attn_json(attn_slice(t.data, r.id * 32, 32))) AS w
            WHERE o.key = w.key)
SELECT printf('Llama layer: max |ours - torch| / max |torch| = %.1e', max(abs(ours - torch)) / max(abs(torch)))
  FROM d;
