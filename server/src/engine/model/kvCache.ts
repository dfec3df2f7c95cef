/**
 * Keys and values of the positions a model has already seen, per layer, so greedy decoding feeds one new
 * token per step instead of the whole prefix. The tensors live outside any tidy scope: each step keeps
 * the grown ones and releases the previous ones once the step's tidy scope has ended (commit).
 */
import { tf, type Tensor } from '../tf';

export class KvCache {
  private readonly layers: ({ k: Tensor; v: Tensor } | undefined)[] = [];
  private stale: Tensor[] = [];
  private pending = 0;
  /** Positions cached so far. */
  length = 0;

  /**
   * Layer `layer`'s keys and values [B, cached + L, heads, hd] with this step's k, v [B, L, heads, hd]
   * appended. Call inside the step's tidy scope; the results are kept until the next step replaces them.
   */
  extend(layer: number, k: Tensor, v: Tensor): { k: Tensor; v: Tensor } {
    const old = this.layers[layer];
    const next = old ? { k: tf.concat([old.k, k], 1), v: tf.concat([old.v, v], 1) } : { k, v };
    if (old) this.stale.push(old.k, old.v);
    this.layers[layer] = { k: tf.keep(next.k), v: tf.keep(next.v) };
    this.pending = k.shape[1] as number;
    return next;
  }

  /** Ends a step (after its tidy scope): the new positions count, the replaced tensors go. */
  commit(): void {
    this.length += this.pending;
    this.pending = 0;
    tf.dispose(this.stale);
    this.stale = [];
  }

  dispose(): void {
    for (const l of this.layers) if (l) tf.dispose([l.k, l.v]);
    this.layers.length = 0;
    tf.dispose(this.stale);
    this.stale = [];
    this.length = 0;
  }
}
