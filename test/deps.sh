#!/bin/sh
# deps.sh: install what a make target needs, or say exactly what to run.
#
#   sh test/deps.sh test       compiler, SQLite headers and shell, Tcl + tclsqlite
#   sh test/deps.sh valgrind   valgrind
#   sh test/deps.sh fuzz       clang and its libFuzzer runtime
#   sh test/deps.sh bench      python3 with numpy and torch (optional: prints a
#                              note and exits 0 when they cannot be installed)
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

case "${1:-test}" in
  test)
    need gcc command -v ${CC:-cc}
    need make command -v make
    need libsqlite3-dev has_header sqlite3.h
    need sqlite3 command -v sqlite3
    need tcl command -v tclsh
    need libsqlite3-tcl tcl_sqlite
    need python3 test -x /usr/bin/python3
    ;;
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
    need libopenblas0-pthread sh -c 'ls /usr/lib/*/openblas-pthread/libblas.so.3' ;;
  *) echo "deps.sh: unknown target '$1'" >&2; exit 2 ;;
esac

[ -z "$want" ] && exit 0
cmd="apt-get install -y --no-install-recommends$want"
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "deps.sh: installing$want"
  if DEBIAN_FRONTEND=noninteractive $cmd >/tmp/attn-apt.log 2>&1 \
     || { apt-get update >>/tmp/attn-apt.log 2>&1 && DEBIAN_FRONTEND=noninteractive $cmd >>/tmp/attn-apt.log 2>&1; }; then
    exit 0
  fi
  echo "deps.sh: apt-get failed (log: /tmp/attn-apt.log)" >&2
fi
if [ "${1:-test}" = bench ]; then
  echo "deps.sh: the references need:$want; run: sudo $cmd  (continuing without them)" >&2
  exit 0
fi
echo "deps.sh: missing:$want" >&2
echo "deps.sh: run: sudo $cmd" >&2
exit 1
