-- recipe_gpt2.sql: a whole GPT-2 model of one block, run in SQL (see
-- docs/recipes.md): token and learned position embeddings, the pre-LN
-- block h.0 (causal attention, gelu_new MLP, residuals), and ln_f.  The
-- checkpoint is test/fixtures/layers/gpt2.safetensors, a transformers
-- GPT2Model's state_dict under its own names and layouts (n_embd 32, 4
-- heads, n_inner 128, layer_norm_epsilon 1e-5), exported by
-- test/fixtures/gen_torch.py; gpt2/input_ids.npy is its input (12 tokens)
-- and gpt2/output.npy what PyTorch computed (last_hidden_state).  From the
-- top of the repository:
--
--   sqlite3 :memory: -cmd '.load dist/attention' '.read sql/recipe_gpt2.sql'
--
-- It prints the largest difference from PyTorch's output relative to the
-- output's largest element (about 2e-7; the tests require less than 1e-5).

-- 1. The model as one row, in one INSERT.  Conv1D weights (c_attn, c_proj,
--    c_fc) are stored (in, out), computing x·W: as they are.  c_attn packs
--    W_Q | W_K | W_V, which attention() takes whole as wqkv (and bqkv).
CREATE TABLE gpt2(name TEXT PRIMARY KEY, wte BLOB, wpe BLOB,
                  ln_1_w BLOB, ln_1_b BLOB, wqkv BLOB, bqkv BLOB, wo BLOB, bo BLOB,
                  ln_2_w BLOB, ln_2_b BLOB, fc_w BLOB, fc_b BLOB, proj_w BLOB, proj_b BLOB,
                  ln_f_w BLOB, ln_f_b BLOB, heads INT, causal INT);
INSERT INTO gpt2
SELECT 'gpt2',
       max(CASE name WHEN 'wte.weight' THEN data END),
       max(CASE name WHEN 'wpe.weight' THEN data END),
       max(CASE name WHEN 'h.0.ln_1.weight' THEN data END),
       max(CASE name WHEN 'h.0.ln_1.bias' THEN data END),
       max(CASE name WHEN 'h.0.attn.c_attn.weight' THEN data END),
       max(CASE name WHEN 'h.0.attn.c_attn.bias' THEN data END),
       max(CASE name WHEN 'h.0.attn.c_proj.weight' THEN data END),
       max(CASE name WHEN 'h.0.attn.c_proj.bias' THEN data END),
       max(CASE name WHEN 'h.0.ln_2.weight' THEN data END),
       max(CASE name WHEN 'h.0.ln_2.bias' THEN data END),
       max(CASE name WHEN 'h.0.mlp.c_fc.weight' THEN data END),
       max(CASE name WHEN 'h.0.mlp.c_fc.bias' THEN data END),
       max(CASE name WHEN 'h.0.mlp.c_proj.weight' THEN data END),
       max(CASE name WHEN 'h.0.mlp.c_proj.bias' THEN data END),
       max(CASE name WHEN 'ln_f.weight' THEN data END),
       max(CASE name WHEN 'ln_f.bias' THEN data END),
       4, 1
  FROM attn_tensors('test/fixtures/layers/gpt2.safetensors');

-- 2. The input: token ids (int64 in the file, exact as floats), one row
--    per position, embedded as wte[token] + wpe[position]: rows of the
--    (vocab x 32) and (positions x 32) matrices, cut with attn_slice.
CREATE TABLE tokens(id INTEGER PRIMARY KEY, token INT);
INSERT INTO tokens SELECT e.key, e.value
  FROM attn_tensors('test/fixtures/layers/gpt2/input_ids.npy') AS t, json_each(attn_json(t.data)) AS e;
CREATE TABLE h0 AS
SELECT id, attn_add(attn_slice(wte, token * 32, 32), attn_slice(wpe, id * 32, 32)) AS h
  FROM tokens, gpt2;

-- 3. The block, pre-LN: h1 = h0 + attn(ln_1(h0)), h2 = h1 + mlp(ln_2(h1)),
--    then ln_f.  One attention() call, its arguments from the row.
CREATE TABLE result AS
WITH a AS (SELECT id, output
             FROM attention('SELECT id, id AS pos, attn_layernorm(h, ln_1_w, ln_1_b, 1e-5) AS x FROM h0, gpt2')
            WHERE params = 'SELECT wqkv, bqkv, wo, bo, heads, causal FROM gpt2'),
     h1 AS (SELECT id, attn_add(h, output) AS h FROM h0 JOIN a USING (id))
SELECT id, attn_layernorm(
             attn_add(h, attn_project(attn_gelu(attn_project(attn_layernorm(h, ln_2_w, ln_2_b, 1e-5),
                                                             fc_w, fc_b), 'tanh'),
                                      proj_w, proj_b)),
             ln_f_w, ln_f_b, 1e-5) AS out
  FROM h1, gpt2;

-- 4. Compare with PyTorch's output (1 x 12 x 32), element by element,
--    relative to its largest element.
WITH t AS (SELECT data FROM attn_tensors('test/fixtures/layers/gpt2/output.npy')),
     d AS (SELECT o.value AS ours, w.value AS torch
             FROM result AS r, t,
                  json_each(attn_json(r.out)) AS o,
                  json_each(attn_json(attn_slice(t.data, r.id * 32, 32))) AS w
            WHERE o.key = w.key)
SELECT printf('GPT-2 block: max |ours - torch| / max |torch| = %.1e', max(abs(ours - torch)) / max(abs(torch)))
  FROM d;
