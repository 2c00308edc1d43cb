# all.tcl: run every test of sqlite-attention and print one total line.
#
#   ATTN_EXT=/abs/dist/attention.so ATTN_UNIT_DIR=/abs/build/unit tclsh test/all.tcl ?PATTERN?
#
# Each test/*.test file and each C unit-test program in $ATTN_UNIT_DIR runs in
# its own process, so a crash is one counted failure, not a lost run.  Every
# child ends with "N passed, N failed[, N skipped]"; a child that does not
# (a crash, a hang, a missing line) or exits non-zero with no failure counted
# is one failure.  A child's lines that start with "SKIP " or "NOTE " (a
# figure worth seeing, such as the OOM driver's count of injection points)
# are shown under its summary line.  Files whose first lines contain
# "# kernels: all" run once per kernel level the build has (attn_debug()'s
# "kernels built:", e.g. scalar, avx2, avx512), with ATTN_KERNEL set to it;
# a level this CPU cannot run ("kernels available:") is one skipped run,
# named.  The other files run once at the best level; the same for unit
# programs whose source test/unit/NAME.c says "kernels: all" near its top.  ATTN_WRAP prefixes every child command (the valgrind target
# uses it); ATTN_WRAP_UNIT, when set, replaces it for the unit programs (make
# valgrind checks their leaks, not tclsh's).  The last line is the total;
# the exit status is 1 if anything failed.  The line before it says how many
# distinct test cases ran (the sum over the files of the "cases: N" each
# child prints: distinct test names in Tcl, assertion sites in C; a file
# run at several levels or passes counts once), the kernel levels run and
# skipped, and the optional tools found and missing.
#
# A second pass under AddressSanitizer + UndefinedBehaviorSanitizer (make
# test does this): when ATTN_ASAN_EXT names an ASan+UBSan build of the
# extension (and ATTN_ASAN_UNIT_DIR its unit programs), every test file and
# unit program runs again after the first pass, labelled "asan ...", with
# that build, LD_PRELOAD=$ATTN_ASAN_PRELOAD (the sanitizer runtimes, which
# must come first in a tclsh), ASAN_OPTIONS, UBSAN_OPTIONS (any report
# aborts the child) and ATTN_SANITIZER=asan.  Each pass then prints a
# subtotal ("pass asan: ..."), and the last line is still the one total of
# both passes.

set testdir [file dirname [file normalize [info script]]]
set pattern [expr {[llength $argv] ? [lindex $argv 0] : "*"}]
set tclsh [info nameofexecutable]
set wrap [expr {[info exists env(ATTN_WRAP)] ? $env(ATTN_WRAP) : ""}]
set wrapunit [expr {[info exists env(ATTN_WRAP_UNIT)] ? $env(ATTN_WRAP_UNIT) : $wrap}]
# A child that runs longer than this is stopped and counted as failed (a
# hang): 15 minutes, or 4 hours under valgrind (make valgrind), which runs
# the C unit programs 20 to 100 times slower (unit/attention_engine at the
# scalar level took over 15 minutes on a loaded host).
set limit [expr {[info exists env(ATTN_SANITIZER)] && $env(ATTN_SANITIZER) eq "valgrind" ? 14400 : 900}]
set timeout [expr {[auto_execok timeout] ne "" ? [list timeout $limit] : ""}]

set total(pass) 0
set total(fail) 0
set total(skip) 0

# Kernel levels: ask the extension which levels this build has and which
# of them this CPU runs, under ATTN_WRAP when it is set (valgrind emulates
# no AVX-512, so a wrapped child sees fewer levels than this process would).
proc kernel_levels {} {
  set script {
    package require sqlite3
    sqlite3 kdb :memory:
    kdb enable_load_extension 1
    kdb eval {SELECT load_extension($::env(ATTN_EXT))}
    puts [kdb one {SELECT attn_debug()}]
    kdb close
  }
  set dbg [exec {*}$::wrap $::tclsh << $script 2>@1]
  regexp -line {^kernels available: (.*)$} $dbg -> levels
  if {![regexp -line {^kernels built: (.*)$} $dbg -> built]} { set built $levels }
  # the level chosen by default (emu16 is available but never chosen)
  if {![regexp -line {^kernel (\S+)$} $dbg -> chosen]} { set chosen [lindex $levels end] }
  return [list $levels $built $chosen]
}
lassign [kernel_levels] levels built chosen
set levels_run {}
set levels_skipped {}

# Optional tools some tests use when they are installed (each test that
# needs one skips with its reason otherwise): name, probe, Debian package.
proc tool_probe {args} { expr {![catch {exec {*}$args} -]} }
proc optional_tools {} {
  set found {}; set missing {}
  # The Python the tests use: Debian's, where its packages go.
  set py [expr {[file executable /usr/bin/python3] ? "/usr/bin/python3" : [auto_execok python3]}]
  if {$py eq ""} { set py python3 }
  foreach {name probe pkg} [list \
    sqlite3       {auto_execok sqlite3}                          sqlite3 \
    python3       [list tool_probe $py -c {}]                    python3 \
    torch         [list tool_probe $py -c {import torch, numpy}] python3-torch \
    node          {auto_execok node}                             nodejs \
    npm           {auto_execok npm}                              npm \
    cc            {auto_execok cc}                               gcc \
    xmllint       {auto_execok xmllint}                          libxml2-utils \
    rsvg-convert  {auto_execok rsvg-convert}                     librsvg2-bin \
    chromium      {auto_execok chromium}                         chromium \
    firefox-esr   {auto_execok firefox-esr}                      firefox-esr \
  ] {
    set r [{*}$probe]
    if {$r ne "" && $r ne "0"} {
      lappend found $name
    } else {
      lappend missing "$name ($pkg)"
    }
  }
  list $found $missing
}

# Distinct cases of each child label (without the pass prefix and the
# level): the largest count any run of it reported.
array set cases {}
proc base_label {label} {
  regsub {^asan } $label {} label
  regsub { \[[^]]*\]$} $label {} label
  return $label
}

# A kernel level this build has but this CPU cannot run: one skipped run
# of LABEL, counted and named.
proc skip_level {label lvl} {
  global total levels_skipped
  incr total(skip)
  if {$lvl ni $levels_skipped} { lappend levels_skipped $lvl }
  puts "  SKIP $label \[$lvl\]: this build has the $lvl kernels, but this CPU cannot run them (attn_debug() lists the kernels built and available)"
  puts [format "%-40s %5d passed, %d failed, %d skipped" "$label \[$lvl\]" 0 0 1]
}

# Run one child; add its counts to the totals.
proc run_child {label cmd {envset {}} {wrap ""}} {
  global total
  # Set the child's variables one by one and put each back afterwards:
  # replacing the whole ::env array would detach it from the process
  # environment (Tcl 8.6), and later children would not see changes.
  set saved {}
  foreach {k v} $envset {
    if {![dict exists $saved $k]} {
      dict set saved $k [expr {[info exists ::env($k)] ? [list 1 $::env($k)] : [list 0 {}]}]
    }
    set ::env($k) $v
  }
  set t0 [clock milliseconds]
  if {$wrap eq ""} { set wrap $::wrap }
  set rc [catch {exec {*}$::timeout {*}$wrap {*}$cmd 2>@1} out opts]
  set ms [expr {[clock milliseconds] - $t0}]
  dict for {k old} $saved {
    if {[lindex $old 0]} { set ::env($k) [lindex $old 1] } else { unset -nocomplain ::env($k) }
  }
  set pass 0; set fail 0; set skip 0; set found 0
  foreach line [split $out \n] {
    if {[regexp {^(\d+) passed, (\d+) failed(?:, (\d+) skipped)?$} $line -> p f s]} {
      set pass $p; set fail $f; set skip [expr {$s eq "" ? 0 : $s}]; set found 1
    }
    if {[regexp {^cases: (\d+)$} $line -> nc]} {
      set b [base_label $label]
      if {![info exists ::cases($b)] || $::cases($b) < $nc} { set ::cases($b) $nc }
    }
  }
  if {!$found || ($rc && $fail == 0)} {
    incr fail
    set why [expr {$found ? "exited abnormally" : "ended without a summary line (crash or hang)"}]
    puts "FAIL $label: $why"
  }
  if {$fail} {
    puts "---- output of $label ----"
    puts [string trimright $out]
    puts "----"
  } else {
    foreach line [split $out \n] {
      if {[string match "SKIP *" $line] || [string match "NOTE *" $line]} {
        puts "  $label: $line"
      }
    }
  }
  puts [format "%-40s %5d passed, %d failed, %d skipped  (%.1fs)" $label $pass $fail $skip [expr {$ms/1000.0}]]
  flush stdout
  incr total(pass) $pass
  incr total(fail) $fail
  incr total(skip) $skip
}

# Run every test file and unit program once, prefixing labels with PREFIX
# and setting the environment of PASSENV in each child; those marked
# "kernels: all" once per level of BUILT (a level the CPU lacks: skipped).
proc run_pass {prefix unitdir passenv built} {
  global testdir pattern levels tclsh
  foreach f [lsort [glob -directory $testdir *.test]] {
    set name [file tail $f]
    if {![string match $pattern $name]} continue
    set fd [open $f]; set head [read $fd 2000]; close $fd
    if {[string match "*# kernels: all*" $head]} {
      foreach lvl $built {
        if {$lvl ni $levels} { skip_level $prefix$name $lvl; continue }
        if {$lvl ni $::levels_run} { lappend ::levels_run $lvl }
        run_child "$prefix$name \[$lvl\]" [list $tclsh $f] [list {*}$passenv ATTN_KERNEL $lvl]
      }
    } else {
      if {$::chosen ni $::levels_run} { lappend ::levels_run $::chosen }
      run_child $prefix$name [list $tclsh $f] $passenv
    }
  }

  if {$unitdir ne "" && [file isdirectory $unitdir]} {
    foreach bin [lsort [glob -nocomplain -directory $unitdir *]] {
      if {![file executable $bin] || [file isdirectory $bin]} continue
      set name "${prefix}unit/[file tail $bin]"
      if {![string match $pattern [file tail $bin]] && $pattern ne "*"} continue
      set src [file join $testdir unit [file tail $bin].c]
      set head ""
      if {[file exists $src]} { set fd [open $src]; set head [read $fd 2000]; close $fd }
      if {[string match "*kernels: all*" $head]} {
        foreach lvl $built {
          if {$lvl ni $levels} { skip_level $name $lvl; continue }
          if {$lvl ni $::levels_run} { lappend ::levels_run $lvl }
          run_child "$name \[$lvl\]" [list $bin] [list {*}$passenv ATTN_KERNEL $lvl] $::wrapunit
        }
      } else {
        if {$::chosen ni $::levels_run} { lappend ::levels_run $::chosen }
        run_child $name [list $bin] $passenv $::wrapunit
      }
    }
  }
}

# The counts so far, as a subtotal line that all.tcl's own parser (and a
# reader looking for the last line) does not take for the total.
proc pass_subtotal {label before} {
  global total
  array set b $before
  puts [format "pass %s: %d passed, %d failed, %d skipped" $label \
        [expr {$total(pass)-$b(pass)}] [expr {$total(fail)-$b(fail)}] \
        [expr {$total(skip)-$b(skip)}]]
}

set unitdir [expr {[info exists env(ATTN_UNIT_DIR)] ? $env(ATTN_UNIT_DIR) : ""}]
set asan [expr {[info exists env(ATTN_ASAN_EXT)] && $env(ATTN_ASAN_EXT) ne ""}]
set before [array get total]
run_pass "" $unitdir {} $built
if {$asan} {
  # The sanitizer pass runs the level files at the reference level and at
  # the one this CPU picks; the other levels (the emulations, and levels
  # chosen only by ATTN_KERNEL) share the driver and the engine with them,
  # ran in the plain pass, and unit/kernels checks every level's kernels
  # under the sanitizers too.
  set asanlevels [lsort -unique [list scalar $chosen]]
  puts "NOTE asan pass: the level files at [join $asanlevels {, }] (every level ran in the plain pass)"
  pass_subtotal plain $before
  set before [array get total]
  set asanunit [expr {[info exists env(ATTN_ASAN_UNIT_DIR)] ? $env(ATTN_ASAN_UNIT_DIR) : ""}]
  run_pass "asan " $asanunit [list \
      ATTN_EXT $env(ATTN_ASAN_EXT) ATTN_SANITIZER asan \
      LD_PRELOAD [expr {[info exists env(ATTN_ASAN_PRELOAD)] ? $env(ATTN_ASAN_PRELOAD) : ""}] \
      ASAN_OPTIONS detect_leaks=0:abort_on_error=1 \
      UBSAN_OPTIONS print_stacktrace=1:halt_on_error=1] $asanlevels
  pass_subtotal asan $before
}

# One line before the total: distinct cases, the kernel levels run (and
# those skipped), the optional tools found (and those missing).
set ncases 0
foreach b [array names cases] { incr ncases $cases($b) }
lassign [optional_tools] tools_found tools_missing
set levels_run [lmap l $built {if {$l ni $levels_run} continue; set l}]
set lv [expr {[llength $levels_run] ? [join $levels_run " "] : "none"}]
if {[llength $levels_skipped]} {
  append lv " (skipped, this CPU cannot run them: [join $levels_skipped { }])"
}
set tl [expr {[llength $tools_found] ? [join $tools_found " "] : "none"}]
if {[llength $tools_missing]} { append tl " (not found: [join $tools_missing {, }])" }
puts "$ncases distinct test cases; kernel levels run: $lv; optional tools found: $tl"

if {$total(skip) > 0} {
  puts "$total(pass) passed, $total(fail) failed, $total(skip) skipped"
} else {
  puts "$total(pass) passed, $total(fail) failed"
}
exit [expr {$total(fail) > 0}]
