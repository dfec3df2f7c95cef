/** What the engine needs from any tokenizer. */
export interface Tokenizer {
  readonly kind: 'llama2c' | 'huggingface';
  readonly vocabSize: number;
  /** Beginning-of-sequence id, or -1 when the tokenizer has none (then the model's config decides). */
  readonly bosId: number;
  readonly eosId: number;
  /** Token ids for `text`, without BOS/EOS. */
  encode(text: string): number[];
  /** Text of a token sequence that follows `prev` (llama2.c strips the space after BOS). */
  decode(ids: number[], prev?: number): string;
}
