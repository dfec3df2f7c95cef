/**
 * Every architecture family, one row each. `Record<Architecture, Family>` makes a family added to
 * types.ts without a row here (or a row without a family) a compile error.
 */
import { InfluenceLensError } from '../../errors';
import type { Architecture } from '../types';
import type { Family } from './family';
import { cohere } from './cohere';
import { gpt2 } from './gpt2';
import { gptNeox } from './gptNeox';
import { llama } from './llama';
import { mistral } from './mistral';
import { olmo2 } from './olmo2';
import { phi3 } from './phi3';
import { qwen2 } from './qwen2';
import { qwen3 } from './qwen3';

export const FAMILIES: Record<Architecture, Family> = { llama, gpt2, qwen2, mistral, gpt_neox: gptNeox, qwen3, phi3, olmo2, cohere };

export function family(architecture: Architecture): Family {
  return FAMILIES[architecture];
}

/** Every config.json model_type this build reads, sorted. */
export const SUPPORTED_MODEL_TYPES: readonly string[] = Object.values(FAMILIES)
  .flatMap((f) => f.modelTypes)
  .sort();

/** The family reading `modelType`; anything else is refused with the list of supported ones. */
export function familyForModelType(modelType: unknown, file: string): Family {
  const f = Object.values(FAMILIES).find((x) => typeof modelType === 'string' && x.modelTypes.includes(modelType));
  if (!f) {
    throw new InfluenceLensError(
      'UNSUPPORTED',
      `${file}: model_type ${JSON.stringify(modelType)} is not supported (supported: ${SUPPORTED_MODEL_TYPES.join(', ')})`,
      { file },
    );
  }
  return f;
}
