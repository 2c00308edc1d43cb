-- examples_attention.sql: the examples of docs/sql-attention.md (attention()
-- and attention_scores()), in order (test/attention.test checks that this
-- file prints the output the docs show under them).
--
--   sqlite3 :memory: -cmd '.load dist/attention' < sql/examples_attention.sql

CREATE TABLE tokens(id INTEGER PRIMARY KEY, doc INT, pos INT, emb BLOB);
INSERT INTO tokens(doc, pos, emb) VALUES
  (1, 0, attn_vec('[1, 0]')), (1, 1, attn_vec('[0, 1]')), (1, 2, attn_vec('[1, 1]')),
  (2, 0, attn_vec('[0, 2]')), (2, 1, attn_vec('[2, 0]'));

-- Causal self-attention within each document (one head, no projections).
SELECT id, seq, pos, attn_json(output), attn_json(lse)
  FROM attention('SELECT id, emb AS x, doc AS seq, pos FROM tokens')
 WHERE causal = 1;

-- Weights stored as rows, two heads, positions from the row order.
CREATE TABLE params(name TEXT PRIMARY KEY, data BLOB);
INSERT INTO params VALUES ('wq', attn_random(8, 1)), ('wk', attn_random(8, 2)),
  ('wv', attn_random(8, 3)), ('wo', attn_vec('[[1, 1], [1, -1], [0, 0], [0, 1]]'));
SELECT id, attn_json(output), attn_json(lse)
  FROM attention('SELECT id, emb AS x, doc AS seq FROM tokens')
 WHERE wq = (SELECT data FROM params WHERE name = 'wq')
   AND wk = (SELECT data FROM params WHERE name = 'wk')
   AND wv = (SELECT data FROM params WHERE name = 'wv')
   AND wo = (SELECT data FROM params WHERE name = 'wo')
   AND heads = 2;

-- Cross-attention: the first query row has nothing to attend to (NULL).
SELECT id, pos, attn_json(output)
  FROM attention('SELECT id, emb AS x, doc AS seq, pos FROM tokens WHERE doc = 1',
                 'SELECT emb AS x, doc AS seq, pos + 1 AS pos FROM tokens')
 WHERE causal = 1;

-- The score rows of one query row (pushed down: only row 3 is computed).
SELECT qid, kid, qpos, kpos, head, round(score, 4), round(weight, 4)
  FROM attention_scores('SELECT id, emb AS x, doc AS seq, pos FROM tokens')
 WHERE causal = 1 AND qid = 3;

-- Weights sum to 1 per query row and head.
SELECT qid, head, count(*), round(sum(weight), 6)
  FROM attention_scores('SELECT id, emb AS x, doc AS seq, pos FROM tokens')
 WHERE heads = 2 AND alibi = 1 AND qid IN (2, 5)
 GROUP BY qid, head;

-- A layer as a row (docs/sql-attention.md, "A layer as a row"): one with
-- separate weights, one packed (wqkv, bqkv).
CREATE TABLE layers(name TEXT PRIMARY KEY, wq BLOB, wk BLOB, wv BLOB, wo BLOB,
                    wqkv BLOB, bqkv BLOB, heads INT, causal INT);
INSERT INTO layers(name, wq, wk, wv, wo, heads, causal) VALUES
  ('enc.0', attn_random(8, 1), attn_random(8, 2), attn_random(8, 3),
   attn_vec('[[1, 1], [1, -1], [0, 0], [0, 1]]'), 2, 1);
INSERT INTO layers(name, wqkv, bqkv, heads) VALUES
  ('gpt.0', attn_vec('[[1, 0,  0.5, 0,  1,  1],
                       [0, 1,  0, 0.5,  0, -1]]'), attn_vec('[0, 0, 0, 0, 0.5, 0]'), 1);

-- One row, both functions.
SELECT id, attn_json(output)
  FROM attention('SELECT id, emb AS x, doc AS seq FROM tokens')
 WHERE params = 'SELECT * FROM layers WHERE name = ''enc.0''';
SELECT qid, kid, head, round(weight, 4)
  FROM attention_scores('SELECT id, emb AS x, doc AS seq FROM tokens')
 WHERE params = 'SELECT * FROM layers WHERE name = ''enc.0''' AND qid = 2;

-- The packed layer, and the same numbers from the parts given separately.
SELECT id, attn_json(output)
  FROM attention('SELECT id, emb AS x, doc AS seq FROM tokens')
 WHERE params = 'SELECT * FROM layers WHERE name = ''gpt.0''';
SELECT id, attn_json(output)
  FROM attention('SELECT id, emb AS x, doc AS seq FROM tokens')
 WHERE wq = '[[1, 0], [0, 1]]' AND wk = '[[0.5, 0], [0, 0.5]]' AND wv = '[[1, 1], [0, -1]]'
   AND bv = '[0.5, 0]';
