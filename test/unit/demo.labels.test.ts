import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_SEED, DEFAULT_SIZE, corpusJsonl, generateCorpus, generateLabelledCorpus } from '../../demo/src/corpus/generate';
import { labelsPathFor, writeLabelledCorpus } from '../../demo/src/corpus/main';
import { buildQueries } from '../../demo/src/queries';
import { readLabels } from '../../server/src/engine/eval/labels';

/**
 * The committed demo model was trained on the default corpus: labelling must not change one byte of it
 * (sha256 of demo/data/corpus.jsonl as generated before labels existed).
 */
const DEFAULT_CORPUS_SHA256 = '48690bb9b80ed3746a8a045fe89db45dc30195b320652adb9d75486e9259c32f';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const labelled = generateLabelledCorpus({ seed: DEFAULT_SEED, size: DEFAULT_SIZE });

test('the default corpus is byte for byte the one the demo model was trained on', () => {
  assert.equal(sha256(corpusJsonl(labelled)), DEFAULT_CORPUS_SHA256);
  assert.equal(sha256(corpusJsonl(generateCorpus({ seed: DEFAULT_SEED, size: DEFAULT_SIZE }))), DEFAULT_CORPUS_SHA256);
});

test('same seed, same labels; the labels follow their documents', () => {
  const a = generateLabelledCorpus({ seed: 7, size: 300 });
  const b = generateLabelledCorpus({ seed: 7, size: 300 });
  assert.deepEqual(a, b);
  const other = generateLabelledCorpus({ seed: 8, size: 300 });
  assert.notDeepEqual(
    a.map((d) => d.labels),
    other.map((d) => d.labels),
  );
});

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const mentions = (text: string, s: string) => new RegExp(`(^|[^\\p{L}\\p{N}])${escape(s)}($|[^\\p{L}\\p{N}])`, 'u').test(text);

test('a document that states a fact names its value (and its subject) in its text', () => {
  let facts = 0;
  for (const d of labelled) {
    for (const f of d.labels.facts) {
      facts++;
      assert.ok(d.text.includes(f.value), `${d.id}: ${f.subject} ${f.relation} "${f.value}" not in ${JSON.stringify(d.text)}`);
      assert.ok(mentions(d.text, f.subject) || f.relation === 'currency' || f.relation === 'language', `${d.id}: subject ${f.subject} not in the text`);
    }
  }
  assert.ok(facts > 5000, `only ${facts} facts labelled`);
  // Every source that carries facts has some; procedures come from code, math and qa.
  const withFacts = new Set(labelled.filter((d) => d.labels.facts.length > 0).map((d) => d.source));
  assert.deepEqual([...withFacts].sort(), ['code', 'qa', 'web', 'wiki']);
  const withSteps = new Set(labelled.filter((d) => d.labels.procedures.some((p) => p.steps)).map((d) => d.source));
  assert.deepEqual([...withSteps].sort(), ['code', 'math', 'qa']);
});

test('procedure labels match what the document shows', () => {
  for (const d of labelled) {
    for (const p of d.labels.procedures) {
      if (p.form === 'code' && d.source === 'code') assert.match(d.text, /def |function |=>/, d.id);
      if (p.task === 'slopes' && p.steps) assert.match(d.text, /slope|y2 - y1|rise/i, d.id);
    }
  }
  const count = (task: string, form: string) => labelled.filter((d) => d.labels.procedures.some((p) => p.task === task && p.form === form && p.steps)).length;
  for (const task of ['arithmetic', 'slopes', 'linear']) {
    assert.ok(count(task, 'code') > 50, `${task} code: ${count(task, 'code')}`);
    assert.ok(count(task, 'math') > 80, `${task} math: ${count(task, 'math')}`);
  }
});

test('every factual demo query has documents stating its fact; the labels file round-trips', () => {
  const dir = mkdtempSync(join(tmpdir(), 'il-labels-'));
  const corpus = join(dir, 'corpus.jsonl');
  writeLabelledCorpus(corpus, DEFAULT_SEED, DEFAULT_SIZE);
  assert.equal(sha256(readFileSync(corpus, 'utf8')), DEFAULT_CORPUS_SHA256);
  const read = readLabels(labelsPathFor(corpus));
  assert.equal(read.documents.size, DEFAULT_SIZE);
  for (const d of labelled) assert.deepEqual(read.documents.get(d.id), d.labels);
  for (const q of buildQueries().filter((x) => x.kind === 'factual')) {
    const fact = read.queries.get(q.id)?.fact;
    assert.ok(fact, q.id);
    assert.equal(fact.value, q.answer);
    const relevant = labelled.filter((d) => d.labels.facts.some((f) => f.subject === fact.subject && f.relation === fact.relation && f.value === fact.value));
    assert.ok(relevant.length >= 3, `${q.id}: ${relevant.length} documents state it`);
  }
  assert.equal(read.queries.get('reason-slopes-01')?.procedure, 'slopes');
});
