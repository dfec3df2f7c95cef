/**
 * `report`: the panel's charts and tables for a results folder (with its analysis.json) in one
 * self-contained HTML file, to share without VS Code: the batch view, every query's view, and the first
 * cards of each side with snippets read from the corpus. The webview bundle is inlined from dist/webview.
 * `--out FILE` is written through a temp file and a rename, and only over a report it wrote (`--out -`:
 * standard output).
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import {
  type AnalysisReport,
  DEFAULT_REPORT_CARDS,
  documentsOf,
  InfluenceLensError,
  isInfluenceLensError,
  locateCorpus,
  prepareOutputFile,
  readAnalysis,
  readReportTexts,
  readResults,
  reportHtml,
  reportViews,
  safeForTerminal,
  type WebviewAssets,
  withTexts,
  writeTextAtomically,
} from '../engine/api';
import { COMMON_OPTIONS, int, optStr, parse, str } from './args';

/**
 * dist/webview beside the running bundle (dist/cli.js, also inside a .vsix), or the repository's build
 * when running from source (tsx: server/src/cli/report.ts).
 */
export function webviewAssets(): WebviewAssets {
  const candidates = [join(__dirname, 'webview'), resolve(__dirname, '..', '..', '..', 'dist', 'webview')];
  const dir = candidates.find((d) => existsSync(join(d, 'main.js')));
  if (!dir)
    throw new InfluenceLensError('NOT_FOUND', `the webview bundle is missing (looked in ${candidates.join(' and ')}); run npm run build`, {
      file: candidates[0],
    });
  const read = (f: string) => readFileSync(join(dir, f), 'utf8');
  return { script: read('main.js'), styles: read('styles.css'), themes: read('themes.css') };
}

/** analysis.json, or an error saying how to make it. */
function analysisOf(dir: string): AnalysisReport {
  try {
    return readAnalysis(dir);
  } catch (e) {
    if (isInfluenceLensError(e, 'NOT_FOUND'))
      throw new InfluenceLensError('NOT_FOUND', `${e.message}: run influence-lens analyze --results ${dir} first`, { file: e.file });
    throw e;
  }
}

export async function report(argv: string[], signal: AbortSignal): Promise<void> {
  const v = parse(argv, {
    ...COMMON_OPTIONS,
    results: { type: 'string' },
    out: { type: 'string' },
    cards: { type: 'string' },
    corpus: { type: 'string' },
    'text-field': { type: 'string' },
    'id-field': { type: 'string' },
    'source-field': { type: 'string' },
  });
  const log = (line: string) => v.quiet || process.stderr.write(`influence-lens: ${safeForTerminal(line, { multiline: true })}\n`);
  const dir = str(v, 'results');
  const outArg = optStr(v, 'out') ?? join(dir, 'report.html');
  const cards = int(v, 'cards', { min: 1 }) ?? DEFAULT_REPORT_CARDS;
  const assets = webviewAssets();
  const loaded = readResults(dir);
  const analysis = analysisOf(dir);
  // Checked before the corpus is read: never over a file another command wrote, a device or a link.
  const out = outArg === '-' ? undefined : prepareOutputFile(outArg, { what: 'a report', isOurs: isReport });
  const { queries, documents } = loaded.results;
  log(`report of ${queries.length} queries × ${documents.length} documents in ${dir}`);
  const views = reportViews(loaded, analysis, { cards, title: resolve(dir) });
  const need = documentsOf(views);
  const corpus = locateCorpus(loaded, optStr(v, 'corpus'));
  log(`reading the text of ${need.size} documents from ${corpus ?? '(no corpus)'}`);
  const { texts, problem } = await readReportTexts(
    loaded,
    { path: corpus, textField: optStr(v, 'text-field'), idField: optStr(v, 'id-field'), sourceField: optStr(v, 'source-field') },
    need,
    signal,
  );
  if (problem) log(`cards without snippets: ${problem}`);
  const html = reportHtml(
    assets,
    withTexts(views, (i) => texts.get(i)),
    `Influence Lens report: ${basename(resolve(dir))}`,
  );
  if (!out) {
    // Handed to the OS before the command returns (the CLI exits right after; a pipe takes it in pieces).
    await new Promise<void>((done, fail) => process.stdout.write(html, (e) => (e ? fail(e) : done())));
    return;
  }
  writeTextAtomically(out, html);
  log(`wrote ${out} (${(Buffer.byteLength(html) / 1e6).toFixed(1)} MB)`);
  process.stdout.write(`${out}\n`);
}

/** A file `report` wrote (and may replace): an HTML document whose generator is influence-lens. */
function isReport(head: string): boolean {
  return head.startsWith('<!DOCTYPE html>') && /<meta name="generator" content="influence-lens[ "]/.test(head);
}
