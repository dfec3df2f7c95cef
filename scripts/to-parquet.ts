/**
 * Writes any corpus this tool reads (JSONL, .jsonl.gz, .jsonl.zst, a folder, …) as one Parquet file with
 * the columns id, source and text, as a Hugging Face `datasets` shard has them: a sample for the README's
 * worked example, or a way to check that a corpus reads the same in both formats.
 *
 *   npx tsx scripts/to-parquet.ts IN OUT.parquet [--row-group ROWS] [--text-field F] [--id-field F] [--source-field F]
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { readCorpus } from '../server/src/engine/corpus/corpus';
import { newCorpusReport } from '../server/src/engine/corpus/types';

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { 'row-group': { type: 'string' }, 'text-field': { type: 'string' }, 'id-field': { type: 'string' }, 'source-field': { type: 'string' } },
  });
  const [input, out] = positionals;
  if (!input || !out)
    throw new Error('usage: npx tsx scripts/to-parquet.ts IN OUT.parquet [--row-group ROWS] [--text-field F] [--id-field F] [--source-field F]');
  const rowGroupSize = Number(values['row-group'] ?? 1000);
  const report = newCorpusReport();
  const ids: string[] = [];
  const sources: string[] = [];
  const texts: string[] = [];
  for await (const d of readCorpus(
    { path: input, textField: values['text-field'], idField: values['id-field'], sourceField: values['source-field'] },
    report,
  )) {
    ids.push(d.id);
    sources.push(d.source);
    texts.push(d.text);
  }
  const bytes = parquetWriteBuffer({
    columnData: [
      { name: 'id', data: ids, type: 'STRING' },
      { name: 'source', data: sources, type: 'STRING' },
      { name: 'text', data: texts, type: 'STRING' },
    ],
    rowGroupSize,
  });
  writeFileSync(out, new Uint8Array(bytes));
  process.stderr.write(`${out}: ${ids.length} rows in row groups of ${rowGroupSize} (snappy), ${bytes.byteLength} bytes; ${report.skippedCount} skipped\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
