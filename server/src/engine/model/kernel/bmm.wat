;; Batched matrix products of small slices: c[z] = a[z] · b[z] for z < Z, with a [M × K], b [K × N] and
;; c [M × N] row-major float32, N a multiple of 4 (the caller pads). One call does every slice: tfjs on wasm
;; ran a slice per product, and on models with small heads (head dimension 8) the dispatch of thousands of
;; tiny products per batch took most of a pass. Blocks of 4 rows × 4 columns of c are held in registers
;; across k; rows past the last block of 4 are done one at a time. Pointers are byte offsets.
(module
  (import "env" "memory" (memory 1 65536))

  (func (export "bmm") (param $Z i32) (param $M i32) (param $K i32) (param $N i32) (param $a i32) (param $b i32) (param $c i32)
    (local $z i32) (local $i i32) (local $n i32)
    (local $rowA i32) (local $rowA2 i32) (local $rowA3 i32) (local $rowC i32)
    (local $ap i32) (local $aEnd i32) (local $bp i32) (local $cp i32)
    (local $bv v128) (local $acc0 v128) (local $acc1 v128) (local $acc2 v128) (local $acc3 v128)
    (local.set $rowA (i32.shl (local.get $K) (i32.const 2)))
    (local.set $rowA2 (i32.shl (local.get $K) (i32.const 3)))
    (local.set $rowA3 (i32.mul (local.get $K) (i32.const 12)))
    (local.set $rowC (i32.shl (local.get $N) (i32.const 2)))
    (block $zDone
      (loop $zLoop
        (br_if $zDone (i32.ge_u (local.get $z) (local.get $Z)))
        ;; Blocks of 4 rows.
        (local.set $i (i32.const 0))
        (block $iDone
          (loop $iLoop
            (br_if $iDone (i32.gt_u (i32.add (local.get $i) (i32.const 4)) (local.get $M)))
            (local.set $n (i32.const 0))
            (block $nDone
              (loop $nLoop
                (br_if $nDone (i32.ge_u (local.get $n) (local.get $N)))
                (local.set $acc0 (v128.const i32x4 0 0 0 0))
                (local.set $acc1 (v128.const i32x4 0 0 0 0))
                (local.set $acc2 (v128.const i32x4 0 0 0 0))
                (local.set $acc3 (v128.const i32x4 0 0 0 0))
                (local.set $ap (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $rowA))))
                (local.set $aEnd (i32.add (local.get $ap) (local.get $rowA)))
                (local.set $bp (i32.add (local.get $b) (i32.shl (local.get $n) (i32.const 2))))
                (block $kDone
                  (loop $kLoop
                    (br_if $kDone (i32.ge_u (local.get $ap) (local.get $aEnd)))
                    (local.set $bv (v128.load (local.get $bp)))
                    (local.set $acc0 (f32x4.add (local.get $acc0) (f32x4.mul (f32x4.splat (f32.load (local.get $ap))) (local.get $bv))))
                    (local.set $acc1 (f32x4.add (local.get $acc1) (f32x4.mul (f32x4.splat (f32.load (i32.add (local.get $ap) (local.get $rowA)))) (local.get $bv))))
                    (local.set $acc2 (f32x4.add (local.get $acc2) (f32x4.mul (f32x4.splat (f32.load (i32.add (local.get $ap) (local.get $rowA2)))) (local.get $bv))))
                    (local.set $acc3 (f32x4.add (local.get $acc3) (f32x4.mul (f32x4.splat (f32.load (i32.add (local.get $ap) (local.get $rowA3)))) (local.get $bv))))
                    (local.set $ap (i32.add (local.get $ap) (i32.const 4)))
                    (local.set $bp (i32.add (local.get $bp) (local.get $rowC)))
                    (br $kLoop)))
                (local.set $cp (i32.add (local.get $c) (i32.add (i32.mul (local.get $i) (local.get $rowC)) (i32.shl (local.get $n) (i32.const 2)))))
                (v128.store (local.get $cp) (local.get $acc0))
                (v128.store (i32.add (local.get $cp) (local.get $rowC)) (local.get $acc1))
                (v128.store (i32.add (local.get $cp) (i32.shl (local.get $rowC) (i32.const 1))) (local.get $acc2))
                (v128.store (i32.add (local.get $cp) (i32.mul (local.get $rowC) (i32.const 3))) (local.get $acc3))
                (local.set $n (i32.add (local.get $n) (i32.const 4)))
                (br $nLoop)))
            (local.set $i (i32.add (local.get $i) (i32.const 4)))
            (br $iLoop)))
        ;; The rows after the last block of 4, one at a time.
        (block $tDone
          (loop $tLoop
            (br_if $tDone (i32.ge_u (local.get $i) (local.get $M)))
            (local.set $n (i32.const 0))
            (block $tnDone
              (loop $tnLoop
                (br_if $tnDone (i32.ge_u (local.get $n) (local.get $N)))
                (local.set $acc0 (v128.const i32x4 0 0 0 0))
                (local.set $ap (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $rowA))))
                (local.set $aEnd (i32.add (local.get $ap) (local.get $rowA)))
                (local.set $bp (i32.add (local.get $b) (i32.shl (local.get $n) (i32.const 2))))
                (block $tkDone
                  (loop $tkLoop
                    (br_if $tkDone (i32.ge_u (local.get $ap) (local.get $aEnd)))
                    (local.set $acc0 (f32x4.add (local.get $acc0) (f32x4.mul (f32x4.splat (f32.load (local.get $ap))) (v128.load (local.get $bp)))))
                    (local.set $ap (i32.add (local.get $ap) (i32.const 4)))
                    (local.set $bp (i32.add (local.get $bp) (local.get $rowC)))
                    (br $tkLoop)))
                (v128.store
                  (i32.add (local.get $c) (i32.add (i32.mul (local.get $i) (local.get $rowC)) (i32.shl (local.get $n) (i32.const 2))))
                  (local.get $acc0))
                (local.set $n (i32.add (local.get $n) (i32.const 4)))
                (br $tnLoop)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $tLoop)))
        ;; The next slice.
        (local.set $a (i32.add (local.get $a) (i32.mul (local.get $M) (local.get $rowA))))
        (local.set $b (i32.add (local.get $b) (i32.mul (local.get $K) (local.get $rowC))))
        (local.set $c (i32.add (local.get $c) (i32.mul (local.get $M) (local.get $rowC))))
        (local.set $z (i32.add (local.get $z) (i32.const 1)))
        (br $zLoop))))

;; gram: the upper triangle of c = xᵀ · x for x [K × N] row-major float32, N a multiple of 8 (the caller
;; pads): only blocks of 4 rows × 8 columns that reach the diagonal or lie right of it are computed, about half
;; the products of a general matMul of xᵀ and x, and x is read as it is (no transposed copy). Row r of a
;; block takes x[k][i + r] (splat) times x[k][n .. n + 8] over k: 32 multiply-adds per 6 loads. Entries of c
;; left of the block holding the diagonal are not written.
  (func (export "gram") (param $K i32) (param $N i32) (param $x i32) (param $c i32)
    (local $i i32) (local $n i32) (local $row i32) (local $ap i32) (local $bp i32) (local $end i32) (local $cp i32)
    (local $b0 v128) (local $b1 v128) (local $s v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $c0 v128) (local $c1 v128) (local $c2 v128) (local $c3 v128)
    (local.set $row (i32.shl (local.get $N) (i32.const 2)))
    (local.set $end (i32.add (local.get $x) (i32.mul (local.get $K) (local.get $row))))
    (block $iDone
      (loop $iLoop
        (br_if $iDone (i32.ge_u (local.get $i) (local.get $N)))
        (local.set $n (i32.and (local.get $i) (i32.const -8)))
        (block $nDone
          (loop $nLoop
            (br_if $nDone (i32.ge_u (local.get $n) (local.get $N)))
            (local.set $a0 (v128.const i32x4 0 0 0 0))
            (local.set $a1 (v128.const i32x4 0 0 0 0))
            (local.set $a2 (v128.const i32x4 0 0 0 0))
            (local.set $a3 (v128.const i32x4 0 0 0 0))
            (local.set $c0 (v128.const i32x4 0 0 0 0))
            (local.set $c1 (v128.const i32x4 0 0 0 0))
            (local.set $c2 (v128.const i32x4 0 0 0 0))
            (local.set $c3 (v128.const i32x4 0 0 0 0))
            (local.set $ap (i32.add (local.get $x) (i32.shl (local.get $i) (i32.const 2))))
            (local.set $bp (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
            (block $kDone
              (loop $kLoop
                (br_if $kDone (i32.ge_u (local.get $bp) (local.get $end)))
                (local.set $b0 (v128.load (local.get $bp)))
                (local.set $b1 (v128.load offset=16 (local.get $bp)))
                (local.set $s (f32x4.splat (f32.load (local.get $ap))))
                (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $s) (local.get $b0))))
                (local.set $c0 (f32x4.add (local.get $c0) (f32x4.mul (local.get $s) (local.get $b1))))
                (local.set $s (f32x4.splat (f32.load offset=4 (local.get $ap))))
                (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $s) (local.get $b0))))
                (local.set $c1 (f32x4.add (local.get $c1) (f32x4.mul (local.get $s) (local.get $b1))))
                (local.set $s (f32x4.splat (f32.load offset=8 (local.get $ap))))
                (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $s) (local.get $b0))))
                (local.set $c2 (f32x4.add (local.get $c2) (f32x4.mul (local.get $s) (local.get $b1))))
                (local.set $s (f32x4.splat (f32.load offset=12 (local.get $ap))))
                (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $s) (local.get $b0))))
                (local.set $c3 (f32x4.add (local.get $c3) (f32x4.mul (local.get $s) (local.get $b1))))
                (local.set $ap (i32.add (local.get $ap) (local.get $row)))
                (local.set $bp (i32.add (local.get $bp) (local.get $row)))
                (br $kLoop)))
            (local.set $cp (i32.add (local.get $c) (i32.add (i32.mul (local.get $i) (local.get $row)) (i32.shl (local.get $n) (i32.const 2)))))
            (v128.store (local.get $cp) (local.get $a0))
            (v128.store offset=16 (local.get $cp) (local.get $c0))
            (local.set $cp (i32.add (local.get $cp) (local.get $row)))
            (v128.store (local.get $cp) (local.get $a1))
            (v128.store offset=16 (local.get $cp) (local.get $c1))
            (local.set $cp (i32.add (local.get $cp) (local.get $row)))
            (v128.store (local.get $cp) (local.get $a2))
            (v128.store offset=16 (local.get $cp) (local.get $c2))
            (local.set $cp (i32.add (local.get $cp) (local.get $row)))
            (v128.store (local.get $cp) (local.get $a3))
            (v128.store offset=16 (local.get $cp) (local.get $c3))
            (local.set $n (i32.add (local.get $n) (i32.const 8)))
            (br $nLoop)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $iLoop)))
  )
)
