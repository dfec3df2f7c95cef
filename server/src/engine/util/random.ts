/**
 * Seeded randomness that does not depend on how work is batched or split across workers: every
 * sequence gets its own stream, derived from the run's seed and a key of the sequence itself.
 */

/** 32-bit FNV-1a over integers, for deriving stream keys from token sequences. */
export function hashInts(values: ArrayLike<number>, init = 0x811c9dc5): number {
  let h = init >>> 0;
  for (let i = 0; i < values.length; i++) {
    let v = values[i] | 0;
    for (let b = 0; b < 4; b++) {
      h ^= v & 0xff;
      h = Math.imul(h, 0x01000193) >>> 0;
      v >>>= 8;
    }
  }
  return h;
}

/** SplitMix32-style generator: small, fast, and well mixed even for adjacent seeds. */
export class Rng {
  private state: number;

  constructor(seed: number, key = 0) {
    this.state = hashInts([seed, key]) ^ 0x9e3779b9;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  next(): number {
    this.state = (this.state + 0x9e3779b9) | 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    z ^= z >>> 16;
    return (z >>> 0) / 4294967296;
  }

  /** A standard normal deviate (Box–Muller). */
  normal(): number {
    const u = 1 - this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }
}
