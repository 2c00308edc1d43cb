// ort.js: the ONNX Runtime reference of `make bench`.
//
// Run by test/bench/bench.c as a coprocess (node, with NODE_PATH pointing at
// test/.cache/ort/node_modules, where `sh test/deps.sh bench` installs
// onnxruntime-node; no network is used once it is there).  It speaks the
// protocol of ref.py: one command per line on stdin, answers on stdout,
// "NOTE ..." lines for the bench's log.
//
//   load DIR KIND N D H CAUSAL THREADS
//       builds DIR/model.onnx with ort_model.py (Debian's python3-onnx) and
//       opens it in an InferenceSession on the CPU execution provider with
//       intraOpNumThreads = THREADS (interOpNumThreads 1, sequential
//       execution, all graph optimisations); reads the inputs (.npy float32)
//       bench.c wrote.  Answer: "LOADED ort", or "LOADED" when it cannot.
//   warm ort    one untimed run; the first after a load also gives the peak
//               memory (growth of VmHWM over VmRSS, after resetting the
//               peak through /proc/self/clear_refs).  "WARM ms=.. mib=.."
//   time ort    one timed run (wall clock around session.run(), which
//               includes copying the output into a JavaScript array).
//               "TIME ms=.."
//   check ort   the largest absolute difference between the last output and
//               DIR/ours.npy, and the largest absolute output value.
//               "CHECK diff=.. max=.."
//   unload      releases the session.  "UNLOADED"
//   quit
'use strict';
const fs = require('fs');
const path = require('path');
const readline = require('readline');
const { execFileSync } = require('child_process');

function out(line) { process.stdout.write(line + '\n'); }

let ort = null, whyNot = '';
try {
  ort = require('onnxruntime-node');
} catch (e) {
  whyNot = String(e && e.message ? e.message.split('\n')[0] : e);
}

function statusKib(key) {
  for (const line of fs.readFileSync('/proc/self/status', 'utf8').split('\n')) {
    if (line.startsWith(key + ':')) return parseInt(line.slice(key.length + 1), 10);
  }
  return 0;
}

function resetPeak() {
  try { fs.writeFileSync('/proc/self/clear_refs', '5'); return true; } catch (e) { return false; }
}

// A float32 .npy file (version 1 or 2, C order) as {shape, data}.
function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(file + ': not a .npy file');
  const major = buf[6];
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + hlen);
  if (!/'descr':\s*'<f4'/.test(header) || /'fortran_order':\s*True/.test(header)) {
    throw new Error(file + ': not little-endian float32 in C order');
  }
  const m = /'shape':\s*\(([^)]*)\)/.exec(header);
  const shape = m[1].split(',').map((s) => s.trim()).filter((s) => s).map(Number);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  // Copy: the payload need not be 4-byte aligned inside the Buffer.
  Buffer.from(data.buffer).set(buf.subarray(start + hlen, start + hlen + 4 * n));
  return { shape, data };
}

let cur = null;   // {dir, session, feeds, output, first}

async function load(args) {
  const [dir, kind, n, dim, heads, causal, threads] = args;
  if (!ort) {
    out('NOTE ONNX Runtime skipped: ' + whyNot);
    return out('LOADED');
  }
  const script = path.join(__dirname, 'ort_model.py');
  try {
    execFileSync('/usr/bin/python3', [script, dir, kind, n, dim, heads, causal],
                 { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const msg = String(e.stderr || e.message).trim().split('\n').pop();
    out('NOTE ONNX Runtime skipped: ort_model.py failed (' + msg + '); it needs ' +
        'python3-onnx and python3-numpy: sh test/deps.sh bench');
    return out('LOADED');
  }
  const session = await ort.InferenceSession.create(path.join(dir, 'model.onnx'), {
    executionProviders: ['cpu'],
    intraOpNumThreads: Number(threads),
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const feeds = {};
  for (const name of kind === 'single' ? ['q', 'k', 'v'] : ['x']) {
    const a = readNpy(path.join(dir, name + '.npy'));
    feeds[name] = new ort.Tensor('float32', a.data, [1].concat(a.shape));
  }
  cur = { dir, session, feeds, output: null, first: true };
  out('LOADED ort');
}

async function runOnce() {
  const t0 = process.hrtime.bigint();
  const res = await cur.session.run(cur.feeds);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  cur.output = res.output.data;
  return ms;
}

async function warm() {
  if (cur.first) {
    cur.first = false;
    const ok = resetPeak();
    const rss0 = statusKib('VmRSS');
    const ms = await runOnce();
    const mib = ok ? ((statusKib('VmHWM') - rss0) / 1024).toFixed(1) : '-';
    return out('WARM ms=' + ms.toFixed(3) + ' mib=' + mib);
  }
  out('WARM ms=' + (await runOnce()).toFixed(3) + ' mib=-');
}

function check() {
  const ours = readNpy(path.join(cur.dir, 'ours.npy')).data;
  const o = cur.output;
  let diff = 0, max = 0;
  if (o.length !== ours.length) {
    out('NOTE ONNX Runtime output has ' + o.length + ' values, ours ' + ours.length);
    return out('FAILED');
  }
  for (let i = 0; i < o.length; i++) {
    const e = Math.abs(o[i] - ours[i]);
    if (!(e <= diff)) diff = e;    // NaN propagates
    if (Math.abs(o[i]) > max) max = Math.abs(o[i]);
  }
  out('CHECK diff=' + diff.toPrecision(3) + ' max=' + max.toPrecision(3));
}

async function main() {
  out('READY ort=' + (ort ? require('onnxruntime-node/package.json').version : 'none'));
  if (!ort) out('NOTE onnxruntime-node is missing (' + whyNot + '): sh test/deps.sh bench installs it');
  const rl = readline.createInterface({ input: process.stdin });
  for await (const line of rl) {
    const w = line.trim().split(/\s+/);
    try {
      if (w[0] === 'quit') break;
      else if (w[0] === 'load') await load(w.slice(1));
      else if (w[0] === 'warm') await warm();
      else if (w[0] === 'time') out('TIME ms=' + (await runOnce()).toFixed(3));
      else if (w[0] === 'check') check();
      else if (w[0] === 'unload') {
        if (cur) await cur.session.release();
        cur = null;
        out('UNLOADED');
      } else if (w[0]) out('NOTE ort.js: unknown command ' + w[0]);
    } catch (e) {
      out('NOTE ONNX Runtime failed: ' + String(e && e.message ? e.message : e).split('\n')[0]);
      out('FAILED');
    }
  }
  process.exit(0);
}

main();
