/**
 * The model families the engine loads (`model_type` in a Hugging Face config, or llama2.c), by name: the
 * engine's registry has one row per name (engine/model/arch/registry.ts), and the status the client shows
 * names the family. It imports nothing.
 */
export type Architecture = 'llama' | 'gpt2' | 'qwen2' | 'mistral' | 'gpt_neox' | 'qwen3' | 'phi3' | 'olmo2' | 'cohere';
