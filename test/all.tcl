# all.tcl: run every test of sqlite-attention and print one total line.
#
#   ATTN_EXT=/abs/dist/attention.so ATTN_UNIT_DIR=/abs/build/unit tclsh test/all.tcl ?PATTERN?
#
# Each test/*.test file and each C unit-test program in $ATTN_UNIT_DIR runs in
# its own process, so a crash is one counted failure, not a lost run.  Every
# child ends with "N passed, N failed[, N skipped]"; a child that does not
# (a crash, a hang, a missing line) or exits non-zero with no failure counted
# is one failure.  Files whose first lines contain "# kernels: all" run once
# per kernel level the CPU supports (ATTN_KERNEL=scalar, avx2, avx512), the
# others once at the best level; the same for unit programs whose source
# test/unit/NAME.c says "kernels: all" near its top.  ATTN_WRAP prefixes every child command (the
# valgrind target uses it).  The last line is the total; the exit status is 1
# if anything failed.

set testdir [file dirname [file normalize [info script]]]
set pattern [expr {[llength $argv] ? [lindex $argv 0] : "*"}]
set tclsh [info nameofexecutable]
set wrap [expr {[info exists env(ATTN_WRAP)] ? $env(ATTN_WRAP) : ""}]
set timeout [expr {[auto_execok timeout] ne "" ? [list timeout 900] : ""}]

set total(pass) 0
set total(fail) 0
set total(skip) 0

# Kernel levels: ask the extension what this CPU supports.
proc kernel_levels {} {
  package require sqlite3
  sqlite3 kdb :memory:
  kdb enable_load_extension 1
  kdb eval {SELECT load_extension($::env(ATTN_EXT))}
  set dbg [kdb one {SELECT attn_debug()}]
  kdb close
  regexp -line {^kernels available: (.*)$} $dbg -> levels
  return $levels
}
set levels [kernel_levels]

# Run one child; add its counts to the totals.
proc run_child {label cmd {envset {}}} {
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
  set rc [catch {exec {*}$::timeout {*}$::wrap {*}$cmd 2>@1} out opts]
  set ms [expr {[clock milliseconds] - $t0}]
  dict for {k old} $saved {
    if {[lindex $old 0]} { set ::env($k) [lindex $old 1] } else { unset -nocomplain ::env($k) }
  }
  set pass 0; set fail 0; set skip 0; set found 0
  foreach line [split $out \n] {
    if {[regexp {^(\d+) passed, (\d+) failed(?:, (\d+) skipped)?$} $line -> p f s]} {
      set pass $p; set fail $f; set skip [expr {$s eq "" ? 0 : $s}]; set found 1
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
      if {[string match "SKIP *" $line]} { puts "  $label: $line" }
    }
  }
  puts [format "%-40s %5d passed, %d failed, %d skipped  (%.1fs)" $label $pass $fail $skip [expr {$ms/1000.0}]]
  flush stdout
  incr total(pass) $pass
  incr total(fail) $fail
  incr total(skip) $skip
}

foreach f [lsort [glob -directory $testdir *.test]] {
  set name [file tail $f]
  if {![string match $pattern $name]} continue
  set fd [open $f]; set head [read $fd 2000]; close $fd
  if {[string match "*# kernels: all*" $head]} {
    foreach lvl $levels {
      run_child "$name \[$lvl\]" [list $tclsh $f] [list ATTN_KERNEL $lvl]
    }
  } else {
    run_child $name [list $tclsh $f]
  }
}

if {[info exists env(ATTN_UNIT_DIR)] && [file isdirectory $env(ATTN_UNIT_DIR)]} {
  foreach bin [lsort [glob -nocomplain -directory $env(ATTN_UNIT_DIR) *]] {
    if {![file executable $bin] || [file isdirectory $bin]} continue
    set name "unit/[file tail $bin]"
    if {![string match $pattern [file tail $bin]] && $pattern ne "*"} continue
    set src [file join $testdir unit [file tail $bin].c]
    set head ""
    if {[file exists $src]} { set fd [open $src]; set head [read $fd 2000]; close $fd }
    if {[string match "*kernels: all*" $head]} {
      foreach lvl $levels {
        run_child "$name \[$lvl\]" [list $bin] [list ATTN_KERNEL $lvl]
      }
    } else {
      run_child $name [list $bin]
    }
  }
}

if {$total(skip) > 0} {
  puts "$total(pass) passed, $total(fail) failed, $total(skip) skipped"
} else {
  puts "$total(pass) passed, $total(fail) failed"
}
exit [expr {$total(fail) > 0}]
