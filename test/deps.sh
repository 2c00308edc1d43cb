#!/bin/sh
# deps.sh: install what a make target needs, or say exactly what to run.
#
#   sh test/deps.sh test       compiler, SQLite headers and shell, Tcl + tclsqlite,
#                              what the packages are built and tested with, and
#                              the clients of test/clients.test (APSW, sqlite-utils)
#   sh test/deps.sh amalgamation  tclsh (packaging/amalgamate.tcl)
#   sh test/deps.sh python     pip, setuptools, wheel and venv for /usr/bin/python3
#   sh test/deps.sh npm        npm (Debian's nodejs and npm; better-sqlite3 12,
#                              which the tests use, needs Node 20 or later)
#   sh test/deps.sh valgrind   valgrind
#   sh test/deps.sh fuzz       clang and its libFuzzer runtime
#   sh test/deps.sh bench      python3 with numpy, torch and onnx, OpenBLAS, and
#                              onnxruntime-node from npm into test/.cache/ort
#                              (optional: prints a note and exits 0 when they
#                              cannot be installed)
#   sh test/deps.sh browser    Debian's chromium and firefox-esr, the DejaVu fonts,
#                              node and npm, and puppeteer-core from npm into
#                              test/.cache/browser (which never downloads a browser
#                              of its own), for test/explorer_browser.test
#                              (optional, like bench)
#
# Debian/Ubuntu package names.  As root with apt-get, missing packages are
# installed; otherwise the script prints the apt-get command and fails.
set -u
want=""
need() {  # need PACKAGE TEST-COMMAND...
  pkg=$1; shift
  if ! "$@" >/dev/null 2>&1; then want="$want $pkg"; fi
}
has_header() { [ -f "/usr/include/$1" ] || echo "#include <$1>" | ${CC:-cc} -E - >/dev/null 2>&1; }
# (tclsh reading a script from stdin exits 0 after an error: test it)
tcl_sqlite() { echo 'exit [catch {package require sqlite3}]' | tclsh; }
py_mod() { /usr/bin/python3 -c "import $1"; }
python_build() {
  need python3 test -x /usr/bin/python3
  need python3-pip /usr/bin/python3 -m pip --version
  need python3-setuptools py_mod setuptools
  need python3-wheel py_mod wheel.bdist_wheel
  need python3-venv py_mod ensurepip
}

target=${1:-test}
case "$target" in
  test)
    need gcc command -v ${CC:-cc}
    need make command -v make
    need libsqlite3-dev has_header sqlite3.h
    need sqlite3 command -v sqlite3
    need tcl command -v tclsh
    need libsqlite3-tcl tcl_sqlite
    python_build
    need pkgconf command -v pkg-config
    need python3-apsw py_mod apsw
    need sqlite-utils command -v sqlite-utils
    ;;
  amalgamation)
    need tcl command -v tclsh ;;
  python)
    python_build ;;
  npm)
    need npm command -v npm ;;
  valgrind)
    need valgrind command -v valgrind ;;
  fuzz)
    need clang command -v clang
    need libclang-rt-dev sh -c 'ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a' ;;
  bench)
    need python3-numpy py_mod numpy
    need python3-torch py_mod torch
    # Debian's numpy links the reference BLAS (~3 GFLOP/s) unless an
    # optimised libblas.so.3 is installed; OpenBLAS is what the README's
    # figures were measured against.
    need libopenblas0-pthread sh -c 'ls /usr/lib/*/openblas-pthread/libblas.so.3'
    # ONNX Runtime: the models are built with Debian's onnx, run by the npm
    # package onnxruntime-node (installed below, after apt-get).
    need python3-onnx py_mod onnx
    need nodejs command -v node
    need npm command -v npm
    ;;
  browser)
    need chromium command -v chromium
    need firefox-esr command -v firefox-esr
    need fonts-dejavu-core test -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
    need nodejs command -v node
    need npm command -v npm
    ;;
  *) echo "deps.sh: unknown target '$1'" >&2; exit 2 ;;
esac

# bench, after apt-get: onnxruntime-node from npm into test/.cache/ort
# (git-ignored; kept, so later runs need no network).  Its CPU library is
# inside the package; ONNXRUNTIME_NODE_INSTALL=skip stops its install
# script from downloading GPU builds.  Installed into a folder of its own,
# then renamed into place, so no run sees a half-finished install.
ORT_VERSION=1.30.0
ort_dir="$(cd "$(dirname "$0")" && pwd)/.cache/ort"
ort_ok() {  # ort_ok NODE_MODULES: that version is complete there
  grep -q "\"version\": *\"$ORT_VERSION\"" "$1/onnxruntime-node/package.json" 2>/dev/null \
    && ls "$1"/onnxruntime-node/bin/napi-v*/linux/*/onnxruntime_binding.node >/dev/null 2>&1
}
ort_install() {
  ort_ok "$ort_dir/node_modules" && return 0
  ort_cmd="ONNXRUNTIME_NODE_INSTALL=skip npm install --no-save --prefix test/.cache/ort onnxruntime-node@$ORT_VERSION"
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "deps.sh: ONNX Runtime needs node and npm: run: sudo apt-get install -y nodejs npm && $ort_cmd  (continuing without it)" >&2
    return 0
  fi
  tmp="$ort_dir-install-$$"
  rm -rf "$tmp" && mkdir -p "$tmp" || return 0
  echo "deps.sh: installing onnxruntime-node@$ORT_VERSION with npm into test/.cache/ort"
  if ONNXRUNTIME_NODE_INSTALL=skip npm install --no-save --no-audit --no-fund \
       --prefix "$tmp" "onnxruntime-node@$ORT_VERSION" >/tmp/attn-npm.log 2>&1 \
     && ort_ok "$tmp/node_modules"; then
    rm -rf "$ort_dir" && mv "$tmp" "$ort_dir"
  else
    echo "deps.sh: npm could not install onnxruntime-node (log: /tmp/attn-npm.log); run: $ort_cmd  (continuing without it)" >&2
  fi
  rm -rf "$tmp"
  return 0
}
# browser, after apt-get: puppeteer-core from npm into test/.cache/browser
# (git-ignored, kept for offline runs), installed aside and renamed into
# place like onnxruntime-node.  PUPPETEER_SKIP_DOWNLOAD: puppeteer-core
# downloads nothing, and this makes sure of it.
PPT_VERSION=24.43.1
ppt_dir="$(cd "$(dirname "$0")" && pwd)/.cache/browser"
ppt_ok() {
  grep -q "\"version\": *\"$PPT_VERSION\"" "$1/puppeteer-core/package.json" 2>/dev/null
}
ppt_install() {
  ppt_ok "$ppt_dir/node_modules" && return 0
  ppt_cmd="PUPPETEER_SKIP_DOWNLOAD=1 npm install --no-save --prefix test/.cache/browser puppeteer-core@$PPT_VERSION"
  if ! command -v npm >/dev/null 2>&1; then
    echo "deps.sh: the browser test needs npm: run: sudo apt-get install -y nodejs npm && $ppt_cmd  (continuing without it)" >&2
    return 0
  fi
  tmp="$ppt_dir-install-$$"
  rm -rf "$tmp" && mkdir -p "$tmp" || return 0
  echo "deps.sh: installing puppeteer-core@$PPT_VERSION with npm into test/.cache/browser"
  if PUPPETEER_SKIP_DOWNLOAD=1 npm install --no-save --no-audit --no-fund \
       --prefix "$tmp" "puppeteer-core@$PPT_VERSION" >/tmp/attn-npm-browser.log 2>&1 \
     && ppt_ok "$tmp/node_modules"; then
    rm -rf "$ppt_dir" && mv "$tmp" "$ppt_dir"
  else
    echo "deps.sh: npm could not install puppeteer-core (log: /tmp/attn-npm-browser.log); run: $ppt_cmd  (continuing without it)" >&2
  fi
  rm -rf "$tmp"
  return 0
}
done_ok() {
  if [ "$target" = bench ]; then ort_install; fi
  if [ "$target" = browser ]; then ppt_install; fi
  exit 0
}

[ -z "$want" ] && done_ok
cmd="apt-get install -y --no-install-recommends$want"
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "deps.sh: installing$want"
  if DEBIAN_FRONTEND=noninteractive $cmd >/tmp/attn-apt.log 2>&1 \
     || { apt-get update >>/tmp/attn-apt.log 2>&1 && DEBIAN_FRONTEND=noninteractive $cmd >>/tmp/attn-apt.log 2>&1; }; then
    done_ok
  fi
  echo "deps.sh: apt-get failed (log: /tmp/attn-apt.log)" >&2
fi
if [ "${1:-test}" = bench ]; then
  echo "deps.sh: the references need:$want; run: sudo $cmd  (continuing without them)" >&2
  done_ok
fi
if [ "${1:-test}" = browser ]; then
  echo "deps.sh: the browser test needs:$want; run: sudo $cmd  (continuing without it)" >&2
  done_ok
fi
echo "deps.sh: missing:$want" >&2
echo "deps.sh: run: sudo $cmd" >&2
exit 1
