# tester.tcl: the test harness of sqlite-attention, in plain tclsh with
# Debian's tclsqlite (package require sqlite3).
#
# A test file sources this file, runs its tests and calls finish_test, which
# prints the one line "N passed, N failed[, N skipped]" that test/all.tcl
# reads, and exits non-zero on any failure.  The extension to test is
# $env(ATTN_EXT); every file starts with a fresh in-memory database "db"
# with it loaded.
#
#   do_test NAME SCRIPT EXPECTED          result of SCRIPT equals EXPECTED
#   do_execsql_test NAME SQL EXPECTED     rows of SQL (as a flat list)
#   do_catchsql_test NAME SQL EXPECTED    {0 rows} or {1 message}
#   do_error_test NAME SQL CODE MESSAGE   error with SQLite code and exact text
#   do_vec_test NAME SCRIPT EXPECTED ?ATOL? ?RTOL?
#                                         SCRIPT returns a float32 BLOB close
#                                         to the list EXPECTED
#   do_num_test NAME SCRIPT EXPECTED ?ATOL? ?RTOL?
#                                         the same for a list of numbers
#   skip_test NAME REASON                 counted as skipped, with the reason
#   do_bound_test NAME KIND SCRIPT REF BOUND
#                                         SCRIPT returns a float32 BLOB whose
#                                         element i is within BOUND_i of REF_i
#   do_bound_num_test NAME KIND SCRIPT REF BOUND
#                                         the same for a list of numbers
#   bound_ok KIND GOT REF BOUND           the same for lists, as a boolean
#
# Precision: every bound comparison records its error as a fraction of the
# bound under KIND (a name such as "attention output"); finish_test prints
# one line "NOTE precision KIND: worst error F of the bound (N values)" per
# kind, so a run shows how much of each derived bound the code uses.
#
# Cases: finish_test also prints "cases: N", the number of distinct test
# names that passed, failed or were skipped (test/all.tcl sums them).
#
# Vectors: [f32 {1 2 3}] makes a float32 BLOB (bind it as @var so it goes in
# as a BLOB), [vec BLOB] reads one back as a list of doubles.  vec_close
# compares like numpy.isclose: |a-b| <= atol + rtol*|b| for every element.

package require sqlite3

set ::npass 0
set ::nfail 0
set ::nskip 0
array set ::tester_cases {}
array set ::tester_worst {}
set ::testdir [file dirname [file normalize [info script]]]
set ::rootdir [file dirname $::testdir]
if {![info exists ::env(ATTN_EXT)]} {
  set ::env(ATTN_EXT) [file join $::rootdir dist attention.so]
}
set ::ext [file normalize $::env(ATTN_EXT)]

# Load the extension into connection DB.
proc load_ext {db} {
  $db enable_load_extension 1
  $db eval {SELECT load_extension($::ext)}
  $db enable_load_extension 0
}

# Close "db" (if open) and open a fresh in-memory database with the extension.
proc reopen_db {{file :memory:}} {
  catch {db close}
  sqlite3 db $file
  load_ext db
}

proc test_pass {name} {
  incr ::npass
  set ::tester_cases($name) 1
}

proc test_fail {name msg} {
  incr ::nfail
  set ::tester_cases($name) 1
  puts stderr "FAIL $name: $msg"
}

proc do_test {name script expected} {
  set rc [catch {uplevel 1 $script} result]
  if {$rc == 1} {
    test_fail $name "error: $result"
  } elseif {$result ne $expected} {
    test_fail $name "expected \[$expected\]\n     got \[$result\]"
  } else {
    test_pass $name
  }
}

proc do_execsql_test {name sql expected} {
  uplevel 1 [list do_test $name [list db eval $sql] [list {*}$expected]]
}

proc catchsql {sql {dbname db}} {
  set rc [catch {uplevel 1 [list $dbname eval $sql]} result]
  list $rc $result
}

proc do_catchsql_test {name sql expected} {
  uplevel 1 [list do_test $name [list catchsql $sql] $expected]
}

# SQL must fail with SQLite result code CODE (a number: 1 ERROR, 7 NOMEM,
# 9 INTERRUPT, 18 TOOBIG) and exactly MESSAGE.
proc do_error_test {name sql code message} {
  set rc [catch {uplevel 1 [list db eval $sql]} result]
  if {$rc == 0} {
    test_fail $name "expected error \[$message\], got rows \[$result\]"
  } elseif {[db errorcode] != $code || $result ne $message} {
    test_fail $name "expected error $code \[$message\]\n     got error [db errorcode] \[$result\]"
  } else {
    test_pass $name
  }
}

proc skip_test {name reason} {
  incr ::nskip
  set ::tester_cases($name) 1
  puts "SKIP $name: $reason"
}

# Is every |GOT_i - REF_i| <= BOUND_i?  Records the worst |GOT-REF|/BOUND of
# KIND (a bound of 0 demands equality).  Non-numbers and NaN fail.
proc bound_ok {kind got ref bound} {
  if {[llength $got] != [llength $ref] || [llength $ref] != [llength $bound]} {
    return 0
  }
  if {![info exists ::tester_worst($kind)]} { set ::tester_worst($kind) {0.0 0 {}} }
  lassign $::tester_worst($kind) w n at
  set ok 1
  foreach x $got y $ref e $bound {
    if {![string is double -strict $x] || [string match -nocase *nan* $x]} {
      return 0
    }
    set d [expr {abs(double($x) - double($y))}]
    set f [expr {$d == 0.0 ? 0.0 : ($e > 0.0 ? $d/$e : inf)}]
    if {$f > $w} { set w $f; set at [list $x $y $e] }
    if {$d > $e} { set ok 0 }
    incr n
  }
  set ::tester_worst($kind) [list $w $n $at]
  return $ok
}

# SCRIPT returns a float32 BLOB (do_bound_test) or a list of numbers
# (do_bound_num_test); element i must be within BOUND_i of REF_i.
proc do_bound_test {name kind script ref bound} {
  set rc [catch {uplevel 1 $script} result]
  if {$rc == 1} { test_fail $name "error: $result"; return }
  if {[catch {vec $result} v]} {
    test_fail $name "result is not a float32 blob: $v"
    return
  }
  check_bound $name $kind $v $ref $bound
}
proc do_bound_num_test {name kind script ref bound} {
  set rc [catch {uplevel 1 $script} result]
  if {$rc == 1} { test_fail $name "error: $result"; return }
  check_bound $name $kind $result $ref $bound
}
proc check_bound {name kind got ref bound} {
  if {[bound_ok $kind $got $ref $bound]} {
    test_pass $name
    return
  }
  set msg "[llength $got] elements, expected [llength $ref]"
  if {[llength $got] == [llength $ref]} {
    set i 0
    foreach x $got y $ref e $bound {
      if {![string is double -strict $x] || abs($x-$y) > $e} {
        set msg "element $i is $x, the reference $y: differs by [expr {[string is double -strict $x] ? abs($x-$y) : {?}}], more than the bound $e"
        break
      }
      incr i
    }
  }
  test_fail $name "not within the bound: $msg"
}

# The worst error of each kind as a fraction of its bound.
proc precision_notes {} {
  foreach kind [lsort [array names ::tester_worst]] {
    lassign $::tester_worst($kind) w n at
    puts [format "NOTE precision %s: worst error %.3f of the bound (%d values)" \
              $kind $w $n]
  }
}

# A float32 BLOB from a list of numbers.
proc f32 {lst} {
  binary format r* $lst
}

# The elements of a float32 BLOB as a list of doubles (exact).
proc vec {blob} {
  if {[string length $blob] % 4} { error "vec: blob of [string length $blob] bytes" }
  binary scan $blob r* v
  return $v
}

# Is every element of list A within atol + rtol*|b| of list B?
proc vec_close {a b {atol 1e-6} {rtol 1e-5}} {
  if {[llength $a] != [llength $b]} { return 0 }
  foreach x $a y $b {
    if {![string is double -strict $x] || ![string is double -strict $y]} { return 0 }
    if {$x ne $x || [string match -nocase *nan* $x]} { return 0 }
    if {abs($x - $y) > $atol + $rtol*abs($y)} { return 0 }
  }
  return 1
}

# Largest |a-b| between two lists of equal length.
proc vec_maxdiff {a b} {
  set m 0.0
  foreach x $a y $b { set d [expr {abs($x-$y)}]; if {$d > $m} { set m $d } }
  return $m
}

# SCRIPT returns a float32 BLOB whose elements are close to list EXPECTED.
proc do_vec_test {name script expected {atol 1e-6} {rtol 1e-5}} {
  set rc [catch {uplevel 1 $script} result]
  if {$rc == 1} {
    test_fail $name "error: $result"
  } elseif {[catch {vec $result} v]} {
    test_fail $name "result is not a float32 blob: $v"
  } else {
    check_close $name $v $expected $atol $rtol
  }
}

# SCRIPT returns a list of numbers close to list EXPECTED.
proc do_num_test {name script expected {atol 1e-6} {rtol 1e-5}} {
  set rc [catch {uplevel 1 $script} result]
  if {$rc == 1} {
    test_fail $name "error: $result"
  } else {
    check_close $name $result $expected $atol $rtol
  }
}

proc check_close {name got expected atol rtol} {
  if {[vec_close $got $expected $atol $rtol]} {
    test_pass $name
  } else {
    test_fail $name "not within atol=$atol rtol=$rtol of the reference\n     expected [llength $expected] \[[lrange $expected 0 7]\]\n     got [llength $got] \[[lrange $got 0 7]\]"
  }
}

# Print the summary line all.tcl reads, and exit.
proc finish_test {} {
  catch {db close}
  precision_notes
  puts "cases: [array size ::tester_cases]"
  if {$::nskip > 0} {
    puts "$::npass passed, $::nfail failed, $::nskip skipped"
  } else {
    puts "$::npass passed, $::nfail failed"
  }
  flush stdout
  exit [expr {$::nfail > 0}]
}

reopen_db
