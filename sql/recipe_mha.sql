-- recipe_mha.sql: a PyTorch nn.MultiheadAttention layer, run in SQL (see
-- docs/recipes.md).  The layer is test/fixtures/torch/mha_4h: embed_dim
-- 32, 4 heads, with biases, exported by test/fixtures/gen_torch.py with its
-- state_dict under PyTorch's names; query.npy is its input (11 tokens) and
-- output.npy what PyTorch computed, out, _ = layer(x, x, x).  From the top of
-- the repository:
--
--   sqlite3 :memory: -cmd '.load dist/attention' '.read sql/recipe_mha.sql'
--
-- It prints the largest difference from PyTorch's output (about 2e-7; the
-- tests require less than 1e-5).

-- 1. The layer's tensors, under PyTorch's names.
CREATE TABLE params(name TEXT PRIMARY KEY, data BLOB);
INSERT INTO params SELECT name, data FROM attn_tensors('test/fixtures/torch/mha_4h.safetensors');

-- 2. The input, one row per token: the rows of an (11 x 32) matrix, cut out
--    with attn_slice(v, start, length) (start counts floats, from 0).
CREATE TABLE tokens(id INTEGER PRIMARY KEY, emb BLOB);
WITH m AS (SELECT data, json_extract(shape, '$[0]') AS n, json_extract(shape, '$[1]') AS d
             FROM attn_tensors('test/fixtures/torch/mha_4h/query.npy')),
     r(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM r, m WHERE i + 1 < n)
INSERT INTO tokens SELECT i, attn_slice(data, i * d, d) FROM r, m;

-- 3. The layer: out, _ = layer(x, x, x).
CREATE TABLE result AS
SELECT id, output FROM attention('SELECT id, emb AS x FROM tokens ORDER BY id')
 WHERE wq = (SELECT attn_transpose(attn_slice(data,    0, 1024), 32) FROM params WHERE name = 'in_proj_weight')
   AND wk = (SELECT attn_transpose(attn_slice(data, 1024, 1024), 32) FROM params WHERE name = 'in_proj_weight')
   AND wv = (SELECT attn_transpose(attn_slice(data, 2048, 1024), 32) FROM params WHERE name = 'in_proj_weight')
   AND bq = (SELECT attn_slice(data,  0, 32) FROM params WHERE name = 'in_proj_bias')
   AND bk = (SELECT attn_slice(data, 32, 32) FROM params WHERE name = 'in_proj_bias')
   AND bv = (SELECT attn_slice(data, 64, 32) FROM params WHERE name = 'in_proj_bias')
   AND wo = (SELECT attn_transpose(data, 32) FROM params WHERE name = 'out_proj.weight')
   AND bo = (SELECT data FROM params WHERE name = 'out_proj.bias')
   AND heads = 4;

-- 4. Compare with PyTorch's output, element by element.
WITH m AS (SELECT data, json_extract(shape, '$[1]') AS d
             FROM attn_tensors('test/fixtures/torch/mha_4h/output.npy'))
SELECT printf('nn.MultiheadAttention: max |ours - torch| = %.1e', max(abs(e.value)))
  FROM result AS r, m, json_each(attn_json(attn_sub(r.output, attn_slice(m.data, r.id * m.d, m.d)))) AS e;
