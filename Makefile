# sqlite-attention: build, test, demo, benchmark.
#
#   make            dist/attention.so (the loadable extension)
#   make static     dist/libattention.a (built with -DSQLITE_CORE)
#   make amalgamation  dist/sqlite-attention.c and .h: the whole extension
#                   in one C file, and the engine's C API in one header
#   make python     dist/sqlite_attention-VERSION-py3-none-PLATFORM.whl
#   make npm        dist/sqlite-attention-VERSION.tgz (npm pack)
#   make install    the extension, the static library, the engine's headers
#                   and sqlite-attention.pc under PREFIX (/usr/local), into
#                   DESTDIR if set; make uninstall removes them
#   make test       install what is missing, then run every test
#   make demo       run sql/demo.sql in the sqlite3 shell
#   make asan       the Tcl suite under AddressSanitizer + UBSan (make test
#                   runs it too)
#   make valgrind   the Tcl suite under valgrind memcheck
#   make tsan       the threaded tests under ThreadSanitizer
#   make fuzz       each libFuzzer target of test/fuzz/ for FUZZ_SECONDS (60),
#                   then the random differential test for as long
#   make fuzz-quick the same for 10 seconds each (CI)
#   make bench      speed against ONNX Runtime, NumPy, PyTorch and the FMA
#                   peak (not a test)
#
# BUILD and DIST name the output folders, so several builds can live side by
# side (make test BUILD=/tmp/b DIST=/tmp/d).  Each compiled or linked file
# prints one short line ("CC src/attention.c"); make V=1 prints the full
# commands instead.

CC      ?= cc
CFLAGS  ?= -O2
WARN     = -Wall -Wextra
# -ffp-contract=off: no FMA contraction behind our back, so scalar code gives
# the same bits on every machine; the SIMD kernels use FMA explicitly.
BASE     = -std=c11 -D_DEFAULT_SOURCE -fPIC -ffp-contract=off \
           -fvisibility=hidden -pthread
LIBS     = -lm -lpthread

BUILD   ?= build
DIST    ?= dist

UNAME   := $(shell uname -s)
ifeq ($(UNAME),Darwin)
SO      := dylib
SHARED  := -dynamiclib
else
SO      := so
SHARED  := -shared
endif

SRC      = $(sort $(wildcard src/*.c))
EXT      = $(sort $(wildcard ext/*.c))
HDR      = $(wildcard src/*.h ext/*.h)
SO_OBJ   = $(patsubst %.c,$(BUILD)/so/%.o,$(SRC) $(EXT))
# src/ does not depend on SQLITE_CORE (only ext/ includes sqlite3ext.h):
# its objects serve both forms, so each is compiled once.
AR_OBJ   = $(patsubst %.c,$(BUILD)/so/%.o,$(SRC)) \
           $(patsubst %.c,$(BUILD)/static/%.o,$(EXT))
UNIT_SRC = $(sort $(wildcard test/unit/*.c))
UNIT_BIN = $(patsubst test/unit/%.c,$(BUILD)/unit/%,$(UNIT_SRC))

FLAGS_STR = $(CC) $(CFLAGS) $(WARN) $(BASE)

# Quiet build: $(call say,WHAT,FILE[,TAG]) starts a recipe line, printing
# "WHAT FILE [TAG]" (TAG defaults to the one a sub-build sets) in place of
# the command;
# with V=1 it is empty and make echoes the command as usual.
V   ?= 0
TAG ?=
say  = $(if $(filter 1,$(V)),,@printf '  %-6s %s%s\n' '$(1)' "$(2)" '$(if $(3)$(TAG), [$(or $(3),$(TAG))])';)
SUBMAKE = $(MAKE) --no-print-directory
Q    = $(if $(filter 1,$(V)),,@)

.PHONY: all static unit test demo asan asan-build valgrind tsan fuzz fuzz-quick \
        fuzz-build bench deps clean amalgamation amalgamation-build python npm \
        packages install uninstall test-build

all: $(DIST)/attention.$(SO)

$(BUILD)/so/%.o: %.c $(HDR)
	@mkdir -p $(dir $@)
	$(call say,CC,$<)$(CC) $(CFLAGS) $(WARN) $(BASE) -DATTN_BUILD_FLAGS='"$(FLAGS_STR)"' -c $< -o $@

$(BUILD)/static/%.o: %.c $(HDR)
	@mkdir -p $(dir $@)
	$(call say,CC,$< -DSQLITE_CORE)$(CC) $(CFLAGS) $(WARN) $(BASE) -DSQLITE_CORE \
	  -DATTN_BUILD_FLAGS='"$(FLAGS_STR) -DSQLITE_CORE"' -c $< -o $@

$(DIST)/attention.$(SO): $(SO_OBJ)
	@mkdir -p $(dir $@)
	$(call say,LD,$@)$(CC) $(SHARED) -o $@ $(SO_OBJ) $(LIBS)

static: $(DIST)/libattention.a

$(DIST)/libattention.a: $(AR_OBJ)
	@mkdir -p $(dir $@)
	@rm -f $@
	$(call say,AR,$@)ar rcs $@ $(AR_OBJ)

# C unit tests of src/ (plain C, no SQLite) and C programs that link
# the static library with the system SQLite.
$(BUILD)/unit/%: test/unit/%.c $(DIST)/libattention.a test/unit/unit.h
	@mkdir -p $(dir $@)
	$(call say,CC,$<)$(CC) $(CFLAGS) $(WARN) $(BASE) -Isrc -Iext $< -o $@ \
	  $(DIST)/libattention.a -lsqlite3 $(LIBS)

# fuzz_replay compiles the fuzz targets in: rebuild it when one changes.
$(BUILD)/unit/fuzz_replay: $(wildcard test/fuzz/*.c test/fuzz/*.h)

unit: $(UNIT_BIN)

# ---------------------------------------------------------------------------
# Packages (packaging/).  Each holds this build's dist/attention.$(SO) (or,
# for the single file, the sources) and the version of src/version.h.
VERSION := $(shell sed -n 's/^\#define ATTN_VERSION "\(.*\)"$$/\1/p' src/version.h)
ENGINE_HDR = $(sort $(wildcard src/*.h))

# The single-file build: every source the library is built from, in the
# order above, with its local #includes inlined (packaging/amalgamate.tcl,
# which also refuses a macro one file leaves defined for a later one), and
# the engine's headers in one.
AMALG = $(DIST)/sqlite-attention.c
amalgamation: $(AMALG)
$(AMALG): packaging/amalgamate.tcl $(SRC) $(EXT) $(HDR) $(wildcard LICENSE)
	@sh test/deps.sh amalgamation
	@mkdir -p $(dir $@)
	$(call say,GEN,$@ $(@:.c=.h))tclsh packaging/amalgamate.tcl $@ $(@:.c=.h) \
	  -headers "$(ENGINE_HDR)" $(SRC) $(EXT)
$(AMALG:.c=.h): $(AMALG)

# make test builds the single file the two ways its header comment gives,
# with warnings on (saved in .log files for test/amalgamation.test; a name
# two files define shows as a redefinition or a redundant declaration),
# into a folder of its own: attention.$(SO) and libattention.a, so the
# suite can run against them (ATTN_EXT=$(AMALG_DIR)/attention.$(SO)).
AMALG_DIR  = $(BUILD)/amalgamation
AMALG_WARN = -Wall -Wextra -Wredundant-decls
amalgamation-build: $(AMALG_DIR)/attention.$(SO) $(AMALG_DIR)/libattention.a
$(AMALG_DIR)/attention.$(SO): $(AMALG)
	@mkdir -p $(dir $@)
	$(call say,CC,$< -shared)$(CC) -O2 -fPIC $(SHARED) $(AMALG_WARN) $< -o $@ $(LIBS) \
	  2>$@.log; rc=$$?; cat $@.log >&2; exit $$rc
$(AMALG_DIR)/libattention.a: $(AMALG)
	@mkdir -p $(dir $@)
	$(call say,CC,$< -DSQLITE_CORE)$(CC) -O2 -DSQLITE_CORE $(AMALG_WARN) -c $< \
	  -o $(AMALG_DIR)/sqlite-attention.o 2>$@.log; rc=$$?; cat $@.log >&2; exit $$rc
	@rm -f $@
	$(call say,AR,$@)ar rcs $@ $(AMALG_DIR)/sqlite-attention.o

# The Python package (packaging/python/): a wheel built offline with the
# system's pip, setuptools and wheel (Debian's /usr/bin/python3 first).
# Its name carries the platform; the stamp file stands for it.
PYTHON  ?= $(firstword $(wildcard /usr/bin/python3) python3)
PY_SRC   = $(wildcard packaging/python/* packaging/python/sqlite_attention/*)
PY_STAGE = $(BUILD)/python/src
python: $(BUILD)/python/wheel.done
$(BUILD)/python/wheel.done: $(DIST)/attention.$(SO) $(PY_SRC) src/version.h $(wildcard LICENSE)
	@sh test/deps.sh python
	@rm -rf $(PY_STAGE) && mkdir -p $(PY_STAGE)/sqlite_attention
	@for f in $(patsubst packaging/python/%,%,$(PY_SRC)); do \
	  [ -f packaging/python/$$f ] || continue; \
	  sed 's/@VERSION@/$(VERSION)/g' packaging/python/$$f > $(PY_STAGE)/$$f || exit 1; \
	done
	@cp $(DIST)/attention.$(SO) $(PY_STAGE)/sqlite_attention/
	@$(if $(wildcard LICENSE),cp LICENSE $(PY_STAGE)/,:)
	@rm -f $(DIST)/sqlite_attention-$(VERSION)-*.whl
	$(call say,WHEEL,$(DIST)/sqlite_attention-$(VERSION)-*.whl)$(PYTHON) -m pip wheel \
	  --quiet --no-deps --no-build-isolation --no-index --disable-pip-version-check \
	  --wheel-dir $(DIST) $(PY_STAGE)
	@touch $@

# The npm package (packaging/npm/): npm pack of a folder with the extension,
# for the platform and CPU it was built on (node's names for them).
NPM_SRC   = $(wildcard packaging/npm/*)
NPM_STAGE = $(BUILD)/npm/package
NPM_TGZ   = $(DIST)/sqlite-attention-$(VERSION).tgz
npm: $(NPM_TGZ)
$(NPM_TGZ): $(DIST)/attention.$(SO) $(NPM_SRC) src/version.h $(wildcard LICENSE)
	@sh test/deps.sh npm
	@rm -rf $(NPM_STAGE) && mkdir -p $(NPM_STAGE)
	@os=$$(node -p process.platform) && cpu=$$(node -p process.arch) && \
	for f in $(notdir $(NPM_SRC)); do \
	  sed -e 's/@VERSION@/$(VERSION)/g' -e "s/@OS@/$$os/g" -e "s/@CPU@/$$cpu/g" \
	    packaging/npm/$$f > $(NPM_STAGE)/$$f || exit 1; \
	done
	@cp $(DIST)/attention.$(SO) $(NPM_STAGE)/
	@$(if $(wildcard LICENSE),cp LICENSE $(NPM_STAGE)/,:)
	$(call say,NPM,$@)cd $(NPM_STAGE) && npm pack --silent --offline --no-update-notifier \
	  --pack-destination $(abspath $(DIST)) >/dev/null

# make install: PREFIX (/usr/local), with LIBDIR, INCLUDEDIR, EXTDIR and
# PKGCONFIGDIR under it, each also settable; DESTDIR is prepended to every
# path written (for staging and packaging), never to the paths inside
# sqlite-attention.pc.
#   $(EXTDIR)/attention.$(SO)              the loadable extension
#   $(LIBDIR)/libsqlite-attention.a        the static library (-DSQLITE_CORE)
#   $(INCLUDEDIR)/sqlite-attention/*.h     the engine's headers (src/*.h)
#   $(PKGCONFIGDIR)/sqlite-attention.pc    pkg-config --cflags --libs sqlite-attention
PREFIX       ?= /usr/local
LIBDIR       ?= $(PREFIX)/lib
INCLUDEDIR   ?= $(PREFIX)/include
EXTDIR       ?= $(LIBDIR)/sqlite3
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
INSTALL      ?= install
# The .pc file's paths, relative to ${prefix} where they are under it.
pcpath = $(patsubst $(PREFIX)/%,$${prefix}/%,$(1))
install: all static
	$(call say,INSTALL,$(DESTDIR)$(PREFIX))$(INSTALL) -d $(DESTDIR)$(EXTDIR) $(DESTDIR)$(LIBDIR) \
	  $(DESTDIR)$(INCLUDEDIR)/sqlite-attention $(DESTDIR)$(PKGCONFIGDIR)
	$(Q)$(INSTALL) -m 755 $(DIST)/attention.$(SO) $(DESTDIR)$(EXTDIR)/attention.$(SO)
	$(Q)$(INSTALL) -m 644 $(DIST)/libattention.a $(DESTDIR)$(LIBDIR)/libsqlite-attention.a
	$(Q)$(INSTALL) -m 644 $(ENGINE_HDR) $(DESTDIR)$(INCLUDEDIR)/sqlite-attention/
	$(Q)sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(call pcpath,$(LIBDIR))|' \
	  -e 's|@INCLUDEDIR@|$(call pcpath,$(INCLUDEDIR))|' -e 's|@EXTDIR@|$(call pcpath,$(EXTDIR))|' \
	  -e 's|@VERSION@|$(VERSION)|' packaging/sqlite-attention.pc.in \
	  > $(DESTDIR)$(PKGCONFIGDIR)/sqlite-attention.pc
uninstall:
	rm -f $(DESTDIR)$(EXTDIR)/attention.$(SO) $(DESTDIR)$(LIBDIR)/libsqlite-attention.a \
	  $(DESTDIR)$(PKGCONFIGDIR)/sqlite-attention.pc
	rm -rf $(DESTDIR)$(INCLUDEDIR)/sqlite-attention

# What make test checks of the packages: the single file built both ways,
# the wheel, the npm tarball (when npm is there; the test says how to get
# it otherwise) and an install into $(BUILD)/install-root (PREFIX
# /opt/sqlite-attention, so both PREFIX and DESTDIR are exercised).
INSTALL_ROOT = $(BUILD)/install-root
packages: amalgamation-build python $(if $(shell command -v npm),npm) $(INSTALL_ROOT).done
$(INSTALL_ROOT).done: $(DIST)/attention.$(SO) $(DIST)/libattention.a $(ENGINE_HDR) \
                      packaging/sqlite-attention.pc.in Makefile
	@rm -rf $(INSTALL_ROOT)
	+$(Q)$(SUBMAKE) install DESTDIR=$(abspath $(INSTALL_ROOT)) PREFIX=/opt/sqlite-attention
	@touch $@

# The test command of the README: every test, then every test again under
# ASan+UBSan (test/all.tcl runs both passes and prints one total; NO_ASAN=1
# skips the second pass for a quick local run).
ASAN_RUN = ATTN_ASAN_EXT=$(abspath $(BUILD)/asan/dist/attention.$(SO)) \
  ATTN_ASAN_UNIT_DIR=$(abspath $(BUILD)/asan/unit) \
  ATTN_ASAN_PRELOAD="$$($(CC) -print-file-name=libasan.so) $$($(CC) -print-file-name=libubsan.so)"
# The builds run in parallel, one job per core (JOBS=1 for one at a time).
JOBS ?= $(shell nproc 2>/dev/null || echo 1)
test:
	+$(Q)$(SUBMAKE) -j$(JOBS) --output-sync=target test-build
	$(call say,TEST,test/all.tcl)ATTN_EXT=$(abspath $(DIST)/attention.$(SO)) ATTN_UNIT_DIR=$(abspath $(BUILD)/unit) \
	  ATTN_DIST=$(abspath $(DIST)) ATTN_BUILD=$(abspath $(BUILD)) \
	  $(if $(NO_ASAN),,$(ASAN_RUN)) tclsh test/all.tcl

test-build: deps all unit packages $(if $(NO_ASAN),,asan-build)

deps:
	@sh test/deps.sh test
	@sh test/deps.sh browser

demo: deps all
	sqlite3 :memory: -cmd '.load $(abspath $(DIST)/attention)' '.read sql/demo.sql'
	@echo "make demo: the heatmap of part 1 is $(abspath attention-map.svg)"
	@echo "make demo: the explorer of part 1 is $(abspath attention-explorer.html)"

# AddressSanitizer + UndefinedBehaviorSanitizer build of the extension,
# loaded into tclsh with the ASan runtime preloaded.
# KD_NO_INLINE: the kernels' tiles as functions (the same arithmetic, so the
# same bits), which compile in seconds under the sanitizers, not minutes.
ASAN_FLAGS = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
             -fno-sanitize-recover=undefined -DKD_NO_INLINE
asan-build:
	+$(Q)$(SUBMAKE) all unit BUILD=$(BUILD)/asan DIST=$(BUILD)/asan/dist TAG=asan \
	  CFLAGS="$(ASAN_FLAGS)" LIBS="$(LIBS) -fsanitize=address,undefined"
asan: deps asan-build
	$(call say,TEST,test/all.tcl,asan)LD_PRELOAD="$$($(CC) -print-file-name=libasan.so) $$($(CC) -print-file-name=libubsan.so)" \
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	ATTN_EXT=$(abspath $(BUILD)/asan/dist/attention.$(SO)) \
	ATTN_UNIT_DIR=$(abspath $(BUILD)/asan/unit) ATTN_SANITIZER=asan \
	  tclsh test/all.tcl

# valgrind: memcheck on every child.  tclsh keeps Tcl's own memory at exit,
# so leaks are not checked there (the OOM driver and static_link check the
# extension's through sqlite3_memory_used); the C unit programs are checked
# for definite and indirect leaks too.  No suppressions are needed.
VALGRIND = valgrind --quiet --error-exitcode=99
valgrind: deps all unit
	@sh test/deps.sh valgrind
	$(call say,TEST,test/all.tcl,valgrind)ATTN_EXT=$(abspath $(DIST)/attention.$(SO)) ATTN_UNIT_DIR=$(abspath $(BUILD)/unit) \
	  ATTN_WRAP="$(VALGRIND) --leak-check=no" \
	  ATTN_WRAP_UNIT="$(VALGRIND) --leak-check=full --errors-for-leak-kinds=definite,indirect" \
	  ATTN_SANITIZER=valgrind tclsh test/all.tcl

# ThreadSanitizer: the C programs that run threads (two connections in two
# threads, threads=N inside one query, sqlite3_interrupt from another
# thread), then the Tcl files that use threads=N, in tclsh with the TSan
# runtime preloaded; extension and programs built with -fsanitize=thread.
# The system SQLite is not instrumented; its pthread mutexes are seen.
# test/tsan.supp lists races in test code only, each with its reason.
TSAN_UNITS = concurrency attention_engine interrupt threads
TSAN_ENV   = TSAN_OPTIONS="halt_on_error=1 exitcode=66 suppressions=$(abspath test/tsan.supp)" \
             ATTN_SANITIZER=tsan
tsan: deps
	+$(Q)$(SUBMAKE) all $(addprefix $(BUILD)/tsan/unit/,$(TSAN_UNITS)) BUILD=$(BUILD)/tsan TAG=tsan \
	  DIST=$(BUILD)/tsan/dist CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=thread" \
	  LIBS="$(LIBS) -fsanitize=thread"
	@for t in $(TSAN_UNITS); do \
	  echo "== tsan: unit/$$t"; \
	  $(TSAN_ENV) $(BUILD)/tsan/unit/$$t || exit 1; \
	done
	@echo "== tsan: attention*.test in tclsh"
	$(call say,TEST,test/all.tcl 'attention*.test',tsan)LD_PRELOAD="$$($(CC) -print-file-name=libtsan.so)" $(TSAN_ENV) \
	  ATTN_EXT=$(abspath $(BUILD)/tsan/dist/attention.$(SO)) tclsh test/all.tcl 'attention*.test'

# Fuzzing with libFuzzer (clang, Debian's libclang-rt-dev): one program per
# target of test/fuzz/, the extension compiled in with ASan+UBSan.  New
# inputs go to $(BUILD)/fuzz/corpus/<target> (the repository keeps only the
# seeds and the regressions); a crash is saved in $(BUILD)/fuzz/ and stops
# its target (the others still run, then make fails).  test/fuzz/run.sh
# prints the executions of each target.
FUZZ_TARGETS = fuzz_json fuzz_blob fuzz_matrix fuzz_npy fuzz_safetensors fuzz_sql
FUZZ_SECONDS ?= 60
FUZZ_CC     ?= clang
FUZZ_OPT     = -O1
FUZZ_FLAGS   = -g $(FUZZ_OPT) -fno-omit-frame-pointer -fsanitize=address,undefined \
               -fno-sanitize-recover=undefined -DKD_NO_INLINE
FUZZ_OBJ     = $(patsubst %.c,$(BUILD)/fuzz/obj/%.o,$(SRC) $(EXT))
FUZZ_HDR     = test/fuzz/fuzz.h test/fuzz/fuzz_tensorfile.h
.SECONDARY: $(FUZZ_OBJ)

$(BUILD)/fuzz/obj/%.o: %.c $(HDR)
	@mkdir -p $(dir $@)
	$(call say,CC,$<)$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link $(BASE) -DSQLITE_CORE -c $< -o $@

$(BUILD)/fuzz/bin/%: test/fuzz/%.c $(FUZZ_OBJ) $(FUZZ_HDR)
	@mkdir -p $(dir $@)
	$(call say,LD,$@)$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer $(BASE) $< $(FUZZ_OBJ) -o $@ \
	  -lsqlite3 $(LIBS)

fuzz-build:
	@sh test/deps.sh fuzz
	+$(Q)$(SUBMAKE) $(addprefix $(BUILD)/fuzz/bin/,$(FUZZ_TARGETS)) TAG=fuzz

# The random differential test of attention against its float64 reference
# (test/unit/differential.c), built like the targets (ASan+UBSan), drawing
# cases for FUZZ_SECONDS after them (make test runs 300 of them).
$(BUILD)/fuzz/bin/differential: test/unit/differential.c $(FUZZ_OBJ) test/unit/unit.h
	@mkdir -p $(dir $@)
	$(call say,LD,$@)$(FUZZ_CC) $(FUZZ_FLAGS) $(BASE) -Isrc $< $(FUZZ_OBJ) -o $@ \
	  -lsqlite3 $(LIBS)

fuzz: fuzz-build
	+$(Q)$(SUBMAKE) $(BUILD)/fuzz/bin/differential TAG=fuzz
	sh test/fuzz/run.sh $(BUILD)/fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)
	ATTN_DIFF_SECONDS=$(FUZZ_SECONDS) $(BUILD)/fuzz/bin/differential

fuzz-quick:
	+$(Q)$(SUBMAKE) fuzz FUZZ_SECONDS=10

# The benchmark (test/bench/): our attention through SQL and the C API
# against ONNX Runtime, NumPy and PyTorch on the same data and against the
# FMA peak; prints markdown tables, also kept in $(BUILD)/bench/results.md,
# with results.tsv and the chart results.svg beside it.  BENCH_ARGS=--quick
# runs a subset, BENCH_ARGS='--only "d=128"' the rows whose description
# contains that.  Fails when an output is WRONG (the chart is written anyway).
bench: static
	@sh test/deps.sh bench
	@mkdir -p $(BUILD)/bench
	$(CC) $(CFLAGS) $(WARN) $(BASE) -Isrc test/bench/bench.c -o $(BUILD)/bench/bench \
	  $(DIST)/libattention.a -lsqlite3 $(LIBS)
	$(BUILD)/bench/bench test/bench/ref.py --out $(BUILD)/bench $(BENCH_ARGS); rc=$$?; \
	  /usr/bin/python3 test/bench/chart.py $(BUILD)/bench/results.tsv $(BUILD)/bench/results.svg \
	  && echo "make bench: $(abspath $(BUILD)/bench)/results.md, results.tsv, results.svg"; \
	  exit $$rc

clean:
	rm -rf $(BUILD) $(DIST)
