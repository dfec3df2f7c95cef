/**
 * Reading a Hugging Face config.json: typed fields with the file named in every refusal, and the pieces
 * several families share (RoPE scaling, sliding windows, sane bounds).
 */
import { InfluenceLensError } from '../../errors';
import type { RopeScaling } from '../types';

export type Json = Record<string, unknown>;

/** Longest context accepted from a config: far beyond any model this tool can run, short of absurd. */
export const MAX_POSITIONS = 1 << 24;

export class ConfigReader {
  constructor(
    readonly file: string,
    readonly json: Json,
  ) {}

  fail(code: 'MODEL_FORMAT' | 'UNSUPPORTED', msg: string): InfluenceLensError {
    return new InfluenceLensError(code, `${this.file}: ${msg}`, { file: this.file });
  }

  int(key: string, fallback?: number): number {
    const v = this.json[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
      throw this.fail('MODEL_FORMAT', v === undefined ? `missing "${key}"` : `"${key}" must be a positive integer, got ${JSON.stringify(v)}`);
    }
    return v;
  }

  num(key: string, fallback: number): number {
    const v = this.json[key] ?? fallback;
    if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v))
      throw this.fail('MODEL_FORMAT', `"${key}" must be a positive number, got ${JSON.stringify(v)}`);
    return v;
  }

  /** Token ids may be a list (several EOS tokens); the first is the canonical one. */
  tokenId(key: string, fallback: number): number {
    let v = this.json[key];
    if (Array.isArray(v)) v = v[0];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw this.fail('MODEL_FORMAT', `"${key}" must be a token id, got ${JSON.stringify(v)}`);
    return v;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.json[key];
    return typeof v === 'boolean' ? v : fallback;
  }

  /** A context length, bounded: a huge one would otherwise fail later as "Invalid typed array length". */
  positions(key: string, fallback?: number): number {
    const n = this.int(key, fallback);
    if (n > MAX_POSITIONS) throw this.fail('MODEL_FORMAT', `"${key}" is ${n}, beyond any context this tool can run (at most ${MAX_POSITIONS})`);
    return n;
  }

  refuseIf(cond: boolean, what: string): void {
    if (cond) throw this.fail('UNSUPPORTED', `${what} is not supported`);
  }

  /** rope_scaling: null, 'default', 'linear' or 'llama3'; any other kind (yarn, dynamic, longrope, …) is refused by name. */
  ropeScaling(): RopeScaling | undefined {
    const rs = this.json.rope_scaling;
    if (rs === undefined || rs === null) return undefined;
    if (typeof rs !== 'object' || Array.isArray(rs)) throw this.fail('MODEL_FORMAT', `"rope_scaling" must be an object, got ${JSON.stringify(rs)}`);
    const o = rs as Json;
    const kind = o.rope_type ?? o.type;
    const sub = new ConfigReader(`${this.file} (rope_scaling)`, o);
    if (kind === 'default') return undefined;
    if (kind === 'linear') return { kind: 'linear', factor: sub.num('factor', NaN) };
    if (kind === 'llama3') {
      const s: RopeScaling = {
        kind: 'llama3',
        factor: sub.num('factor', NaN),
        lowFreqFactor: sub.num('low_freq_factor', NaN),
        highFreqFactor: sub.num('high_freq_factor', NaN),
        originalMaxPositions: sub.int('original_max_position_embeddings'),
      };
      if (!(s.highFreqFactor > s.lowFreqFactor)) throw this.fail('MODEL_FORMAT', `rope_scaling: high_freq_factor must exceed low_freq_factor`);
      return s;
    }
    throw this.fail('UNSUPPORTED', `rope_scaling type ${JSON.stringify(kind)} is not supported (supported: default, linear, llama3)`);
  }

  /**
   * The context, cut to sliding_window where one is set: within the window sliding-window attention is
   * plain causal attention, and longer sequences are refused (as any beyond the context) rather than
   * computed without the window.
   */
  contextWithWindow(key = 'max_position_embeddings', fallback?: number): number {
    const n = this.positions(key, fallback);
    const w = this.json.sliding_window;
    return w === undefined || w === null ? n : Math.min(n, this.int('sliding_window'));
  }
}
