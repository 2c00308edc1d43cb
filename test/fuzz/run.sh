#!/bin/sh
# run.sh: run libFuzzer targets one after another, for a bounded time each.
#
#   sh test/fuzz/run.sh BUILD_FUZZ_DIR SECONDS TARGET...
#
# Each target BUILD_FUZZ_DIR/bin/TARGET runs for SECONDS seconds on one core
# with its seed corpus (test/fuzz/corpus/TARGET) and its regressions
# (test/fuzz/regressions/TARGET) as read-only inputs; what it finds goes to
# BUILD_FUZZ_DIR/corpus/TARGET, its log to BUILD_FUZZ_DIR/TARGET.log, a
# crashing input to BUILD_FUZZ_DIR/crash-TARGET-*.  The last lines are one
# summary line per target (executions, speed, corpus size, crashes), also
# kept in BUILD_FUZZ_DIR/results.txt.  Exit status 1 if any target crashed.
#
# A crash: reproduce with BUILD_FUZZ_DIR/bin/TARGET FILE, fix it, then keep
# the input as test/fuzz/regressions/TARGET/<short-name> (make test replays
# every file there through test/unit/fuzz_replay.c).
set -u
dir=$1; secs=$2; shift 2
here=$(dirname "$0")
status=0
: > "$dir/results.txt"
for t in "$@"; do
  case $t in
    fuzz_matrix|fuzz_safetensors) maxlen=8192 ;;
    *) maxlen=4096 ;;
  esac
  mkdir -p "$dir/corpus/$t"
  seeds="$here/corpus/$t"
  [ -d "$here/regressions/$t" ] && seeds="$seeds $here/regressions/$t"
  echo "== $t: $secs s"
  # -malloc_limit_mb: a single allocation over 512 MB is a bug here (inputs
  # are a few KB), reported as a crash.
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
  "$dir/bin/$t" -max_total_time="$secs" -timeout=10 -max_len=$maxlen \
      -rss_limit_mb=2048 -malloc_limit_mb=512 -print_final_stats=1 \
      -artifact_prefix="$dir/crash-$t-" "$dir/corpus/$t" $seeds \
      > "$dir/$t.log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/$t.log" | tail -1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/$t.log" | tail -1)
  ncorp=$(ls "$dir/corpus/$t" | wc -l)
  if [ $rc -ne 0 ]; then
    status=1
    line="$t: CRASH after ${execs:-?} executions (exit $rc), see $dir/$t.log and $dir/crash-$t-*"
    tail -40 "$dir/$t.log"
  else
    line="$t: ${execs:-?} executions in $secs s (${speed:-?}/s), corpus $ncorp new inputs, 0 crashes"
  fi
  echo "$line" >> "$dir/results.txt"
done
echo "== fuzz results"
cat "$dir/results.txt"
exit $status
