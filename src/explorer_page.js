// explorer_page.js: the script of attn_explorer()'s page (see explorer.c).
// It reads the JSON block #attn-data and the base64 blocks of the maps,
// builds the views with createElement and textContent only (a label is
// never parsed as HTML), and draws on canvases.  No eval, no network, no
// inline style attribute (styles are set through the CSSOM, which the
// page's Content-Security-Policy allows).
'use strict';
(function () {
  const data = JSON.parse(document.getElementById('attn-data').textContent);
  const app = document.getElementById('app');
  const axq = data.axes[0], axk = data.axes[1];
  const nq = axq.bins.length, nk = axk.bins.length;
  const heads = data.heads, layers = data.layers;
  const nHead = heads.length, nLayer = layers ? layers.length : 1;
  const viridis = [];
  for (let i = 0; i < 256; i++) viridis.push('#' + data.viridis.substr(6 * i, 6));

  // The map of each (layer, head), or -1.
  const mapAt = new Int32Array(nLayer * nHead).fill(-1);
  data.maps.forEach(function (m, i) { mapAt[m.layer * nHead + m.head] = i; });

  // Float16 bits to numbers.
  const HALF = new Float64Array(65536);
  for (let h = 0; h < 65536; h++) {
    const s = (h & 0x8000) ? -1 : 1, e = (h >> 10) & 31, f = h & 1023;
    HALF[h] = e === 0 ? s * f * Math.pow(2, -24)
            : e === 31 ? (f ? NaN : s * Infinity)
            : s * (1024 + f) * Math.pow(2, e - 25);
  }
  function halves(text) {
    const bin = atob(text), n = bin.length >> 1, out = new Uint16Array(n);
    for (let i = 0; i < n; i++) out[i] = bin.charCodeAt(2 * i) | (bin.charCodeAt(2 * i + 1) << 8);
    return out;
  }
  function values(bits, e) {
    const out = new Float64Array(bits.length), s = Math.pow(2, e);
    for (let i = 0; i < bits.length; i++) out[i] = HALF[bits[i]] * s;
    return out;
  }
  // The weights of map i (nq*nk, NaN where absent); a few are kept.
  const cache = new Map();
  function weights(i) {
    if (cache.has(i)) return cache.get(i);
    const el = document.getElementById('attn-map-' + i);
    const v = values(halves(el.textContent), data.maps[i].e);
    if (cache.size >= 24) cache.delete(cache.keys().next().value);
    cache.set(i, v);
    return v;
  }
  let thumbText = null;
  function thumb(i) {
    const n = axq.tbins * axk.tbins, len = 4 * Math.ceil(2 * n / 3);
    if (thumbText === null) thumbText = document.getElementById('attn-thumbs').textContent;
    return values(halves(thumbText.substr(i * len, len)), data.maps[i].e);
  }

  function fmt(w) { return w === 0 ? '0' : w.toPrecision(3); }
  function scaleOf(m, w) {
    const t = (w * 0.5 - m.lo * 0.5) / (m.hi * 0.5 - m.lo * 0.5);
    return t > 0 ? (t > 1 ? 1 : t) : 0;
  }
  function colourOf(m, w) { return viridis[Math.min(255, Math.floor(scaleOf(m, w) * 256))]; }
  function opacityOf(m, w) {
    return data.opacity === 'weight' ? w : scaleOf(m, w);
  }
  // A canvas of w x h pixels, one per bin of values v of map m.
  function mapImage(m, v, w, h) {
    const img = new ImageData(w, h);
    for (let i = 0; i < w * h; i++) {
      const c = v[i] !== v[i] ? data.absent : colourOf(m, v[i]);
      img.data[4 * i] = parseInt(c.substr(1, 2), 16);
      img.data[4 * i + 1] = parseInt(c.substr(3, 2), 16);
      img.data[4 * i + 2] = parseInt(c.substr(5, 2), 16);
      img.data[4 * i + 3] = 255;
    }
    const off = document.createElement('canvas');
    off.width = w;
    off.height = h;
    off.getContext('2d').putImageData(img, 0, 0);
    return off;
  }
  function headColour(h) { return data.palette[h % data.palette.length]; }
  function headDashed(h) { return h >= data.palette.length; }
  function plural(n, one, many) { return n + ' ' + (n === 1 ? one : many); }
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function chip(h) {
    const c = el('span', 'chip');
    c.style.backgroundColor = headColour(h);
    if (headDashed(h)) {
      c.style.backgroundImage = 'repeating-linear-gradient(90deg, transparent 0 3px, #ffffff 3px 5px)';
    }
    return c;
  }
  function tokenText(ax, i, long) {
    const b = ax.bins[i];
    return long && b[2] !== null ? b[2] : b[1];
  }
  function describe(side, i) {
    const ax = side === 0 ? axq : axk, b = ax.bins[i];
    const word = side === 0 ? 'query' : 'key';
    if (ax.pool > 1) return word + 's from ' + b[0];
    return b[2] !== null ? word + ' ' + b[0] + ' \u201c' + b[2] + '\u201d' : word + ' ' + b[0];
  }
  function setupCanvas(c, w, h) {
    const dpr = window.devicePixelRatio || 1;
    c.width = Math.max(1, Math.round(w * dpr));
    c.height = Math.max(1, Math.round(h * dpr));
    c.style.width = w + 'px';
    c.style.height = h + 'px';
    const ctx = c.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    return ctx;
  }

  const state = { view: 'head', layer: 0, head: 0, on: heads.map(function () { return true; }),
                  focus: null, cell: null };

  // --- the page's frame -------------------------------------------------
  app.textContent = '';
  app.appendChild(el('h1', null, 'Attention explorer'));
  const summary = [plural(axq.n, 'query', 'queries') + ' \u00d7 ' + plural(axk.n, 'key', 'keys'),
                   plural(nHead, 'head', 'heads')];
  if (layers) summary.push(plural(nLayer, 'layer', 'layers'));
  summary.push(plural(data.rows, 'score row', 'score rows'));
  app.appendChild(el('p', 'summary', summary.join(' \u00b7 ')));
  if (axq.pool > 1 || axk.pool > 1) {
    app.appendChild(el('p', 'note', 'downsampled from ' + axq.n + '\u00d7' + axk.n + ' by pooling ' +
                       axq.pool + '\u00d7' + axk.pool + ' (each cell the mean of its block)'));
  }
  const bar = el('div', 'bar');
  const tabs = el('div', 'tabs');
  tabs.setAttribute('role', 'tablist');
  tabs.setAttribute('aria-label', 'Views');
  bar.appendChild(tabs);
  app.appendChild(bar);
  const views = [['head', 'Head view'], ['matrix', 'Matrix view']];
  if (layers) views.push(['grid', 'Layers \u00d7 heads']);
  const tabOf = {}, panelOf = {};
  views.forEach(function (v) {
    const t = el('button', 'tab', v[1]);
    t.type = 'button';
    t.id = 'tab-' + v[0];
    t.setAttribute('role', 'tab');
    t.setAttribute('aria-controls', 'view-' + v[0]);
    t.addEventListener('click', function () { show(v[0]); });
    t.addEventListener('keydown', function (ev) {
      const i = views.indexOf(v);
      let j = -1;
      if (ev.key === 'ArrowRight') j = (i + 1) % views.length;
      if (ev.key === 'ArrowLeft') j = (i + views.length - 1) % views.length;
      if (j >= 0) { ev.preventDefault(); show(views[j][0]); tabOf[views[j][0]].focus(); }
    });
    tabs.appendChild(t);
    tabOf[v[0]] = t;
    const p = el('section', 'view');
    p.id = 'view-' + v[0];
    p.setAttribute('role', 'tabpanel');
    p.setAttribute('aria-labelledby', t.id);
    panelOf[v[0]] = p;
    app.appendChild(p);
  });
  let layerSelect = null;
  if (layers) {
    const l = el('label', null, 'Layer ');
    layerSelect = el('select');
    layerSelect.id = 'layer';
    layers.forEach(function (name, i) {
      const o = el('option', null, name);
      o.value = String(i);
      layerSelect.appendChild(o);
    });
    layerSelect.addEventListener('change', function () {
      state.layer = Number(layerSelect.value);
      state.focus = null;
      render();
    });
    l.appendChild(layerSelect);
    bar.appendChild(l);
  }

  // --- the head view ----------------------------------------------------
  const hv = panelOf.head;
  const swatches = el('div', 'swatches');
  swatches.setAttribute('role', 'group');
  swatches.setAttribute('aria-label', 'Heads: press to show or hide their lines');
  const swatchButtons = heads.map(function (name, h) {
    const b = el('button', 'swatch');
    b.type = 'button';
    b.dataset.head = String(h);
    b.setAttribute('aria-pressed', 'true');
    b.appendChild(chip(h));
    b.appendChild(document.createTextNode('head ' + name));
    b.addEventListener('click', function () {
      state.on[h] = !state.on[h];
      b.setAttribute('aria-pressed', String(state.on[h]));
      scheduleHead();
    });
    swatches.appendChild(b);
    return b;
  });
  hv.appendChild(swatches);
  hv.appendChild(el('p', 'hint', 'Lines join each query (left) to the keys (right) it attends to; ' +
      'their opacity is the weight. Hover or focus a token (Tab, then \u2191 \u2193 \u2190 \u2192) ' +
      'to see only its lines and its weights.'));
  const hvStatus = el('p', 'readout');
  hvStatus.setAttribute('aria-live', 'polite');
  hv.appendChild(hvStatus);
  const hvGrid = el('div', 'hv');
  const cols = [el('div', 'col q'), el('div', 'col k')];
  // The canvas is at most as tall as the window and sticks to its top while
  // the columns scroll past, so a long sequence costs the lines in sight.
  const lanes = el('div', 'lanes');
  const hvCanvas = el('canvas');
  hvCanvas.id = 'lines';
  hvCanvas.setAttribute('role', 'img');
  hvCanvas.setAttribute('aria-label', 'lines from queries to keys');
  lanes.appendChild(hvCanvas);
  hvGrid.appendChild(cols[0]);
  hvGrid.appendChild(lanes);
  hvGrid.appendChild(cols[1]);
  hv.appendChild(hvGrid);
  const toks = [[], []], wts = [[], []];
  [nq, nk].forEach(function (n, side) {
    const ax = side === 0 ? axq : axk;
    cols[side].setAttribute('aria-label', side === 0 ? 'queries' : 'keys');
    for (let i = 0; i < n; i++) {
      const row = el('div', 'row');
      const t = el('button', 'tok', tokenText(ax, i, false));
      t.type = 'button';
      t.tabIndex = i === 0 ? 0 : -1;
      t.dataset.side = side === 0 ? 'q' : 'k';
      t.dataset.i = String(i);
      t.setAttribute('aria-label', describe(side, i));
      const w = el('span', 'wts');
      if (side === 0) { row.appendChild(w); row.appendChild(t); } else { row.appendChild(t); row.appendChild(w); }
      cols[side].appendChild(row);
      toks[side].push(t);
      wts[side].push(w);
    }
    cols[side].addEventListener('mouseover', function (ev) {
      const t = ev.target.closest('.tok');
      if (t) setFocus(side, Number(t.dataset.i));
    });
    cols[side].addEventListener('mouseleave', function () {
      if (!cols[0].contains(document.activeElement) && !cols[1].contains(document.activeElement)) setFocus(null);
    });
    cols[side].addEventListener('focusin', function (ev) {
      const t = ev.target.closest('.tok');
      if (t) setFocus(side, Number(t.dataset.i));
    });
    cols[side].addEventListener('focusout', function (ev) {
      if (!ev.relatedTarget || !ev.relatedTarget.closest || !ev.relatedTarget.closest('.tok')) setFocus(null);
    });
    cols[side].addEventListener('keydown', function (ev) {
      const t = ev.target.closest('.tok');
      if (!t) return;
      const i = Number(t.dataset.i), m = toks[side].length;
      let s = side, j = -1;
      if (ev.key === 'ArrowDown') j = Math.min(m - 1, i + 1);
      else if (ev.key === 'ArrowUp') j = Math.max(0, i - 1);
      else if (ev.key === 'Home') j = 0;
      else if (ev.key === 'End') j = m - 1;
      else if (ev.key === 'ArrowRight' && side === 0) { s = 1; j = Math.min(i, nk - 1); }
      else if (ev.key === 'ArrowLeft' && side === 1) { s = 0; j = Math.min(i, nq - 1); }
      else if (ev.key === 'Escape') { t.blur(); setFocus(null); return; }
      if (j < 0) return;
      ev.preventDefault();
      toks[s].forEach(function (x) { x.tabIndex = -1; });
      toks[s][j].tabIndex = 0;
      toks[s][j].focus();
    });
  });

  // One redraw of the head view per frame, however many events ask.
  let headPending = false;
  function scheduleHead() {
    if (headPending) return;
    headPending = true;
    requestAnimationFrame(function () { headPending = false; drawHeadView(); });
  }

  function setFocus(side, i) {
    const f = side === null ? null : { side: side, i: i };
    const old = state.focus;
    if ((old === null && f === null) || (old && f && old.side === f.side && old.i === f.i)) return;
    if (old) toks[old.side][old.i].classList.remove('on');
    state.focus = f;
    if (f) toks[f.side][f.i].classList.add('on');
    scheduleHead();
  }

  // Row centres of a column, relative to the top of the canvas.
  function centres(side, top) {
    const out = new Float64Array(toks[side].length);
    toks[side].forEach(function (t, i) {
      const r = t.parentNode.getBoundingClientRect();
      out[i] = r.top + r.height / 2 - top;
    });
    return out;
  }

  function activeMaps() {
    const out = [];
    for (let h = 0; h < nHead; h++) {
      const i = mapAt[state.layer * nHead + h];
      if (state.on[h] && i >= 0) out.push([h, i]);
    }
    return out;
  }

  const LEVELS = 64;
  function drawHeadView() {
    if (state.view !== 'head') return;
    const colH = Math.max(cols[0].getBoundingClientRect().height, cols[1].getBoundingClientRect().height);
    lanes.style.height = colH + 'px';
    const w = lanes.getBoundingClientRect().width || 192;
    const H = Math.max(1, Math.min(colH, window.innerHeight || colH));
    const ctx = setupCanvas(hvCanvas, w, H);
    const top = hvCanvas.getBoundingClientRect().top;
    const yq = centres(0, top), yk = centres(1, top);
    const f = state.focus, counts = [];
    const x0 = 2, x1 = w - 2;
    ctx.clearRect(0, 0, w, H);
    ctx.lineWidth = f ? 2 : 1.5;
    activeMaps().forEach(function (hm) {
      const h = hm[0], m = data.maps[hm[1]], v = weights(hm[1]);
      let n = 0;
      ctx.strokeStyle = headColour(h);
      ctx.setLineDash(headDashed(h) ? [5, 3] : []);
      if (f) {
        const cnt = f.side === 0 ? nk : nq;
        for (let j = 0; j < cnt; j++) {
          const q = f.side === 0 ? f.i : j, k = f.side === 0 ? j : f.i;
          const x = v[q * nk + k];
          if (x !== x) continue;
          const a = opacityOf(m, x);
          if (!(a * 255 >= 0.5)) continue;
          n++;
          if ((yq[q] < 0 && yk[k] < 0) || (yq[q] > H && yk[k] > H)) continue;
          ctx.globalAlpha = Math.min(1, a);
          ctx.beginPath();
          ctx.moveTo(x0, yq[q]);
          ctx.lineTo(x1, yk[k]);
          ctx.stroke();
        }
      } else {
        const paths = [];
        for (let l = 0; l < LEVELS; l++) paths.push(new Path2D());
        for (let q = 0; q < nq; q++) {
          const base = q * nk;
          for (let k = 0; k < nk; k++) {
            const x = v[base + k];
            if (x !== x) continue;
            const a = opacityOf(m, x);
            if (!(a * 255 >= 0.5)) continue;
            n++;
            if ((yq[q] < 0 && yk[k] < 0) || (yq[q] > H && yk[k] > H)) continue;
            const l = Math.min(LEVELS - 1, Math.floor(Math.min(1, a) * LEVELS));
            paths[l].moveTo(x0, yq[q]);
            paths[l].lineTo(x1, yk[k]);
          }
        }
        for (let l = 0; l < LEVELS; l++) {
          ctx.globalAlpha = (l + 0.5) / LEVELS;
          ctx.stroke(paths[l]);
        }
      }
      counts.push(heads[h] + ':' + n);
    });
    ctx.globalAlpha = 1;
    ctx.setLineDash([]);
    hvCanvas.dataset.lines = counts.join(' ');
    showWeights();
  }

  // The weights of the focused token, next to the tokens of the other side.
  let filled = [];
  function showWeights() {
    const f = state.focus;
    filled.forEach(function (w) { w.textContent = ''; });
    filled = [];
    if (!f) {
      hvStatus.textContent = '';
      return;
    }
    const other = 1 - f.side, act = activeMaps();
    for (let j = 0; j < toks[other].length; j++) {
      const q = f.side === 0 ? f.i : j, k = f.side === 0 ? j : f.i;
      act.forEach(function (hm) {
        const x = weights(hm[1])[q * nk + k];
        if (x !== x) return;
        const s = el('span', 'w');
        s.appendChild(chip(hm[0]));
        s.appendChild(document.createTextNode(fmt(x)));
        s.title = 'head ' + heads[hm[0]];
        wts[other][j].appendChild(s);
      });
      filled.push(wts[other][j]);
    }
    hvStatus.textContent = describe(f.side, f.i) + ': ' + (act.length ?
        'its weights are shown next to the ' + (f.side === 0 ? 'keys' : 'queries') :
        'no head is shown');
  }

  // --- the matrix view --------------------------------------------------
  const mv = panelOf.matrix;
  const mvBar = el('div', 'bar');
  const hl = el('label', null, 'Head ');
  const headSelect = el('select');
  headSelect.id = 'head';
  heads.forEach(function (name, h) {
    const o = el('option', null, name);
    o.value = String(h);
    headSelect.appendChild(o);
  });
  headSelect.addEventListener('change', function () {
    state.head = Number(headSelect.value);
    state.cell = null;
    render();
  });
  hl.appendChild(headSelect);
  mvBar.appendChild(hl);
  mv.appendChild(mvBar);
  const mvTitle = el('p', 'summary');
  mv.appendChild(mvTitle);
  const mx = el('div', 'mx');
  const mxScroll = el('div', 'scroll');
  const mxCanvas = el('canvas');
  mxCanvas.id = 'matrix';
  mxCanvas.tabIndex = 0;
  mxCanvas.setAttribute('role', 'img');
  mxScroll.appendChild(mxCanvas);
  mx.appendChild(mxScroll);
  const legend = el('div', 'legend');
  mx.appendChild(legend);
  mv.appendChild(mx);
  const mvReadout = el('p', 'readout');
  mvReadout.setAttribute('aria-live', 'polite');
  mv.appendChild(mvReadout);
  mv.appendChild(el('p', 'hint', 'Colours: viridis from 0 (or the smallest weight, if negative) ' +
      'to the largest weight of the map, as attn_heatmap() draws it; grey: no score row. ' +
      'Hover a cell, or focus the map and use the arrow keys, to read its weight.'));
  let mxLayout = null, mxBase = null;

  function labelFont(px) { return px + 'px "DejaVu Sans", Verdana, sans-serif'; }
  function drawMatrix() {
    const mi = mapAt[state.layer * nHead + state.head];
    legend.textContent = '';
    if (mi < 0) {
      setupCanvas(mxCanvas, 1, 1);
      mxTitleSet(null);
      mvReadout.textContent = 'This layer has no rows for head ' + heads[state.head] + '.';
      return;
    }
    const m = data.maps[mi], v = weights(mi);
    let s = Math.min(48, 720 / Math.max(nq, nk));
    const sz = [nq * s < 48 ? 48 / nq : s, nk * s < 48 ? 48 / nk : s];
    const fLab = sz.map(function (x) { return Math.max(8, Math.min(13, x * 0.6)); });
    const step = sz.map(function (x, e) { return Math.ceil(fLab[e] * 1.3 / x); });
    const ctx0 = mxCanvas.getContext('2d');
    const wLab = [0, 0];
    [axq, axk].forEach(function (ax, e) {
      ctx0.font = labelFont(fLab[e]);
      for (let i = 0; i < ax.bins.length; i += step[e]) {
        wLab[e] = Math.max(wLab[e], ctx0.measureText(tokenText(ax, i, false)).width);
      }
    });
    const L = { x: Math.ceil(wLab[0] + 24), y: 8, sz: sz, fLab: fLab, step: step };
    L.w = sz[1] * nk;
    L.h = sz[0] * nq;
    L.W = L.x + L.w + 8;
    L.H = L.y + L.h + wLab[1] + 26;
    mxLayout = L;
    mxCanvas.dataset.cells = [L.x, L.y, sz[1], sz[0]].join(' ');  // left top width height
    // The cells: one pixel per bin, scaled up without smoothing.
    mxBase = mapImage(m, v, nk, nq);
    paintMatrix();
    mxTitleSet(m);
    mxCanvas.setAttribute('aria-label', 'attention matrix of head ' + heads[state.head] +
        (layers ? ', layer ' + layers[state.layer] : '') + ': ' + nq + ' rows of queries, ' + nk + ' columns of keys');
    // The legend.
    const lc = el('canvas');
    const lctx = setupCanvas(lc, 14, 160);
    for (let i = 0; i < 160; i++) {
      lctx.fillStyle = viridis[Math.min(255, Math.floor((159 - i) / 160 * 256))];
      lctx.fillRect(0, i, 14, 1);
    }
    legend.appendChild(lc);
    legend.appendChild(el('span', 'hi', fmt(m.hi)));
    legend.appendChild(el('span', 'lo', fmt(m.lo)));
    legend.appendChild(el('span', null, ''));
    legend.appendChild(el('span', null, 'min ' + fmt(m.min) + ', max ' + fmt(m.max)));
    if (m.absent > 0) {
      const c = el('span', 'chip');
      c.style.backgroundColor = data.absent;
      legend.appendChild(c);
      legend.appendChild(el('span', null, 'no score row'));
    }
  }
  function mxTitleSet(m) {
    mvTitle.textContent = 'Head ' + heads[state.head] + (layers ? ', layer ' + layers[state.layer] : '') +
        (m ? ': ' + plural(m.rows, 'score row', 'score rows') : '');
  }
  function paintMatrix() {
    const L = mxLayout;
    const ctx = setupCanvas(mxCanvas, L.W, L.H);
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, L.W, L.H);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(mxBase, L.x, L.y, L.w, L.h);
    ctx.fillStyle = '#1a1a1a';
    ctx.textBaseline = 'middle';
    ctx.font = labelFont(L.fLab[0]);
    ctx.textAlign = 'right';
    for (let i = 0; i < nq; i += L.step[0]) {
      ctx.fillText(tokenText(axq, i, false), L.x - 6, L.y + (i + 0.5) * L.sz[0]);
    }
    ctx.font = labelFont(L.fLab[1]);
    for (let i = 0; i < nk; i += L.step[1]) {
      ctx.save();
      ctx.translate(L.x + (i + 0.5) * L.sz[1], L.y + L.h + 6);
      ctx.rotate(-Math.PI / 2);
      ctx.fillText(tokenText(axk, i, false), 0, 0);
      ctx.restore();
    }
    ctx.textAlign = 'center';
    ctx.fillStyle = '#4a4a4a';
    ctx.font = labelFont(11);
    ctx.save();
    ctx.translate(10, L.y + L.h / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.fillText('query', 0, 0);
    ctx.restore();
    ctx.fillText('key', L.x + L.w / 2, L.H - 8);
    if (state.cell) {
      const c = state.cell;
      ctx.strokeStyle = '#ffffff';
      ctx.lineWidth = 3;
      ctx.strokeRect(L.x + c.k * L.sz[1], L.y + c.q * L.sz[0], L.sz[1], L.sz[0]);
      ctx.strokeStyle = '#000000';
      ctx.lineWidth = 1.5;
      ctx.strokeRect(L.x + c.k * L.sz[1], L.y + c.q * L.sz[0], L.sz[1], L.sz[0]);
    }
  }
  function setCell(c) {
    state.cell = c;
    const mi = mapAt[state.layer * nHead + state.head];
    if (mi < 0 || !mxLayout) return;
    paintMatrix();
    if (!c) { mvReadout.textContent = ''; return; }
    const x = weights(mi)[c.q * nk + c.k];
    mvReadout.textContent = describe(0, c.q) + ', ' + describe(1, c.k) + ': ' +
        (x !== x ? 'no score row' : fmt(x));
  }
  mxCanvas.addEventListener('mousemove', function (ev) {
    const L = mxLayout;
    if (!L) return;
    const r = mxCanvas.getBoundingClientRect();
    const k = Math.floor((ev.clientX - r.left - L.x) / L.sz[1]);
    const q = Math.floor((ev.clientY - r.top - L.y) / L.sz[0]);
    if (q >= 0 && q < nq && k >= 0 && k < nk) {
      if (!state.cell || state.cell.q !== q || state.cell.k !== k) setCell({ q: q, k: k });
    } else if (state.cell) {
      setCell(null);
    }
  });
  mxCanvas.addEventListener('mouseleave', function () { if (document.activeElement !== mxCanvas) setCell(null); });
  mxCanvas.addEventListener('keydown', function (ev) {
    const c = state.cell ? { q: state.cell.q, k: state.cell.k } : { q: 0, k: 0 };
    if (ev.key === 'ArrowDown') c.q = Math.min(nq - 1, c.q + (state.cell ? 1 : 0));
    else if (ev.key === 'ArrowUp') c.q = Math.max(0, c.q - 1);
    else if (ev.key === 'ArrowRight') c.k = Math.min(nk - 1, c.k + (state.cell ? 1 : 0));
    else if (ev.key === 'ArrowLeft') c.k = Math.max(0, c.k - 1);
    else if (ev.key === 'Home') c.k = 0;
    else if (ev.key === 'End') c.k = nk - 1;
    else if (ev.key === 'Escape') { setCell(null); return; }
    else return;
    ev.preventDefault();
    setCell(c);
  });
  mxCanvas.addEventListener('focus', function () { if (!state.cell) setCell({ q: 0, k: 0 }); });

  // --- the layer x head grid --------------------------------------------
  function buildGrid() {
    const g = panelOf.grid;
    g.appendChild(el('p', 'hint', 'One small map per layer and head' +
        (axq.tpool > 1 || axk.tpool > 1 ? ' (pooled ' + axq.tpool + '\u00d7' + axk.tpool + ')' : '') +
        ', each on its own colour scale. Press one to open its matrix.'));
    const wrap = el('div', 'scrollx');
    const table = el('table', 'grid');
    const tq = axq.tbins, tk = axk.tbins;
    const px = Math.max(24, Math.min(96, Math.floor(960 / nHead) - 8));
    const cw = tk >= tq ? px : Math.max(8, Math.round(px * tk / tq));
    const ch = tq >= tk ? px : Math.max(8, Math.round(px * tq / tk));
    const hr = el('tr');
    hr.appendChild(el('th', null, ''));
    heads.forEach(function (name) { const th = el('th', null, 'head ' + name); th.scope = 'col'; hr.appendChild(th); });
    const thead = el('thead');
    thead.appendChild(hr);
    table.appendChild(thead);
    const tbody = el('tbody');
    layers.forEach(function (lname, l) {
      const tr = el('tr');
      const th = el('th', null, 'layer ' + lname);
      th.scope = 'row';
      tr.appendChild(th);
      heads.forEach(function (hname, h) {
        const td = el('td');
        const mi = mapAt[l * nHead + h];
        if (mi >= 0) {
          const b = el('button', 'thumb');
          b.type = 'button';
          b.dataset.layer = String(l);
          b.dataset.head = String(h);
          b.setAttribute('aria-label', 'layer ' + lname + ', head ' + hname + ': open its matrix');
          const c = el('canvas');
          const ctx = setupCanvas(c, cw, ch);
          const m = data.maps[mi], v = thumb(mi);
          const off = mapImage(m, v, tk, tq);
          ctx.imageSmoothingEnabled = false;
          ctx.drawImage(off, 0, 0, cw, ch);
          b.appendChild(c);
          b.addEventListener('click', function () {
            state.layer = l;
            state.head = h;
            state.cell = null;
            state.focus = null;
            show('matrix');
          });
          td.appendChild(b);
        } else {
          td.textContent = '\u2014';
          td.setAttribute('aria-label', 'no rows');
        }
        tr.appendChild(td);
      });
      tbody.appendChild(tr);
    });
    table.appendChild(tbody);
    wrap.appendChild(table);
    g.appendChild(wrap);
  }
  if (layers) buildGrid();

  // --- switching --------------------------------------------------------
  function show(v) {
    state.view = v;
    render();
  }
  function render() {
    views.forEach(function (x) {
      const on = x[0] === state.view;
      tabOf[x[0]].setAttribute('aria-selected', String(on));
      tabOf[x[0]].tabIndex = on ? 0 : -1;
      panelOf[x[0]].hidden = !on;
    });
    if (layerSelect) {
      layerSelect.value = String(state.layer);
      layerSelect.parentNode.hidden = state.view === 'grid';
    }
    headSelect.value = String(state.head);
    if (state.view === 'head') drawHeadView();
    if (state.view === 'matrix') drawMatrix();
  }
  let pending = false;
  window.addEventListener('scroll', function () {
    if (state.view === 'head') scheduleHead();
  }, { passive: true });
  window.addEventListener('resize', function () {
    if (pending) return;
    pending = true;
    requestAnimationFrame(function () {
      pending = false;
      if (state.view === 'head') drawHeadView();
      if (state.view === 'matrix' && mxLayout) paintMatrix();
    });
  });
  render();
  app.setAttribute('aria-busy', 'false');
  requestAnimationFrame(function () {
    document.documentElement.dataset.ready = String(Math.round(performance.now()));
  });
})();
