import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readCorpusAll } from '../../server/src/engine/corpus/corpus';
import { readQueries } from '../../server/src/engine/queries/read';
import { loadHuggingFaceTokenizer } from '../../server/src/engine/tokenizer/huggingface';
import {
  DEFAULT_SEED,
  DEFAULT_SHARES,
  DEFAULT_SIZE,
  DEMO_SOURCES,
  type DemoDocument,
  corpusJsonl,
  generateCorpus,
  sourceCounts,
} from '../../demo/src/corpus/generate';
import { COUNTRIES, FOCUS_COUNTRIES } from '../../demo/src/corpus/facts';
import { apply, type Op } from '../../demo/src/corpus/problems';
import { DEFAULT_QUERIES_PATH, buildQueries, queriesJsonl } from '../../demo/src/queries';
import { tokenStats } from '../../demo/src/tokenizer/main';
import { BOS_TOKEN, EOS_TOKEN, preTokenize, preTokenizeText, tokenizerJson, trainBpe, writeTokenizer } from '../../demo/src/tokenizer/trainBpe';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

// The default corpus, generated once for the tests below.
const corpus = generateCorpus({ seed: DEFAULT_SEED, size: DEFAULT_SIZE });
const texts = corpus.map((d) => d.text);

test('same seed and size give the same corpus, byte for byte; another seed differs', () => {
  const again = generateCorpus({ seed: DEFAULT_SEED, size: DEFAULT_SIZE });
  assert.deepEqual(again, corpus);
  assert.equal(sha256(corpusJsonl(again)), sha256(corpusJsonl(corpus)));
  const other = generateCorpus({ seed: DEFAULT_SEED + 1, size: DEFAULT_SIZE });
  assert.notEqual(sha256(corpusJsonl(other)), sha256(corpusJsonl(corpus)));
  // Most documents differ, not just the order.
  const texts0 = new Set(texts);
  assert.ok(other.filter((d) => !texts0.has(d.text)).length > DEFAULT_SIZE / 2);
  // Small corpora are deterministic too, and a source's documents do not depend on the others' counts.
  const small = generateCorpus({ seed: 7, size: 50 });
  assert.deepEqual(generateCorpus({ seed: 7, size: 50 }), small);
  assert.equal(small.length, 50);
});

test('generateCorpus validates its options', () => {
  assert.throws(() => generateCorpus({ seed: 1.5, size: 10 }), /seed/);
  assert.throws(() => generateCorpus({ seed: 1, size: 0 }), /size/);
  assert.throws(() => generateCorpus({ seed: 1, size: 10, shares: { code: 0 } }), /shares/);
  const onlyCode = generateCorpus({ seed: 1, size: 20, shares: { code: 1 } });
  assert.ok(onlyCode.every((d) => d.source === 'code'));
});

test('every source is present with its share; ids are unique; documents are non-empty', () => {
  assert.equal(corpus.length, DEFAULT_SIZE);
  const expected = sourceCounts(DEFAULT_SIZE);
  for (const s of DEMO_SOURCES) {
    const n = corpus.filter((d) => d.source === s).length;
    assert.equal(n, expected[s], s);
    assert.ok(Math.abs(n / DEFAULT_SIZE - DEFAULT_SHARES[s]) < 0.01, `${s}: ${n}`);
    assert.ok(n / DEFAULT_SIZE >= 0.1, `${s} share`);
  }
  assert.equal(new Set(corpus.map((d) => d.id)).size, corpus.length);
  for (const d of corpus) {
    assert.ok(d.text.trim().length > 20, d.id);
    assert.ok(d.id.startsWith(`${d.source}-`), d.id);
  }
  // Sources are interleaved, not in blocks.
  const sameAsNext = corpus.slice(1).filter((d, i) => d.source === corpus[i].source).length;
  assert.ok(sameAsNext < corpus.length * 0.4, `${sameAsNext} neighbours share a source`);
  // No exact duplicate dominates (templates vary).
  assert.ok(new Set(texts).size > DEFAULT_SIZE * 0.9);
});

test('the project corpus reader reads the JSONL with its source labels', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'il-demo-'));
  const file = join(dir, 'corpus.jsonl');
  const docs = corpus.slice(0, 200);
  writeFileSync(file, corpusJsonl(docs));
  const read = await readCorpusAll({ path: file });
  assert.equal(read.length, docs.length);
  read.forEach((r, i) => {
    assert.equal(r.id, docs[i].id);
    assert.equal(r.source, docs[i].source);
    assert.equal(r.text, docs[i].text);
  });
});

test('the code and math sources teach the three reasoning procedures, many times, with different numbers', () => {
  const code = corpus.filter((d) => d.source === 'code').map((d) => d.text);
  const math = corpus.filter((d) => d.source === 'math').map((d) => d.text);
  const count = (docs: string[], re: RegExp) => docs.filter((t) => re.test(t)).length;
  assert.ok(count(code, /\(y2 - y1\) \/ \(x2 - x1\)|rise \/ run/) >= 50, 'slope code');
  assert.ok(count(code, /\(c - b\) \/ a|rhs \/ a/) >= 50, 'linear code');
  assert.ok(count(code, /^def |^function |=> \(/m) >= 300, 'functions');
  assert.ok(count(code, /def \w+\(/) >= 200 && count(code, /function \w+\(|const \w+ = \(/) >= 200, 'python and javascript');
  assert.ok(count(math, /^Calculate the answer: \(\d+ [-+*] \d+\) [-+*] \d+\n\nThink step-by-step\.\n\nFirst, /) >= 50, 'arithmetic template');
  assert.ok(
    count(math, /^What is the slope of the line passing through the points \(\d+, \d+\) and \(\d+, \d+\)\?\n\nThink step-by-step\./) >= 50,
    'slope template',
  );
  assert.ok(count(math, /^Solve for x: \d+x [-+] \d+ = \d+\n\nThink step-by-step\./) >= 50, 'linear template');
  const expressions = new Set(math.flatMap((t) => t.match(/\(\d+ [-+] \d+\) \* \d+/g) ?? []));
  assert.ok(expressions.size >= 150, `distinct arithmetic problems: ${expressions.size}`);
});

test('worked solutions in the corpus are arithmetically right', () => {
  let checked = 0;
  for (const t of texts) {
    for (const m of t.matchAll(/First, (\d+) ([-+*]) (\d+) = (-?\d+)\.\nThen (-?\d+) ([-+*]) (\d+) = (-?\d+)\./g)) {
      assert.equal(apply(Number(m[1]), m[2] as Op, Number(m[3])), Number(m[4]), m[0]);
      assert.equal(m[5], m[4]);
      assert.equal(apply(Number(m[5]), m[6] as Op, Number(m[7])), Number(m[8]), m[0]);
      checked++;
    }
    for (const m of t.matchAll(/The slope is (-?\d+) \/ (\d+) = (-?\d+)\./g)) {
      assert.equal(Number(m[1]) / Number(m[2]), Number(m[3]), m[0]);
      checked++;
    }
    for (const m of t.matchAll(/x = (\d+) \/ (\d+) = (\d+)\./g)) {
      assert.equal(Number(m[1]) / Number(m[2]), Number(m[3]), m[0]);
      checked++;
    }
  }
  assert.ok(checked > 300, `checked ${checked}`);
});

/** Sentences and lines of a text; a quiz answer line stays with its question. */
function sentences(text: string): string[] {
  return text.split(/\n(?!(?:A|Answer): )|(?<=[.?!;])\s+(?!(?:A|Answer): )/).filter((s) => s.trim() !== '');
}

/** `word` as a whole word (so "Malay" is not found in "Malaysia"). */
function wordRe(word: string, flags = 'u'): RegExp {
  return new RegExp(`(?<![\\p{L}])${escapeRe(word)}(?![\\p{L}])`, flags);
}

test('every fact a factual query asks about appears in ≥ 3 documents in ≥ 2 phrasings', () => {
  const queries = buildQueries().filter((q) => q.kind === 'factual');
  assert.ok(queries.length >= 40);
  for (const q of queries) {
    const c = q.country;
    assert.ok(c !== undefined, q.id);
    const answer = wordRe(q.answer, 'gu');
    const country = wordRe(c.name, 'gu');
    const docs = new Set<string>();
    const phrasings = new Set<string>();
    for (const d of corpus) {
      for (const s of sentences(d.text)) {
        // The answer, and the country named outside the answer ("Guatemala City" alone is not both).
        const masked = s.replace(answer, '<ANSWER>');
        if (masked === s || !wordRe(c.name).test(masked)) continue;
        docs.add(d.id);
        phrasings.add(masked.replace(country, '<COUNTRY>'));
      }
    }
    assert.ok(docs.size >= 3, `${q.id}: ${c.name} / ${q.answer} in ${docs.size} documents`);
    assert.ok(phrasings.size >= 2, `${q.id}: ${phrasings.size} phrasings`);
  }
});

test('facts come from countries-list; focus countries are covered by wiki articles', () => {
  const fr = COUNTRIES.find((c) => c.code === 'FR');
  assert.equal(fr?.capital, 'Paris');
  assert.equal(fr?.currencies[0].name, 'Euro');
  assert.equal(fr?.continent, 'Europe');
  const wiki = corpus.filter((d) => d.source === 'wiki').map((d) => d.text);
  for (const c of FOCUS_COUNTRIES) {
    const n = wiki.filter((t) => t.includes(c.name) && t.includes(c.capital)).length;
    assert.ok(n >= 5, `${c.name}: ${n} wiki documents with its capital`);
  }
});

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

test('queries.jsonl is up to date, parses with the project reader and has the required counts', async () => {
  const file = DEFAULT_QUERIES_PATH;
  assert.equal(readFileSync(file, 'utf8'), queriesJsonl(), 'demo/queries.jsonl is stale: run npx tsx demo/src/queries.ts');
  const queries = await readQueries(file);
  assert.equal(new Set(queries.map((q) => q.id)).size, queries.length);
  const of = (kind: string, task?: string) => queries.filter((q) => q.kind === kind && (task === undefined || q.task === task));
  assert.ok(of('factual').length >= 40);
  assert.ok(of('reasoning').length >= 40);
  assert.ok(of('control').length >= 10);
  for (const task of ['arithmetic', 'slopes', 'linear']) assert.ok(of('reasoning', task).length >= 10, task);
  for (const task of ['capital', 'currency', 'continent', 'language']) assert.ok(of('factual', task).length >= 5, task);
  for (const q of queries) {
    assert.ok(q.kind !== undefined && q.task !== undefined && q.answer !== undefined && q.answer !== '', q.id);
    assert.equal(q.completion, undefined, 'completions come from the demo model');
  }
});

test('reasoning queries use the paper templates with integer answers, and their problems are not in the corpus', async () => {
  const queries = (await readQueries(DEFAULT_QUERIES_PATH)).filter((q) => q.kind === 'reasoning');
  const all = texts.join('\n\u0000\n');
  for (const q of queries) {
    let m: RegExpMatchArray | null;
    let expected: number;
    let needle: RegExp;
    if ((m = q.prompt.match(/^Calculate the answer: \((\d+) ([-+*]) (\d+)\) ([-+*]) (\d+)\n\nThink step-by-step\.$/))) {
      expected = apply(apply(Number(m[1]), m[2] as Op, Number(m[3])), m[4] as Op, Number(m[5]));
      needle = new RegExp(`(?<!\\d)${escapeRe(`(${m[1]} ${m[2]} ${m[3]}) ${m[4]} ${m[5]}`)}(?!\\d)`);
      assert.equal(q.task, 'arithmetic');
    } else if (
      (m = q.prompt.match(/^What is the slope of the line passing through the points \((\d+), (\d+)\) and \((\d+), (\d+)\)\?\n\nThink step-by-step\.$/))
    ) {
      const [x1, y1, x2, y2] = m.slice(1, 5).map(Number);
      expected = (y2 - y1) / (x2 - x1);
      needle = new RegExp(escapeRe(`(${x1}, ${y1}) and (${x2}, ${y2})`));
      assert.equal(q.task, 'slopes');
    } else if ((m = q.prompt.match(/^Solve for x: (\d+)x ([-+]) (\d+) = (\d+)\n\nThink step-by-step\.$/))) {
      const [a, b, c] = [Number(m[1]), Number(m[3]), Number(m[4])];
      expected = m[2] === '+' ? (c - b) / a : (c + b) / a;
      needle = new RegExp(`(?<!\\d)${escapeRe(`${a}x ${m[2]} ${b} = ${c}`)}(?!\\d)`);
      assert.equal(q.task, 'linear');
    } else {
      assert.fail(`${q.id}: not a paper template: ${JSON.stringify(q.prompt)}`);
    }
    assert.ok(Number.isInteger(expected), q.id);
    assert.equal(q.answer, String(expected), q.id);
    assert.ok(!needle.test(all), `${q.id}: its problem appears in the corpus`);
  }
});

test('factual query prompts use forms the corpus contains; control queries carry their answer in the prompt', async () => {
  const queries = await readQueries(DEFAULT_QUERIES_PATH);
  const all = texts.join('\n');
  for (const q of queries.filter((x) => x.kind === 'factual')) {
    // The prompt with the country name swapped for another country appears in the corpus.
    const info = buildQueries().find((b) => b.id === q.id);
    const c = info?.country;
    assert.ok(c !== undefined, q.id);
    const form = q.prompt.split(c.ref).join('\u0001');
    const seen = FOCUS_COUNTRIES.some((o) => o !== c && all.includes(form.split('\u0001').join(o.ref)));
    assert.ok(seen, `${q.id}: the corpus never uses the form ${JSON.stringify(form)}`);
  }
  for (const q of queries.filter((x) => x.kind === 'control')) {
    assert.ok(q.prompt.includes(q.answer as string), q.id);
  }
  // The drill and reading-comprehension layouts of the control queries are in the corpus.
  assert.ok(/Repeat after me: [^\n]+\n/.test(all));
  assert.ok(all.includes('Read the text and answer the question.\n\nThe capital of '));
  assert.ok(all.includes('Read the text and answer the question.\n\nThe result of ('));
});

// ---------------------------------------------------------------- tokenizer

test('byte-level BPE: deterministic, loads through loadHuggingFaceTokenizer, round-trips every document', () => {
  const model = trainBpe(texts, { vocabSize: 1024 });
  const again = trainBpe(texts, { vocabSize: 1024 });
  assert.equal(JSON.stringify(tokenizerJson(again)), JSON.stringify(tokenizerJson(model)));
  assert.equal(model.vocab.size, 1024);
  assert.equal(model.merges.length, 1024 - 256 - 2);
  assert.deepEqual(
    [...new Set(model.vocab.values())].sort((a, b) => a - b),
    Array.from({ length: 1024 }, (_, i) => i),
  );

  const dir = mkdtempSync(join(tmpdir(), 'il-demo-tok-'));
  writeTokenizer(dir, model);
  const tok = loadHuggingFaceTokenizer(dir);
  assert.equal(tok.vocabSize, 1024);
  assert.equal(tok.bosId, model.vocab.get(BOS_TOKEN));
  assert.equal(tok.eosId, model.vocab.get(EOS_TOKEN));
  assert.notEqual(tok.bosId, tok.eosId);

  const stats = tokenStats(tok, corpus);
  assert.deepEqual(stats.mismatches, []);
  assert.ok(stats.maxTokens <= 256, `max ${stats.maxTokens} tokens per document`);
  assert.ok(stats.meanTokens < 150, `mean ${stats.meanTokens}`);
  // Learned merges compress: far fewer tokens than bytes.
  const bytes = texts.reduce((n, t) => n + Buffer.byteLength(t), 0);
  assert.ok(stats.tokens < bytes / 2, `${stats.tokens} tokens for ${bytes} bytes`);

  // Digits are single tokens; special tokens in text map to their ids; odd text round-trips.
  const digits = tok.encode('12345');
  assert.equal(digits.length, 5);
  assert.deepEqual(
    digits.map((id) => tok.decode([id])),
    ['1', '2', '3', '4', '5'],
  );
  assert.deepEqual(tok.encode(EOS_TOKEN), [tok.eosId]);
  for (const s of ['café 日本語 😀', '  two  spaces\n\n\ttab', "don't (7 - 4) * 7 = 21", '']) assert.equal(tok.decode(tok.encode(s)), s);
  // The trainer's pre-tokenizer agrees with the library's: no token crosses a piece boundary, and
  // the trainer's words are exactly the pieces.
  for (const d of corpus.slice(0, 300)) {
    const pieces = preTokenizeText(d.text);
    assert.equal(pieces.join(''), d.text);
    assert.deepEqual(
      pieces.flatMap((p) => tok.encode(p)),
      tok.encode(d.text),
      d.id,
    );
    assert.equal(preTokenize(d.text).length, pieces.length);
  }
});

test('the demo query prompts and answers tokenize and round-trip', () => {
  const model = trainBpe(texts, { vocabSize: 1024 });
  const dir = mkdtempSync(join(tmpdir(), 'il-demo-tok-'));
  writeTokenizer(dir, model);
  const tok = loadHuggingFaceTokenizer(dir);
  for (const q of buildQueries()) {
    assert.equal(tok.decode(tok.encode(q.prompt)), q.prompt, q.id);
    assert.equal(tok.decode(tok.encode(` ${q.answer}`)), ` ${q.answer}`, q.id);
  }
  assert.ok(resolve(DEFAULT_QUERIES_PATH).endsWith(join('demo', 'queries.jsonl')));
});

test('a document type never dominates: the most common first line covers < 15% of a source', () => {
  for (const s of DEMO_SOURCES) {
    const docs: DemoDocument[] = corpus.filter((d) => d.source === s);
    const firsts = new Map<string, number>();
    for (const d of docs) {
      const first = d.text.split('\n')[0];
      firsts.set(first, (firsts.get(first) ?? 0) + 1);
    }
    const top = Math.max(...firsts.values());
    assert.ok(top < docs.length * 0.15, `${s}: ${top} of ${docs.length} documents start the same way`);
  }
});
