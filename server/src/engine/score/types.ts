/** Preconditioned query gradients as they are shipped to the compute threads (plain data). */

/** One module's preconditioned gradients of all queries: dense P [Q × out × in], or P ≈ L Rᵀ per query. */
export type QueryModule =
  | { name: string; kind: 'dense'; outDim: number; inDim: number; P: Float32Array }
  | { name: string; kind: 'lowrank'; outDim: number; inDim: number; rank: number; L: Float32Array /* [out × Q·r] */; R: Float32Array /* [in × Q·r] */ };

export interface PreparedQueries {
  count: number;
  modules: QueryModule[];
}

/** Per module, what self-influence needs: the eigenbases (when rotating) and 1/(Λ+λ) [out×in]. */
export interface SelfPreconditioner {
  name: string;
  outDim: number;
  inDim: number;
  QA?: Float32Array;
  QS?: Float32Array;
  inverseDamped: Float32Array;
}
