/**
 * Runs Kubernetes Job manifests on this machine, as a cluster's Job controller would run their pods:
 * each pod a process started with the container's command and args ($(VAR) expanded from its env, as
 * the kubelet does), its env (a downward-API completion index resolved), JOB_COMPLETION_INDEX for an
 * Indexed Job's pods, and PATH/HOME, nothing else; at most `parallelism` at a time; a failed pod retried
 * up to backoffLimitPerIndex (Indexed) or backoffLimit times. No image: the command must exist here.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath: string } };
}
interface JobManifest {
  metadata: { name: string };
  spec: {
    completionMode?: string;
    completions?: number;
    parallelism?: number;
    backoffLimit?: number;
    backoffLimitPerIndex?: number;
    template: { spec: { containers: { command?: string[]; args?: string[]; env?: EnvVar[] }[] } };
  };
}

export interface PodRun {
  job: string;
  index: number;
  attempt: number;
  code: number | null;
  stderr: string;
}

/** $(VAR) from env, $$(VAR) kept literally, unknown references left as written (Kubernetes' rules). */
function expand(s: string, env: Record<string, string>): string {
  return s.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name: string | undefined) =>
    m === '$$' ? '$' : name !== undefined && name in env ? env[name] : m,
  );
}

/**
 * Runs the Jobs in order, each once the one before has completed, like apply.sh. `onPod` may kill a pod
 * (it gets the child process and its stderr so far) to simulate a preempted node.
 */
export async function runJobs(
  files: string[],
  hooks: { onStderr?: (pod: { job: string; index: number; attempt: number; kill: () => void }, stderr: string) => void } = {},
): Promise<PodRun[]> {
  const pods: PodRun[] = [];
  for (const file of files) {
    const m = JSON.parse(readFileSync(file, 'utf8')) as JobManifest;
    const indexed = m.spec.completionMode === 'Indexed';
    const completions = m.spec.completions ?? 1;
    const parallelism = m.spec.parallelism ?? 1;
    const retries = (indexed ? m.spec.backoffLimitPerIndex : m.spec.backoffLimit) ?? 6;
    const container = m.spec.template.spec.containers[0];
    const runPod = (index: number, attempt: number): Promise<PodRun> => {
      const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root' };
      if (indexed) env.JOB_COMPLETION_INDEX = String(index);
      for (const v of container.env ?? []) {
        const path = v.valueFrom?.fieldRef?.fieldPath;
        if (v.value !== undefined) env[v.name] = expand(v.value, env);
        else if (path === "metadata.annotations['batch.kubernetes.io/job-completion-index']") env[v.name] = String(index);
        else throw new Error(`${file}: env ${v.name} refers to ${path}, which this harness does not provide`);
      }
      const argv = [...(container.command ?? []), ...(container.args ?? [])].map((a) => expand(a, env));
      return new Promise((resolve, reject) => {
        const child = spawn(argv[0], argv.slice(1), { env });
        let stderr = '';
        const pod = { job: m.metadata.name, index, attempt, kill: () => child.kill('SIGKILL') };
        child.stderr.on('data', (d) => {
          stderr += d;
          hooks.onStderr?.(pod, stderr);
        });
        child.stdout.resume();
        child.on('error', reject);
        child.on('close', (code) => resolve({ job: m.metadata.name, index, attempt, code, stderr }));
      });
    };
    const runIndex = async (index: number) => {
      for (let attempt = 0; ; attempt++) {
        const r = await runPod(index, attempt);
        pods.push(r);
        if (r.code === 0) return;
        if (attempt >= retries) throw new Error(`job ${m.metadata.name}: index ${index} failed ${attempt + 1} times; last stderr:\n${r.stderr}`);
      }
    };
    let next = 0;
    const worker = async () => {
      while (next < completions) await runIndex(next++);
    };
    await Promise.all(Array.from({ length: Math.min(parallelism, completions) }, worker));
  }
  return pods;
}
