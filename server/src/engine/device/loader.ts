/**
 * How optional packages (tfjs-node, tfjs-node-gpu, webgpu and its tfjs backend) are loaded: at run time,
 * beside the extension first, then from the global package folder of the Node that runs us or NODE_PATH.
 * The loader is a parameter of backend choice, so tests can stand in for a package being absent, present
 * or broken without touching TensorFlow.js itself.
 */
import { createRequire } from 'node:module';
import { basename, delimiter, dirname, join } from 'node:path';

/** Loads a package (or a file inside one) by specifier, as require does; throws when it cannot. */
export type ModuleLoader = (specifier: string) => unknown;

const besideUs = createRequire(__filename);

/** Folders searched after the extension's own node_modules. */
function globalFolders(): string[] {
  const out = (process.env.NODE_PATH ?? '').split(delimiter).filter(Boolean);
  // <prefix>/bin/node → <prefix>/lib/node_modules: where `npm i -g` puts packages (not for Electron hosts).
  if (/^node(\.exe)?$/.test(basename(process.execPath))) out.push(join(dirname(dirname(process.execPath)), 'lib', 'node_modules'));
  return out;
}

export const requireModule: ModuleLoader = (specifier) => {
  try {
    return besideUs(specifier);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw e;
    let resolved: string;
    try {
      resolved = besideUs.resolve(specifier, { paths: globalFolders() });
    } catch {
      throw e; // the first error names where it was looked for beside us
    }
    return besideUs(resolved);
  }
};

/** The first line of an error, for a one-line reason. */
export function firstLine(e: unknown): string {
  return String(e instanceof Error ? e.message : e).split('\n')[0];
}
