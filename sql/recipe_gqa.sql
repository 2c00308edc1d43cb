-- recipe_gqa.sql: grouped-query attention (Llama 2 70B, Llama 3, Mistral,
-- Qwen2 ...), run in SQL (docs/recipes.md).  The layer is
-- test/fixtures/torch/gqa: hidden size 32, 8 query heads and 2 key/value
-- heads of 4 (query heads 0-3 share K/V head 0, heads 4-7 K/V head 1, as
-- torch's repeat_interleave), q/k/v/o_proj without biases, no mask, no RoPE.
-- From the top of the repository:
--
--   sqlite3 :memory: -cmd '.load dist/attention' '.read sql/recipe_gqa.sql'
--
-- It prints the largest difference from PyTorch's output (about 1e-7; the
-- tests require less than 1e-5).

CREATE TABLE params(name TEXT PRIMARY KEY, data BLOB);
INSERT INTO params SELECT name, data FROM attn_tensors('test/fixtures/torch/gqa.safetensors');

CREATE TABLE tokens(id INTEGER PRIMARY KEY, emb BLOB);
WITH m AS (SELECT data, json_extract(shape, '$[0]') AS n, json_extract(shape, '$[1]') AS d
             FROM attn_tensors('test/fixtures/torch/gqa/query.npy')),
     r(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM r, m WHERE i + 1 < n)
INSERT INTO tokens SELECT i, attn_slice(data, i * d, d) FROM r, m;

-- k_proj.weight and v_proj.weight are (out, in) = (8, 32): 2 heads of 4.
CREATE TABLE result AS
SELECT id, output FROM attention('SELECT id, id AS pos, emb AS x FROM tokens')
 WHERE wq = (SELECT attn_transpose(data, 32) FROM params WHERE name = 'q_proj.weight')
   AND wk = (SELECT attn_transpose(data,  8) FROM params WHERE name = 'k_proj.weight')
   AND wv = (SELECT attn_transpose(data,  8) FROM params WHERE name = 'v_proj.weight')
   AND wo = (SELECT attn_transpose(data, 32) FROM params WHERE name = 'o_proj.weight')
   AND heads = 8 AND kv_heads = 2;

WITH m AS (SELECT data, json_extract(shape, '$[1]') AS d
             FROM attn_tensors('test/fixtures/torch/gqa/output.npy'))
SELECT printf('grouped-query: max |ours - torch| = %.1e', max(abs(e.value)))
  FROM result AS r, m, json_each(attn_json(attn_sub(r.output, attn_slice(m.data, r.id * m.d, m.d)))) AS e;
