/**
 * A small Hugging Face tokenizer.json in the shape of Llama's (SentencePiece BPE: normalizer prepending
 * "▁" and replacing spaces, byte fallback, and the decoder Replace → ByteFallback → Fuse → Strip(1, 0)),
 * with a toy vocabulary: enough to check how completions decode.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const SPECIAL = ['<unk>', '<s>', '</s>'];
const MERGES: [string, string][] = [
  ['▁', 'P'],
  ['▁P', 'a'],
  ['r', 'i'],
  ['▁Pa', 'ri'],
  ['▁Pari', 's'],
  ['▁', 'L'],
  ['i', 'l'],
  ['▁L', 'il'],
  ['▁Lil', 'y'],
  ['▁', 'i'],
  ['▁i', 's'],
];

export function writeLlamaStyleTokenizer(dir: string): void {
  const vocab: Record<string, number> = {};
  const add = (piece: string) => (vocab[piece] ??= Object.keys(vocab).length);
  SPECIAL.forEach(add);
  for (let b = 0; b < 256; b++) add(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
  for (const c of '▁abcdefghijklmnopqrstuvwxyzPLT.,') add(c);
  for (const [a, b] of MERGES) add(a + b);
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL.map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'Prepend', prepend: '▁' },
        { type: 'Replace', pattern: { String: ' ' }, content: '▁' },
      ],
    },
    pre_tokenizer: null,
    post_processor: null,
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<unk>',
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab,
      merges: MERGES.map(([a, b]) => `${a} ${b}`),
    },
  };
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(json));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ bos_token: '<s>', eos_token: '</s>' }));
}
