/**
 * The llama2.c tokenizer (`tokenizer.bin`): same file format and the same ids as upstream
 * run.c's `build_tokenizer`/`encode`/`decode`, but with a heap-driven merge loop and a per-word
 * cache so that whole corpora tokenize fast (run.c rescans every pair after each merge: quadratic).
 */
import { InfluenceLensError } from '../errors';
import { FILE_LIMITS, readFileBounded } from '../util/files';
import type { Tokenizer } from './types';

const BOS = 1;
const EOS = 2;
/** Byte-fallback tokens `<0x00>`..`<0xFF>` start after <unk>, <s>, </s>. */
const BYTE_OFFSET = 3;
/** run.c's initial best score: a pair must score above it to merge. */
const MIN_MERGE_SCORE = -1e10;
/** Bound on the pair cache so tokenizing a huge corpus with a large vocab cannot grow it forever. */
const PAIR_CACHE_LIMIT = 1 << 21;
/** Bound on the per-word cache (distinct words seen), for the same reason. */
const SEGMENT_CACHE_LIMIT = 1 << 17;
/** run.c parses byte pieces with sscanf("<0x%02hhX>"): a prefix match on one or two hex digits. */
const BYTE_PIECE = /^<0x([0-9A-Fa-f]{1,2})/;

export function loadLlama2cTokenizer(path: string, vocabSize: number): Llama2cTokenizer {
  if (!Number.isInteger(vocabSize) || vocabSize <= 0) {
    throw new InfluenceLensError('MODEL_FORMAT', `invalid vocab size ${vocabSize} for llama2.c tokenizer ${path}`, { file: path });
  }
  const buf = readFileBounded(path, { what: 'llama2.c tokenizer', maxBytes: FILE_LIMITS.tokenizer });
  const truncated = (what: string) => new InfluenceLensError('TRUNCATED', `truncated llama2.c tokenizer ${path}: ${what}`, { file: path });
  if (buf.length < 4) throw truncated('no header (max_token_length)');
  let off = 4;
  const pieces: Buffer[] = new Array(vocabSize);
  const scores = new Float32Array(vocabSize);
  for (let i = 0; i < vocabSize; i++) {
    if (off === buf.length) {
      throw new InfluenceLensError('MODEL_FORMAT', `llama2.c tokenizer ${path} holds ${i} tokens but the model's vocab size is ${vocabSize}`, { file: path });
    }
    if (off + 8 > buf.length) throw truncated(`token ${i} header cut off at byte ${off}`);
    scores[i] = buf.readFloatLE(off);
    const len = buf.readInt32LE(off + 4);
    off += 8;
    if (len < 0) throw new InfluenceLensError('MODEL_FORMAT', `llama2.c tokenizer ${path}: token ${i} has length ${len}`, { file: path });
    if (off + len > buf.length) throw truncated(`token ${i} (${len} bytes) cut off at byte ${off}`);
    // Pieces are C strings in run.c: anything after an embedded NUL is invisible to it.
    const piece = buf.subarray(off, off + len);
    const nul = piece.indexOf(0);
    pieces[i] = nul >= 0 ? piece.subarray(0, nul) : piece;
    off += len;
  }
  return new Llama2cTokenizer(pieces, scores);
}

export class Llama2cTokenizer implements Tokenizer {
  readonly kind = 'llama2c' as const;
  readonly vocabSize: number;
  readonly bosId = BOS;
  readonly eosId = EOS;
  /** Piece bytes as latin1 strings: one char per byte, so Map keys compare like strcmp. */
  private readonly keys: string[];
  private readonly scores: Float32Array;
  private readonly ids = new Map<string, number>();
  /** Id of each single-byte piece, -1 when absent (the fast path for ASCII). */
  private readonly byteId = new Int32Array(256).fill(-1);
  private readonly spaceId: number;
  /** (left * vocabSize + right) → merged id, or -1. */
  private readonly pairs = new Map<number, number>();
  /**
   * True when no piece holds a space right after a non-space byte (sentencepiece splits on
   * whitespace, so its vocabs qualify). Then a token spanning such a boundary cannot exist.
   */
  private readonly segmentable: boolean;
  private readonly segments = new Map<string, number[]>();
  private readonly pieceBytes: Uint8Array[];
  private readonly pieceBytesAfterBos: Uint8Array[];
  private readonly utf8 = new TextEncoder();
  private readonly textDecoder = new TextDecoder('utf-8');

  constructor(pieces: Uint8Array[], scores: Float32Array) {
    this.vocabSize = pieces.length;
    this.scores = scores;
    this.keys = pieces.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength).toString('latin1'));
    // run.c bsearches a sorted copy, so a duplicated piece resolves to an unspecified id; keep the first.
    this.keys.forEach((k, id) => {
      if (!this.ids.has(k)) this.ids.set(k, id);
      if (k.length === 1 && this.byteId[k.charCodeAt(0)] < 0) this.byteId[k.charCodeAt(0)] = id;
    });
    this.spaceId = this.ids.get(' ') ?? -1;
    this.segmentable = this.spaceId >= 0 && !pieces.some((p) => p.some((b, k) => b === 0x20 && k > 0 && p[k - 1] !== 0x20));
    this.pieceBytes = pieces.map((p) => decodePiece(p));
    // run.c strips the space first, then checks for a byte piece.
    this.pieceBytesAfterBos = pieces.map((p, id) => (p[0] === 0x20 ? decodePiece(p.subarray(1)) : this.pieceBytes[id]));
  }

  encode(text: string): number[] {
    if (text.length === 0) return [];
    // Without a " " piece run.c would read vocab[-1] for the dummy prefix; we just leave it out.
    if (this.spaceId < 0) return this.encodeBytes(this.utf8.encode(text));
    // Sentencepiece's add_dummy_prefix as run.c does it: a " " token, i.e. the codepoint " " in front.
    const v = ' ' + text;
    if (!this.segmentable) return this.encodeBytes(this.utf8.encode(v));
    // No merge can cross a boundary before a space that follows a non-space (see `segmentable`),
    // so each segment merges on its own and repeated words come from the cache.
    const out: number[] = [];
    let start = 0;
    for (let i = 1; i <= v.length; i++) {
      if (i < v.length && !(v.charCodeAt(i) === 0x20 && v.charCodeAt(i - 1) !== 0x20)) continue;
      const seg = v.slice(start, i);
      let ids = this.segments.get(seg);
      if (ids === undefined) {
        ids = this.encodeBytes(this.utf8.encode(seg));
        if (this.segments.size >= SEGMENT_CACHE_LIMIT) this.segments.clear();
        this.segments.set(seg, ids);
      }
      for (const id of ids) out.push(id);
      start = i;
    }
    return out;
  }

  /** run.c's encode() after the dummy prefix: codepoint lookup with byte fallback, then merges. */
  private encodeBytes(bytes: Uint8Array): number[] {
    const toks = new Int32Array(bytes.length);
    let n = 0;
    // One codepoint (at most 4 bytes, as run.c) at a time: its piece, or its bytes as fallback tokens.
    for (let c = 0; c < bytes.length;) {
      let len = 1;
      while (len < 4 && c + len < bytes.length && (bytes[c + len] & 0xc0) === 0x80) len++;
      const id = len === 1 ? this.byteId[bytes[c]] : (this.ids.get(latin1(bytes, c, len)) ?? -1);
      if (id >= 0) toks[n++] = id;
      else for (let k = 0; k < len; k++) toks[n++] = bytes[c + k] + BYTE_OFFSET;
      c += len;
    }
    return this.merge(toks, n);
  }

  /**
   * run.c's merge rule: repeatedly merge the adjacent pair whose concatenation is in the vocab
   * with the highest score, the leftmost on ties. A max-heap over (score, left position) on a
   * linked list yields exactly that sequence of merges; stale entries are skipped by version.
   */
  private merge(toks: Int32Array, n: number): number[] {
    const next = new Int32Array(n);
    const prev = new Int32Array(n);
    const ver = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      next[i] = i + 1 < n ? i + 1 : -1;
      prev[i] = i - 1;
    }
    const heap = new PairHeap(Math.max(1, 3 * n));
    const push = (l: number, r: number) => {
      const id = this.pairId(toks[l], toks[r]);
      if (id >= 0 && this.scores[id] > MIN_MERGE_SCORE) heap.push(this.scores[id], l, r, ver[l], ver[r], id);
    };
    for (let i = 0; i + 1 < n; i++) push(i, i + 1);
    while (heap.size > 0) {
      heap.pop();
      const l = heap.topLeft;
      const r = heap.topRight;
      if (ver[l] !== heap.topVerLeft || ver[r] !== heap.topVerRight || next[l] !== r) continue;
      toks[l] = heap.topId;
      ver[l]++;
      ver[r]++; // r is gone
      const rr = next[r];
      next[l] = rr;
      if (rr >= 0) prev[rr] = l;
      if (prev[l] >= 0) push(prev[l], l);
      if (rr >= 0) push(l, rr);
    }
    const out: number[] = [];
    for (let i = n > 0 ? 0 : -1; i >= 0; i = next[i]) out.push(toks[i]);
    return out;
  }

  private pairId(a: number, b: number): number {
    const key = a * this.vocabSize + b;
    let id = this.pairs.get(key);
    if (id === undefined) {
      id = this.ids.get(this.keys[a] + this.keys[b]) ?? -1;
      if (this.pairs.size >= PAIR_CACHE_LIMIT) this.pairs.clear();
      this.pairs.set(key, id);
    }
    return id;
  }

  /** Concatenates pieces as run.c's decode() does, then decodes the bytes as UTF-8 once. */
  decode(ids: number[], prev = -1): string {
    const parts: Uint8Array[] = [];
    let total = 0;
    let p = prev;
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
        throw new RangeError(`token id ${id} is outside the llama2.c vocab (size ${this.vocabSize})`);
      }
      const bytes = p === BOS ? this.pieceBytesAfterBos[id] : this.pieceBytes[id];
      parts.push(bytes);
      total += bytes.length;
      p = id;
    }
    const all = new Uint8Array(total);
    let off = 0;
    for (const b of parts) {
      all.set(b, off);
      off += b.length;
    }
    return this.textDecoder.decode(all);
  }
}

/** The bytes a piece stands for: `<0xXX>` is one raw byte, anything else is itself. */
function decodePiece(piece: Uint8Array): Uint8Array {
  if (piece.length >= 4 && piece[0] === 0x3c) {
    const m = BYTE_PIECE.exec(Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength).toString('latin1'));
    if (m) return Uint8Array.of(parseInt(m[1], 16));
  }
  return piece;
}

function latin1(bytes: Uint8Array, start: number, len: number): string {
  switch (len) {
    case 2:
      return String.fromCharCode(bytes[start], bytes[start + 1]);
    case 3:
      return String.fromCharCode(bytes[start], bytes[start + 1], bytes[start + 2]);
    default:
      return String.fromCharCode(bytes[start], bytes[start + 1], bytes[start + 2], bytes[start + 3]);
  }
}

/** Binary max-heap on (score desc, left position asc) in flat typed arrays; pop() fills top*. */
class PairHeap {
  size = 0;
  topLeft = 0;
  topRight = 0;
  topVerLeft = 0;
  topVerRight = 0;
  topId = 0;
  private readonly score: Float64Array;
  private readonly left: Int32Array;
  private readonly right: Int32Array;
  private readonly verL: Int32Array;
  private readonly verR: Int32Array;
  private readonly id: Int32Array;

  constructor(capacity: number) {
    this.score = new Float64Array(capacity);
    this.left = new Int32Array(capacity);
    this.right = new Int32Array(capacity);
    this.verL = new Int32Array(capacity);
    this.verR = new Int32Array(capacity);
    this.id = new Int32Array(capacity);
  }

  push(score: number, left: number, right: number, verLeft: number, verRight: number, id: number): void {
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(score, left, this.score[parent], this.left[parent])) break;
      this.move(parent, i);
      i = parent;
    }
    this.set(i, score, left, right, verLeft, verRight, id);
  }

  pop(): void {
    this.topLeft = this.left[0];
    this.topRight = this.right[0];
    this.topVerLeft = this.verL[0];
    this.topVerRight = this.verR[0];
    this.topId = this.id[0];
    const last = --this.size;
    if (last === 0) return;
    const s = this.score[last];
    const l = this.left[last];
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= last) break;
      if (child + 1 < last && before(this.score[child + 1], this.left[child + 1], this.score[child], this.left[child])) child++;
      if (!before(this.score[child], this.left[child], s, l)) break;
      this.move(child, i);
      i = child;
    }
    this.move(last, i);
  }

  private move(from: number, to: number): void {
    this.set(to, this.score[from], this.left[from], this.right[from], this.verL[from], this.verR[from], this.id[from]);
  }

  private set(i: number, score: number, left: number, right: number, verLeft: number, verRight: number, id: number): void {
    this.score[i] = score;
    this.left[i] = left;
    this.right[i] = right;
    this.verL[i] = verLeft;
    this.verR[i] = verRight;
    this.id[i] = id;
  }
}

function before(score: number, left: number, score2: number, left2: number): boolean {
  return score > score2 || (score === score2 && left < left2);
}
