import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { MachineConfigJson, MachineDefinition, MachineImplementation } from './defineMachine.js';
import { SpineError } from './errors.js';

/** Imports a module by file URL; the CLI passes one that understands TypeScript. */
export type ModuleImporter = (url: string) => Promise<Record<string, unknown>>;

/**
 * Loads every machine of a directory: `<name>.machine.json` holds the structure
 * and `<name>.ts` (or `.js`) default-exports its implementation.
 */
export async function loadMachineDirectory(
  directory: string,
  options: { importModule?: ModuleImporter } = {},
): Promise<MachineDefinition[]> {
  const dir = resolve(directory);
  if (!existsSync(dir)) throw new SpineError('unknown_machine', `Machine directory '${directory}' does not exist.`);
  const importModule = options.importModule ?? ((url: string) => import(url) as Promise<Record<string, unknown>>);
  const definitions: MachineDefinition[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.machine.json')).sort()) {
    const name = file.slice(0, -'.machine.json'.length);
    let config: MachineConfigJson;
    try {
      config = JSON.parse(readFileSync(join(dir, file), 'utf8')) as MachineConfigJson;
    } catch (error) {
      throw new SpineError('invalid_machine', `${file} is not valid JSON: ${(error as Error).message}`, { machine: name, cause: error });
    }
    const implementationFile = ['.ts', '.mts', '.js', '.mjs'].map((ext) => join(dir, name + ext)).find((p) => existsSync(p));
    if (!implementationFile) {
      throw new SpineError('invalid_machine', `Machine '${name}' has ${file} but no ${name}.ts with its implementations.`, { machine: name });
    }
    let module: Record<string, unknown>;
    try {
      module = await importModule(pathToFileURL(implementationFile).href);
    } catch (error) {
      const reason = (error as Error)?.message?.split('\n')[0] ?? String(error);
      throw new SpineError('invalid_machine', `Cannot load ${implementationFile}: ${reason}`, { machine: name, cause: error });
    }
    const implementation = (module.default ?? module.implementation) as MachineImplementation | undefined;
    if (!implementation || typeof implementation !== 'object' || !('schemas' in implementation)) {
      throw new SpineError('invalid_machine', `${implementationFile} must default-export the machine's implementation (schemas, actions, guards, activities).`, { machine: name });
    }
    definitions.push({ ...implementation, name, config });
  }
  return definitions;
}
