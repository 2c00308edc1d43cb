# node.tcl: better-sqlite3 for the tests that run Node.js (sourced after
# tester.tcl).
#
#   node_modules_dir    the node_modules folder that holds better-sqlite3 12,
#                       installed with npm the first time into the user's
#                       cache, $ATTN_CACHE or $XDG_CACHE_HOME/sqlite-attention
#                       or ~/.cache/sqlite-attention (test/.cache without a
#                       home), in node<major> (the native module is built for
#                       one Node.js), and reused afterwards by every checkout,
#                       so a clean checkout neither downloads nor compiles it
#                       again; "" when it cannot be had, with the reason (and
#                       the command that fixes it) in ::node_skip_reason
#   run_clean ARGS...   exec ARGS without the sanitizer runtime (make asan
#                       preloads it; npm and the compilers it starts load no
#                       extension); returns {exitcode output}
#
# better-sqlite3 12 is the version for Node 20 and later (13 needs Node 22
# and crashes on Node 20; Debian 12's own nodejs is 18, too old for 12).

proc run_clean {args} {
  # Unset and restore the one variable: replacing the whole ::env array
  # would detach it from the process environment (Tcl 8.6).
  set had [info exists ::env(LD_PRELOAD)]
  if {$had} { set preload $::env(LD_PRELOAD); unset ::env(LD_PRELOAD) }
  set rc [catch {exec {*}$args 2>@1} out]
  if {$had} { set ::env(LD_PRELOAD) $preload }
  list $rc $out
}

# The version of better-sqlite3 in node_modules folder DIR, if it is
# complete (its native module built); "" if not.
proc node_better_sqlite3_version {dir} {
  set pkg [file join $dir better-sqlite3 package.json]
  if {![file exists $pkg]} { return "" }
  set fd [open $pkg]; set j [read $fd]; close $fd
  if {![regexp {"version"\s*:\s*"([^"]+)"} $j -> v]} { return "" }
  if {![file exists [file join $dir better-sqlite3 build Release better_sqlite3.node]]} {
    return ""
  }
  return $v
}

# The folder the tests' downloads are kept in, across checkouts.
proc attn_cache_dir {} {
  if {[info exists ::env(ATTN_CACHE)] && $::env(ATTN_CACHE) ne ""} {
    return $::env(ATTN_CACHE)
  }
  if {[info exists ::env(XDG_CACHE_HOME)] && $::env(XDG_CACHE_HOME) ne ""} {
    return [file join $::env(XDG_CACHE_HOME) sqlite-attention]
  }
  if {[info exists ::env(HOME)] && [file isdirectory $::env(HOME)]} {
    return [file join $::env(HOME) .cache sqlite-attention]
  }
  return [file join $::testdir .cache]
}

set ::node_skip_reason ""
proc node_modules_dir {} {
  set nodesource "Node.js 20 or later: see https://github.com/nodesource/distributions (Debian 12's nodejs is 18), then apt-get install nodejs"
  if {[auto_execok node] eq "" || [auto_execok npm] eq ""} {
    set ::node_skip_reason "node or npm is not installed; better-sqlite3 12 needs $nodesource"
    return ""
  }
  lassign [run_clean node -p {process.versions.node.split(".")[0]}] rc major
  if {$rc || ![string is integer -strict $major] || $major < 20} {
    set ::node_skip_reason "Node.js [string trim $major] is too old for better-sqlite3 12, which needs $nodesource"
    return ""
  }
  set cache [file join [attn_cache_dir] node$major]
  set modules [file join $cache node_modules]
  # Install into a folder of our own, then rename it into place: several
  # test runs may start at once, and none may see another's half install.
  if {![string match 12.* [node_better_sqlite3_version $modules]]} {
    set tmp [file join [attn_cache_dir] node-install-[pid]]
    file delete -force $tmp
    file mkdir $tmp
    puts "node.tcl: installing better-sqlite3@12 into $cache (once; takes a minute or two)"
    lassign [run_clean npm install --no-save --no-audit --no-fund --prefix $tmp \
               better-sqlite3@12] rc out
    if {$rc} { puts $out }
    if {[string match 12.* [node_better_sqlite3_version [file join $tmp node_modules]]]
        && ![string match 12.* [node_better_sqlite3_version $modules]]} {
      file delete -force $modules   ;# left by an interrupted install, if any
      file mkdir $cache
      catch {file rename [file join $tmp node_modules] $modules}
    }
    file delete -force $tmp
  }
  if {![string match 12.* [node_better_sqlite3_version $modules]]} {
    set ::node_skip_reason "npm could not install better-sqlite3@12 (no network?); run: npm install --prefix [file normalize $cache] better-sqlite3@12"
    return ""
  }
  return $modules
}
