#!/usr/bin/python3
"""chart.py: the chart of `make bench`, GFLOP/s against N.

    chart.py RESULTS.TSV OUT.SVG

Reads the results.tsv that bench.c writes (with --out) and draws one panel
per configuration (one head at each d, causal, 6 heads + projections) and
thread count: GFLOP/s of ours through SQL, through the C API and of the
kernel alone (and of the other kernel level's kernel, when the bench ran
one), and of ONNX Runtime, NumPy and PyTorch, against N on a log scale,
with the FMA peak of the kernel set on as many threads as a grey line.  All
panels share the y scale, so heights compare across them.  Plain SVG
written by hand (standard library only), with an Okabe-Ito palette, which
stays distinct under the common colour-vision deficiencies; each series
also has its own marker and dash pattern.
"""
import html
import math
import sys

SERIES = [
    # column, label, colour, dash, marker
    ("ms_sql", "ours, SQL", "#0072B2", "", "circle"),
    ("ms_api", "ours, C API", "#56B4E9", "6 3", "square"),
    ("ms_flash", "ours, kernel alone", "#009E73", "2 2", "diamond"),
    ("ms_also_flash", "kernel alone, {also}", "#000000", "8 3 2 3", "triangle"),
    ("ms_ort", "ONNX Runtime", "#D55E00", "", "triangle"),
    ("ms_numpy", "NumPy", "#E69F00", "4 2", "square"),
    ("ms_torch", "PyTorch", "#CC79A7", "1 3", "circle"),
]


def esc(s):
    return html.escape(str(s), quote=True)


def read(path):
    meta = {"peak": {}}
    rows = []
    header = None
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            if line.startswith("#"):
                parts = line[1:].split("\t")
                if parts[0] == "peak":
                    meta["peak"][(parts[1], int(parts[2]))] = float(parts[3])
                else:
                    meta[parts[0]] = parts[1] if len(parts) > 1 else ""
                continue
            cols = line.split("\t")
            if header is None:
                header = cols
                continue
            r = dict(zip(header, cols))
            for k in ("mha", "n", "d", "heads", "causal", "threads"):
                r[k] = int(r[k])
            for k in header:
                if k.startswith("ms_") or k == "gflop":
                    r[k] = float(r[k])
            rows.append(r)
    return meta, rows


def marker(kind, x, y, colour):
    if kind == "circle":
        return '<circle cx="%.1f" cy="%.1f" r="3.2" fill="%s"/>' % (x, y, colour)
    if kind == "square":
        return '<rect x="%.1f" y="%.1f" width="6" height="6" fill="%s"/>' % (x - 3, y - 3, colour)
    if kind == "diamond":
        return '<path d="M%.1f %.1f l4 4 l-4 4 l-4 -4 z" fill="%s"/>' % (x, y - 4, colour)
    return '<path d="M%.1f %.1f l4 7 l-8 0 z" fill="%s"/>' % (x, y - 4, colour)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: chart.py RESULTS.TSV OUT.SVG")
    try:
        meta, rows = read(sys.argv[1])
    except OSError as e:
        sys.exit("chart.py: no chart: %s" % e)
    also = meta.get("also_kernel", "")
    kernel = meta.get("kernel", "")
    if not rows:
        sys.exit("chart.py: no rows in " + sys.argv[1])

    # Panels: columns by configuration (name, d), rows by thread count.
    cols = []
    for r in rows:
        key = (r["name"], r["d"])
        if key not in cols:
            cols.append(key)
    threads = sorted({r["threads"] for r in rows})
    ns = sorted({r["n"] for r in rows})
    series = [s for s in SERIES if any(not math.isnan(r[s[0]]) for r in rows)]

    def gflops(r, col):
        ms = r[col]
        return float("nan") if math.isnan(ms) or ms <= 0 else r["gflop"] / (ms * 1e-3)

    ymax = 0.0
    for r in rows:
        for s in series:
            g = gflops(r, s[0])
            if not math.isnan(g):
                ymax = max(ymax, g)
    for v in meta["peak"].values():
        ymax = max(ymax, v)
    step = 10
    for cand in (10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000):
        step = cand
        if ymax / cand <= 6:
            break
    ytop = step * math.ceil(ymax * 1.05 / step)

    # The panels that have rows, configuration by configuration, four a line.
    panels = [(name, d, t) for (name, d) in cols for t in threads
              if any(r["name"] == name and r["d"] == d and r["threads"] == t for r in rows)]
    ncol = min(4, len(panels))
    nrow = (len(panels) + ncol - 1) // ncol
    pw, ph = 210, 170            # plot area of a panel
    ml, mr, mt, mb = 52, 14, 40, 36
    cw, chh = ml + pw + mr, mt + ph + mb
    top = 96
    legend_h = 22 * ((len(series) + 2 + 3) // 4)
    width = max(cw * ncol + 20, 780)
    height = top + legend_h + chh * nrow + 10
    out = []
    out.append('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
               'viewBox="0 0 %d %d" font-family="DejaVu Sans, Arial, sans-serif" '
               'font-size="12">' % (width, height, width, height))
    out.append('<title>make bench: GFLOP/s against N</title>')
    out.append('<rect width="100%" height="100%" fill="#ffffff"/>')
    out.append('<text x="10" y="22" font-size="16" font-weight="bold">sqlite-attention, '
               '<tspan font-family="monospace">make bench</tspan>: GFLOP/s against N</text>')
    cpu = meta.get("cpu", "")
    out.append('<text x="10" y="42" font-size="11">%s</text>' % esc(cpu.split(";")[0]))
    out.append('<text x="10" y="58" font-size="11">kernel set %s%s; GFLOP/s = (4·N²·d '
               '[+ 8·N·d² projections]) / time (the dense count for causal rows)</text>'
               % (esc(kernel), esc(", and " + also + " (kernel alone)") if also else ""))
    peaks = ", ".join("%s on %d thread%s: %.0f" % (lvl, t, "s" if t > 1 else "", v)
                      for (lvl, t), v in sorted(meta["peak"].items()))
    out.append('<text x="10" y="74" font-size="11">FMA peak (grey line, GFLOP/s): %s</text>'
               % esc(peaks or "not measured"))

    # Legend.
    items = [(s[1].format(also=also), s[2], s[3], s[4]) for s in series]
    items.append(("FMA peak, %s" % kernel, "#999999", "", None))
    if also and any(lvl == also for lvl, _ in meta["peak"]):
        items.append(("FMA peak, %s" % also, "#999999", "6 4", None))
    for i, (label, colour, dash, mk) in enumerate(items):
        x = 10 + (i % 4) * 190
        y = top + (i // 4) * 22
        out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"%s/>'
                   % (x, y, x + 28, y, colour, ' stroke-dasharray="%s"' % dash if dash else ""))
        if mk:
            out.append(marker(mk, x + 14, y, colour))
        out.append('<text x="%d" y="%d">%s</text>' % (x + 34, y + 4, esc(label)))

    x0n, x1n = math.log2(ns[0]), math.log2(ns[-1])

    def xpos(n):
        if x1n == x0n:
            return pw / 2
        return 12 + (pw - 24) * (math.log2(n) - x0n) / (x1n - x0n)

    for pi, (name, d, t) in enumerate(panels):
        if True:
            ci = pi % ncol
            ox = 10 + ci * cw + ml
            oy = top + legend_h + (pi // ncol) * chh + mt
            sub = "%s = %d, %d thread%s" % ("D" if "heads" in name else "d", d, t,
                                           "s" if t > 1 else "")
            out.append('<text x="%.1f" y="%.1f" text-anchor="middle" font-weight="bold">%s</text>'
                       % (ox + pw / 2, oy - 22, esc(name)))
            out.append('<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>'
                       % (ox + pw / 2, oy - 8, esc(sub)))
            out.append('<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#333333"/>'
                       % (ox, oy, pw, ph))
            y = 0
            while y <= ytop + 1e-9:
                py = oy + ph - ph * y / ytop
                out.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#e5e5e5"/>'
                           % (ox, py, ox + pw, py))
                out.append('<text x="%d" y="%.1f" text-anchor="end" font-size="10">%g</text>'
                           % (ox - 4, py + 3, y))
                y += step
            for n in ns:
                px = ox + xpos(n)
                out.append('<text x="%.1f" y="%d" text-anchor="middle" font-size="10">%d</text>'
                           % (px, oy + ph + 14, n))
            out.append('<text x="%.1f" y="%d" text-anchor="middle" font-size="10">N</text>'
                       % (ox + pw / 2, oy + ph + 28))
            if ci == 0:
                out.append('<text x="%d" y="%.1f" font-size="10" transform="rotate(-90 %d %.1f)" '
                           'text-anchor="middle">GFLOP/s</text>'
                           % (ox - 36, oy + ph / 2, ox - 36, oy + ph / 2))
            for lvl, dash in ((kernel, ""), (also, "6 4")):
                v = meta["peak"].get((lvl, t)) if lvl else None
                if v:
                    py = oy + ph - ph * v / ytop
                    out.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#999999" '
                               'stroke-width="1.5"%s/>' % (ox, py, ox + pw, py,
                                                          ' stroke-dasharray="%s"' % dash if dash else ""))
            mine = sorted((r for r in rows if r["name"] == name and r["d"] == d
                           and r["threads"] == t), key=lambda r: r["n"])
            if not mine:
                out.append('<text x="%.1f" y="%.1f" text-anchor="middle" fill="#666666">not run</text>'
                           % (ox + pw / 2, oy + ph / 2))
                continue
            for col, label, colour, dash, mk in series:
                pts = [(ox + xpos(r["n"]), oy + ph - ph * gflops(r, col) / ytop)
                       for r in mine if not math.isnan(gflops(r, col))]
                if len(pts) > 1:
                    out.append('<polyline points="%s" fill="none" stroke="%s" stroke-width="2"%s/>'
                               % (" ".join("%.1f,%.1f" % p for p in pts), colour,
                                  ' stroke-dasharray="%s"' % dash if dash else ""))
                for px, py in pts:
                    out.append(marker(mk, px, py, colour))
            if any(r["check"] != "ok" for r in mine):
                out.append('<text x="%.1f" y="%.1f" text-anchor="middle" fill="#D55E00" '
                           'font-weight="bold">WRONG</text>' % (ox + pw / 2, oy + 16))
    out.append('</svg>')
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")
    print("chart.py: wrote " + sys.argv[2])


if __name__ == "__main__":
    main()
