/**
 * A BPE tokenizer.json's vocabulary and merges checked as the Rust tokenizers library checks them (its
 * BpeBuilder): every id a non-negative integer, every merge two pieces of the vocabulary whose
 * concatenation is in it too. The JavaScript library accepts junk merges silently, and such a tokenizer
 * belongs to no model.
 */
import { InfluenceLensError } from '../errors';

type Json = Record<string, unknown>;

export function checkBpeModel(model: Json, file: string): void {
  if (model.type !== undefined && model.type !== 'BPE') return;
  const fail = (msg: string) => new InfluenceLensError('MODEL_FORMAT', `malformed tokenizer.json ${file}: ${msg}`, { file });
  const vocab = model.vocab;
  if (typeof vocab !== 'object' || vocab === null || Array.isArray(vocab)) throw fail('model.vocab is not an object of token → id');
  const ids = new Map<string, number>();
  for (const [piece, id] of Object.entries(vocab as Json)) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) throw fail(`model.vocab[${JSON.stringify(piece)}] is ${JSON.stringify(id)}, not a token id`);
    ids.set(piece, id);
  }
  const merges = model.merges ?? [];
  if (!Array.isArray(merges)) throw fail('model.merges is not a list');
  const prefix = typeof model.continuing_subword_prefix === 'string' ? model.continuing_subword_prefix.length : 0;
  merges.forEach((m: unknown, i) => {
    let pair: unknown[] | undefined;
    if (typeof m === 'string') {
      const parts = m.split(' ');
      pair = parts.length === 2 ? parts : undefined;
    } else if (Array.isArray(m) && m.length === 2 && m.every((x) => typeof x === 'string')) {
      pair = m;
    }
    if (!pair) throw fail(`model.merges[${i}] is ${JSON.stringify(m)}, not a pair of tokens`);
    const [a, b] = pair as string[];
    const merged = a + b.slice(prefix);
    for (const piece of [a, b, merged]) {
      if (!ids.has(piece)) throw fail(`model.merges[${i}] ${JSON.stringify(m)} uses ${JSON.stringify(piece)}, which is not in the vocabulary`);
    }
  });
}
