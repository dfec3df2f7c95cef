import { spawn } from 'node:child_process';
import { join } from 'node:path';

export const REPO = join(__dirname, '..', '..');
export const CLI = join(REPO, 'bin', 'influence-lens.js');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built CLI (bin/influence-lens.js → dist/cli.js) to completion. `timeoutMs` kills a run that
 * hangs (code null), so a test of a hang fails instead of waiting forever.
 */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs?: number): Promise<CliRun> {
  return runNode([CLI, ...args], env, timeoutMs);
}

/**
 * This process's environment without a scheduler's shard variables: the CLI takes its shard from them, and
 * the tests may themselves run inside a Slurm job or a pod. A test that wants them passes them.
 */
const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(SLURM_|JOB_COMPLETION_INDEX$)/.test(k)));

/** Runs `node args…` from the repository to completion (e.g. a CLI installed elsewhere). */
export function runNode(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs?: number): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: REPO, env: { ...inherited, ...env }, timeout: timeoutMs, killSignal: 'SIGKILL' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
