/**
 * The items of "Select Compute Backend…": auto, then every backend in auto's order, each with its
 * description, all from the one list (server/src/protocol.ts). No vscode here, so the unit tests check
 * the items against package.json's enum and the CLI's help (test/unit/backend.test.ts).
 */
import { BACKEND_CHOICES } from '../../server/src/protocol';

export interface BackendPickItem {
  label: string;
  description: string;
}

export function backendPickItems(): BackendPickItem[] {
  return BACKEND_CHOICES.map((b) => ({ label: b.name, description: b.description }));
}
