# sqlite-attention: build, test, demo, benchmark.
#
#   make            dist/attention.so (the loadable extension)
#   make static     dist/libattention.a (built with -DSQLITE_CORE)
#   make test       install what is missing, then run every test
#   make demo       run sql/demo.sql in the sqlite3 shell
#   make asan       the Tcl suite under AddressSanitizer + UBSan
#   make valgrind   the Tcl suite under valgrind memcheck
#   make bench      speed against NumPy and PyTorch (not a test)
#
# BUILD and DIST name the output folders, so several builds can live side by
# side (make test BUILD=/tmp/b DIST=/tmp/d).

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
AR_OBJ   = $(patsubst %.c,$(BUILD)/static/%.o,$(SRC) $(EXT))
UNIT_SRC = $(sort $(wildcard test/unit/*.c))
UNIT_BIN = $(patsubst test/unit/%.c,$(BUILD)/unit/%,$(UNIT_SRC))

FLAGS_STR = $(CC) $(CFLAGS) $(WARN) $(BASE)

.PHONY: all static unit test demo asan valgrind bench deps clean

all: $(DIST)/attention.$(SO)

$(BUILD)/so/%.o: %.c $(HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) $(BASE) -DATTN_BUILD_FLAGS='"$(FLAGS_STR)"' -c $< -o $@

$(BUILD)/static/%.o: %.c $(HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) $(BASE) -DSQLITE_CORE \
	  -DATTN_BUILD_FLAGS='"$(FLAGS_STR) -DSQLITE_CORE"' -c $< -o $@

$(DIST)/attention.$(SO): $(SO_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(SHARED) -o $@ $(SO_OBJ) $(LIBS)

static: $(DIST)/libattention.a

$(DIST)/libattention.a: $(AR_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $(AR_OBJ)

# C unit tests of src/ (plain C, no SQLite) and C programs that link
# the static library with the system SQLite.
$(BUILD)/unit/%: test/unit/%.c $(DIST)/libattention.a test/unit/unit.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) $(BASE) -Isrc -Iext $< -o $@ \
	  $(DIST)/libattention.a -lsqlite3 $(LIBS)

unit: $(UNIT_BIN)

# The test command of the README.
test: deps all unit
	ATTN_EXT=$(abspath $(DIST)/attention.$(SO)) ATTN_UNIT_DIR=$(abspath $(BUILD)/unit) \
	  tclsh test/all.tcl

deps:
	@sh test/deps.sh test

demo: deps all
	sqlite3 :memory: -cmd '.load $(abspath $(DIST)/attention)' '.read sql/demo.sql'
	@echo "make demo: the heatmap of part 1 is $(abspath attention-map.svg)"

# AddressSanitizer + UndefinedBehaviorSanitizer build of the extension,
# loaded into tclsh with the ASan runtime preloaded.
ASAN_FLAGS = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
             -fno-sanitize-recover=undefined
asan: deps
	$(MAKE) all unit BUILD=$(BUILD)/asan DIST=$(BUILD)/asan/dist \
	  CFLAGS="$(ASAN_FLAGS)" LIBS="$(LIBS) -fsanitize=address,undefined"
	LD_PRELOAD="$$($(CC) -print-file-name=libasan.so) $$($(CC) -print-file-name=libubsan.so)" \
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	ATTN_EXT=$(abspath $(BUILD)/asan/dist/attention.$(SO)) \
	ATTN_UNIT_DIR=$(abspath $(BUILD)/asan/unit) ATTN_SANITIZER=asan \
	  tclsh test/all.tcl

valgrind: deps all unit
	@sh test/deps.sh valgrind
	ATTN_EXT=$(abspath $(DIST)/attention.$(SO)) ATTN_UNIT_DIR=$(abspath $(BUILD)/unit) \
	  ATTN_WRAP="valgrind --quiet --error-exitcode=99 --leak-check=no" \
	  ATTN_SANITIZER=valgrind tclsh test/all.tcl

# The benchmark (test/bench/): our attention through SQL and the C API
# against NumPy and PyTorch on the same data; prints a markdown table (also
# kept in $(BUILD)/bench/results.md).  BENCH_ARGS=--quick runs a subset.
bench: static
	@sh test/deps.sh bench
	@mkdir -p $(BUILD)/bench
	$(CC) $(CFLAGS) $(WARN) $(BASE) -Isrc test/bench/bench.c -o $(BUILD)/bench/bench \
	  $(DIST)/libattention.a -lsqlite3 $(LIBS)
	$(BUILD)/bench/bench test/bench/ref.py $(BENCH_ARGS) | tee $(BUILD)/bench/results.md

clean:
	rm -rf $(BUILD) $(DIST)
