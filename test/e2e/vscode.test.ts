/**
 * End to end in a real VS Code: code-server 4.100.3 (VS Code 1.100.3) serves the workbench, Debian's chromium
 * (driven by playwright-core) shows it. The extension is the .vsix `vsce package` makes, installed by
 * code-server. A workspace whose settings pick the wasm backend and stories260K must give: the status bar item
 * "Influence Lens: wasm", the backend in a notification from "Influence Lens: Show Compute Backend", and the
 * backend in the webview of "Influence Lens: Show Panel". Then the editor product on the embedded demo
 * (300 documents): "Open Demo" fits and indexes with progress; a hover on a selected prompt and on a query of
 * demo/queries.infq; the document view with token colours; "Show in panel"; a batch run ending in the batch
 * view; the server killed mid-batch and restarted. Switching models (stories260K with its tok512.bin, the demo
 * with its own tokenizer, and back) raises no error notification and ends in the right status; the
 * walkthrough's steps complete as the user does each; "Select Compute Backend…" offers every backend.
 * Screenshots (and, always, the logs) go to test/e2e/.artifacts/.
 *
 * Needs scripts/e2e-setup.sh (chromium, code-server) and `npm run build`; scripts/run-e2e.sh does all three.
 * Skips when ../shared is absent, or when code-server/chromium are missing, unless INFLUENCE_LENS_CODE_SERVER
 * names the code-server to use (run-e2e.sh does): then a missing tool is a failure.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type BrowserContext, type FrameLocator, type Page } from 'playwright-core';
import { REPO } from '../helpers/cli';
import { fixture, SKIP_NO_SHARED, STORIES260K, TOK512 } from '../helpers/fixtures';

const CODE_SERVER_VERSION = '4.100.3';
/** Where scripts/e2e-setup.sh installs code-server, unless INFLUENCE_LENS_CODE_SERVER says otherwise. */
const CODE_SERVER =
  process.env.INFLUENCE_LENS_CODE_SERVER ??
  join(
    process.env.INFLUENCE_LENS_E2E_CACHE ?? join(homedir(), '.cache', 'influence-lens-e2e'),
    `code-server-${CODE_SERVER_VERSION}`,
    'node_modules',
    '.bin',
    'code-server',
  );
const CHROMIUM = process.env.INFLUENCE_LENS_CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = join(REPO, 'test', 'e2e', '.artifacts');

/**
 * Watchdogs only (every wait ends on a DOM or process event), generous for a cold 2-core machine. Each test's
 * own limit is longer than its waits, so a wait that runs out still leaves a …-failed.png behind.
 */
const START_TIMEOUT = 180_000;
const READY_TIMEOUT = 240_000;
const STEP_TIMEOUT = 60_000;
const TEST_TIMEOUT = READY_TIMEOUT + 2 * STEP_TIMEOUT;
/** The demo set-up (fit + index of 300 documents) and batch runs on a cold 2-core machine. */
const DEMO_TIMEOUT = 900_000;

function skipReason(): string | false {
  if (SKIP_NO_SHARED) return SKIP_NO_SHARED;
  if (process.env.INFLUENCE_LENS_CODE_SERVER !== undefined) return false; // required: before() reports what is missing
  const missing = [CODE_SERVER, CHROMIUM].filter((p) => !existsSync(p));
  return missing.length ? `skipped: ${missing.join(' and ')} not found (run scripts/e2e-setup.sh as root, or scripts/run-e2e.sh)` : false;
}
const SKIP = skipReason();

interface Run {
  scratch: string;
  workspace: string;
  userData: string;
  codeServer?: ChildProcess;
  /** code-server's stdout and stderr, for the artifacts. */
  serverOutput: string[];
  browserConsole: string[];
  context?: BrowserContext;
  page?: Page;
}

let run: Run | undefined;

describe('VS Code in the browser (code-server + chromium)', { skip: SKIP }, () => {
  before(
    async () => {
      rmSync(ARTIFACTS, { recursive: true, force: true });
      mkdirSync(ARTIFACTS, { recursive: true });
      for (const [path, what] of [
        [CODE_SERVER, 'code-server (run scripts/e2e-setup.sh)'],
        [CHROMIUM, 'chromium (run scripts/e2e-setup.sh)'],
        [join(REPO, 'dist', 'client.js'), 'the build (run npm run build)'],
      ]) {
        assert.ok(existsSync(path), `${path} is missing: ${what}`);
      }
      run = prepare();
      const url = await startCodeServer(run);
      await openWorkbench(run, url);
      await recordErrorNotifications(run.page!);
    },
    { timeout: 2 * START_TIMEOUT + 2 * STEP_TIMEOUT },
  );

  after(async () => {
    const r = run;
    run = undefined;
    if (r) await teardown(r);
  });

  it('shows "Influence Lens: wasm" in the status bar once the model is loaded', { timeout: TEST_TIMEOUT }, () =>
    step('1-status-bar', async (page) => {
      const item = statusItem(page);
      // Ready shows the pulse icon, an error the error icon (client/src/statusBar.ts); anything else (starting,
      // loading the model) is on the way.
      const ready = item.filter({ has: page.locator('.codicon-pulse') });
      const failed = item.filter({ has: page.locator('.codicon-error') });
      await ready.or(failed).waitFor({ timeout: READY_TIMEOUT });
      assert.equal(await failed.count(), 0, `the server reported an error: ${(await item.allInnerTexts()).join(' | ')} (see the logs in ${ARTIFACTS})`);
      assert.match(await ready.innerText(), /Influence Lens: wasm/);
      // Its tooltip: the reason for the backend and the model, as a person hovering it reads them.
      await ready.hover();
      const tooltip = page.locator('.workbench-hover, .monaco-hover').filter({ hasText: 'Backend: wasm' });
      await tooltip.waitFor({ timeout: STEP_TIMEOUT });
      assert.match(await tooltip.innerText(), /Model:\s\S*stories260K\.bin/); // \s: the hover's spaces are &nbsp;
    }),
  );

  it('"Influence Lens: Show Compute Backend" names the backend and the model in a notification', { timeout: TEST_TIMEOUT }, () =>
    step('2-show-backend', async (page) => {
      await runCommand(page, 'Influence Lens: Show Compute Backend');
      // .notification-fade-in-done: VS Code adds it when the toast's slide-in transition ends (a settled screenshot).
      const toast = page.locator('.notifications-toasts .notification-toast.notification-fade-in-done').filter({ hasText: 'Influence Lens: Ready on wasm' });
      await toast.waitFor({ timeout: STEP_TIMEOUT });
      const message = await toast.locator('.notification-list-item-message').innerText();
      assert.match(message, /Backend: wasm \(/);
      assert.match(message, /1 compute thread/);
      assert.match(message, /Model: \S*stories260K\.bin \(llama2c, llama, /);
    }),
  );

  it('"Influence Lens: Show Panel" opens the webview showing the backend and the model', { timeout: TEST_TIMEOUT }, () =>
    step('3-panel', async (page) => {
      await runCommand(page, 'Notifications: Clear All Notifications'); // an unobstructed screenshot
      await page.locator('.notifications-toasts .notification-toast').first().waitFor({ state: 'detached', timeout: STEP_TIMEOUT });
      await runCommand(page, 'Influence Lens: Show Panel');
      await page.locator('.tabs-container .tab').filter({ hasText: 'Influence Lens' }).waitFor({ timeout: STEP_TIMEOUT });
      const status = webviewContent(page).locator('#app section.status');
      await status.locator('.badge').filter({ hasText: 'Ready' }).waitFor({ timeout: STEP_TIMEOUT });
      const facts = await status.locator('dl.facts').evaluate((dl) => {
        const out: Record<string, string> = {};
        for (const dt of Array.from(dl.querySelectorAll('dt'))) out[dt.textContent ?? ''] = dt.nextElementSibling?.textContent ?? '';
        return out;
      });
      assert.equal(facts.Backend, 'wasm');
      assert.equal(facts['Compute threads'], '1');
      assert.match(facts.Model ?? '', /stories260K\.bin$/);
      assert.match(facts.Architecture ?? '', /llama/);
    }),
  );

  it('"Influence Lens: Open Demo" configures the demo, fits its factors and builds its index with progress', { timeout: DEMO_TIMEOUT }, () =>
    step('4-open-demo', async (page) => {
      await runCommand(page, 'Notifications: Clear All Notifications');
      const errors = await errorNotifications(page);
      // The workspace names stories260K and its llama2.c tokenizer: the demo's settings (its model, the
      // tokenizer cleared) must reach the server as one change, never the demo model with tok512.bin.
      await runCommand(page, 'Influence Lens: Open Demo');
      // The fit's progress notification appears (a bar and a Cancel button), then the index build's.
      const fitting = page.locator('.notifications-toasts .notification-toast').filter({ hasText: 'fitting the demo factors' });
      await fitting.waitFor({ timeout: READY_TIMEOUT });
      await page.screenshot({ path: join(ARTIFACTS, '4-open-demo-fitting.png') });
      await page.locator('.notifications-toasts .notification-toast').filter({ hasText: 'building the demo index' }).waitFor({ timeout: DEMO_TIMEOUT });
      await waitForStatus(page, (lines) => /Index: ready/.test(lines) && !/Running:/.test(lines), DEMO_TIMEOUT);
      await page.locator('.tabs-container .tab').filter({ hasText: 'queries.infq' }).waitFor({ timeout: STEP_TIMEOUT });
      await assertReady(page, DEMO_MODEL_LINE);
      assert.deepEqual((await errorNotifications(page)).slice(errors.length), [], 'Open Demo raised no error notification');
    }),
  );

  it('a hover on a selected prompt in a plain text file lists the documents that drove the answer', { timeout: TEST_TIMEOUT }, () =>
    step('5-hover-selection', async (page) => {
      await runCommand(page, 'Notifications: Clear All Notifications');
      await openFile(page, 'capital.txt');
      const line = page.locator('.monaco-editor .view-line').filter({ hasText: 'capital of Japan' });
      await line.click();
      await page.keyboard.press('Control+A');
      await line.hover({ position: { x: 40, y: 8 } }); // over the text: a view line is far wider than its text
      const hover = page.locator('.monaco-hover').filter({ hasText: 'Most helpful' });
      await hover.waitFor({ timeout: STEP_TIMEOUT });
      const text = await hover.innerText();
      assert.match(text, /greedy completion/);
      assert.match(text, /Most harmful/);
      assert.match(
        text,
        /From the index: [\d,]+ candidates \([\d,]+ from the gradient sketch, [\d,]+ by BM25 on the prompt and completion\) ranked by its low-rank gradients; the scores shown are exact/,
      );
      assert.match(text, /Show in panel/);
    }),
  );

  it('"open" in the hover shows the document with each token coloured by its influence', { timeout: TEST_TIMEOUT }, () =>
    step('6-document-view', async (page) => {
      const hover = page.locator('.monaco-hover').filter({ hasText: 'Most helpful' });
      await hover
        .locator('a', { hasText: /^open$/ })
        .first()
        .click();
      const tab = page.locator('.tabs-container .tab').filter({ hasText: /^document-\d+\.txt/ });
      await tab.first().waitFor({ timeout: STEP_TIMEOUT });
      const editor = page
        .locator('.editor-group-container')
        .filter({ has: page.locator('.tab.active', { hasText: /document-\d+\.txt/ }) })
        .locator('.monaco-editor');
      await editor.locator('.view-line').filter({ hasText: 'Influence Lens · document' }).waitFor({ timeout: STEP_TIMEOUT });
      await page.mouse.move(0, 0); // the hover closes
      await page.keyboard.press('Escape');
      // The token colours: background decorations, which VS Code draws as .cdr boxes in the overlay layer —
      // as are word highlights, so count the boxes in our green and red. They arrive one colour level at a time.
      await page.waitForFunction(
        () =>
          Array.from(document.querySelectorAll('.monaco-editor .view-overlays .cdr')).filter((e) =>
            /rgba\((46, 160, 67|248, 81, 73),/.test(getComputedStyle(e).backgroundColor),
          ).length > 3,
        undefined,
        { timeout: STEP_TIMEOUT },
      );
    }),
  );

  it('a hover on a query of demo/queries.infq, and "Show in panel" opens the single-query view', { timeout: TEST_TIMEOUT }, () =>
    step('7-hover-infq', async (page) => {
      await page.locator('.tabs-container .tab').filter({ hasText: 'queries.infq' }).click();
      await page.locator('.monaco-editor .codelens-decoration').filter({ hasText: 'Score' }).first().waitFor({ timeout: STEP_TIMEOUT });
      const line = page.locator('.monaco-editor .view-line').filter({ hasText: 'What is the capital of Peru' });
      await line.hover({ position: { x: 40, y: 8 } }); // over the text: a view line is far wider than its text
      const hover = page.locator('.monaco-hover').filter({ hasText: 'Most helpful' });
      await hover.waitFor({ timeout: STEP_TIMEOUT });
      await page.screenshot({ path: join(ARTIFACTS, '7-hover-infq.png') });
      await hover.locator('a', { hasText: 'Show in panel' }).click();
      const app = webviewContent(page).locator('#app');
      await app.locator('section.query').waitFor({ timeout: STEP_TIMEOUT });
      assert.match(await app.locator('section.query h2').innerText(), /Query fact-capital-pe/);
      await app.locator('canvas').first().waitFor({ timeout: STEP_TIMEOUT });
    }),
  );

  it(
    'the "Start with Influence Lens" walkthrough shows the demo, the hover and the panel steps done, and your own model not yet',
    { timeout: TEST_TIMEOUT },
    () =>
      step('7b-walkthrough', async (page) => {
        await page.mouse.move(0, 0);
        await page.keyboard.press('Escape');
        await runCommand(page, 'View: Join All Editor Groups'); // the walkthrough at full width, as a user sees it
        const steps = await openWalkthrough(page);
        for (const id of ['openDemo', 'hoverSelection', 'openPanel']) {
          await steps.filter({ has: page.locator(`[data-done-step-id$="${id}"][aria-checked="true"]`) }).waitFor({ timeout: STEP_TIMEOUT });
        }
        assert.equal(await steps.locator('[data-done-step-id$="ownModel"]').getAttribute('aria-checked'), 'false');
      }),
  );

  it('"Select Compute Backend…" offers auto and every backend, WebGPU among them', { timeout: TEST_TIMEOUT }, () =>
    step('7c-backend-picker', async (page) => {
      await runCommand(page, 'Influence Lens: Select Compute Backend…', { opensPicker: true });
      // Visible rows and labels only: the widget reuses the rows of an earlier pick (the walkthroughs'), their
      // detail lines hidden in the DOM.
      const rows = page.locator('.quick-input-widget .monaco-list-row').filter({ visible: true });
      await rows.filter({ has: page.locator('.label-name', { hasText: /^webgpu$/ }) }).waitFor({ timeout: STEP_TIMEOUT });
      const labels = (await rows.locator('.label-name').filter({ visible: true }).allInnerTexts()).map((l) => l.trim());
      assert.deepEqual(labels, ['auto', 'tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu']);
      assert.match(await rows.first().innerText(), /^auto[\s\S]*webgpu/, "auto's description names webgpu in its order");
      await page.screenshot({ path: join(ARTIFACTS, '7c-backend-picker.png') });
      await page.keyboard.press('Escape'); // nothing chosen: the setting is unchanged
      await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: STEP_TIMEOUT });
    }),
  );

  it('"Run Batch on Query File" scores a query file with a progress notification, then the panel shows the batch', { timeout: DEMO_TIMEOUT }, () =>
    step('8-batch', async (page) => {
      await openFile(page, 'batch.infq');
      await runCommand(page, 'Influence Lens: Run Batch on Query File');
      await page.locator('.notifications-toasts .notification-toast').filter({ hasText: 'scoring batch.infq' }).waitFor({ timeout: STEP_TIMEOUT });
      await page.screenshot({ path: join(ARTIFACTS, '8-batch-progress.png') });
      await page.locator('.notifications-toasts .notification-toast').filter({ hasText: 'batch done' }).waitFor({ timeout: DEMO_TIMEOUT });
      const app = webviewContent(page).locator('#app');
      await app.locator('section.batch').waitFor({ timeout: STEP_TIMEOUT });
      await app.locator('#heatmap canvas').waitFor({ timeout: STEP_TIMEOUT });
      assert.match(await app.locator('section.batch .badge').first().innerText(), /4 queries/);
    }),
  );

  it('the server killed during a batch is restarted, and the status says so', { timeout: DEMO_TIMEOUT }, () =>
    step('9-server-restart', async (page) => {
      await runCommand(page, 'Notifications: Clear All Notifications');
      await page.locator('.tabs-container .tab').filter({ hasText: 'batch.infq' }).click();
      await runCommand(page, 'Influence Lens: Run Batch on Query File');
      await page.locator('.notifications-toasts .notification-toast').filter({ hasText: 'scoring batch.infq' }).waitFor({ timeout: STEP_TIMEOUT });
      const killed = killLanguageServer(run!.scratch);
      assert.ok(killed > 0, 'the language server process was found');
      await waitForStatus(page, (lines) => /restarted after the server stopped unexpectedly/.test(lines) && /Index: ready/.test(lines), READY_TIMEOUT);
    }),
  );

  it('a missing model is reported; then another model and corpus load with no error, and complete the walkthrough', { timeout: TEST_TIMEOUT }, () =>
    step('10-own-model', async (page) => {
      // The recorder does see errors: a model that does not exist is reported, naming the path.
      const seen = (await errorNotifications(page)).length;
      editWorkspaceSettings({ 'influenceLens.model': join(run!.scratch, 'no-such-model.bin') });
      await page.waitForFunction((n) => (window as unknown as { influenceLensErrors: Set<string> }).influenceLensErrors.size > n, seen, {
        timeout: READY_TIMEOUT,
      });
      assert.match((await errorNotifications(page)).slice(seen).join('\n'), /no-such-model\.bin/);
      await runCommand(page, 'Notifications: Clear All Notifications');
      const errors = await errorNotifications(page);
      // The walkthrough stays open: its last step is checked as it happens.
      const steps = await openWalkthrough(page);
      const ownModel = steps.locator('[data-done-step-id$="ownModel"]');
      assert.equal(await ownModel.getAttribute('aria-checked'), 'false');
      // What Select Model… (stories260K.bin, then its tok512.bin) and Select Corpus… write, saved at once as a
      // user editing settings.json does; the demo's factor and index folders are left for the default caches.
      editWorkspaceSettings({
        'influenceLens.model': STORIES260K(),
        'influenceLens.tokenizer': TOK512(),
        'influenceLens.corpus': fixture('tinystories', 'valid-head.jsonl'),
        'influenceLens.factors': '',
        'influenceLens.index': '',
      });
      await waitForStatus(page, (lines) => /Model: \S*stories260K\.bin /.test(lines) && /Corpus: ready \S* \S*valid-head\.jsonl/.test(lines), READY_TIMEOUT);
      await assertReady(page, /Model:\s\S*stories260K\.bin \(llama2c, llama, /);
      assert.deepEqual((await errorNotifications(page)).slice(errors.length), [], 'switching models raised no error notification');
      await steps.filter({ has: page.locator('[data-done-step-id$="ownModel"][aria-checked="true"]') }).waitFor({ timeout: STEP_TIMEOUT });
      assert.equal(await steps.locator('[aria-checked="true"][data-done-step-id]').count(), 4, 'every step of the walkthrough is done');
    }),
  );

  it('"Open Demo" again switches back from stories260K and its tokenizer with no error, reusing the factors and index', { timeout: DEMO_TIMEOUT }, () =>
    step('11-demo-again', async (page) => {
      // Back to an editor: the walkthrough's Markdown webview would take the keyboard focus from the palette.
      await page.locator('.tabs-container .tab').filter({ hasText: 'queries.infq' }).first().click();
      await runCommand(page, 'Notifications: Clear All Notifications');
      const errors = await errorNotifications(page);
      await runCommand(page, 'Influence Lens: Open Demo');
      await waitForStatus(page, (lines) => /Model: \S*demo\/model /.test(lines) && /Index: ready/.test(lines), READY_TIMEOUT);
      await assertReady(page, DEMO_MODEL_LINE);
      assert.deepEqual((await errorNotifications(page)).slice(errors.length), [], 'Open Demo raised no error notification');
      const toasts = await page.locator('.notifications-toasts .notification-toast').allInnerTexts();
      assert.ok(!toasts.some((t) => /fitting the demo factors|building the demo index/.test(t)), `nothing was fitted or built again: ${toasts.join(' | ')}`);
    }),
  );
});

/** The status bar line of the demo model (a Hugging Face folder holding a Llama). */
const DEMO_MODEL_LINE = /Model:\s\S*demo\/model \(huggingface, llama, /;

/** The status bar item shows ready (no error icon), and its tooltip names the model. */
async function assertReady(page: Page, model: RegExp): Promise<void> {
  const item = statusItem(page);
  assert.equal(await item.filter({ has: page.locator('.codicon-error') }).count(), 0, `the status is an error: ${(await item.allInnerTexts()).join(' | ')}`);
  await item.filter({ has: page.locator('.codicon-pulse') }).waitFor({ timeout: STEP_TIMEOUT });
  await item.hover();
  const tooltip = page.locator('.workbench-hover, .monaco-hover').filter({ hasText: 'Backend:' });
  await tooltip.waitFor({ timeout: STEP_TIMEOUT });
  assert.match((await tooltip.innerText()).replace(/\u00a0/g, ' '), model); // the hover's spaces are &nbsp;
  await page.mouse.move(0, 0);
}

/**
 * Records, in the page, the message of every error notification the workbench shows from now on (a toast or
 * the notification centre; one whose toast was already gone is still seen): an observer of the DOM, so even
 * an error shown for a moment is caught, without polling.
 */
async function recordErrorNotifications(page: Page): Promise<void> {
  // A string, not a function: the TypeScript loader's helpers (__name) do not exist in the page.
  await page.evaluate(`{
    const seen = (window.influenceLensErrors = new Set());
    new MutationObserver(() => {
      for (const icon of document.querySelectorAll('.notification-list-item .notification-list-item-icon.codicon-error')) {
        const message = icon.closest('.notification-list-item')?.querySelector('.notification-list-item-message')?.textContent ?? '';
        if (message) seen.add(message);
      }
    }).observe(document.body, { childList: true, subtree: true, attributes: true, attributeFilter: ['class'], characterData: true });
  }`);
}

/** The error notifications seen so far, in order. */
function errorNotifications(page: Page): Promise<string[]> {
  return page.evaluate(() => Array.from((window as unknown as { influenceLensErrors: Set<string> }).influenceLensErrors));
}

/** Opens the extension's walkthrough ("Welcome: Open Walkthrough…") and answers its steps. */
async function openWalkthrough(page: Page) {
  await runCommand(page, 'Welcome: Open Walkthrough...', { opensPicker: true });
  await page.locator('.quick-input-widget .monaco-list-row').filter({ hasText: 'Start with Influence Lens' }).click();
  const steps = page.locator('.gettingStartedContainer .getting-started-step');
  await steps.filter({ hasText: 'Open the demo' }).waitFor({ timeout: STEP_TIMEOUT });
  // The selected step's Markdown, from the extension's media/walkthrough/ (a webview inside the walkthrough).
  const media = page.frameLocator('.gettingStartedContainer iframe.webview.ready').frameLocator('iframe#active-frame');
  await media.locator('h1').first().waitFor({ timeout: STEP_TIMEOUT });
  return steps;
}

/** Rewrites keys of the workspace's .vscode/settings.json in one write (VS Code reloads it). */
function editWorkspaceSettings(values: Record<string, unknown>): void {
  const path = join(run!.workspace, '.vscode', 'settings.json');
  writeJson(path, { ...(JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>), ...values });
}

/** Opens a workspace file through Quick Open. */
async function openFile(page: Page, name: string): Promise<void> {
  await page.keyboard.press('Control+P');
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await input.waitFor({ timeout: STEP_TIMEOUT });
  await input.fill(name);
  await page.locator('.quick-input-widget .monaco-list-row.focused').filter({ hasText: name }).waitFor({ timeout: STEP_TIMEOUT });
  await page.keyboard.press('Enter');
  await page.locator('.tabs-container .tab.active').filter({ hasText: name }).waitFor({ timeout: STEP_TIMEOUT });
}

/** The extension's status bar item (its id ends with the item's id; "Influence Lens queries", the language mode, is another item). */
const STATUS_ITEM = 'influenceLens.status';
function statusItem(page: Page) {
  return page.locator(`.statusbar-item[id$="${STATUS_ITEM}"]`);
}

/** Waits until the status bar item's tooltip (the status as lines) satisfies `ok`, hovering it to read it. */
async function waitForStatus(page: Page, ok: (lines: string) => boolean, timeout: number): Promise<void> {
  const deadline = Date.now() + timeout;
  const item = statusItem(page);
  let last = '';
  while (Date.now() < deadline) {
    await item.hover();
    const tooltip = page.locator('.workbench-hover, .monaco-hover').filter({ hasText: 'Backend:' });
    await tooltip.waitFor({ timeout: STEP_TIMEOUT }).catch(() => undefined);
    last = (await tooltip.allInnerTexts()).join('\n').replace(/\u00a0/g, ' ');
    if (ok(last)) return;
    // Move away and wait for the next status change before reading again (the text of the item changes with it).
    const before = await item.innerText();
    await page.mouse.move(0, 0);
    await page
      .waitForFunction(([t, id]) => (document.querySelector(`[id$="${id}"]`)?.textContent ?? t) !== t, [before, STATUS_ITEM], { timeout: 30_000 })
      .catch(() => undefined);
  }
  throw new Error(`the status never satisfied the condition; last:\n${last}`);
}

/** SIGKILLs this run's language server (node …/dist/server.js started by the extension host). */
function killLanguageServer(scratch: string): number {
  let killed = 0;
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
      if (cmdline.includes('dist/server.js') && environ.split('\0').includes(`INFLUENCE_LENS_E2E_RUN=${scratch}`)) {
        process.kill(pid, 'SIGKILL');
        killed++;
      }
    } catch {
      // gone, or not ours
    }
  }
  return killed;
}

/** A scratch tree: code-server's folders, a workspace with the settings, the extension installed. */
function prepare(): Run {
  const scratch = mkdtempSync(join(tmpdir(), 'influence-lens-e2e-'));
  const r: Run = {
    scratch,
    workspace: join(scratch, 'workspace'),
    userData: join(scratch, 'user-data'),
    serverOutput: [],
    browserConsole: [],
  };
  for (const d of ['xdg-config', 'xdg-data', 'xdg-cache', 'tmp', 'extensions', 'chromium']) mkdirSync(join(scratch, d));
  writeJson(join(r.userData, 'User', 'settings.json'), {
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'workbench.enableExperiments': false,
    'telemetry.telemetryLevel': 'off',
    'update.mode': 'none',
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'extensions.ignoreRecommendations': true,
    'security.workspace.trust.enabled': false,
    'editor.hover.delay': 150,
    'editor.hover.sticky': true,
  });
  // Relative paths, as a user writes them: the server resolves them against the workspace folder.
  writeJson(join(r.workspace, '.vscode', 'settings.json'), {
    'influenceLens.backend': 'wasm',
    'influenceLens.workers': 1,
    'influenceLens.model': relative(r.workspace, STORIES260K()),
    'influenceLens.tokenizer': relative(r.workspace, TOK512()),
    // The demo, smaller than a user's (a 300-document corpus): the same steps, in CI's time.
    'influenceLens.demoDocuments': 300,
  });
  writeFileSync(join(r.workspace, 'prompt.txt'), 'Once upon a time, there was a little girl named Lily.\n');
  writeFileSync(join(r.workspace, 'capital.txt'), 'Q: What is the capital of Japan?\nA:');
  // A small batch: four demo queries (two factual, two reasoning).
  const demo = readFileSync(join(REPO, 'demo', 'queries.infq'), 'utf8').split(/\n(?====)/);
  const pick = [...demo.filter((b) => b.includes('kind: factual')).slice(0, 2), ...demo.filter((b) => b.includes('kind: reasoning')).slice(0, 2)];
  writeFileSync(join(r.workspace, 'batch.infq'), pick.join('\n').trim() + '\n');
  return r;
}

/**
 * Copies the files a .vsix of the working tree would hold into code-server's extensions folder, where VS Code
 * registers it on start (a fresh folder has no extensions.json yet: VS Code scans it and writes one).
 */
async function installExtension(r: Run, extensionsDir: string): Promise<void> {
  // The .vsix a user installs: `vsce package` (its prepublish step makes the production build), then
  // code-server's own installer.
  const vsix = join(r.scratch, 'influence-lens.vsix');
  const packaged = spawnSync(
    process.execPath,
    [join(REPO, 'node_modules', '@vscode', 'vsce', 'vsce'), 'package', '--allow-missing-repository', '--out', vsix],
    { cwd: REPO, encoding: 'utf8' },
  );
  assert.equal(packaged.status, 0, `vsce package failed:\n${packaged.stdout}\n${packaged.stderr}`);
  r.serverOutput.push(`vsce package: ${(statSync(vsix).size / 2 ** 20).toFixed(1)} MiB\n`);
  const installed = spawnSync(process.execPath, [CODE_SERVER, '--extensions-dir', extensionsDir, '--install-extension', vsix], {
    env: scratchEnv(r),
    encoding: 'utf8',
  });
  assert.equal(installed.status, 0, `code-server --install-extension failed:\n${installed.stdout}\n${installed.stderr}`);
}

/**
 * The environment of code-server and chromium: their config, data, cache and temporary files in the scratch
 * tree (nothing lands in $HOME), and a marker every process they start inherits (extension host, language
 * server, workers, renderers): teardown finds leftovers by it.
 */
function scratchEnv(r: Run): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    // VSCODE_*: when run from a VS Code terminal, code-server would take them as its own.
    if (v !== undefined && !k.startsWith('VSCODE_') && k !== 'NODE_TEST_CONTEXT' && k !== 'PASSWORD') env[k] = v;
  }
  return {
    ...env,
    XDG_CONFIG_HOME: join(r.scratch, 'xdg-config'),
    XDG_DATA_HOME: join(r.scratch, 'xdg-data'),
    XDG_CACHE_HOME: join(r.scratch, 'xdg-cache'),
    TMPDIR: join(r.scratch, 'tmp'),
    INFLUENCE_LENS_E2E_RUN: r.scratch,
  };
}

/** Starts code-server on a free port (it binds port 0 and prints the address) and answers its URL. */
async function startCodeServer(r: Run): Promise<string> {
  const extensions = join(r.scratch, 'extensions');
  await installExtension(r, extensions);
  const child = spawn(
    process.execPath,
    [
      CODE_SERVER,
      '--bind-addr',
      '127.0.0.1:0',
      '--auth',
      'none',
      '--user-data-dir',
      r.userData,
      '--extensions-dir',
      extensions,
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      r.workspace,
    ],
    { env: scratchEnv(r), cwd: r.scratch, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  r.codeServer = child;
  const listening = new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      r.serverOutput.push(text);
      const m = /HTTP server listening on (http:\/\/\S+?)\/?\s/.exec(r.serverOutput.join(''));
      if (m) resolve(m[1]);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('error', reject);
    child.on('exit', (code, signal) => reject(new Error(`exited (${signal ?? code}) before listening`)));
  });
  const url = await withTimeout(listening, START_TIMEOUT).catch((e: Error) => {
    throw new Error(`code-server: ${e.message}\n${r.serverOutput.join('').slice(-4000)}`);
  });
  return url!;
}

async function openWorkbench(r: Run, url: string): Promise<void> {
  r.context = await chromium.launchPersistentContext(join(r.scratch, 'chromium'), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1440, height: 900 },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
    env: scratchEnv(r),
    timeout: STEP_TIMEOUT,
  });
  const page = r.context.pages()[0] ?? (await r.context.newPage());
  r.page = page;
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') r.browserConsole.push(`[${m.type()}] ${m.text()}`);
  });
  page.on('pageerror', (e) => r.browserConsole.push(`[pageerror] ${e.message}`));
  page.on('response', (res) => {
    if (res.status() >= 400) r.browserConsole.push(`[http ${res.status()}] ${res.url()}`);
  });
  await page.goto(`${url}/?folder=${encodeURIComponent(r.workspace)}`, { waitUntil: 'domcontentloaded', timeout: STEP_TIMEOUT });
  await page.locator('.monaco-workbench .part.statusbar').waitFor({ timeout: START_TIMEOUT });
}

/** Runs a test body on the page; a screenshot named after the step either way (…-failed.png on failure). */
async function step(name: string, body: (page: Page) => Promise<void>): Promise<void> {
  const page = run?.page;
  assert.ok(page, 'the workbench did not open (see the before hook)');
  try {
    await body(page);
    await page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
  } catch (e) {
    await page.screenshot({ path: join(ARTIFACTS, `${name}-failed.png`) }).catch(() => undefined);
    throw e;
  }
}

/**
 * F1, the command's title, Enter once the palette has it selected; resolves when the palette closes, or, for
 * a command that opens a quick pick of its own, once the palette's list is replaced.
 */
async function runCommand(page: Page, title: string, o: { opensPicker?: boolean } = {}): Promise<void> {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await input.waitFor({ timeout: STEP_TIMEOUT });
  await input.fill(`>${title}`);
  await page.locator('.quick-input-widget .monaco-list-row.focused').filter({ hasText: title }).waitFor({ timeout: STEP_TIMEOUT });
  await page.keyboard.press('Enter');
  if (o.opensPicker) {
    await page.locator('.quick-input-widget .monaco-list-row').filter({ hasText: title }).waitFor({ state: 'detached', timeout: STEP_TIMEOUT });
    return;
  }
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: STEP_TIMEOUT });
}

/** A webview's document: VS Code's host iframe (iframe.webview), and inside it the content (#active-frame). */
function webviewContent(page: Page): FrameLocator {
  return page.frameLocator('iframe.webview.ready').frameLocator('iframe#active-frame');
}

/** Closes chromium, stops code-server and everything it started, keeps the logs, removes the scratch tree. */
async function teardown(r: Run): Promise<void> {
  await withTimeout(r.context?.close(), 15_000).catch(() => undefined);
  const child = r.codeServer;
  if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    killGroup(child.pid, 'SIGTERM');
    await withTimeout(exited, 10_000).catch(() => killGroup(child.pid!, 'SIGKILL'));
  }
  killLeftovers(r.scratch);
  try {
    writeFileSync(join(ARTIFACTS, 'code-server.log'), r.serverOutput.join(''));
    writeFileSync(join(ARTIFACTS, 'browser-console.log'), r.browserConsole.join('\n') + '\n');
    // VS Code's own logs, the extension host's and the "Influence Lens" output channel among them.
    const logs = join(r.userData, 'logs');
    if (existsSync(logs)) cpSync(logs, join(ARTIFACTS, 'vscode-logs'), { recursive: true });
  } finally {
    rmSync(r.scratch, { recursive: true, force: true, maxRetries: 3 });
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal); // code-server was started detached: its own process group
  } catch {
    // already gone
  }
}

/** SIGKILLs any process that still carries this run's marker or names its scratch folder (Linux /proc). */
function killLeftovers(scratch: string): void {
  if (!existsSync('/proc')) return;
  const marker = `INFLUENCE_LENS_E2E_RUN=${scratch}`;
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (environ.split('\0').includes(marker) || cmdline.includes(scratch)) process.kill(pid, 'SIGKILL');
    } catch {
      // gone, or not ours to read
    }
  }
}

function withTimeout<T>(p: Promise<T> | undefined, ms: number): Promise<T | undefined> {
  if (!p) return Promise.resolve(undefined);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

function writeJson(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(value, null, 2) + '\n');
}

// code-server runs in its own process group, out of reach of a Ctrl-C or a CI timeout's signal to ours.
function killOnExit(): void {
  if (!run) return;
  if (run.codeServer?.pid !== undefined) killGroup(run.codeServer.pid, 'SIGKILL');
  killLeftovers(run.scratch);
  rmSync(run.scratch, { recursive: true, force: true });
}
process.once('exit', killOnExit);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killOnExit();
    process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
  });
}
