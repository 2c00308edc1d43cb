-- demo.sql: the main job of sqlite-attention, in the sqlite3 shell.
--
--   make demo      (or: sqlite3 :memory: -cmd '.load dist/attention' '.read sql/demo.sql'
--                   from the top of the repository)
--
-- Part 1 runs multi-head self-attention over the tokens of a sentence,
-- causal and bidirectional, shows what each token attends to, and writes
-- the attention map of one head to attention-map.svg and every head to
-- the interactive page attention-explorer.html.
-- Part 2 uses attention as a soft k-nearest-neighbour classifier on the
-- handwritten digits (sql/data/digits.sql) and compares it with plain
-- 1-nearest-neighbour.  Everything lives in temporary tables; the only
-- files written are attention-map.svg and attention-explorer.html.
.bail on
.headers on
.mode box

.print
.print '== Part 1. Self-attention over the tokens of a sentence =='
.print
.print 'Each distinct word gets a 32-dimensional embedding from attn_random'
.print '(equal words share one); four heads with random projections W_Q, W_K,'
.print 'W_V, W_O of 32x32; RoPE gives the heads the word order.'

CREATE TEMP TABLE sentence(pos INTEGER PRIMARY KEY, token TEXT);
INSERT INTO sentence(pos, token) VALUES
  (0,'the'),(1,'cat'),(2,'sat'),(3,'on'),(4,'the'),(5,'mat'),
  (6,'because'),(7,'it'),(8,'was'),(9,'tired');

-- The vocabulary: one id, hence one embedding, per distinct word.
CREATE TEMP TABLE vocab AS
  SELECT token, row_number() OVER (ORDER BY token) AS id
    FROM (SELECT DISTINCT token FROM sentence);
CREATE TEMP TABLE tokens AS
  SELECT s.pos, s.token, attn_random(32, 1000 + v.id) AS emb
    FROM sentence s JOIN vocab v USING (token);

-- Weights: 32x32 matrices with entries N(0, 1/32), as a Linear layer's
-- initialisation would give; stored as BLOB rows, looked up by name.
CREATE TEMP TABLE params(name TEXT PRIMARY KEY, data BLOB);
INSERT INTO params VALUES
  ('wq', attn_random(32*32, 1, 1/sqrt(32.0))),
  ('wk', attn_random(32*32, 2, 1/sqrt(32.0))),
  ('wv', attn_random(32*32, 3, 1/sqrt(32.0))),
  ('wo', attn_random(32*32, 4, 1/sqrt(32.0)));

-- All score rows, bidirectional and causal, for the queries below.
CREATE TEMP TABLE scores AS
  SELECT 'bidirectional' AS mode, * FROM attention_scores('SELECT pos AS id, pos, emb AS x FROM tokens')
   WHERE wq = (SELECT data FROM params WHERE name = 'wq')
     AND wk = (SELECT data FROM params WHERE name = 'wk')
     AND heads = 4 AND rope = 10000
  UNION ALL
  SELECT 'causal', * FROM attention_scores('SELECT pos AS id, pos, emb AS x FROM tokens')
   WHERE wq = (SELECT data FROM params WHERE name = 'wq')
     AND wk = (SELECT data FROM params WHERE name = 'wk')
     AND heads = 4 AND rope = 10000 AND causal = 1;

.print
.print 'What each token attends to most (head 0, bidirectional): the two keys'
.print 'with the largest softmax weight, and the weight drawn as a bar.'
SELECT qpos || ' ' || q.token AS token, kpos || ' ' || k.token AS "attends to",
       printf('%.3f', weight) AS weight, attn_bar(weight, 20) AS bar
  FROM (SELECT *, row_number() OVER (PARTITION BY qid ORDER BY weight DESC) AS rank
          FROM scores WHERE mode = 'bidirectional' AND head = 0)
  JOIN tokens q ON q.pos = qpos
  JOIN tokens k ON k.pos = kpos
 WHERE rank <= 2
 ORDER BY qpos, rank;

.print
.print 'The same head, causal: a token only sees itself and earlier tokens, so'
.print 'the first token attends to itself with weight 1.'
SELECT qpos || ' ' || q.token AS token, kpos || ' ' || k.token AS "attends to",
       printf('%.3f', weight) AS weight, attn_bar(weight, 20) AS bar
  FROM (SELECT *, row_number() OVER (PARTITION BY qid ORDER BY weight DESC) AS rank
          FROM scores WHERE mode = 'causal' AND head = 0)
  JOIN tokens q ON q.pos = qpos
  JOIN tokens k ON k.pos = kpos
 WHERE rank = 1
 ORDER BY qpos;

.print
.print 'The causal map of all four heads in text (rows: queries, columns: keys;'
.print 'darker = more weight, blank = none, a dot = masked).'
.mode list
.headers off
SELECT 'head ' || head || char(10) || attn_textmap(qpos, kpos, weight, q.token, k.token)
  FROM scores JOIN tokens q ON q.pos = qpos JOIN tokens k ON k.pos = kpos
 WHERE mode = 'causal'
 GROUP BY head ORDER BY head;
.headers on
.mode box

.print
.print 'The output vectors (causal): for each token a 32-dimensional result, the'
.print 'concatenated heads times W_O; lse holds the log-sum-exp of each head.'
SELECT id AS pos, t.token, attn_dim(output) AS dim,
       substr(attn_json(attn_slice(output, 0, 4)), 1, 48) || ' ...' AS "output[0:4]",
       attn_json(lse) AS lse
  FROM attention('SELECT pos AS id, pos, emb AS x FROM tokens') AS a
  JOIN tokens t ON t.pos = a.id
 WHERE wq = (SELECT data FROM params WHERE name = 'wq')
   AND wk = (SELECT data FROM params WHERE name = 'wk')
   AND wv = (SELECT data FROM params WHERE name = 'wv')
   AND wo = (SELECT data FROM params WHERE name = 'wo')
   AND heads = 4 AND rope = 10000 AND causal = 1
 LIMIT 4;

-- The SVG heatmap of head 0, bidirectional.
SELECT writefile('attention-map.svg',
         attn_heatmap(qpos, kpos, weight, q.token, k.token)) IS NOT NULL AS "wrote attention-map.svg"
  FROM scores JOIN tokens q ON q.pos = qpos JOIN tokens k ON k.pos = kpos
 WHERE mode = 'bidirectional' AND head = 0;
.print 'Open attention-map.svg (in the current directory) in a browser to see head 0.'

-- The explorer of all four heads, bidirectional: one HTML page.
SELECT writefile('attention-explorer.html',
         attn_explorer(head, qpos, kpos, weight, q.token, k.token)) IS NOT NULL AS "wrote attention-explorer.html"
  FROM scores JOIN tokens q ON q.pos = qpos JOIN tokens k ON k.pos = kpos
 WHERE mode = 'bidirectional';
.print 'Open attention-explorer.html in a browser: every head, hover a token to see its weights.'

.print
.print '== Part 2. Attention as soft k-nearest-neighbours on handwritten digits =='
.print
.print 'The UCI digits (1797 images of 8x8 pixels, from scikit-learn; see the'
.print 'header of sql/data/digits.sql): every fifth image is held out.  Each'
.print 'held-out image, as a unit vector, attends over the 1438 training images;'
.print 'the values are one-hot labels, so the output is a probability per'
.print 'digit, and the guess is the most probable one.'
.read sql/data/digits.sql

CREATE TEMP TABLE d AS
  SELECT id, label, split, attn_normalize(attn_vec(pixels)) AS x,
         -- one-hot label: a window of 10 over a vector with a single 1
         attn_slice('[0,0,0,0,0,0,0,0,0,1,0,0,0,0,0,0,0,0,0]', 9 - label, 10) AS onehot
    FROM digits;

.print
.print 'Soft k-NN with three temperatures (scale multiplies the cosine similarity):'
CREATE TEMP TABLE soft AS
  SELECT s.scale, a.id,
         (SELECT CAST(key AS INTEGER) FROM json_each(attn_json(a.output))
           ORDER BY value DESC LIMIT 1) AS guess
    FROM (SELECT 10 AS scale UNION ALL SELECT 30 UNION ALL SELECT 100) AS s,
         attention('SELECT id, x FROM d WHERE split = ''test''',
                   'SELECT id, x AS k, onehot AS v FROM d WHERE split = ''train''') AS a
   WHERE a.scale = s.scale;
SELECT 'attention, scale ' || scale AS classifier,
       printf('%.1f%%', 100.0 * avg(guess = label)) AS accuracy,
       count(*) AS "test images"
  FROM soft JOIN d USING (id)
 GROUP BY scale
UNION ALL
-- Plain 1-nearest-neighbour: the training image with the highest score.
SELECT '1-nearest-neighbour',
       printf('%.1f%%', 100.0 * avg(k.label = q.label)), count(*)
  FROM (SELECT qid, kid, row_number() OVER (PARTITION BY qid ORDER BY score DESC) AS rank
          FROM attention_scores('SELECT id, x FROM d WHERE split = ''test''',
                                'SELECT id, x AS k, onehot AS v FROM d WHERE split = ''train'''))
  JOIN d q ON q.id = qid
  JOIN d k ON k.id = kid
 WHERE rank = 1;

.print
.print 'Three held-out images: the label, the guess at scale 30, and the'
.print 'probability the attention gave each digit.'
SELECT id, label, guess,
       (SELECT group_concat(printf('%d:%.2f', key, value), ' ')
          FROM json_each(attn_json(output)) WHERE value >= 0.005) AS "p(digit) >= 0.005"
  FROM attention('SELECT id, x FROM d WHERE split = ''test'' AND id IN (5, 50, 500)',
                 'SELECT id, x AS k, onehot AS v FROM d WHERE split = ''train''') AS a
  JOIN soft USING (id) JOIN d USING (id)
 WHERE a.scale = 30 AND soft.scale = 30;
