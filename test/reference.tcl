# reference.tcl: the float64 reference of attention, written here from the
# definitions (no tiles, no online softmax, no code of the extension), with
# a bound on the error of each number the extension may make.
#
# Sourced by attention.test, attention_scores.test, position.test and
# torch_parity.test after tester.tcl.
#
#   ref_attention Q K OPTS
#
# Q: query rows, each {seq pos x}; K: key rows, each {seq pos xk xv ?bias?}
# (seq "" when absent: then all rows are one sequence; bias, added to every
# score of the key after softcap and ALiBi, 0 when absent).  OPTS: a dict of the hidden
# arguments (missing or "" = default): wq wk wv wo (flat row-major d_in ×
# d_out lists; empty = identity), bq bk bv bo, heads, kv_heads, scale,
# causal, window, window_left, window_right (key allowed when qpos -
# window_left <= kpos <= qpos + window_right), alibi, alibi_slopes (a list,
# one slope per head: ALiBi with these), rope (base), rope_style, softcap,
# sinks (a list, one logit per head: each head's softmax denominator gets
# exp(sink) more, an extra key of value 0; the lse includes it, the
# weights of the keys sum to less than 1).
# Returns one dict
# per query row:
#   out, lse     the exact values (lists; {} when the row has no key)
#   oute, lsee   per element, the bound on |ours - exact| for attention()
#   w            per head, a list of {j score weight scoree weighte} for the
#                keys the mask allows, in key position order (ties: key row
#                order), with the bounds on attention_scores()' score and
#                weight
#
# The bounds (docs/testing.md gives the derivation).  u = 2^-24 is the unit
# roundoff of float32, g(n) = n·u/(1-n·u) the classic bound of a sum of n
# rounded terms (in any order, blocked or with FMA: Higham, "Accuracy and
# Stability of Numerical Algorithms", 2nd ed., section 3.1).  Each float32
# value y the extension computes carries E(y) >= |y - exact| to first order:
#   projection x·W + b   g(d_in + 1)·(Σ|x_i·W_ij| + |b_j|)   (x + b alone:
#                        u·|x + b|)
#   RoPE (float64, then rounded): |cos|·E(x_a) + |sin|·E(x_b) + u·|y|
#   scale (folded into q in float32): |s|·E(q) + u·|s·q| (0 for a power of 2)
#   score q·k (float32, flash kernel): g(d)·Σ|s·q_t·k_t| + Σ(|k_t|·E(q_t) +
#                        |s·q_t|·E(k_t)); attention_scores() sums in float64,
#                        so only the second term (and 2^-50·d·Σ|s·q·k|)
#   softcap c·tanh(x/c): sech²·(E(x) + 3u·|x|) + (2·T + 2)·u·|result| (x/c
#                        is three float32 products; T, the error of the
#                        kernels' tanh in ulp, = 3: src/kernels_driver.h)
#   ALiBi x - slope·dist: E(x) + 3·u·slope·dist + u·|result|
# Softmax over the n allowed keys with exact weights w_i, max score m: the
# weight of key i is perturbed relatively by at most
#   e_i = E(s_i) + u·(m - s_i) + (2·X + 1)·u·(R + 1)
# (X = 2, the exp error in ulp that test/unit/kernels.c holds every level
# to; R, the rescales of the online softmax, at most one per tile of >= 16
# keys: min(n - 1, ceil(keys of the sequence / 16)); a shift common to all
# scores cancels), and the output element j of a head
#   E(o_j) = g(n + R)·(Σ w_i·|v_ij| + |o_j|) + 2u·|o_j|
#            + Σ w_i·e_i·|v_ij - o_j| + Σ w_i·E(v_ij)
# (+ w_i·(|v_ij| + |o_j|) for keys below exp's flush to 0, m - s_i > 86);
# lse = m + log Σ exp(s_i - m):
#   E(lse) = Σ w_i·e_i + g(n + R) + 2u·|log l| + u·|lse|
# and W_O, b_O as a projection of the concatenated heads, with E(o)
# carried through |W_O|.  attention_scores()' weight (float64 from float64
# scores): w_i·(E(s_i) + Σ w_k·E(s_k) + 2^-50·(n + 4 + 2·(m - s_i))), i.e.
# relative, down to the smallest weights.  Every bound also allows
# 2^-50·|exact| + 1e-300 for the float64 arithmetic of this reference.

set ::U [expr {2.0**-24}]
set ::U64 [expr {2.0**-50}]
set ::EXP_ULP 2.0
set ::TANH_ULP 3.0
set ::MIN_TILE 16

proc ref_gamma {n} { expr {$n*$::U/(1.0 - $n*$::U)} }

# Is x ± a power of two (so scaling by it is exact in float32)?
proc ref_pow2 {x} {
  if {$x == 0} { return 0 }
  set ax [expr {abs(double($x))}]
  set e [expr {round(log($ax)/log(2.0))}]
  expr {$ax == 2.0**$e}
}

# x·W + b and its bound, W row-major d_in × d_out (empty: the identity).
# Returns {y e}.
proc ref_proj_e {x W b} {
  set din [llength $x]
  if {[llength $W] == 0} {
    if {[llength $b] == 0} { return [list $x [lrepeat $din 0.0]] }
    set y [lmap v $x c $b {expr {$v + $c}}]
    return [list $y [lmap v $y {expr {$::U*abs($v)}}]]
  }
  set dout [expr {[llength $W] / $din}]
  set g [ref_gamma [expr {$din + ([llength $b] ? 1 : 0)}]]
  set y {}; set e {}
  for {set j 0} {$j < $dout} {incr j} {
    set s 0.0; set a 0.0
    for {set i 0} {$i < $din} {incr i} {
      set t [expr {[lindex $x $i]*[lindex $W [expr {$i*$dout + $j}]]}]
      set s [expr {$s + $t}]; set a [expr {$a + abs($t)}]
    }
    if {[llength $b]} {
      set s [expr {$s + [lindex $b $j]}]; set a [expr {$a + abs([lindex $b $j])}]
    }
    lappend y $s
    lappend e [expr {$g*$a}]
  }
  list $y $e
}

# x·W + b in float64 (no bound).
proc ref_proj {x W b} { lindex [ref_proj_e $x $W $b] 0 }

proc ref_dot {a b} {
  set s 0.0
  foreach x $a y $b { set s [expr {$s + $x*$y}] }
  return $s
}

# RoPE of one head vector v (bounds ve) at position pos: pair i turns by
# pos·base^(-2i/d); neox pairs i with i+d/2, interleaved 2i with 2i+1.
# Returns {v ve}.
proc ref_rope_e {v ve pos base style} {
  set d [llength $v]
  set half [expr {$d/2}]
  for {set i 0} {$i < $half} {incr i} {
    set th [expr {$pos * pow($base, -2.0*$i/$d)}]
    if {$style eq "interleaved"} {
      set a [expr {2*$i}]; set b [expr {2*$i + 1}]
    } else {
      set a $i; set b [expr {$i + $half}]
    }
    set c [expr {cos($th)}]; set s [expr {sin($th)}]
    set x0 [lindex $v $a]; set x1 [lindex $v $b]
    set e0 [lindex $ve $a]; set e1 [lindex $ve $b]
    set y0 [expr {$x0*$c - $x1*$s}]
    set y1 [expr {$x1*$c + $x0*$s}]
    lset v $a $y0; lset v $b $y1
    lset ve $a [expr {abs($c)*$e0 + abs($s)*$e1 + $::U*abs($y0) + $::U64*(abs($x0*$c) + abs($x1*$s))}]
    lset ve $b [expr {abs($c)*$e1 + abs($s)*$e0 + $::U*abs($y1) + $::U64*(abs($x1*$c) + abs($x0*$s))}]
  }
  list $v $ve
}
proc ref_rope {v pos base style} {
  lindex [ref_rope_e $v [lrepeat [llength $v] 0.0] $pos $base $style] 0
}

# ALiBi slopes (Press et al., "Train Short, Test Long", 2022): for H a
# power of two, 2^(-8k/H), k = 1..H; otherwise those of the largest power of
# two p < H, then every other slope of 2p: 2^(-8k/(2p)) for k = 1, 3, 5, ...
proc ref_alibi_slopes {H} {
  set p 1
  while {$p*2 <= $H} { set p [expr {$p*2}] }
  set s {}
  for {set k 1} {$k <= $p} {incr k} { lappend s [expr {pow(2.0, -8.0*$k/$p)}] }
  for {set k 1} {[llength $s] < $H} {incr k 2} {
    lappend s [expr {pow(2.0, -8.0*$k/(2*$p))}]
  }
  return $s
}

# Heads as contiguous chunks: chunk h of width w.
proc ref_chunk {v h w} { lrange $v [expr {$h*$w}] [expr {($h+1)*$w - 1}] }

proc ref_key_order {a b} {
  set pa [lindex $a 1]; set pb [lindex $b 1]
  if {$pa != $pb} { return [expr {$pa < $pb ? -1 : 1}] }
  expr {[lindex $a 0] - [lindex $b 0]}
}

proc ref_attention {Q K opts} {
  set o [dict create wq {} wk {} wv {} wo {} bq {} bk {} bv {} bo {} \
      heads "" kv_heads "" scale "" causal "" window "" alibi "" rope "" \
      rope_style "" softcap "" window_left "" window_right "" \
      alibi_slopes "" sinks ""]
  dict for {k v} $opts { dict set o $k $v }
  set H [dict get $o heads];        if {$H eq ""} { set H 1 }
  set G [dict get $o kv_heads];     if {$G eq ""} { set G $H }
  set causal [dict get $o causal];  if {$causal eq ""} { set causal 0 }
  set alibi [dict get $o alibi];    if {$alibi eq ""} { set alibi 0 }
  set window [dict get $o window]
  set wleft [dict get $o window_left]
  set wright [dict get $o window_right]
  set rope [dict get $o rope]
  set style [dict get $o rope_style]; if {$style eq ""} { set style neox }
  set cap [dict get $o softcap]
  set sinks [dict get $o sinks]
  set U $::U; set U64 $::U64

  # Projections and their bounds.
  set Qp {}; set Qe {}
  foreach r $Q {
    lassign [ref_proj_e [lindex $r 2] [dict get $o wq] [dict get $o bq]] y e
    lappend Qp $y; lappend Qe $e
  }
  set Kp {}; set Ke {}; set Vp {}; set Ve {}
  foreach r $K {
    lassign [ref_proj_e [lindex $r 2] [dict get $o wk] [dict get $o bk]] y e
    lappend Kp $y; lappend Ke $e
    lassign [ref_proj_e [lindex $r 3] [dict get $o wv] [dict get $o bv]] y e
    lappend Vp $y; lappend Ve $e
  }
  set dh [expr {[llength [lindex $Qp 0]] / $H}]
  set dvh [expr {[llength [lindex $Vp 0]] / $G}]
  set scale [dict get $o scale]
  if {$scale eq ""} { set scale [expr {1.0/sqrt($dh)}] }
  set sexact [ref_pow2 $scale]
  set slopes [ref_alibi_slopes $H]
  if {[dict get $o alibi_slopes] ne ""} {
    set slopes [dict get $o alibi_slopes]
    set alibi 1
  }
  if {$rope ne ""} {
    foreach {P E R} {Qp Qe Q Kp Ke K} {
      set nh [expr {$P eq "Qp" ? $H : $G}]
      set np {}; set ne {}
      foreach r [set $R] v [set $P] ve [set $E] {
        set a {}; set b {}
        for {set h 0} {$h < $nh} {incr h} {
          lassign [ref_rope_e [ref_chunk $v $h $dh] [ref_chunk $ve $h $dh] \
                     [lindex $r 1] $rope $style] x xe
          lappend a {*}$x; lappend b {*}$xe
        }
        lappend np $a; lappend ne $b
      }
      set $P $np; set $E $ne
    }
  }
  # Keys in position order (ties: row order), for the score rows; the
  # number of keys of each sequence (for the rescale count R).
  set korder {}
  set j 0
  foreach r $K {
    lappend korder [list $j [lindex $r 1]]
    dict incr nseq [lindex $r 0]
    incr j
  }
  set korder [lsort -command ref_key_order $korder]
  set gd [ref_gamma $dh]

  set res {}
  foreach qr $Q q $Qp qe $Qe {
    lassign $qr qs qp
    set cat {}; set cate {}; set lse {}; set lsee {}; set w {}; set empty 0
    for {set h 0} {$h < $H} {incr h} {
      set g [expr {$h / ($H/$G)}]
      set qh [ref_chunk $q $h $dh]
      # The bound of the float32 scaled query.
      set qhe [lmap x $qh e [ref_chunk $qe $h $dh] {
        expr {abs($scale)*$e + ($sexact ? 0.0 : $U*abs($scale*$x))}
      }]
      set sc {}
      set dmin ""
      foreach kj $korder {
        set j [lindex $kj 0]
        lassign [lindex $K $j] ks kp
        if {$ks ne $qs} continue
        if {$causal && $kp > $qp} continue
        if {$window ne "" && abs($qp - $kp) >= $window} continue
        if {$wleft ne "" && $kp < $qp - $wleft} continue
        if {$wright ne "" && $kp > $qp + $wright} continue
        set kh [ref_chunk [lindex $Kp $j] $g $dh]
        set khe [ref_chunk [lindex $Ke $j] $g $dh]
        set s 0.0; set mag 0.0; set ein 0.0
        foreach x $qh xe $qhe y $kh ye $khe {
          set t [expr {$scale*$x*$y}]
          set s [expr {$s + $t}]
          set mag [expr {$mag + abs($t)}]
          set ein [expr {$ein + abs($y)*$xe + abs($scale*$x)*$ye}]
        }
        set ef [expr {$gd*$mag + $ein}]             ;# flash: float32 sum
        set es [expr {$ein + $U64*($dh + 4)*$mag}]   ;# scores: float64 sum
        if {$cap ne ""} {
          set t [expr {tanh($s/$cap)}]
          set sech2 [expr {1.0 - $t*$t}]
          set sc2 [expr {$cap*$t}]
          set ef [expr {$sech2*($ef + 3*$U*abs($s)) + (2*$::TANH_ULP + 2)*$U*abs($sc2)}]
          set es [expr {$sech2*$es + $U64*(abs($s) + abs($sc2))}]
          set s $sc2
        }
        if {$alibi} {
          set a [expr {[lindex $slopes $h]*abs($qp - $kp)}]
          set s [expr {$s - $a}]
          set ef [expr {$ef + 3*$U*$a + $U*abs($s)}]
          set es [expr {$es + $U64*($a + abs($s))}]
        }
        set bias [lindex $K $j 4]
        if {$bias ne "" && $bias != 0} {
          set s [expr {$s + $bias}]
          set ef [expr {$ef + $U*abs($s)}]
          set es [expr {$es + $U64*abs($s)}]
        }
        if {$dmin eq "" || abs($qp - $kp) < $dmin} { set dmin [expr {abs($qp - $kp)}] }
        lappend sc [list $j $s $ef $es]
      }
      if {[llength $sc] == 0} { set empty 1; break }
      set n [llength $sc]
      # A sink: one more entry (key -1) of value 0.  Its float32 error: its
      # own rounding in the frame of the scores (ALiBi's, relative to the
      # nearest key: sink + slope·dmin, rounded once) and one more rescale.
      set nsink 0
      if {$sinks ne ""} {
        set sk [expr {double([lindex $sinks $h])}]
        set sa [expr {$alibi ? [lindex $slopes $h]*$dmin : 0.0}]
        lappend sc [list -1 $sk [expr {2*$U*(abs($sk) + $sa) + 3*$U*$sa}] \
                      [expr {$U64*(abs($sk) + $sa)}]]
        set nsink 1
        incr n
      }
      set mx -1e300
      foreach p $sc { if {[lindex $p 1] > $mx} { set mx [lindex $p 1] } }
      set sum 0.0
      foreach p $sc { set sum [expr {$sum + exp([lindex $p 1] - $mx)}] }
      set l [expr {$mx + log($sum)}]
      set ntile [expr {([dict get $nseq $qs] + $::MIN_TILE - 1) / $::MIN_TILE}]
      set R [expr {min($n - 1, $ntile + $nsink)}]
      set gn [ref_gamma [expr {$n + $R}]]
      set eexp [expr {(2*$::EXP_ULP + 1)*$U*($R + 1)}]
      # Weights, their perturbations e_i, and the score-row bounds.
      set wts {}; set eps {}; set esum 0.0; set wes 0.0
      foreach p $sc {
        lassign $p j s ef es
        set wt [expr {exp($s - $l)}]
        lappend wts $wt
        lappend eps [expr {$ef + $U*($mx - $s) + $eexp}]
        set esum [expr {$esum + $wt*$es}]
      }
      set wh {}
      foreach p $sc wt $wts {
        lassign $p j s ef es
        if {$j < 0} continue                  ;# the sink has no score row
        set we [expr {$wt*($es + $esum + $U64*($n + 4 + 2*($mx - $s))) + 1e-300}]
        lappend wh [list $j $s $wt [expr {$es + $U64*abs($s) + 1e-300}] $we]
      }
      # The output of the head and its bound.
      set oh [lrepeat $dvh 0.0]
      foreach p $sc wt $wts {
        if {[lindex $p 0] < 0} continue        ;# the sink's value is 0
        set vh [ref_chunk [lindex $Vp [lindex $p 0]] $g $dvh]
        set oh [lmap a $oh b $vh {expr {$a + $wt*$b}}]
      }
      set ohe {}
      for {set d 0} {$d < $dvh} {incr d} {
        set od [lindex $oh $d]
        set A 0.0; set P 0.0; set EV 0.0
        foreach p $sc wt $wts ep $eps {
          set j [lindex $p 0]
          set vd 0.0; set ved 0.0
          if {$j >= 0} {
            set vd [lindex $Vp $j [expr {$g*$dvh + $d}]]
            set ved [lindex $Ve $j [expr {$g*$dvh + $d}]]
          }
          set A [expr {$A + $wt*abs($vd)}]
          set P [expr {$P + $wt*$ep*abs($vd - $od)}]
          set EV [expr {$EV + $wt*$ved}]
          if {$mx - [lindex $p 1] > 86} { set P [expr {$P + $wt*(abs($vd) + abs($od))}] }
        }
        lappend ohe [expr {$gn*($A + abs($od)) + 2*$U*abs($od) + $P + $EV}]
      }
      set le 0.0
      foreach wt $wts ep $eps { set le [expr {$le + $wt*$ep}] }
      set le [expr {$le + $gn + 2*$U*abs(log($sum)) + $U*abs($l) + $U64*abs($l) + 1e-300}]
      lappend lse $l; lappend lsee $le
      lappend cat {*}$oh; lappend cate {*}$ohe
      lappend w $wh
    }
    if {$empty} {
      lappend res [dict create out {} lse {} oute {} lsee {} w {}]
      continue
    }
    # W_O and b_O: the projection bound plus E(o) carried through |W_O|.
    set wo [dict get $o wo]; set bo [dict get $o bo]
    lassign [ref_proj_e $cat $wo $bo] out oute
    if {[llength $wo]} {
      set nc [llength $cat]; set nout [expr {[llength $wo] / $nc}]
      set carried {}
      for {set k 0} {$k < $nout} {incr k} {
        set c 0.0
        for {set d 0} {$d < $nc} {incr d} {
          set c [expr {$c + abs([lindex $wo [expr {$d*$nout + $k}]])*[lindex $cate $d]}]
        }
        lappend carried $c
      }
    } else {
      set carried $cate
    }
    set oute [lmap e $oute c $carried y $out {expr {$e + $c + $U64*abs($y) + 1e-300}}]
    lappend res [dict create out $out lse $lse oute $oute lsee $lsee w $w]
  }
  return $res
}

# Default positions: each row's rank among the rows of its seq, from 0.
proc ref_default_pos {seqs} {
  set out {}
  foreach s $seqs {
    if {![info exists n($s)]} { set n($s) 0 }
    lappend out $n($s)
    incr n($s)
  }
  return $out
}
