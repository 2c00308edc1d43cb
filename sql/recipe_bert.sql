-- recipe_bert.sql: a BERT encoder layer, run in SQL (see docs/recipes.md):
-- post-LN (LayerNorm after each residual, eps 1e-12), erf GELU, and a
-- padded batch.  The checkpoint is test/fixtures/layers/bert.safetensors,
-- a transformers BertLayer's state_dict under BertModel's names
-- (encoder.layer.0...., hidden 48, 4 heads, intermediate 192), exported by
-- test/fixtures/gen_torch.py; bert/hidden_states.npy (2 x 10 x 48, the
-- embeddings' output) and bert/attention_mask.npy (2 x 10: the second
-- sequence has 6 tokens and 4 pads) are its input, bert/output.npy what
-- PyTorch computed.  From the top of the repository:
--
--   sqlite3 :memory: -cmd '.load dist/attention' '.read sql/recipe_bert.sql'
--
-- It prints the largest difference from PyTorch's output over the real
-- (unpadded) tokens, relative to their largest element (about 2e-7; the
-- tests require less than 1e-5).

-- 1. The layer as one row, in one INSERT.  Every weight is an nn.Linear
--    weight, stored (out, in) and computing x·Wᵀ: attn_transpose(W, out).
CREATE TABLE bert(name TEXT PRIMARY KEY,
                  wq BLOB, bq BLOB, wk BLOB, bk BLOB, wv BLOB, bv BLOB, wo BLOB, bo BLOB,
                  ln_1_w BLOB, ln_1_b BLOB, inter_w BLOB, inter_b BLOB,
                  out_w BLOB, out_b BLOB, ln_2_w BLOB, ln_2_b BLOB, heads INT);
INSERT INTO bert
SELECT 'encoder.layer.0',
       attn_transpose(max(CASE name WHEN 'attention.self.query.weight' THEN data END), 48),
       max(CASE name WHEN 'attention.self.query.bias' THEN data END),
       attn_transpose(max(CASE name WHEN 'attention.self.key.weight' THEN data END), 48),
       max(CASE name WHEN 'attention.self.key.bias' THEN data END),
       attn_transpose(max(CASE name WHEN 'attention.self.value.weight' THEN data END), 48),
       max(CASE name WHEN 'attention.self.value.bias' THEN data END),
       attn_transpose(max(CASE name WHEN 'attention.output.dense.weight' THEN data END), 48),
       max(CASE name WHEN 'attention.output.dense.bias' THEN data END),
       max(CASE name WHEN 'attention.output.LayerNorm.weight' THEN data END),
       max(CASE name WHEN 'attention.output.LayerNorm.bias' THEN data END),
       attn_transpose(max(CASE name WHEN 'intermediate.dense.weight' THEN data END), 192),
       max(CASE name WHEN 'intermediate.dense.bias' THEN data END),
       attn_transpose(max(CASE name WHEN 'output.dense.weight' THEN data END), 48),
       max(CASE name WHEN 'output.dense.bias' THEN data END),
       max(CASE name WHEN 'output.LayerNorm.weight' THEN data END),
       max(CASE name WHEN 'output.LayerNorm.bias' THEN data END),
       4
  FROM (SELECT substr(name, length('encoder.layer.0.') + 1) AS name, data
          FROM attn_tensors('test/fixtures/layers/bert.safetensors')
         WHERE name GLOB 'encoder.layer.0.*');

-- 2. The input: one row per token that attention_mask keeps (row id = the
--    flat index b·10 + i), its sequence b as seq.  Padding is leaving the
--    rows out: no pad is a key of any query, as the mask's -inf does, and
--    the pads get no output (PyTorch's rows for them are not used).
CREATE TABLE tokens(id INTEGER PRIMARY KEY, seq INT, h BLOB);
INSERT INTO tokens
SELECT e.key, e.key / 10, attn_slice(x.data, e.key * 48, 48)
  FROM attn_tensors('test/fixtures/layers/bert/attention_mask.npy') AS m,
       attn_tensors('test/fixtures/layers/bert/hidden_states.npy') AS x,
       json_each(attn_json(m.data)) AS e
 WHERE e.value = 1;

-- 3. The layer, post-LN: h1 = LN(h + attn(h)), out = LN(h1 + mlp(h1)).
--    One attention() call over both sequences, its arguments from the row.
CREATE TABLE result AS
WITH a AS (SELECT id, output
             FROM attention('SELECT id, seq, h AS x FROM tokens')
            WHERE params = 'SELECT wq, bq, wk, bk, wv, bv, wo, bo, heads FROM bert'),
     h1 AS (SELECT id, attn_layernorm(attn_add(h, output), ln_1_w, ln_1_b, 1e-12) AS h
              FROM tokens JOIN a USING (id), bert)
SELECT id, attn_layernorm(
             attn_add(h, attn_project(attn_gelu(attn_project(h, inter_w, inter_b), 'erf'),
                                      out_w, out_b)),
             ln_2_w, ln_2_b, 1e-12) AS out
  FROM h1, bert;

-- 4. Compare with PyTorch's output (2 x 10 x 48) on the real tokens.
WITH t AS (SELECT data FROM attn_tensors('test/fixtures/layers/bert/output.npy')),
     d AS (SELECT o.value AS ours, w.value AS torch
             FROM result AS r, t,
                  json_each(attn_json(r.out)) AS o,
                  json_each(attn_json(attn_slice(t.data, r.id * 48, 48))) AS w
            WHERE o.key = w.key)
SELECT printf('BERT layer: max |ours - torch| / max |torch| = %.1e', max(abs(ours - torch)) / max(abs(torch)))
  FROM d;
