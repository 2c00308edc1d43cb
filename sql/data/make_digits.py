#!/usr/bin/python3
"""make_digits.py: build sql/data/digits.sql from Debian's python3-sklearn.

The demo uses attention as a soft k-nearest-neighbour classifier on a real
public data set: scikit-learn's copy of the UCI "Optical Recognition of
Handwritten Digits" test set (1797 images, 8x8 pixels with values 0..16, so
64-dim vectors, labels 0..9).  This script fetches the Debian package, takes
sklearn/datasets/data/digits.csv.gz out of it (scikit-learn itself is never
imported or installed) and writes one readable SQL file that loads with plain
sqlite3, no extension needed:

    CREATE TABLE digits(id INTEGER PRIMARY KEY,   -- 1..1797, CSV row order
                        label INTEGER,            -- 0..9
                        split TEXT,               -- 'test' iff id % 5 = 0
                        pixels TEXT);             -- JSON array of 64 ints

Run from anywhere (needs apt-get and dpkg-deb; network to the Debian mirror):

    /usr/bin/python3 sql/data/make_digits.py              # downloads the .deb
    /usr/bin/python3 sql/data/make_digits.py --deb FILE   # uses a .deb you have

The output is deterministic for a given package version.
"""

import argparse
import csv
import glob
import gzip
import hashlib
import io
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "digits.sql")
PKG = "python3-sklearn"
CSV = "usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz"
DESCR = "usr/lib/python3/dist-packages/sklearn/datasets/descr/digits.rst"
COPYRIGHT = "usr/share/doc/python3-sklearn/copyright"
UCI_PAGE = "https://archive.ics.uci.edu/dataset/80/optical+recognition+of+handwritten+digits"


def run(cmd, cwd=None):
    return subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.PIPE,
                          universal_newlines=True).stdout


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()


def descr_lines(text):
    """The provenance lines of sklearn's digits.rst, verbatim."""
    keep = []
    for line in text.splitlines():
        s = line.strip()
        if s.startswith((":Number of Instances", ":Attribute Information",
                         ":Creator", ":Date")):
            keep.append(s)
    m = re.search(r"This is a copy of the test set of the UCI ML hand-written "
                  r"digits datasets\s+(\S+)", text)
    if not m:
        sys.exit("make_digits: %s no longer says where the data comes from" % DESCR)
    keep.append("This is a copy of the test set of the UCI ML hand-written "
                "digits datasets")
    keep.append(m.group(1))
    return keep


def copyright_stanza(text):
    """The 'Files: *' stanza of the Debian copyright file, verbatim."""
    for para in text.split("\n\n"):
        if para.startswith("Files: *\n"):
            return para.strip().splitlines()
    sys.exit("make_digits: no 'Files: *' stanza in %s" % COPYRIGHT)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--deb", help="use this python3-sklearn .deb instead of "
                                  "running apt-get download")
    ap.add_argument("-o", "--output", default=OUT)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="make_digits.") as tmp:
        if args.deb:
            deb = os.path.abspath(args.deb)
        else:
            run(["apt-get", "download", PKG], cwd=tmp)
            debs = glob.glob(os.path.join(tmp, PKG + "_*.deb"))
            if len(debs) != 1:
                sys.exit("make_digits: apt-get download gave %r" % debs)
            deb = debs[0]
        version = run(["dpkg-deb", "-f", deb, "Version"]).strip()
        root = os.path.join(tmp, "x")
        run(["dpkg", "-x", deb, root])
        with open(os.path.join(root, CSV), "rb") as f:
            raw = f.read()
        with open(os.path.join(root, DESCR), encoding="utf-8") as f:
            descr = descr_lines(f.read())
        with open(os.path.join(root, COPYRIGHT), encoding="utf-8") as f:
            stanza = copyright_stanza(f.read())
        deb_sha = sha256(deb)
        deb_name = os.path.basename(deb)

    rows = list(csv.reader(io.StringIO(gzip.decompress(raw).decode("ascii"))))
    rows = [r for r in rows if r]
    if len(rows) != 1797:
        sys.exit("make_digits: expected 1797 rows, found %d" % len(rows))
    data = []
    for i, r in enumerate(rows, start=1):
        if len(r) != 65:
            sys.exit("make_digits: row %d has %d fields, expected 65" % (i, len(r)))
        px = [int(float(v)) for v in r[:64]]
        label = int(float(r[64]))
        if not all(0 <= p <= 16 for p in px) or not 0 <= label <= 9:
            sys.exit("make_digits: row %d out of range" % i)
        data.append((i, label, "test" if i % 5 == 0 else "train", px))

    n_test = sum(1 for d in data if d[2] == "test")
    out = io.StringIO()
    w = out.write
    w("-- digits.sql: the handwritten digits data set for the sqlite-attention demo.\n")
    w("--\n")
    w("-- 1797 images of handwritten digits, 8x8 pixels with values 0..16, as a\n")
    w("-- JSON array of 64 integers (row by row), with their label 0..9.  Plain\n")
    w("-- SQL: loads without the extension (.read sql/data/digits.sql); rerunning\n")
    w("-- it replaces the table.  attn_vec(pixels) turns a row into a vector.\n")
    w("--\n")
    w("-- split: fixed and deterministic, 'test' iff id %% 5 = 0 (%d rows), else\n" % n_test)
    w("-- 'train' (%d rows).  id is the 1-based row number in the source CSV.\n"
      % (len(data) - n_test))
    w("--\n")
    w("-- Source: scikit-learn's copy of the UCI ML hand-written digits data set,\n")
    w("-- file sklearn/datasets/data/digits.csv.gz of the Debian package\n")
    w("-- %s version %s (%s,\n" % (PKG, version, deb_name))
    w("-- sha256 %s;\n" % deb_sha)
    w("-- digits.csv.gz sha256 %s).\n" % hashlib.sha256(raw).hexdigest())
    w("-- sklearn/datasets/descr/digits.rst says:\n")
    for line in descr:
        w("--     %s\n" % line)
    w("-- UCI page: %s\n" % UCI_PAGE)
    w("--\n")
    w("-- Licence: the UCI Machine Learning Repository distributes its data sets\n")
    w("-- under CC BY 4.0 (Creative Commons Attribution 4.0 International); we\n")
    w("-- could not re-read the licence line of the page above when this file was\n")
    w("-- made, so check it there.  Attribution: E. Alpaydin, C. Kaynak (1998),\n")
    w("-- Optical Recognition of Handwritten Digits, UCI Machine Learning\n")
    w("-- Repository.  The .deb records\n")
    w("-- no separate licence for the data file; its copyright file\n")
    w("-- (usr/share/doc/%s/copyright) covers all of scikit-learn with:\n" % PKG)
    for line in stanza:
        w("--     %s\n" % line)
    w("--\n")
    w("-- Generated by sql/data/make_digits.py; regenerate with:\n")
    w("--     /usr/bin/python3 sql/data/make_digits.py\n")
    w("-- (runs `apt-get download %s` and `dpkg -x`; do not edit by hand).\n" % PKG)
    w("\n")
    w("BEGIN;\n")
    w("DROP TABLE IF EXISTS digits;\n")
    w("CREATE TABLE digits(\n"
      "  id     INTEGER PRIMARY KEY,\n"
      "  label  INTEGER NOT NULL CHECK (label BETWEEN 0 AND 9),\n"
      "  split  TEXT NOT NULL CHECK (split IN ('train', 'test')),\n"
      "  pixels TEXT NOT NULL\n"
      ");\n")
    for i, label, split, px in data:
        w("INSERT INTO digits VALUES(%d,%d,'%s','[%s]');\n"
          % (i, label, split, ",".join(map(str, px))))
    w("COMMIT;\n")

    tmp_out = args.output + ".tmp"
    with open(tmp_out, "w", encoding="ascii", newline="\n") as f:
        f.write(out.getvalue())
    os.replace(tmp_out, args.output)
    print("make_digits: wrote %s: %d rows (%d train, %d test), %s %s, %d bytes"
          % (args.output, len(data), len(data) - n_test, n_test, PKG, version,
             len(out.getvalue())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
