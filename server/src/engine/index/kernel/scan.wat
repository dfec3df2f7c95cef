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

  ;; A 128-bit checksum of `len` bytes at `at` (a multiple of 16; the caller zero-pads) into 16 bytes at
  ;; `out`, for chunk files. Four 32-bit lanes, each 16-byte block mixed in by s ← rotl((s ⊕ x) · K, 13):
  ;; for a fixed block this is a bijection of s, so changing any one block always changes the result.
  ;; `length` (the unpadded size) is mixed in last. ~4.5 GB/s here (sha256: 1.1–1.6 GB/s); four interleaved
  ;; states measured no faster, so the loop is bound by memory, not by the multiplies' latency.
  (func (export "checksum") (param $at i32) (param $len i32) (param $length i32) (param $out i32)
    (local $s v128) (local $end i32)
    (local.set $s (v128.const i32x4 0x9e3779b1 0x85ebca77 0xc2b2ae3d 0x27d4eb2f))
    (local.set $end (i32.add (local.get $at) (local.get $len)))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (local.set $s (i32x4.mul (v128.xor (local.get $s) (v128.load (local.get $at))) (v128.const i32x4 0x9e3779b1 0x9e3779b1 0x9e3779b1 0x9e3779b1)))
        (local.set $s (v128.or (i32x4.shl (local.get $s) (i32.const 13)) (i32x4.shr_u (local.get $s) (i32.const 19))))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $each)))
    (local.set $s (i32x4.mul (v128.xor (local.get $s) (i32x4.splat (local.get $length))) (v128.const i32x4 0x85ebca77 0x85ebca77 0x85ebca77 0x85ebca77)))
    (v128.store (local.get $out) (v128.or (i32x4.shl (local.get $s) (i32.const 13)) (i32x4.shr_u (local.get $s) (i32.const 19)))))
)
