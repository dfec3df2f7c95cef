/**
 * The time an artefact records as made. SOURCE_DATE_EPOCH (the reproducible-builds convention, whole seconds
 * since 1970) fixes it, so a rerun of the same shard — a preempted Slurm task, a retried pod — writes
 * byte-identical metadata; cluster plans set it once per run.
 */
export function artefactTime(env: NodeJS.ProcessEnv = process.env): string {
  const fixed = env.SOURCE_DATE_EPOCH;
  if (fixed !== undefined && /^\d{1,12}$/.test(fixed.trim())) return new Date(Number(fixed.trim()) * 1000).toISOString();
  return new Date().toISOString();
}
