/**
 * The tables of docs/EVALUATION.md are written by the commands that compute them (`npm run eval:facts`,
 * `npm run eval:lds`, `npm run demo -- --doc`), between `<!-- BEGIN x -->` / `<!-- END x -->` markers, each
 * with the machine, its load and the command's wall time: no number there is typed by hand.
 */
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { writeTextAtomically } from '../../server/src/engine/util/atomic';
import { TOOL_VERSION } from '../../server/src/engine/version';

const ROOT = resolve(__dirname, '..', '..');
export const EVALUATION_DOC = join(ROOT, 'docs', 'EVALUATION.md');

/** The conditions of a run that started at `started` with 1-minute load average `load0[0]`. */
export function conditions(started: number, load0: number[]): string {
  const load1 = loadavg();
  return (
    `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, ${TOOL_VERSION}; ` +
    `1-minute load average ${load0[0].toFixed(1)} at the start and ${load1[0].toFixed(1)} at the end (other work shared the machine); ` +
    `wall time of the command ${((Date.now() - started) / 1000 / 60).toFixed(1)} min`
  );
}

/** Replaces the text between `<!-- BEGIN name -->` and `<!-- END name -->` in docs/EVALUATION.md. */
export function updateDocSection(name: string, body: string, doc = EVALUATION_DOC): void {
  const text = readFileSync(doc, 'utf8');
  const begin = `<!-- BEGIN ${name} -->`;
  const end = `<!-- END ${name} -->`;
  const a = text.indexOf(begin);
  const b = text.indexOf(end);
  if (a < 0 || b < a) throw new Error(`${doc} has no ${begin} … ${end} section`);
  writeTextAtomically(doc, `${text.slice(0, a + begin.length)}\n${body.trim()}\n${text.slice(b)}`);
}
