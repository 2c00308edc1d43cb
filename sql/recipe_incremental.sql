-- recipe_incremental.sql: one new row at a time over a stored history
-- (docs/recipes.md).  Each token's k (RoPE-rotated) and v are projected
-- once, when the token is inserted, and kept as columns; a new token's
-- output is then its q against the stored k and v: O(N·d) for N tokens,
-- with no projection of the history and no other row's output.  The layer
-- is the Llama-style one of recipe_hf_rope.sql (test/fixtures/torch/hf_rope:
-- hidden size 32, 4 heads of 8, causal, RoPE base 10000, 'neox' style).
-- From the top of the repository:
--
--   sqlite3 :memory: -cmd '.load dist/attention' '.read sql/recipe_incremental.sql'
--
-- It prints the largest difference from PyTorch's output, each token's
-- output computed as it would be when that token arrived (about 2e-7; the
-- tests require less than 1e-5).

CREATE TABLE params(name TEXT PRIMARY KEY, data BLOB);
INSERT INTO params SELECT name, data FROM attn_tensors('test/fixtures/torch/hf_rope.safetensors');

-- The layer as a row, its weights in the (in, out) layout attention() takes.
CREATE TABLE layer AS SELECT
  (SELECT attn_transpose(data, 32) FROM params WHERE name = 'q_proj.weight') AS wq,
  (SELECT attn_transpose(data, 32) FROM params WHERE name = 'k_proj.weight') AS wk,
  (SELECT attn_transpose(data, 32) FROM params WHERE name = 'v_proj.weight') AS wv,
  (SELECT attn_transpose(data, 32) FROM params WHERE name = 'o_proj.weight') AS wo;

-- The history.  Each token's k and v are written with the token, once:
-- k = RoPE(x·W_K) at its position, rotated per head (4 heads), and
-- v = x·W_V.  Here the tokens of query.npy arrive in one INSERT; an
-- application inserts each as it comes, with the same expressions.
CREATE TABLE tokens(id INTEGER PRIMARY KEY, pos INTEGER, x BLOB, k BLOB, v BLOB);
WITH m AS (SELECT data, json_extract(shape, '$[0]') AS n, json_extract(shape, '$[1]') AS d
             FROM attn_tensors('test/fixtures/torch/hf_rope/query.npy')),
     r(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM r, m WHERE i + 1 < n),
     t AS (SELECT i, attn_slice(data, i * d, d) AS x FROM r, m)
INSERT INTO tokens(id, pos, x, k, v)
SELECT i, i, x, attn_rope(attn_project(x, wk), i, 10000, 'neox', 4), attn_project(x, wv)
  FROM t, layer;

-- The newest token's output: its q (projected and rotated the same way)
-- against every stored k and v.  No wq, wk, wv and no rope here: q, k and v
-- come ready; causal keeps the keys at positions up to the query's.
SELECT 'newest token: ' || attn_json(output) FROM attention(
  'SELECT pos, attn_rope(attn_project(x, (SELECT wq FROM layer)), pos, 10000, ''neox'', 4) AS q
     FROM tokens WHERE id = (SELECT max(id) FROM tokens)',
  'SELECT pos, k, v FROM tokens')
 WHERE heads = 4 AND causal = 1 AND wo = (SELECT wo FROM layer);

-- Every token's output as it was when it arrived: the same query once per
-- token (each run attends over the history up to that token), against
-- PyTorch's output of the whole sequence.
CREATE TABLE result AS
SELECT t.id, a.output FROM tokens AS t, attention(
  'SELECT pos, attn_rope(attn_project(x, (SELECT wq FROM layer)), pos, 10000, ''neox'', 4) AS q
     FROM tokens WHERE id = ' || t.id,
  'SELECT pos, k, v FROM tokens') AS a
 WHERE a.heads = 4 AND a.causal = 1 AND a.wo = (SELECT wo FROM layer);

WITH m AS (SELECT data, json_extract(shape, '$[1]') AS d
             FROM attn_tensors('test/fixtures/torch/hf_rope/output.npy'))
SELECT printf('incremental: %d tokens, max |ours - torch| = %.1e', count(DISTINCT r.id), max(abs(e.value)))
  FROM result AS r, m, json_each(attn_json(attn_sub(r.output, attn_slice(m.data, r.id * m.d, m.d)))) AS e;
