/**
 * One completion rule (score/queries.ts CompletionRule) for every place a greedy completion is made: the
 * demo's `score` step, `influence-lens score` as a user types it, `eval facts` and a hover on an .infq
 * query give the same query the same completion — the model's answer, not what it goes on to say — and
 * `--full-completions` keeps the whole continuation. Runs the demo model (greedy, wasm, one thread).
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { main as cli } from '../../server/src/cli';
import { parseInfq } from '../../server/src/engine/queries/infq';
import { openFactorSet } from '../../server/src/engine/runs/factors';
import { InfluenceSession } from '../../server/src/engine/runs/influence';
import { ModelRun } from '../../server/src/engine/runs/modelRun';
import { ANSWER_LINE, throughAnswerLine, type PreparedQuery } from '../../server/src/engine/score/queries';
import { parseSettings } from '../../server/src/settings';
import { DEFAULT_SEED } from '../../demo/src/corpus/generate';
import { labelsPathFor, writeLabelledCorpus } from '../../demo/src/corpus/main';
import { demoScoreArgs } from '../../demo/src/run';

const REPO = resolve(__dirname, '..', '..');
const MODEL = join(REPO, 'demo', 'model');
/** Two factual forms (the demo model answers, then goes on), two reasoning tasks, a control query. */
const IDS = ['fact-capital-jp', 'fact-capital-au', 'reason-arithmetic-01', 'reason-linear-01', 'control-copy-1'];

const dir = mkdtempSync(join(tmpdir(), 'il-completion-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const corpus = join(dir, 'corpus.jsonl');
const queries = join(dir, 'queries.jsonl');
const factors = join(dir, 'factors');
const common = ['--quiet', '--workers', '1', '--backend', 'wasm'];

async function run(argv: string[]): Promise<void> {
  assert.equal(await cli([...argv, ...common]), 0, `influence-lens ${argv[0]} succeeds`);
}

function completions(results: string): Map<string, { completion: string; tokens: number[] }> {
  const r = JSON.parse(readFileSync(join(results, 'results.json'), 'utf8')) as { queries: { id: string; completion: string; completionTokens: number[] }[] };
  return new Map(r.queries.map((q) => [q.id, { completion: q.completion, tokens: q.completionTokens }]));
}

before(async () => {
  writeLabelledCorpus(corpus, DEFAULT_SEED, 24);
  const lines = readFileSync(join(REPO, 'demo', 'queries.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => IDS.includes((JSON.parse(l || '{}') as { id?: string }).id ?? ''));
  assert.equal(lines.length, IDS.length, 'the chosen demo queries exist');
  writeFileSync(queries, lines.join('\n') + '\n');
  await run(['fit', '--model', MODEL, '--corpus', corpus, '--out', factors, '--max-len', '256']);
});

test('the demo, score, eval facts and the hover attribute the same completion: the answer, not the continuation', { timeout: 900_000 }, async () => {
  // The demo's own score step (demo/src/run.ts), and score as a user types it.
  const demo = join(dir, 'demo-results');
  await run(demoScoreArgs({ model: MODEL, corpus, factors, queries, results: demo }));
  const user = join(dir, 'user-results');
  await run(['score', '--model', MODEL, '--corpus', corpus, '--factors', factors, '--queries', queries, '--out', user]);
  const full = join(dir, 'full-results');
  await run(['score', '--model', MODEL, '--corpus', corpus, '--factors', factors, '--queries', queries, '--out', full, '--full-completions']);
  // eval facts (methods that need no fit: the completions are prepared the same way for every method).
  const work = join(dir, 'eval');
  await run([
    'eval',
    'facts',
    '--model',
    MODEL,
    '--corpus',
    corpus,
    '--queries',
    queries,
    '--labels',
    labelsPathFor(corpus),
    '--work',
    work,
    '--max-len',
    '256',
    '--methods',
    'bm25,random',
  ]);
  const evalQueries = (JSON.parse(readFileSync(join(work, 'queries.json'), 'utf8')) as { queries: PreparedQuery[] }).queries;
  const byEval = new Map(evalQueries.map((q) => [q.record.id, { completion: q.completion, tokens: q.completionTokens }]));
  // The hover on each query of demo/queries.infq, under the default settings, as the server prepares it.
  const settings = parseSettings({});
  const modelRun = await ModelRun.open({ model: MODEL, backend: 'wasm', workers: 1 });
  const byHover = new Map<string, { completion: string; tokens: number[] }>();
  try {
    const set = await openFactorSet(modelRun, factors);
    const session = await InfluenceSession.create(modelRun, set, {
      corpus: { path: corpus },
      maxNewTokens: settings.maxNewTokens,
      firstLine: settings.completion === 'firstLine',
    });
    const infq = join(REPO, 'demo', 'queries.infq');
    for (const { record } of parseInfq(readFileSync(infq, 'utf8'), infq).blocks.filter((b) => IDS.includes(b.record.id))) {
      const { id, prompt, completion, kind, task, answer, file, line } = record; // what HoverHandler.query passes on
      const q = await session.prepare({ id, prompt, completion, kind, task, answer, file, line });
      byHover.set(id, { completion: q.completion, tokens: q.completionTokens });
    }
  } finally {
    await modelRun.dispose();
  }

  const byDemo = completions(demo);
  const byUser = completions(user);
  const byFull = completions(full);
  for (const id of IDS) {
    const d = byDemo.get(id)!;
    assert.ok(d, `${id} was scored`);
    assert.deepEqual(byUser.get(id), d, `${id}: score as typed = the demo`);
    assert.deepEqual(byEval.get(id), d, `${id}: eval facts = the demo`);
    assert.deepEqual(byHover.get(id), d, `${id}: the hover = the demo`);
    // The answer: a prefix of the full greedy continuation, cut where its line ends.
    const f = byFull.get(id)!;
    assert.ok(f.completion.startsWith(d.completion), `${id}: ${JSON.stringify(d.completion)} begins ${JSON.stringify(f.completion)}`);
    assert.deepEqual(f.tokens.slice(0, d.tokens.length), d.tokens, `${id}: the same greedy tokens`);
    if (id.startsWith('reason-')) {
      if (ANSWER_LINE.test(f.completion))
        assert.ok(
          ANSWER_LINE.test(d.completion) && /\n/.test(d.completion.trim()),
          `${id}: the worked steps through the answer line: ${JSON.stringify(d.completion)}`,
        );
      else assert.deepEqual(f, d, `${id}: no answer line within the budget: the whole continuation`);
    } else {
      assert.ok(!/\n/.test(d.completion.trim()), `${id}: one line of content: ${JSON.stringify(d.completion)}`);
      if (id.startsWith('fact-'))
        assert.ok(f.completion.length > d.completion.length, `${id}: the model goes on after answering: ${JSON.stringify(f.completion)}`);
    }
    if (f.completion.length > d.completion.length)
      assert.match(f.completion.slice(d.completion.length), /^[^\S\n]*\n/, `${id}: the answer ends where its line does`);
  }
});

test('a reasoning completion ends with the line that gives the answer, as the first-line stop ends a line', () => {
  // A character tokenizer with two multi-character tokens: '\n\n' (whitespace only) and '.\n' (content, then a newline).
  const vocab = ['\n\n', '.\n', ...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789=+-*,.\n'.split('')];
  const encode = (s: string) => {
    const out: number[] = [];
    for (let i = 0; i < s.length;) {
      const two = vocab.indexOf(s.slice(i, i + 2));
      const pair = two >= 0 && two < 2;
      out.push(pair ? two : vocab.indexOf(s[i]));
      i += pair ? 2 : 1;
    }
    return out;
  };
  const decode = (ids: number[]) => ids.map((i) => vocab[i]).join('');
  const lineEnd = { newline: vocab.flatMap((t, i) => (t.includes('\n') ? [i] : [])), blank: vocab.flatMap((t, i) => (/\S/.test(t) ? [] : [i])) };
  const cut = (s: string) => decode(throughAnswerLine(encode(s), lineEnd, decode));
  assert.equal(cut('\n\nFirst, 3 + 4 = 7\nThe answer is 14\n\nCalculate the answer'), '\n\nFirst, 3 + 4 = 7\nThe answer is 14');
  assert.equal(
    cut('\n\nFirst, 3 + 4 = 7\nThe answer is 14.\nCalculate'),
    '\n\nFirst, 3 + 4 = 7\nThe answer is 14.\n',
    'a token with content and a newline is kept',
  );
  assert.equal(cut('\n\nFirst, 3 + 4 = 7\nThen 7 * 2 = 14'), '\n\nFirst, 3 + 4 = 7\nThen 7 * 2 = 14', 'no answer line: unchanged');
  assert.equal(cut('The answer is 14'), 'The answer is 14', 'the budget ended the line');
});
