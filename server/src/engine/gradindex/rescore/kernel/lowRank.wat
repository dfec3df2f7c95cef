;; The rescoring tier's two steps in WebAssembly SIMD (docs/INDEX.md, "Two tiers"): candidates' int8 factors
;; against a query's low-rank factors, straight from the packed rows. Compiled into lowRankWasm.ts by
;; `npm run build:kernel`; test/unit/rescoreKernel.test.ts checks it against a float64 reference.
;;
;; For one module and one group of factors, candidate c's score gains Σ_j sx_j sv_j Σ_i (x̂_jᵀ b_i)(v̂_jᵀ a_i) ·
;; s_i: x̂_j, v̂_j the row's int8 factors, sx_j, sv_j their scales, b_i, a_i the query's factors quantised
;; to int16 (row i of Bᵀ and Aᵀ, zero-padded to a multiple of 8), s_i the product of their scales. Eight
;; values are one i32x4.dot_i16x8_s; int32 partial sums last at most 128 of them (each lane gains at most
;; 2 · 127 · 32767 per dot, so 128 stay below 2³¹), then move to float32.
(module
  (import "env" "memory" (memory 1))

  ;; The horizontal sums of four float32x4 vectors, as one vector (Σa, Σb, Σc, Σd).
  (func $sum4 (param $a v128) (param $b v128) (param $c v128) (param $d v128) (result v128)
    (local $ab v128) (local $cd v128)
    ;; (a0 + a2, a1 + a3, b0 + b2, b1 + b3) and the same for c, d
    (local.set $ab (f32x4.add
      (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $a) (local.get $b))
      (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $a) (local.get $b))))
    (local.set $cd (f32x4.add
      (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $c) (local.get $d))
      (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $c) (local.get $d))))
    (f32x4.add
      (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $ab) (local.get $cd))
      (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $ab) (local.get $cd))))

  ;; (x̂ · b_0, x̂ · b_1, x̂ · b_2, x̂ · b_3) over n8 blocks of 8: x̂ int8 at $x, b_i int16 at $b + i · $bs.
  (func $dots4 (param $x i32) (param $b i32) (param $n8 i32) (param $bs i32) (result v128)
    (local $f0 v128) (local $f1 v128) (local $f2 v128) (local $f3 v128)
    (local $i0 v128) (local $i1 v128) (local $i2 v128) (local $i3 v128)
    (local $xv v128) (local $j i32) (local $end i32)
    (block $done
      (loop $chunks
        (br_if $done (i32.ge_u (local.get $j) (local.get $n8)))
        (local.set $end (i32.add (local.get $j) (i32.const 128)))
        (if (i32.gt_u (local.get $end) (local.get $n8)) (then (local.set $end (local.get $n8))))
        (local.set $i0 (v128.const i32x4 0 0 0 0))
        (local.set $i1 (v128.const i32x4 0 0 0 0))
        (local.set $i2 (v128.const i32x4 0 0 0 0))
        (local.set $i3 (v128.const i32x4 0 0 0 0))
        (block $chunkDone
          (loop $each
            (br_if $chunkDone (i32.ge_u (local.get $j) (local.get $end)))
            (local.set $xv (v128.load8x8_s (local.get $x)))
            (local.set $i0 (i32x4.add (local.get $i0) (i32x4.dot_i16x8_s (local.get $xv) (v128.load (local.get $b)))))
            (local.set $i1 (i32x4.add (local.get $i1)
              (i32x4.dot_i16x8_s (local.get $xv) (v128.load (i32.add (local.get $b) (local.get $bs))))))
            (local.set $i2 (i32x4.add (local.get $i2)
              (i32x4.dot_i16x8_s (local.get $xv) (v128.load (i32.add (local.get $b) (i32.shl (local.get $bs) (i32.const 1)))))))
            (local.set $i3 (i32x4.add (local.get $i3)
              (i32x4.dot_i16x8_s (local.get $xv) (v128.load (i32.add (local.get $b) (i32.mul (local.get $bs) (i32.const 3)))))))
            (local.set $x (i32.add (local.get $x) (i32.const 8)))
            (local.set $b (i32.add (local.get $b) (i32.const 16)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $each)))
        (local.set $f0 (f32x4.add (local.get $f0) (f32x4.convert_i32x4_s (local.get $i0))))
        (local.set $f1 (f32x4.add (local.get $f1) (f32x4.convert_i32x4_s (local.get $i1))))
        (local.set $f2 (f32x4.add (local.get $f2) (f32x4.convert_i32x4_s (local.get $i2))))
        (local.set $f3 (f32x4.add (local.get $f3) (f32x4.convert_i32x4_s (local.get $i3))))
        (br $chunks)))
    (call $sum4 (local.get $f0) (local.get $f1) (local.get $f2) (local.get $f3)))

  ;; For C rows of `stride` bytes: the group's k factors of x̂ (out int8 each) start at $x in the first row,
  ;; then its k factors of v̂ (in int8 each); sx_j is the float32 at $scales + 4j of the row, sv_j at
  ;; $scales + 4(r + j). The query: q4 groups of four rows of Bᵀ (int16, outP = 8·⌈out/8⌉ each) at $bt,
  ;; of Aᵀ (inP) at $at, their scale products (float32) at $qs. Row c's sum is added to the float32 at
  ;; $res + 4c.
  (func (export "lowRank")
    (param $C i32) (param $stride i32) (param $x i32) (param $k i32) (param $out i32) (param $in i32)
    (param $scales i32) (param $r i32) (param $bt i32) (param $at i32) (param $qs i32) (param $q4 i32) (param $res i32)
    (local $c i32) (local $j i32) (local $g i32) (local $xs i32) (local $vs i32) (local $acc v128)
    (local $n8x i32) (local $n8v i32) (local $bs i32) (local $as i32) (local $total f32) (local $row i32)
    (local.set $n8x (i32.shr_u (i32.add (local.get $out) (i32.const 7)) (i32.const 3)))
    (local.set $n8v (i32.shr_u (i32.add (local.get $in) (i32.const 7)) (i32.const 3)))
    (local.set $bs (i32.shl (local.get $n8x) (i32.const 4)))
    (local.set $as (i32.shl (local.get $n8v) (i32.const 4)))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.ge_u (local.get $c) (local.get $C)))
        (local.set $row (i32.mul (local.get $c) (local.get $stride)))
        (local.set $total (f32.const 0))
        (local.set $j (i32.const 0))
        (block $factorsDone
          (loop $factors
            (br_if $factorsDone (i32.ge_u (local.get $j) (local.get $k)))
            (local.set $xs (i32.add (i32.add (local.get $x) (local.get $row)) (i32.mul (local.get $j) (local.get $out))))
            (local.set $vs (i32.add (i32.add (i32.add (local.get $x) (local.get $row)) (i32.mul (local.get $k) (local.get $out)))
              (i32.mul (local.get $j) (local.get $in))))
            (local.set $acc (v128.const f32x4 0 0 0 0))
            (local.set $g (i32.const 0))
            (block $groupsDone
              (loop $groups
                (br_if $groupsDone (i32.ge_u (local.get $g) (local.get $q4)))
                (local.set $acc (f32x4.add (local.get $acc)
                  (f32x4.mul
                    (f32x4.mul
                      (call $dots4 (local.get $xs) (i32.add (local.get $bt) (i32.mul (local.get $g) (i32.shl (local.get $bs) (i32.const 2))))
                        (local.get $n8x) (local.get $bs))
                      (call $dots4 (local.get $vs) (i32.add (local.get $at) (i32.mul (local.get $g) (i32.shl (local.get $as) (i32.const 2))))
                        (local.get $n8v) (local.get $as)))
                    (v128.load (i32.add (local.get $qs) (i32.shl (local.get $g) (i32.const 4)))))))
                (local.set $g (i32.add (local.get $g) (i32.const 1)))
                (br $groups)))
            (local.set $total (f32.add (local.get $total)
              (f32.mul
                (f32.mul
                  (f32.add
                    (f32.add (f32x4.extract_lane 0 (local.get $acc)) (f32x4.extract_lane 1 (local.get $acc)))
                    (f32.add (f32x4.extract_lane 2 (local.get $acc)) (f32x4.extract_lane 3 (local.get $acc))))
                  (f32.load (i32.add (i32.add (local.get $scales) (local.get $row)) (i32.shl (local.get $j) (i32.const 2)))))
                (f32.load (i32.add (i32.add (local.get $scales) (local.get $row))
                  (i32.shl (i32.add (local.get $r) (local.get $j)) (i32.const 2)))))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $factors)))
        (f32.store (i32.add (local.get $res) (i32.shl (local.get $c) (i32.const 2)))
          (f32.add (f32.load (i32.add (local.get $res) (i32.shl (local.get $c) (i32.const 2)))) (local.get $total)))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $rows))))
)
