/** Loads a complete factor set for scoring: eigenbases and Λ per module, normalised by their counts. */
import { join } from 'node:path';
import { InfluenceLensError } from '../errors';
import { identityDifferences, readManifest, readStage, stagesFor, type FactorIdentity, type FactorManifest } from './store';
import type { ModuleEigen, ModuleFactors } from './types';
import type { HostTensor } from '../model/types';

export interface LoadedFactors {
  dir: string;
  manifest: FactorManifest;
  modules: ModuleFactors[];
}

/**
 * `expect` names the model (always checked) and, optionally, settings that must agree. The corpus may
 * differ: factors fitted on a sample are meant to score a larger corpus.
 */
export async function loadFactors(dir: string, expect: { model: FactorIdentity['model'] }): Promise<LoadedFactors> {
  const manifest = readManifest(dir);
  if (!manifest) throw new InfluenceLensError('NOT_FOUND', `no factors in ${dir} (run influence-lens fit first)`, { file: join(dir, 'manifest.json') });
  const diff = identityDifferences(manifest, { ...manifest, model: expect.model }, true);
  if (diff.length > 0)
    throw new InfluenceLensError('FACTORS_MISMATCH', `factors in ${dir} do not fit this model:\n  ${diff.join('\n  ')}`, { file: join(dir, 'manifest.json') });
  const missing = stagesFor(manifest.settings.strategy).filter((s) => !manifest.stages[s]);
  if (missing.length > 0) {
    throw new InfluenceLensError('FACTORS_INCOMPLETE', `factors in ${dir} are incomplete (missing: ${missing.join(', ')}); rerun fit (and merge, if sharded)`, {
      file: join(dir, 'manifest.json'),
    });
  }
  const eigen = manifest.stages.eigen ? await readStage(dir, manifest, 'eigen') : undefined;
  const lambda = manifest.stages.lambda ? await readStage(dir, manifest, 'lambda') : undefined;
  const documents = manifest.stages.lambda?.documents ?? 1;
  const modules = manifest.settings.modules.map((name): ModuleFactors => {
    const e = eigen && moduleEigen(eigen, name, dir);
    let l: Float64Array | undefined;
    let dims: number[] | undefined;
    if (lambda) {
      const t = lambda.get(`${name}.lambda`);
      if (!t || t.shape.length !== 2 || (e && t.shape.join() !== `${e.outDim},${e.inDim}`)) {
        throw new InfluenceLensError('FACTORS_CORRUPT', `Λ lacks module ${name}, or its shape does not fit the eigenbases`, {
          file: join(dir, 'lambda.safetensors'),
        });
      }
      l = Float64Array.from(t.data, (x) => x / documents);
      dims = t.shape;
    } else if (e) {
      // K-FAC: Λ = e_S e_Aᵀ, the eigenvalues of the Kronecker product.
      l = new Float64Array(e.outDim * e.inDim);
      for (let o = 0; o < e.outDim; o++) for (let i = 0; i < e.inDim; i++) l[o * e.inDim + i] = Math.max(0, e.eS[o]) * Math.max(0, e.eA[i]);
    }
    const [outDim, inDim] = dims ?? (e ? [e.outDim, e.inDim] : [0, 0]);
    return { name, outDim, inDim, eigen: e, lambda: l };
  });
  return { dir, manifest, modules };
}

const f64 = (t: { data: Float32Array } | undefined) => (t ? Float64Array.from(t.data) : undefined);

/** One module's eigenbases, checked to fit together. */
function moduleEigen(eigen: Map<string, HostTensor>, name: string, dir: string): ModuleEigen {
  const [QA, eA, QS, eS] = ['QA', 'eA', 'QS', 'eS'].map((k) => eigen.get(`${name}.${k}`));
  const n = QA?.shape[0] ?? 0;
  const m = QS?.shape[0] ?? 0;
  const fits =
    QA && eA && QS && eS && QA.shape.join() === `${n},${n}` && eA.shape.join() === `${n}` && QS.shape.join() === `${m},${m}` && eS.shape.join() === `${m}`;
  if (!fits)
    throw new InfluenceLensError('FACTORS_CORRUPT', `eigen factors lack module ${name}, or its tensors do not fit together`, {
      file: join(dir, 'eigen.safetensors'),
    });
  return { name, inDim: n, outDim: m, QA: f64(QA)!, eA: f64(eA)!, QS: f64(QS)!, eS: f64(eS)! };
}

/** The eigenbases alone, once the eigen stage is written (before Λ exists: the fit's Λ pass sketches with them). */
export async function loadEigenModules(dir: string, manifest: FactorManifest): Promise<ModuleFactors[]> {
  const eigen = await readStage(dir, manifest, 'eigen');
  return manifest.settings.modules.map((name) => {
    const e = moduleEigen(eigen, name, dir);
    return { name, outDim: e.outDim, inDim: e.inDim, eigen: e };
  });
}
