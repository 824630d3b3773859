import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadMachineDirectory, MachineRegistry } from '@spine/runtime';
import { register } from 'tsx/esm/api';
import { CliError } from './CliError.js';

let registered = false;
function registerTypeScript(): void {
  if (registered) return;
  register();
  registered = true;
}

/** Loads `<name>.machine.json` + `<name>.ts` pairs from a directory into a registry (TypeScript via tsx). */
export async function loadMachines(directory: string): Promise<MachineRegistry> {
  const dir = resolve(directory);
  if (!existsSync(dir)) throw new CliError(`machine directory '${directory}' does not exist (set it with --machines DIR)`);
  // tsx's global hooks (not tsImport's isolated namespace): machine code then shares this
  // process's modules, so `@spine/runtime` in a machine file is the host's own copy.
  registerTypeScript();
  const definitions = await loadMachineDirectory(dir, { importModule: (url) => import(url) as Promise<Record<string, unknown>> });
  const registry = new MachineRegistry();
  for (const definition of definitions) registry.register(definition);
  return registry;
}
