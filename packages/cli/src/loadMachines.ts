import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadMachineDirectory, MachineRegistry } from '@spine/runtime';
import { tsImport } from 'tsx/esm/api';
import { CliError } from './CliError.js';

/** Loads `<name>.machine.json` + `<name>.ts` pairs from a directory into a registry (TypeScript via tsx). */
export async function loadMachines(directory: string): Promise<MachineRegistry> {
  const dir = resolve(directory);
  if (!existsSync(dir)) throw new CliError(`machine directory '${directory}' does not exist (set it with --machines DIR)`);
  const parent = pathToFileURL(`${dir}/`).href;
  const definitions = await loadMachineDirectory(dir, {
    importModule: (url) => (/\.(c|m)?ts$/.test(url) ? tsImport(url, parent) : import(url)) as Promise<Record<string, unknown>>,
  });
  const registry = new MachineRegistry();
  for (const definition of definitions) registry.register(definition);
  return registry;
}
