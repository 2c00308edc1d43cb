# amalgamate.tcl: write sqlite-attention as one C file and one header.
#
#   tclsh packaging/amalgamate.tcl OUT.c OUT.h -headers {HDR...} SOURCE.c...
#
# OUT.c is every SOURCE.c in the order given (the Makefile passes the
# sources it compiles: src/*.c, then ext/*.c), each local #include "..."
# replaced by the file it names, so that
#
#   cc -O2 -fPIC -shared OUT.c -o attention.so -lm -lpthread
#
# builds the loadable extension and "cc -DSQLITE_CORE -c OUT.c" the form
# linked into a program, with no other file.  OUT.h is the headers HDR (the
# engine's C API, src/*.h) that are guarded as a whole, in one file: a
# header without a guard is a template that the sources include with their
# own macros, not something a program includes.
#
# How the sources are joined:
#   - A header that is guarded as a whole (#ifndef X / #define X ... #endif)
#     is inlined where it is first included and left out afterwards; any
#     other included file (a template included several times with different
#     macros) is inlined at every #include.
#   - #include <...> and quoted includes that are not files of the tree
#     (sqlite3ext.h) stay as they are, between ATTN_SYSTEM_BEGIN/END.
#   - LICENSE (of the current directory, the repository root) opens both
#     files as a comment, since the licence must travel with every copy.
#   - What the Makefile gives every file on the command line is set at the
#     top: _DEFAULT_SOURCE (BASE's -D_DEFAULT_SOURCE), no floating-point
#     contraction (-ffp-contract=off, so the scalar code gives the same bits
#     as the separate build) and hidden visibility for all but the entry
#     point (-fvisibility=hidden; system headers are declared with default
#     visibility, or their functions would not link).  A feature macro that
#     a source defines before its includes (#define _FILE_OFFSET_BITS 64)
#     must come before the first system header of the whole file, so it is
#     moved to the top too.
#
# Checked, because one translation unit is not the same as several: a
# #pragma GCC target or optimize (or clang attribute) must sit between
# push_options and pop_options of its own file, or the later files would be
# compiled with it (AVX2 code in the portable kernels, say); a macro
# that a source file (or a template it includes) defines and leaves defined
# at its end must not appear in any later source, where it would silently
# replace that file's own name, or redefine its macro.  The fix is in the
# source: #undef the macro at the end of its file, or rename it.  Static
# names defined twice are the compiler's to report (a redefinition error;
# two tentative definitions "static int x;" merge silently, so the test
# compiles OUT.c with -Wredundant-decls).  Any problem exits 1 with a
# message naming both files; nothing is written then.

proc usage {} {
  puts stderr "usage: tclsh packaging/amalgamate.tcl OUT.c OUT.h -headers {HDR...} SOURCE.c..."
  exit 2
}
if {[llength $argv] < 5 || [lindex $argv 2] ne "-headers"} usage
lassign $argv outC outH - headers
set sources [lrange $argv 4 end]
set problems {}

proc slurp {path} {
  set fd [open $path]
  fconfigure $fd -translation lf
  set text [read $fd]
  close $fd
  return $text
}

# A path as the tree names it: relative to the current directory (the
# repository root), with "." and ".." resolved.
proc tree_path {path} {
  set here [file normalize .]
  set full [file normalize $path]
  if {[string first $here/ $full] != 0} { return $full }
  return [string range $full [string length $here/] end]
}

# The text with comments and string and character literals blanked out,
# for finding names.
proc code_only {text} {
  regsub -all {/\*.*?\*/} $text " " text
  regsub -all {//[^\n]*} $text " " text
  regsub -all {"(?:[^"\\\n]|\\.)*"} $text {""} text
  regsub -all {'(?:[^'\\\n]|\\.)*'} $text {''} text
  return $text
}

# Is the file guarded as a whole?  Its first directive is #ifndef G, the
# next #define G, and its last #endif.
proc guarded {path} {
  set code [string trim [code_only [slurp $path]]]
  expr {[regexp {^#\s*ifndef\s+(\w+)\s*\n\s*#\s*define\s+(\w+)} $code -> g1 g2]
        && $g1 eq $g2 && [regexp {#\s*endif[^\n]*$} $code]}
}

set seen [dict create]     ;# guarded headers inlined so far
set wrapSystem 1           ;# put system includes between ATTN_SYSTEM_BEGIN/END
set hoisted {}             ;# feature-macro lines moved to the top
set version ""

# Append the lines of PATH, with its local includes inlined, to the list in
# variable OUTVAR.  OWNVAR collects the macro directives of PATH and of the
# unguarded files it includes ({define NAME} / {undef NAME}, in order): the
# macros of one source file.
proc inline {path outVar ownVar} {
  upvar 1 $outVar out $ownVar own
  global seen hoisted version wrapSystem
  set isGuarded [guarded $path]
  lappend out "/************** Begin file $path **************/"
  foreach line [split [string trimright [slurp $path] \n] \n] {
    if {[regexp {^\s*#\s*include\s*"([^"]+)"} $line -> inc]} {
      set target [tree_path [file join [file dirname $path] $inc]]
      if {[file isfile $target]} {
        if {[dict exists $seen $target]} {
          lappend out "/* #include \"$inc\": $target is above */"
        } else {
          if {[guarded $target]} { dict set seen $target 1 }
          inline $target out [expr {[guarded $target] ? "::unused" : "own"}]
        }
        continue
      }
    }
    if {$wrapSystem && [regexp {^\s*#\s*include\s*[<"]} $line]} {
      lappend out "ATTN_SYSTEM_BEGIN" $line "ATTN_SYSTEM_END"
      continue
    }
    if {[regexp {^\s*#\s*define\s+(_[A-Z]\w*)\s+(.*?)\s*$} $line -> name value]} {
      lappend hoisted [list $name $value $path]
      lappend out "/* #define $name $value: at the top of this file */"
      continue
    }
    if {[regexp {^\s*#\s*define\s+ATTN_VERSION\s+"([^"]+)"} $line -> v]} {
      set version $v
    }
    if {!$isGuarded} {
      if {[regexp {^\s*#\s*define\s+(\w+)} $line -> name]} {
        lappend own [list define $name]
      } elseif {[regexp {^\s*#\s*undef\s+(\w+)} $line -> name]} {
        lappend own [list undef $name]
      } elseif {[regexp {^\s*#\s*pragma\s+(?:GCC|clang)\s+(push_options|pop_options|target|optimize)\M} $line -> what]} {
        lappend own [list pragma $what]
      } elseif {[regexp {^\s*#\s*pragma\s+clang\s+attribute\s+(push|pop)\M} $line -> what]} {
        lappend own [list pragma ${what}_options]
      }
    }
    lappend out $line
  }
  lappend out "/************** End file $path **************/"
}

# Join the sources, noting for each the macros it leaves defined.
set body {}
set left {}        ;# {source {macro...}} in order
foreach src $sources {
  set src [tree_path $src]
  if {![file isfile $src]} { lappend problems "no such source file: $src"; continue }
  set part {}
  set own {}
  inline $src part own
  set live [dict create]
  set depth 0
  foreach d $own {
    lassign $d what name
    switch -- $what {
      define { dict set live $name 1 }
      undef  { dict unset live $name }
      pragma {
        switch -- $name {
          push_options { incr depth }
          pop_options  { incr depth -1 }
          default {
            if {$depth <= 0} {
              lappend problems "$src sets #pragma GCC $name outside push_options/pop_options:\
                  it would apply to every later file too"
            }
          }
        }
      }
    }
  }
  if {$depth != 0} {
    lappend problems "$src ends with [expr {abs($depth)}] #pragma push_options/pop_options\
        unbalanced: the options would apply to every later file too"
  }
  lappend left [list $src [dict keys $live] [join $part \n]]
  lappend body {*}$part
}

# A macro a source leaves defined must not be a name of a later source.
for {set i 0} {$i < [llength $left]} {incr i} {
  lassign [lindex $left $i] src live
  if {![llength $live]} continue
  for {set j [expr {$i+1}]} {$j < [llength $left]} {incr j} {
    lassign [lindex $left $j] later - text
    set names [dict create]
    foreach w [regexp -all -inline {\m[A-Za-z_]\w*} [code_only $text]] { dict set names $w 1 }
    foreach m $live {
      if {[dict exists $names $m]} {
        lappend problems "macro $m, defined in $src and still defined at its end, is a name in\
            $later too: #undef it at the end of $src (or rename it)"
      }
    }
  }
}

# Feature macros: one value each.
set features [dict create]
foreach h $hoisted {
  lassign $h name value path
  if {[dict exists $features $name] && [lindex [dict get $features $name] 0] ne $value} {
    lappend problems "feature macro $name is [lindex [dict get $features $name] 0] in\
        [lindex [dict get $features $name] 1] but $value in $path"
  }
  dict set features $name [list $value $path]
}

# The header: the engine's API, each guarded header once.
set seen [dict create]
set wrapSystem 0
set hbody {}
foreach h $headers {
  set h [tree_path $h]
  if {![file isfile $h]} { lappend problems "no such header: $h"; continue }
  # A header without a guard is a template that sources include with their
  # own macros (kernels_driver.h), not an API to include on its own.
  if {[dict exists $seen $h] || ![guarded $h]} continue
  dict set seen $h 1
  inline $h hbody ::unused
}
if {$version eq ""} { lappend problems "no #define ATTN_VERSION \"...\" in the sources" }

if {[llength $problems]} {
  foreach p $problems { puts stderr "amalgamate.tcl: $p" }
  exit 1
}

# The licence, which must travel with every copy: LICENSE of the tree, as a
# comment at the top of both files.
set licence ""
if {[file isfile LICENSE]} {
  foreach line [split [string trimright [slurp LICENSE]] \n] {
    append licence [string trimright "** $line"] \n
  }
  set licence "/*\n$licence*/\n"
}

# A list of paths for a comment: " a b c" with "\n**" where a line is full.
proc wrap_list {paths} {
  set out ""
  set width 0
  foreach p $paths {
    if {$width + [string length $p] > 72} { append out "\n**"; set width 0 }
    append out " $p"
    incr width [expr {[string length $p] + 1}]
  }
  return $out
}
set srcList [wrap_list $sources]
set prologue [string map [list @VERSION@ $version @SOURCES@ $srcList] {/*
** sqlite-attention.c: sqlite-attention @VERSION@ in one C file (the amalgamation).
**
** Generated by packaging/amalgamate.tcl (make amalgamation) from
**@SOURCES@
** (do not edit: change those files).
** Licence: MIT, as below.
**
** The loadable extension:
**   cc -O2 -fPIC -shared sqlite-attention.c -o attention.so -lm -lpthread
** Linked into a program with SQLite (register it with
** sqlite3_auto_extension((void(*)(void))sqlite3_attention_init)):
**   cc -O2 -DSQLITE_CORE -c sqlite-attention.c
** sqlite-attention.h declares the engine's C API (no SQLite needed).
*/}]
set lines [list $prologue [string trimright $licence] {#ifndef _DEFAULT_SOURCE
# define _DEFAULT_SOURCE 1
#endif}]
dict for {name vp} $features {
  lappend lines "#ifndef $name" "# define $name [lindex $vp 0]" "#endif"
}
lappend lines {#ifndef ATTN_BUILD_FLAGS
# define ATTN_BUILD_FLAGS "sqlite-attention.c: -ffp-contract=off -fvisibility=hidden"
#endif
/* No floating-point contraction (the Makefile's -ffp-contract=off). */
#if defined(__clang__)
# pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
# pragma GCC optimize("fp-contract=off")
#endif
/* Only the entry point is exported (the Makefile's -fvisibility=hidden);
** system headers keep default visibility. */
#if defined(__GNUC__) && !defined(_WIN32)
# define ATTN_SYSTEM_BEGIN _Pragma("GCC visibility push(default)")
# define ATTN_SYSTEM_END   _Pragma("GCC visibility pop")
# pragma GCC visibility push(hidden)
#else
# define ATTN_SYSTEM_BEGIN
# define ATTN_SYSTEM_END
#endif}
lappend lines {*}$body
lappend lines {#if defined(__GNUC__) && !defined(_WIN32)
# pragma GCC visibility pop
#endif
#undef ATTN_SYSTEM_BEGIN
#undef ATTN_SYSTEM_END}

set hname SQLITE_ATTENTION_H
# (@LB@ and @RB@ are the braces of extern "C", which a Tcl string in braces
# cannot hold unbalanced.)
set hlines [list [string map [list @VERSION@ $version @HEADERS@ [wrap_list $headers] @G@ $hname @LB@ "\{" @LICENCE@ [string trimright $licence]] {/*
** sqlite-attention.h: the C API of the sqlite-attention @VERSION@ engine in one
** header, for programs built with sqlite-attention.c (or linked with its
** library).  Generated by packaging/amalgamate.tcl from
**@HEADERS@
** (do not edit).  Licence: MIT, as below.
*/
@LICENCE@
#ifndef @G@
#define @G@
#ifdef __cplusplus
extern "C" @LB@
#endif}]]
lappend hlines {*}$hbody
lappend hlines [string map [list @G@ $hname @RB@ "\}"] {#ifdef __cplusplus
@RB@
#endif
#endif /* @G@ */}]

# Write through temporary files, so a failed run leaves no half file.
foreach {path content} [list $outC [join $lines \n] $outH [join $hlines \n]] {
  file mkdir [file dirname $path]
  set fd [open $path.tmp w]
  fconfigure $fd -translation lf
  puts $fd $content
  close $fd
  file rename -force $path.tmp $path
}
