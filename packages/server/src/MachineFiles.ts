import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  formatMachineJson,
  getDurableSend,
  MachineIndex,
  MachineRegistry,
  machineNames,
  parseMachineLayout,
  SpineError,
  transitionsOf,
  validateMachineConfig,
  versionOf,
  zodIssues,
  type ImplementationNames,
  type MachineConfigJson,
  type MachineDefinition,
  type MachineElement,
  type MachineIssue,
  type MachineNames,
  type Store,
} from '@spine/runtime';
import { referenceName, statePathText, toArray } from '@spine/runtime/editing';
import { z } from 'zod';
import type { bodies, ImplementationJson, MachineSourceJson, SaveMachineResult } from './protocol.js';
import { scaffoldImplementation } from './scaffoldImplementation.js';
import { ServerError } from './ServerError.js';

type SaveBody = z.infer<(typeof bodies)['saveMachine']>;

/**
 * The machines directory as the editor sees it: reads `<name>.machine.json`
 * (key order kept) with its layout sidecar and what its implementation provides,
 * and saves edits: validated with the same checks as the studio (plus the
 * implementation's real names), built once to be sure XState accepts it, written
 * atomically (temporary file + rename) in the file's own formatting, and
 * registered as the machine's new version, so new runs use it while running
 * actors stay on theirs.
 */
export class MachineFiles {
  readonly dir: string;
  readonly #registry: MachineRegistry | undefined;
  readonly #store: Store;
  readonly #locks = new Map<string, Promise<unknown>>();

  constructor(dir: string, options: { store: Store; registry?: MachineRegistry }) {
    this.dir = resolve(dir);
    this.#store = options.store;
    this.#registry = options.registry;
  }

  /** Every `<name>.machine.json` of the directory, by name. */
  list(): Map<string, MachineSourceJson> {
    const out = new Map<string, MachineSourceJson>();
    if (!existsSync(this.dir)) return out;
    for (const file of readdirSync(this.dir).filter((f) => f.endsWith('.machine.json')).sort()) {
      const name = file.slice(0, -'.machine.json'.length);
      out.set(name, this.read(name));
    }
    return out;
  }

  /** One machine's files. */
  read(name: string): MachineSourceJson {
    const file = `${name}.machine.json`;
    const definition = this.#definition(name);
    let config: Record<string, unknown> | null = null;
    let error: string | null = null;
    try {
      const parsed = JSON.parse(readFileSync(join(this.dir, file), 'utf8')) as unknown;
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) config = parsed as Record<string, unknown>;
      else error = `${file} does not hold a JSON object`;
    } catch (e) {
      error = `${file} is not valid JSON: ${(e as Error).message}`;
    }
    return {
      file,
      config,
      version: config ? versionOf(config) : null,
      layout: this.#layout(name),
      implementation: definition ? implementationJson(definition, this.#registry!) : null,
      needsImplementation: config ? this.#missing(config, definition) : null,
      error,
    };
  }

  /** Validates, writes and registers a machine (one save per machine at a time). */
  async save(body: SaveBody): Promise<SaveMachineResult> {
    const previous = this.#locks.get(body.machine) ?? Promise.resolve();
    const next = previous.catch(() => {}).then(() => this.#save(body));
    this.#locks.set(body.machine, next);
    try {
      return await next;
    } finally {
      if (this.#locks.get(body.machine) === next) this.#locks.delete(body.machine);
    }
  }

  async #save(body: SaveBody): Promise<SaveMachineResult> {
    const { machine } = body;
    const config = body.config as MachineConfigJson;
    const file = `${machine}.machine.json`;
    const path = join(this.dir, file);
    if (!existsSync(this.dir)) throw new ServerError('not_available', `The machines directory '${this.dir}' does not exist.`);
    const exists = existsSync(path);
    const previousText = exists ? readFileSync(path, 'utf8') : undefined;
    let previousVersion: string | null = null;
    if (previousText !== undefined) {
      try {
        previousVersion = versionOf(JSON.parse(previousText) as MachineConfigJson);
      } catch {
        previousVersion = null;
      }
    }
    const creating = body.baseVersion === null;
    if (creating && exists) throw new ServerError('conflict', `A machine named '${machine}' already exists (${file}); open it instead, or pick another name.`);
    if (!creating && !exists) throw new ServerError('not_found', `No machine '${machine}' in ${this.dir}; to create it, save with "baseVersion": null.`);
    if (!creating && body.baseVersion !== undefined && previousVersion !== null && body.baseVersion !== previousVersion) {
      throw new ServerError(
        'conflict',
        `${file} changed since it was opened (opened ${body.baseVersion}, now ${previousVersion}); nothing was written. Reload the machine and make the edit again.`,
      );
    }

    const definition = this.#definition(machine);
    const registry = this.#registry;
    const names = registry?.names() ?? [];
    const implementation: ImplementationNames = definition ?? namesOnly(machineNames(config));
    const issues = [...validateMachineConfig(config, implementation, { machines: names, strict: true }), ...(definition ? paramIssues(config, definition) : [])];
    if (issues.length) {
      const list = issues.map((i) => `${i.path}: ${i.message}`).join('; ');
      throw new SpineError('invalid_machine', `Machine '${machine}' was not saved: ${list}`, { machine, issues });
    }
    if (definition && registry) buildOrRefuse(registry, { ...definition, config });

    const text = formatMachineJson(config, previousText === undefined ? {} : { previous: previousText });
    const changed = text !== previousText;
    if (changed) writeAtomic(path, text);
    let layoutChanged = false;
    if (body.layout) {
      const layoutPath = join(this.dir, `${machine}.layout.json`);
      const before = existsSync(layoutPath) ? readFileSync(layoutPath, 'utf8') : undefined;
      const layoutText = formatMachineJson(body.layout, before === undefined ? {} : { previous: before });
      const nothingToKeep = before === undefined && !Object.keys(body.layout.positions).length;
      if (layoutText !== before && !nothingToKeep) {
        writeAtomic(layoutPath, layoutText);
        layoutChanged = true;
      }
    }
    let scaffold: string | null = null;
    if (creating && !['.ts', '.mts', '.js', '.mjs'].some((ext) => existsSync(join(this.dir, machine + ext)))) {
      scaffold = `${machine}.ts`;
      const used = machineNames(config);
      const agents = new Set(names);
      writeAtomic(join(this.dir, scaffold), scaffoldImplementation(machine, { ...used, activities: used.activities.filter((a) => !agents.has(a)) }));
    }

    const version = versionOf(config);
    if (definition && registry) {
      await registry.current(machine, this.#store); // the version running actors may be pinned to is stored
      registry.register({ ...definition, config });
      await registry.current(machine, this.#store);
    }
    return {
      machine,
      file,
      version,
      previousVersion,
      changed,
      layoutChanged,
      created: creating,
      runnable: Boolean(definition),
      scaffold,
      needsImplementation: this.#missing(config, definition),
    };
  }

  #definition(name: string): MachineDefinition | undefined {
    return this.#registry?.has(name) ? this.#registry.definition(name) : undefined;
  }

  #layout(name: string): MachineSourceJson['layout'] {
    const path = join(this.dir, `${name}.layout.json`);
    if (!existsSync(path)) return { positions: {} };
    try {
      return parseMachineLayout(JSON.parse(readFileSync(path, 'utf8')));
    } catch {
      return { positions: {} };
    }
  }

  /** Names the structure uses that the loaded implementation (if any) does not provide. */
  #missing(config: Record<string, unknown>, definition: MachineDefinition | undefined): MachineNames {
    const used = machineNames(config);
    if (!definition) return used;
    const has = (record: Record<string, unknown> | undefined) => (name: string) => !record || !Object.prototype.hasOwnProperty.call(record, name);
    const machines = new Set(this.#registry?.names() ?? []);
    return {
      actions: used.actions.filter(has(definition.actions)),
      guards: used.guards.filter(has(definition.guards)),
      delays: used.delays.filter(has(definition.delays)),
      activities: used.activities.filter((a) => !machines.has(a) && has(definition.activities)(a)),
      events: definition.schemas.events ? used.events.filter(has(definition.schemas.events)) : [],
    };
  }
}

/** What an implementation provides, as JSON for the editor's pickers. */
export function implementationJson(definition: MachineDefinition, registry: MachineRegistry): ImplementationJson {
  const params = definition.schemas.params ?? {};
  return {
    actions: Object.entries(definition.actions ?? {}).map(([name, action]) => ({ name, kind: actionKind(action), params: schemaJson(params.actions?.[name]) })),
    guards: Object.keys(definition.guards ?? {}).map((name) => ({ name, params: schemaJson(params.guards?.[name]) })),
    delays: Object.entries(definition.delays ?? {}).map(([name, delay]) => ({ name, ms: typeof delay === 'number' ? delay : null })),
    activities: [
      ...Object.entries(definition.activities ?? {}).map(([name, activity]) => ({ name, kind: 'activity' as const, input: schemaJson(activity.input) })),
      ...registry
        .names()
        .filter((name) => name !== definition.name && !(name in (definition.activities ?? {})))
        .map((name) => ({ name, kind: 'machine' as const, input: schemaJson(registry.definition(name).schemas.input) })),
    ],
    events: Object.keys(definition.schemas.events ?? {}),
  };
}

function actionKind(action: unknown): ImplementationJson['actions'][number]['kind'] {
  if (getDurableSend(action)) return 'send';
  const type = (action as { type?: unknown } | null)?.type;
  if (type === 'xstate.assign') return 'assign';
  if (type === 'xstate.sendTo' || type === 'xstate.raise' || type === 'xstate.emit') return 'send';
  return 'custom';
}

function schemaJson(schema: z.ZodType | undefined): unknown {
  if (!schema) return null;
  try {
    return z.toJSONSchema(schema, { unrepresentable: 'any' });
  } catch {
    return null;
  }
}

/** Params written in the structure that do not match the implementation's `schemas.params`. */
export function paramIssues(config: MachineConfigJson, definition: MachineDefinition): MachineIssue[] {
  const schemas = definition.schemas.params;
  if (!schemas) return [];
  const issues: MachineIssue[] = [];
  const check = (reference: unknown, kind: 'actions' | 'guards', element: MachineElement, path: string) => {
    const name = referenceName(reference);
    const schema = name && schemas[kind] && Object.prototype.hasOwnProperty.call(schemas[kind], name) ? schemas[kind][name] : undefined;
    if (!schema) return;
    const params = (reference as { params?: unknown } | null)?.params;
    const result = schema.safeParse(params);
    if (!result.success) {
      const detail = zodIssues(result.error).map((i) => `${i.path}: ${i.message}`).join('; ');
      issues.push({ rule: 'bad_params', element, path, message: `params of ${kind === 'actions' ? 'action' : 'guard'} '${name}' do not match its schema: ${detail}` });
    }
  };
  for (const state of new MachineIndex(config).states) {
    const at = statePathText(state.path);
    for (const which of ['entry', 'exit'] as const) for (const a of toArray(state.node[which])) check(a, 'actions', { state: state.path }, `${at}.${which}`);
    for (const t of transitionsOf(state.node, state.path)) {
      const element: MachineElement = { state: state.path, transition: t.ref };
      if (t.guard !== undefined) check(t.guard, 'guards', element, t.path);
      for (const a of t.actions) check(a, 'actions', element, `${t.path}.actions`);
    }
  }
  return issues;
}

/** An implementation that provides exactly the names a structure uses: for machines with no code yet. */
function namesOnly(names: MachineNames): ImplementationNames {
  const record = (list: string[]) => Object.fromEntries(list.map((n) => [n, true]));
  return { actions: record(names.actions), guards: record(names.guards), delays: record(names.delays), activities: record(names.activities) };
}

/** Builds the machine as the host would, so a structure XState refuses is never written. */
function buildOrRefuse(registry: MachineRegistry, definition: MachineDefinition): void {
  const scratch = new MachineRegistry();
  for (const name of registry.names()) scratch.register(name === definition.name ? definition : registry.definition(name));
  try {
    scratch.machine(definition.name);
  } catch (error) {
    if (error instanceof SpineError) throw error;
    throw new SpineError('invalid_machine', `Machine '${definition.name}' was not saved: XState refused it: ${(error as Error).message}`, { machine: definition.name, cause: error });
  }
}

/** Writes a file so that readers see the old or the new content, never a part: temporary file, fsync, rename. */
export function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`;
  try {
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
}
