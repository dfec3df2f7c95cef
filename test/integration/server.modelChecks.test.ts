/**
 * The language server checks a model as the CLI does: a fit whose EK-FAC factors cannot be held is refused
 * before anything is written, with the CLI's sentence, and a model that predicts text no better than chance
 * is warned about on load (window/showMessage). The model: a random GPT-2 whose weights are small but whose
 * MLP is 200,000 wide, so its factors (covariances of 200,000 × 200,000) need over a terabyte.
 */
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { writeHuggingFaceFolder } from '../../server/src/engine/model/huggingface';
import { SERVER_COMMANDS } from '../../server/src/protocol';
import { runBounded, scratch } from '../helpers/badInput';
import { writeGpt2TokenizerJson } from '../helpers/gpt2Tokenizer';
import { initialize, startServer } from '../helpers/lsp';
import { randomCheckpoint, tinyGpt2Config } from '../helpers/randomCheckpoint';

/** "<model>: the model needs N GB (EK-FAC factors of 2 MLP linears N GB), M GB available; track fewer with --modules" */
const refusal = (model: string) =>
  new RegExp(
    `${model.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: the model needs [\\d.]+ GB \\(EK-FAC factors of 2 MLP linears [\\d.]+ GB\\), [\\d.]+ GB available; track fewer with --modules`,
  );

test(
  "a fit from the editor on a model whose factors cannot fit in memory is refused with the CLI's sentence; an implausible model is warned about",
  { timeout: 120_000 },
  async (t) => {
    const dir = scratch(t, 'il-server-checks-');
    const model = join(dir, 'wide-gpt2');
    writeHuggingFaceFolder(model, randomCheckpoint(tinyGpt2Config({ dim: 8, nHeads: 2, nKvHeads: 2, hiddenDim: 200_000, nLayers: 1 }), 11));
    writeGpt2TokenizerJson(model);
    const corpus = join(dir, 'corpus.jsonl');
    writeFileSync(
      corpus,
      ['Once upon a time there was a cat.', 'The sun was shining.'].map((text, i) => JSON.stringify({ id: `d${i}`, text })).join('\n') + '\n',
    );
    const storage = join(dir, 'storage');

    const server = startServer({ backend: 'wasm', workers: 1, model, corpus, maxLength: 16 });
    t.after(() => {
      server.connection.dispose();
      if (server.process.exitCode === null) server.process.kill();
    });
    await initialize(server, { rootUri: pathToFileURL(dir).href, initializationOptions: { storageDir: storage, trusted: true } });
    const ready = await Promise.race([
      server.statuses.next((s) => s.state === 'ready' && s.model !== undefined),
      server.statuses.next((s) => s.state === 'error').then((s) => assert.fail(`error status: ${s.message}\n${server.logs.join('\n')}`)),
    ]);
    assert.equal(ready.model?.hiddenDim, 200_000);

    await t.test('the plausibility warning reaches the user as a warning message', async () => {
      const shown = await server.messages.next((m) => m.message.includes('no better than chance'));
      assert.equal(shown.type, 2, 'shown as a warning');
      assert.match(shown.message, /the loss of plain English sentences is [\d.]+ nats per token, no better than chance among 50257 tokens/);
      assert.match(shown.message, /another family \(it says gpt2\), a tokenizer of another model, or weights stored transposed/);
    });

    let editorMessage = '';
    await t.test('Fit Factors is refused before anything is written, naming the model and the remedy', async () => {
      await assert.rejects(server.connection.sendRequest('workspace/executeCommand', { command: SERVER_COMMANDS.fitFactors, arguments: [] }), (e: Error) => {
        assert.match(e.message, refusal(model));
        editorMessage = e.message;
        return true;
      });
      assert.ok(!existsSync(join(storage, 'caches')), 'no factor folder was created');
    });

    await t.test('the CLI refuses the same fit with the same sentence (one engine check)', async () => {
      const out = join(dir, 'cli-factors');
      const r = await runBounded(['fit', '--model', model, '--corpus', corpus, '--out', out, '--workers', '1', '--max-len', '16', '--quiet']);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, refusal(model));
      // Only the available memory (measured at each refusal) may differ.
      const sentence = (s: string) => s.match(refusal(model))![0].replace(/[\d.]+ GB available/, 'N GB available');
      assert.equal(sentence(r.stderr), sentence(editorMessage));
    });
  },
);
