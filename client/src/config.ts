/** The extension's settings as the client writes them (the server reads and validates them: server/src/settings.ts). */
import * as vscode from 'vscode';
import { CONFIGURATION_SECTION } from '../../server/src/protocol';

export type SettingKey = 'backend' | 'workers' | 'model' | 'tokenizer' | 'corpus' | 'factors' | 'index' | 'strategy' | 'fitMaxDocuments' | 'maxLength';

/** Writes a setting: to the workspace when a folder is open, else to the user settings. */
export async function update(key: SettingKey, value: unknown, target?: vscode.ConfigurationTarget): Promise<void> {
  const where = target ?? (vscode.workspace.workspaceFolders?.length ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global);
  await vscode.workspace.getConfiguration(CONFIGURATION_SECTION).update(key, value, where);
}
