/**
 * TensorFlow's native library through @tensorflow/tfjs-node(-gpu), both optional and installed by the user
 * where their install step can download libtensorflow (docs/GPU.md). Either registers a 'tensorflow'
 * backend on the shared tfjs engine when loaded.
 */
import { tf } from '../tf';
import type { AttemptResult } from './attempt';
import { firstLine, type ModuleLoader } from './loader';

export const TFJS_NODE = '@tensorflow/tfjs-node';
export const TFJS_NODE_GPU = '@tensorflow/tfjs-node-gpu';

export async function tryNative(pkg: string, load: ModuleLoader): Promise<AttemptResult> {
  try {
    load(pkg);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { failure: code === 'MODULE_NOT_FOUND' ? `${pkg} is not installed` : `${pkg} failed to load: ${firstLine(e)}` };
  }
  try {
    if (!(await tf.setBackend('tensorflow'))) return { failure: `${pkg} loaded but its backend failed to initialise` };
  } catch (e) {
    return { failure: `${pkg} failed: ${firstLine(e)}` };
  }
  // tfjs-node-gpu runs on CPU kernels, silently, when CUDA or cuDNN cannot be loaded; its binding knows.
  if (pkg === TFJS_NODE_GPU && (tf.backend() as unknown as { isUsingGpuDevice?: boolean }).isUsingGpuDevice !== true) {
    return { failure: `${pkg} loaded but sees no GPU (CUDA 11.2 / cuDNN 8.1 not found, or CUDA_VISIBLE_DEVICES hides it)` };
  }
  return {};
}
