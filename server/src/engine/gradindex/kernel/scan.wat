;; The index scan's inner product, and the chunk checksum, in WebAssembly SIMD (docs/INDEX.md). Compiled into
;; scanWasm.ts by `npm run build:kernel`; a unit test checks the two agree.
;;
;; A document keeps, per module, whole blocks of 8 consecutive entries: a block number (uint16 or uint32)
;; and 8 int8 values. The query is int16, block b at byte 16·b of its module. One block is then one
;; i32x4.dot_i16x8_s. Partial sums stay in int32 for at most 128 blocks (each lane gains at most
;; 2 · 127 · 32767 per block, so 128 blocks stay below 2³¹), then move to float32.
(module
  (import "env" "memory" (memory 1))

  ;; Σ over n blocks of values · query: block numbers at `blocks` (uint16), values at `values` (8 int8 each),
  ;; the module's int16 query at `query`.
  (func (export "dot16") (param $blocks i32) (param $values i32) (param $n i32) (param $query i32) (result f32)
    (local $acc v128) (local $part v128) (local $end i32) (local $j i32)
    (block $done
      (loop $groups
        (br_if $done (i32.ge_u (local.get $j) (local.get $n)))
        (local.set $end (i32.add (local.get $j) (i32.const 128)))
        (if (i32.gt_u (local.get $end) (local.get $n)) (then (local.set $end (local.get $n))))
        (local.set $part (v128.const i32x4 0 0 0 0))
        (block $groupDone
          (loop $each
            (br_if $groupDone (i32.ge_u (local.get $j) (local.get $end)))
            (local.set $part (i32x4.add (local.get $part)
              (i32x4.dot_i16x8_s
                (v128.load8x8_s (local.get $values))
                (v128.load (i32.add (local.get $query) (i32.shl (i32.load16_u (local.get $blocks)) (i32.const 4)))))))
            (local.set $blocks (i32.add (local.get $blocks) (i32.const 2)))
            (local.set $values (i32.add (local.get $values) (i32.const 8)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $each)))
        (local.set $acc (f32x4.add (local.get $acc) (f32x4.convert_i32x4_s (local.get $part))))
        (br $groups)))
    (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get $acc)) (f32x4.extract_lane 1 (local.get $acc)))
      (f32.add (f32x4.extract_lane 2 (local.get $acc)) (f32x4.extract_lane 3 (local.get $acc)))))

  ;; The same with uint32 block numbers (modules of more than 2¹⁹ entries).
  (func (export "dot32") (param $blocks i32) (param $values i32) (param $n i32) (param $query i32) (result f32)
    (local $acc v128) (local $part v128) (local $end i32) (local $j i32)
    (block $done
      (loop $groups
        (br_if $done (i32.ge_u (local.get $j) (local.get $n)))
        (local.set $end (i32.add (local.get $j) (i32.const 128)))
        (if (i32.gt_u (local.get $end) (local.get $n)) (then (local.set $end (local.get $n))))
        (local.set $part (v128.const i32x4 0 0 0 0))
        (block $groupDone
          (loop $each
            (br_if $groupDone (i32.ge_u (local.get $j) (local.get $end)))
            (local.set $part (i32x4.add (local.get $part)
              (i32x4.dot_i16x8_s
                (v128.load8x8_s (local.get $values))
                (v128.load (i32.add (local.get $query) (i32.shl (i32.load (local.get $blocks)) (i32.const 4)))))))
            (local.set $blocks (i32.add (local.get $blocks) (i32.const 4)))
            (local.set $values (i32.add (local.get $values) (i32.const 8)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $each)))
        (local.set $acc (f32x4.add (local.get $acc) (f32x4.convert_i32x4_s (local.get $part))))
        (br $groups)))
    (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get $acc)) (f32x4.extract_lane 1 (local.get $acc)))
      (f32.add (f32x4.extract_lane 2 (local.get $acc)) (f32x4.extract_lane 3 (local.get $acc)))))

  ;; Scores of `count` rows of a dense sketch (docs/INDEX.md, layout 4): per row, `segments` float32 scales at
  ;; `scales` (row after row), and each segment's int8 values at `values` (rows back to back, each segment's
  ;; width a multiple of 16, widths as int32 at `widths`); the int16 query at `query` (segments back to
  ;; back) with one float32 scale per segment at `qscales`. Writes one float32 score per row to `out`:
  ;; Σ_segments scale_row · qscale · Σ values · query. 16 values are one load, two widenings to int16 and
  ;; two i32x4.dot_i16x8_s; each lane gains at most 4 · 127 · 32767 per 16 values, so partial sums stay in
  ;; int32 for 128 steps (2,048 values) before moving to float32.
  (func (export "scanDense")
    (param $scales i32) (param $values i32) (param $count i32) (param $widths i32) (param $segments i32)
    (param $query i32) (param $qscales i32) (param $out i32)
    (local $row i32) (local $seg i32) (local $q i32) (local $n i32) (local $end i32) (local $stop i32)
    (local $acc v128) (local $part v128) (local $v v128) (local $total f32) (local $dot f32)
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.ge_u (local.get $row) (local.get $count)))
        (local.set $total (f32.const 0))
        (local.set $q (local.get $query))
        (local.set $seg (i32.const 0))
        (block $segsDone
          (loop $segs
            (br_if $segsDone (i32.ge_u (local.get $seg) (local.get $segments)))
            (local.set $n (i32.load (i32.add (local.get $widths) (i32.shl (local.get $seg) (i32.const 2)))))
            (local.set $end (i32.add (local.get $values) (local.get $n)))
            (local.set $acc (v128.const i32x4 0 0 0 0))
            (block $groupsDone
              (loop $groups
                (br_if $groupsDone (i32.ge_u (local.get $values) (local.get $end)))
                (local.set $stop (i32.add (local.get $values) (i32.const 2048)))
                (if (i32.gt_u (local.get $stop) (local.get $end)) (then (local.set $stop (local.get $end))))
                (local.set $part (v128.const i32x4 0 0 0 0))
                (block $stepsDone
                  (loop $steps
                    (br_if $stepsDone (i32.ge_u (local.get $values) (local.get $stop)))
                    (local.set $v (v128.load (local.get $values)))
                    (local.set $part (i32x4.add (local.get $part)
                      (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $v)) (v128.load (local.get $q)))))
                    (local.set $part (i32x4.add (local.get $part)
                      (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $v)) (v128.load offset=16 (local.get $q)))))
                    (local.set $values (i32.add (local.get $values) (i32.const 16)))
                    (local.set $q (i32.add (local.get $q) (i32.const 32)))
                    (br $steps)))
                (local.set $acc (f32x4.add (local.get $acc) (f32x4.convert_i32x4_s (local.get $part))))
                (br $groups)))
            (local.set $dot (f32.add
              (f32.add (f32x4.extract_lane 0 (local.get $acc)) (f32x4.extract_lane 1 (local.get $acc)))
              (f32.add (f32x4.extract_lane 2 (local.get $acc)) (f32x4.extract_lane 3 (local.get $acc)))))
            (local.set $total (f32.add (local.get $total) (f32.mul (local.get $dot)
              (f32.mul (f32.load (local.get $scales)) (f32.load (i32.add (local.get $qscales) (i32.shl (local.get $seg) (i32.const 2))))))))
            (local.set $scales (i32.add (local.get $scales) (i32.const 4)))
            (local.set $seg (i32.add (local.get $seg) (i32.const 1)))
            (br $segs)))
        (f32.store (i32.add (local.get $out) (i32.shl (local.get $row) (i32.const 2))) (local.get $total))
        (local.set $row (i32.add (local.get $row) (i32.const 1)))
        (br $rows)))
  )

  ;; A 128-bit checksum of a chunk file, for the manifest: bytes are fed by checksumUpdate, in pieces whose
  ;; lengths are multiples of 64 except the last (a multiple of 16: the caller zero-pads), so that a chunk
  ;; can be checked piece by piece while it is read, each piece still in cache. Four states of four 32-bit
  ;; lanes take 16-byte blocks in turn (block j goes to state j mod 4 within whole groups of 64 bytes, a last
  ;; piece's remaining blocks to the first), each block mixed in by s ← rotl((s ⊕ x) · K, 13): for a fixed
  ;; block a bijection of s, so changing any one block always changes its state. checksumFinal folds the
  ;; states one into the next by the same kind of bijection and mixes `length` (the unpadded size) in last.
  ;; Four independent states hide the multiply's latency: ~2.7 GB/s with one state here, ~4 GB/s with four
  ;; from memory, more from cache. The state is 64 bytes at `state`.
  (func (export "checksumInit") (param $state i32)
    (v128.store offset=0 (local.get $state) (v128.const i32x4 0x9e3779b1 0x85ebca77 0xc2b2ae3d 0x27d4eb2f))
    (v128.store offset=16 (local.get $state) (v128.const i32x4 0x165667b1 0xd3a2646c 0xfd7046c5 0xb55a4f09))
    (v128.store offset=32 (local.get $state) (v128.const i32x4 0x27d4eb2f 0x165667b1 0x85ebca77 0x9e3779b1))
    (v128.store offset=48 (local.get $state) (v128.const i32x4 0xc2b2ae3d 0xfd7046c5 0xd3a2646c 0xb55a4f09)))

  (func (export "checksumUpdate") (param $state i32) (param $at i32) (param $len i32)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128) (local $k v128) (local $end i32) (local $end64 i32)
    (local.set $k (v128.const i32x4 0x9e3779b1 0x9e3779b1 0x9e3779b1 0x9e3779b1))
    (local.set $s0 (v128.load offset=0 (local.get $state)))
    (local.set $s1 (v128.load offset=16 (local.get $state)))
    (local.set $s2 (v128.load offset=32 (local.get $state)))
    (local.set $s3 (v128.load offset=48 (local.get $state)))
    (local.set $end (i32.add (local.get $at) (local.get $len)))
    (local.set $end64 (i32.add (local.get $at) (i32.and (local.get $len) (i32.const -64))))
    (block $groupsDone
      (loop $groups
        (br_if $groupsDone (i32.ge_u (local.get $at) (local.get $end64)))
        (local.set $s0 (call $mix (local.get $s0) (v128.load (local.get $at)) (local.get $k)))
        (local.set $s1 (call $mix (local.get $s1) (v128.load offset=16 (local.get $at)) (local.get $k)))
        (local.set $s2 (call $mix (local.get $s2) (v128.load offset=32 (local.get $at)) (local.get $k)))
        (local.set $s3 (call $mix (local.get $s3) (v128.load offset=48 (local.get $at)) (local.get $k)))
        (local.set $at (i32.add (local.get $at) (i32.const 64)))
        (br $groups)))
    (block $tailDone
      (loop $tail
        (br_if $tailDone (i32.ge_u (local.get $at) (local.get $end)))
        (local.set $s0 (call $mix (local.get $s0) (v128.load (local.get $at)) (local.get $k)))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $tail)))
    (v128.store offset=0 (local.get $state) (local.get $s0))
    (v128.store offset=16 (local.get $state) (local.get $s1))
    (v128.store offset=32 (local.get $state) (local.get $s2))
    (v128.store offset=48 (local.get $state) (local.get $s3)))

  (func (export "checksumFinal") (param $state i32) (param $length i32) (param $out i32)
    (local $s v128) (local $k v128)
    (local.set $k (v128.const i32x4 0x85ebca77 0x85ebca77 0x85ebca77 0x85ebca77))
    (local.set $s (call $mix (v128.load offset=0 (local.get $state)) (v128.load offset=16 (local.get $state)) (local.get $k)))
    (local.set $s (call $mix (local.get $s) (v128.load offset=32 (local.get $state)) (local.get $k)))
    (local.set $s (call $mix (local.get $s) (v128.load offset=48 (local.get $state)) (local.get $k)))
    (v128.store (local.get $out) (call $mix (local.get $s) (i32x4.splat (local.get $length)) (local.get $k))))

  ;; rotl((s ⊕ x) · k, 13), lane by lane: a bijection of s for fixed x and k (k odd), and of x for fixed s.
  (func $mix (param $s v128) (param $x v128) (param $k v128) (result v128)
    (local.set $s (i32x4.mul (v128.xor (local.get $s) (local.get $x)) (local.get $k)))
    (v128.or (i32x4.shl (local.get $s) (i32.const 13)) (i32x4.shr_u (local.get $s) (i32.const 19))))
)
