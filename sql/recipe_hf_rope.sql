-- recipe_hf_rope.sql: a Hugging Face (Llama-style) attention layer with RoPE,
-- run in SQL (docs/recipes.md).  The layer is
-- test/fixtures/torch/hf_rope: hidden size 32, 4 heads of 8, separate
-- q_proj/k_proj/v_proj/o_proj weights without biases, causal, RoPE with base
-- 10000 in the rotate_half ('neox') style of HF's Llama; hf_rope_interleaved
-- is the same layer (same weights and input) with interleaved rotation
-- (pairs 2i, 2i+1: the RoPE paper's complex form, Meta's original Llama
-- code).  From the top of the repository:
--
--   sqlite3 :memory: -cmd '.load dist/attention' '.read sql/recipe_hf_rope.sql'
--
-- It prints the largest difference from PyTorch's output for each style
-- (about 2e-7; the tests require less than 1e-5).

CREATE TABLE params(name TEXT PRIMARY KEY, data BLOB);
INSERT INTO params SELECT name, data FROM attn_tensors('test/fixtures/torch/hf_rope.safetensors');

CREATE TABLE tokens(id INTEGER PRIMARY KEY, emb BLOB);
WITH m AS (SELECT data, json_extract(shape, '$[0]') AS n, json_extract(shape, '$[1]') AS d
             FROM attn_tensors('test/fixtures/torch/hf_rope/query.npy')),
     r(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM r, m WHERE i + 1 < n)
INSERT INTO tokens SELECT i, attn_slice(data, i * d, d) FROM r, m;

-- q_proj.weight and the others are (out, in) = (32, 32): transposed.
-- Positions (position_ids in HF) are the token numbers 0, 1, 2, ...
CREATE TABLE result AS
SELECT id, output FROM attention('SELECT id, id AS pos, emb AS x FROM tokens')
 WHERE wq = (SELECT attn_transpose(data, 32) FROM params WHERE name = 'q_proj.weight')
   AND wk = (SELECT attn_transpose(data, 32) FROM params WHERE name = 'k_proj.weight')
   AND wv = (SELECT attn_transpose(data, 32) FROM params WHERE name = 'v_proj.weight')
   AND wo = (SELECT attn_transpose(data, 32) FROM params WHERE name = 'o_proj.weight')
   AND heads = 4 AND causal = 1 AND rope = 10000 AND rope_style = 'neox';

WITH m AS (SELECT data, json_extract(shape, '$[1]') AS d
             FROM attn_tensors('test/fixtures/torch/hf_rope/output.npy'))
SELECT printf('RoPE neox: max |ours - torch| = %.1e', max(abs(e.value)))
  FROM result AS r, m, json_each(attn_json(attn_sub(r.output, attn_slice(m.data, r.id * m.d, m.d)))) AS e;

-- The same layer with interleaved RoPE (pairs 2i, 2i+1).
CREATE TABLE result_interleaved AS
SELECT id, output FROM attention('SELECT id, id AS pos, emb AS x FROM tokens')
 WHERE wq = (SELECT attn_transpose(data, 32) FROM params WHERE name = 'q_proj.weight')
   AND wk = (SELECT attn_transpose(data, 32) FROM params WHERE name = 'k_proj.weight')
   AND wv = (SELECT attn_transpose(data, 32) FROM params WHERE name = 'v_proj.weight')
   AND wo = (SELECT attn_transpose(data, 32) FROM params WHERE name = 'o_proj.weight')
   AND heads = 4 AND causal = 1 AND rope = 10000 AND rope_style = 'interleaved';

WITH m AS (SELECT data, json_extract(shape, '$[1]') AS d
             FROM attn_tensors('test/fixtures/torch/hf_rope_interleaved/output.npy'))
SELECT printf('RoPE interleaved: max |ours - torch| = %.1e', max(abs(e.value)))
  FROM result_interleaved AS r, m, json_each(attn_json(attn_sub(r.output, attn_slice(m.data, r.id * m.d, m.d)))) AS e;
