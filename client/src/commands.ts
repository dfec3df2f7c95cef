/** The command palette's commands, each a small function of the context. */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join, sep } from 'node:path';
import * as vscode from 'vscode';
import { ExecuteCommandRequest, WorkDoneProgress, type WorkDoneProgressReport } from 'vscode-languageclient/node';
import {
  BackendInfoRequest,
  ConvertQueriesRequest,
  PanelBatchRequest,
  PanelQueryRequest,
  QueryInfluenceRequest,
  PrepareDemoRequest,
  QUERY_LANGUAGE,
  SERVER_COMMANDS,
  type BatchResult,
  type DocumentArgs,
  type QueryAtArgs,
  type RefArgs,
} from '../../server/src/protocol';
import { backendPickItems } from './backendPicker';
import { update, type SettingKey } from './config';
import type { Ctx } from './ctx';
import { documentUri } from './documentView';
import { InfluencePanel } from './panel/InfluencePanel';
import { describeStatus } from './statusBar';

export type Cmd = (...args: unknown[]) => unknown;

/** Asks the server which backend it runs on, why, and which model it holds. */
export function showBackend(ctx: Ctx): Cmd {
  return async () =>
    reportErrors(async () => {
      const status = await ctx.runningClient.sendRequest(BackendInfoRequest.type);
      // Non-modal messages show no `detail`: one line, its parts separated.
      const text = `Influence Lens: ${describeStatus(status).join(' · ')}`;
      if (status.state === 'error') await vscode.window.showErrorMessage(text);
      else await vscode.window.showInformationMessage(text);
    });
}

export function restartServer(ctx: Ctx): Cmd {
  return () => ctx.restart();
}

export function showOutput(ctx: Ctx): Cmd {
  return () => ctx.output.show(true);
}

export function showPanel(ctx: Ctx): Cmd {
  return () => InfluencePanel.createOrShow(ctx);
}

/** Shows the influence hover for the selection (the same hover as pointing at it). */
export function scoreSelection(): Cmd {
  return async () => {
    const editor = vscode.window.activeTextEditor;
    if (!editor || editor.selection.isEmpty) {
      await vscode.window.showInformationMessage('Influence Lens: select a prompt first (a line "---" in the selection starts the completion)');
      return;
    }
    // The hover opens at the cursor, which is inside (at an end of) the selection.
    await vscode.commands.executeCommand('editor.action.showHover');
  };
}

/** Shows the hover of the query at the cursor (or at the given line) of a query file. */
export function scoreQuery(): Cmd {
  return async (arg?: unknown) => {
    const at = arg as QueryAtArgs | undefined;
    const editor = at ? await vscode.window.showTextDocument(vscode.Uri.parse(at.uri)) : vscode.window.activeTextEditor;
    if (!editor || !isQueryDocument(editor.document)) {
      await vscode.window.showInformationMessage('Influence Lens: put the cursor in a query of a .infq file');
      return;
    }
    if (at) {
      const pos = new vscode.Position(at.line, 0);
      editor.selection = new vscode.Selection(pos, pos);
      editor.revealRange(new vscode.Range(pos, pos));
    }
    await vscode.commands.executeCommand('editor.action.showHover');
  };
}

export function openDocument(ctx: Ctx): Cmd {
  return async (arg?: unknown) =>
    reportErrors(async () => {
      const a = arg as DocumentArgs;
      const doc = await vscode.workspace.openTextDocument(documentUri(a));
      await vscode.window.showTextDocument(doc, { preview: true, viewColumn: vscode.ViewColumn.Beside });
      void ctx;
    });
}

/** Runs every query of the current .infq or .jsonl file, then opens the panel on the results. */
export function runBatch(ctx: Ctx): Cmd {
  return async (arg?: unknown) =>
    reportErrors(async () => {
      const uri = arg instanceof vscode.Uri ? arg : vscode.window.activeTextEditor?.document.uri;
      if (!uri || !/\.(infq|jsonl)$/i.test(uri.path)) {
        await vscode.window.showInformationMessage('Influence Lens: open a query file (.infq or .jsonl) to run it as a batch');
        return;
      }
      const result = await serverJob<BatchResult>(ctx, `Influence Lens: scoring ${uri.path.split('/').pop()}`, SERVER_COMMANDS.runBatch, [
        { uri: uri.toString() },
      ]);
      if (!result) return;
      const skipped = result.skipped.length
        ? `; ${result.skipped.length} skipped (${result.skipped
            .slice(0, 3)
            .map((s) => `${s.file.split('/').pop()}:${s.line}`)
            .join(', ')}${result.skipped.length > 3 ? ', …' : ''})`
        : '';
      void vscode.window.showInformationMessage(
        `Influence Lens: batch done — ${result.queries} queries × ${result.documents.toLocaleString('en-US')} documents in ${Math.round(result.seconds)} s${skipped}. Results: ${result.results}`,
      );
      InfluencePanel.showBatch(ctx, await ctx.runningClient.sendRequest(PanelBatchRequest.type, { results: result.results }));
    });
}

export function fitFactors(ctx: Ctx): Cmd {
  return async () => reportErrors(() => serverJob(ctx, 'Influence Lens: fitting factors', SERVER_COMMANDS.fitFactors, []));
}

export function buildIndex(ctx: Ctx): Cmd {
  return async () => reportErrors(() => serverJob(ctx, 'Influence Lens: building the index', SERVER_COMMANDS.buildIndex, []));
}

export function cancelJob(ctx: Ctx): Cmd {
  return async () =>
    reportErrors(async () => {
      const r = (await ctx.runningClient.sendRequest(ExecuteCommandRequest.type, { command: SERVER_COMMANDS.cancelJob, arguments: [] })) as {
        cancelled: boolean;
      };
      if (!r.cancelled) await vscode.window.showInformationMessage('Influence Lens: no job is running');
    });
}

/** Scores a hover's prompt exactly (a full pass), then shows it in the panel. */
export function scoreExactly(ctx: Ctx): Cmd {
  return async (arg?: unknown) =>
    reportErrors(async () => {
      const r = await serverJob<RefArgs>(ctx, 'Influence Lens: scoring exactly', SERVER_COMMANDS.scoreExactly, [arg as RefArgs]);
      if (r) await showAnswer(ctx, r.ref);
    });
}

export function showInPanel(ctx: Ctx): Cmd {
  return async (arg?: unknown) => reportErrors(() => showAnswer(ctx, (arg as RefArgs).ref));
}

export function showQueryInPanel(ctx: Ctx): Cmd {
  return async (arg?: unknown) =>
    reportErrors(async () => {
      const at = (arg as QueryAtArgs | undefined) ?? queryAtCursor();
      if (!at) {
        await vscode.window.showInformationMessage('Influence Lens: put the cursor in a query of a .infq file');
        return;
      }
      const r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'Influence Lens: scoring the query' }, () =>
        ctx.runningClient.sendRequest(QueryInfluenceRequest.type, at),
      );
      if (!r?.ref || !r.answer) {
        await vscode.window.showInformationMessage(`Influence Lens: ${r ? r.markdown.replace(/[*\\]/g, '') : 'no query at this line'}`);
        return;
      }
      await showAnswer(ctx, r.ref);
    });
}

/** A server answer (by ref) in the panel's single-query view. */
async function showAnswer(ctx: Ctx, ref: string): Promise<void> {
  InfluencePanel.showQuery(ctx, await ctx.runningClient.sendRequest(PanelQueryRequest.type, { ref }));
}

function queryAtCursor(): QueryAtArgs | undefined {
  const editor = vscode.window.activeTextEditor;
  if (!editor || !isQueryDocument(editor.document)) return undefined;
  return { uri: editor.document.uri.toString(), line: editor.selection.active.line };
}

/** Configures the embedded demo (model, corpus, caches), opens its query file, then fits and indexes. */
export function openDemo(ctx: Ctx): Cmd {
  return async () =>
    reportErrors(async () => {
      const documents = vscode.workspace.getConfiguration('influenceLens').get<number>('demoDocuments', 4000);
      const demo = await ctx.runningClient.sendRequest(PrepareDemoRequest.type, { documents });
      const target = vscode.workspace.workspaceFolders?.length ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
      // One change for the server: it never sees the demo model with a previous tokenizer.
      await ctx.updateSettings(
        [
          ['model', demo.model],
          ['tokenizer', ''],
          ['corpus', demo.corpus],
          ['factors', demo.factors],
          ['index', demo.index],
          ['fitMaxDocuments', demo.fitMaxDocuments],
          ['maxLength', demo.maxLength],
        ],
        target,
      );
      const queries = vscode.Uri.joinPath(ctx.extensionUri, 'demo', 'queries.infq');
      if (existsSync(queries.fsPath)) await vscode.window.showTextDocument(queries, { preview: false });
      void vscode.window.showInformationMessage(
        `Influence Lens: the demo is configured (model ${demo.model}, ${documents.toLocaleString('en-US')} documents). Fitting its factors, then building its index; hover a query or select a prompt when they are done.`,
      );
      await waitFor(ctx, (s) => s.model !== undefined && s.model.path === demo.model && s.state === 'ready');
      if (ctx.status.factors?.state !== 'ready') await serverJob(ctx, 'Influence Lens: fitting the demo factors', SERVER_COMMANDS.fitFactors, []);
      if (ctx.status.index?.state !== 'ready') await serverJob(ctx, 'Influence Lens: building the demo index', SERVER_COMMANDS.buildIndex, []);
    });
}

/**
 * Picks a model and, with it, its tokenizer, written as one change: a Hugging Face folder and a llama2.c
 * checkpoint with tokenizer.bin beside it bring their own (the setting is cleared); for any other .bin the
 * user picks the llama2.c tokenizer file. A tokenizer left over from the previous model would be loaded
 * with the new one.
 */
export function selectModel(ctx: Ctx): Cmd {
  return async () =>
    reportErrors(async () => {
      const picked = await vscode.window.showOpenDialog({
        title: 'Influence Lens: a Hugging Face model folder, or a llama2.c checkpoint (.bin)',
        canSelectFiles: true,
        canSelectFolders: true,
        canSelectMany: false,
        openLabel: 'Use this model',
      });
      const model = picked?.[0];
      if (!model) return;
      const folder = (await vscode.workspace.fs.stat(model)).type & vscode.FileType.Directory;
      const beside = vscode.Uri.joinPath(model, '..');
      let tokenizer = '';
      if (!folder && model.path.endsWith('.bin') && !existsSync(vscode.Uri.joinPath(beside, 'tokenizer.bin').fsPath)) {
        const tok = await vscode.window.showOpenDialog({
          title: `Influence Lens: the llama2.c tokenizer (.bin) for ${model.path.split('/').pop()} (no tokenizer.bin beside it)`,
          defaultUri: beside,
          canSelectFiles: true,
          canSelectFolders: false,
          canSelectMany: false,
          filters: { 'llama2.c tokenizer': ['bin'] },
          openLabel: 'Use this tokenizer',
        });
        if (!tok?.[0]) return;
        tokenizer = tok[0].fsPath;
      }
      await ctx.updateSettings([['model', model.fsPath], ['tokenizer', tokenizer], ...leaveDemoCaches(ctx)]);
    });
}

/**
 * Open Demo pins the factors and index to the demo's folders; with another model or corpus they would be
 * read (and fitted over) there. Those two settings are cleared then: the default caches are keyed by model
 * and corpus.
 */
function leaveDemoCaches(ctx: Ctx): [SettingKey, string][] {
  const demo = join(ctx.storageDir, 'demo') + sep;
  const config = vscode.workspace.getConfiguration('influenceLens');
  return (['factors', 'index'] as const).filter((key) => (config.get<string>(key) ?? '').startsWith(demo)).map((key) => [key, '']);
}

export function selectCorpus(ctx: Ctx): Cmd {
  return async () => {
    const picked = await vscode.window.showOpenDialog({
      title:
        'Influence Lens: the corpus (JSONL with "text", .jsonl.gz/.jsonl.zst, Parquet, a folder of such shards or of .txt/.md files, or a .txt of <|endoftext|>-separated documents)',
      canSelectFiles: true,
      canSelectFolders: true,
      canSelectMany: false,
      openLabel: 'Use this corpus',
    });
    if (picked?.[0]) await ctx.updateSettings([['corpus', picked[0].fsPath], ...leaveDemoCaches(ctx)]);
  };
}

export function selectFactors(): Cmd {
  return async () => {
    const picked = await vscode.window.showOpenDialog({
      title: 'Influence Lens: the factors folder',
      canSelectFiles: false,
      canSelectFolders: true,
      canSelectMany: false,
      openLabel: 'Use these factors',
    });
    if (picked?.[0]) await update('factors', picked[0].fsPath);
  };
}

export function selectBackend(): Cmd {
  return async () => {
    const picked = await vscode.window.showQuickPick(backendPickItems(), { title: 'Influence Lens: compute backend' });
    if (picked) await update('backend', picked.label);
  };
}

/** Converts the current query file between JSONL and .infq, into a new file beside it (or an unsaved one). */
export function convertQueries(ctx: Ctx, to: 'infq' | 'jsonl'): Cmd {
  return async () =>
    reportErrors(async () => {
      const doc = vscode.window.activeTextEditor?.document;
      if (!doc) return;
      const r = await ctx.runningClient.sendRequest(ConvertQueriesRequest.type, { uri: doc.uri.toString(), text: doc.getText(), to });
      const target = doc.uri.scheme === 'file' ? vscode.Uri.file(doc.uri.fsPath.replace(/\.[^./]*$/, '') + `.${to}`) : undefined;
      if (target && !existsSync(target.fsPath)) {
        await vscode.workspace.fs.writeFile(target, Buffer.from(r.text, 'utf8'));
        await vscode.window.showTextDocument(target);
      } else {
        const created = await vscode.workspace.openTextDocument({ content: r.text, language: to === 'infq' ? QUERY_LANGUAGE : 'jsonl' });
        await vscode.window.showTextDocument(created);
      }
      void vscode.window.showInformationMessage(`Influence Lens: ${r.queries} queries converted to ${to === 'infq' ? '.infq' : 'JSONL'}`);
    });
}

/**
 * Runs a server command as a job: a notification with a progress bar and a Cancel button; the server
 * reports progress on a work-done token made here, and the request's cancellation cancels the job.
 * Answers the command's result, or undefined when cancelled.
 */
export async function serverJob<T>(ctx: Ctx, title: string, command: string, args: unknown[]): Promise<T | undefined> {
  const client = ctx.runningClient;
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, async (progress, token) => {
    const workDoneToken = randomUUID();
    let shown = 0;
    const listener = client.onProgress(WorkDoneProgress.type, workDoneToken, (value) => {
      if (value.kind === 'begin' || value.kind === 'end') return;
      const report = value as WorkDoneProgressReport;
      const pct = report.percentage ?? shown;
      progress.report({ message: report.message, increment: Math.max(0, pct - shown) });
      shown = Math.max(shown, pct);
    });
    try {
      return (await client.sendRequest(ExecuteCommandRequest.type, { command, arguments: args, workDoneToken }, token)) as T;
    } catch (e) {
      if (token.isCancellationRequested) {
        void vscode.window.showInformationMessage(`${title}: cancelled (completed stages are kept)`);
        return undefined;
      }
      throw e;
    } finally {
      listener.dispose();
    }
  });
}

function isQueryDocument(doc: vscode.TextDocument): boolean {
  return doc.languageId === QUERY_LANGUAGE || doc.uri.path.endsWith('.infq');
}

/** Resolves when the status satisfies `ok` (now or later). */
function waitFor(ctx: Ctx, ok: (s: typeof ctx.status) => boolean): Promise<void> {
  if (ok(ctx.status)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const sub = ctx.onDidChangeStatus((s) => {
      if (ok(s)) {
        sub.dispose();
        resolve();
      } else if (s.state === 'error') {
        sub.dispose();
        reject(new Error(s.message));
      }
    });
  });
}

async function reportErrors(f: () => Promise<unknown>): Promise<void> {
  try {
    await f();
  } catch (e) {
    await vscode.window.showErrorMessage(`Influence Lens: ${e instanceof Error ? e.message : String(e)}`);
  }
}
