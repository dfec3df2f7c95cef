/**
 * The one place the engine imports TensorFlow.js. `@tensorflow/tfjs` (not tfjs-core alone) because only
 * the union package registers gradients and chained ops in Node (docs/ENVIRONMENT.md). The bundles keep
 * @tensorflow/* external so that an optional tfjs-node shares this very instance.
 */
import * as tf from '@tensorflow/tfjs';

export { tf };
export type Tensor = tf.Tensor;
export type Tensor1D = tf.Tensor1D;
export type Tensor2D = tf.Tensor2D;
export type Tensor3D = tf.Tensor3D;
export type Tensor4D = tf.Tensor4D;
