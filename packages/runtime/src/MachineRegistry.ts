import { fromPromise, setup, type AnyStateMachine } from 'xstate';
import { canonicalJson, contentHash } from './canonicalJson.js';
import type { MachineConfigJson, MachineDefinition } from './defineMachine.js';
import { SpineError, type FieldIssue } from './errors.js';
import type { Store } from './Store.js';
import { validateMachineConfig } from './validateMachineConfig.js';

/** A machine built for one version: what the host steps. */
export interface MachineVersion {
  name: string;
  version: string;
  config: MachineConfigJson;
  definition: MachineDefinition;
  machine: AnyStateMachine;
}

// Invoked and spawned actors are never started by the host: each `src` resolves to
// this inert logic so XState can resolve the invoke's input and persist the child.
const inert = fromPromise(() => new Promise<never>(() => {}));

/**
 * Holds the machines a host can run. A version is the content hash of the JSON
 * structure; a run stays on the version it started on, so older versions are
 * rebuilt from the store (structure) plus the current implementations (code).
 */
export class MachineRegistry {
  readonly #definitions = new Map<string, MachineDefinition>();
  readonly #built = new Map<string, MachineVersion>();
  readonly #saved = new Set<string>();
  #revision = 0;

  /** Registers (or replaces) a machine definition; returns its current version. */
  register(definition: MachineDefinition): { name: string; version: string } {
    this.#definitions.set(definition.name, definition);
    this.#revision++;
    return { name: definition.name, version: versionOf(definition.config) };
  }

  /** Grows with every `register`, so callers can cache what they derive from the registry. */
  get revision(): number {
    return this.#revision;
  }

  /** Names of the registered machines. */
  names(): string[] {
    return [...this.#definitions.keys()].sort();
  }

  /** Whether a machine with this name is registered. */
  has(name: string): boolean {
    return this.#definitions.has(name);
  }

  /** The registered definition, or an `unknown_machine` error listing the known ones. */
  definition(name: string): MachineDefinition {
    const definition = this.#definitions.get(name);
    if (!definition) {
      const known = this.names();
      throw new SpineError(
        'unknown_machine',
        `Unknown machine '${name}'. Known machines: ${known.length ? known.join(', ') : '(none registered)'}.`,
        { machine: name },
      );
    }
    return definition;
  }

  /** The current version of a machine, built (not saved): for tools and baselines. */
  machine(name: string): MachineVersion {
    const definition = this.definition(name);
    const version = versionOf(definition.config);
    const key = `${name}@${version}`;
    let built = this.#built.get(key);
    if (!built) {
      built = this.#build(definition, definition.config, version);
      this.#built.set(key, built);
    }
    return built;
  }

  /** The current version of a machine, saved to the store so later runs can be pinned to it. */
  async current(name: string, store: Store): Promise<MachineVersion> {
    const built = this.machine(name);
    if (!this.#saved.has(`${name}@${built.version}`)) {
      await store.saveMachineVersion(name, built.version, canonicalJson(built.config));
      this.#saved.add(`${name}@${built.version}`);
    }
    return built;
  }

  /** A pinned version: its structure from the store, its implementations from the registry. */
  async pinned(name: string, version: string, store: Store): Promise<MachineVersion> {
    const key = `${name}@${version}`;
    const cached = this.#built.get(key);
    if (cached) return cached;
    const definition = this.definition(name);
    let config: MachineConfigJson;
    if (versionOf(definition.config) === version) {
      config = definition.config;
    } else {
      const stored = await store.getMachineVersion(name, version);
      if (!stored) {
        throw new SpineError('unknown_version', `Machine '${name}' has no stored version '${version}'.`, { machine: name });
      }
      config = JSON.parse(stored) as MachineConfigJson;
    }
    const built = this.#build(definition, config, version);
    this.#built.set(key, built);
    return built;
  }

  #build(definition: MachineDefinition, config: MachineConfigJson, version: string): MachineVersion {
    const issues = validateMachineConfig(config, definition, { machines: this.names() });
    if (issues.length) throw invalidMachine(definition.name, issues);
    const actors: Record<string, typeof inert> = {};
    for (const src of Object.keys(definition.activities ?? {})) actors[src] = inert;
    for (const name of this.names()) actors[name] ??= inert;
    const machineConfig: Record<string, unknown> = { ...config };
    if (definition.context) {
      const makeContext = definition.context;
      machineConfig.context = ({ input }: { input: unknown }) => makeContext(input);
    }
    if (definition.output) machineConfig.output = definition.output;
    const machine = setup({
      actions: definition.actions ?? {},
      guards: definition.guards ?? {},
      delays: definition.delays ?? {},
      actors,
    } as any).createMachine(machineConfig as any) as AnyStateMachine;
    return { name: definition.name, version, config, definition, machine };
  }
}

/** The version of a machine structure: a hash of its canonical JSON. */
export function versionOf(config: MachineConfigJson): string {
  return contentHash(config);
}

function invalidMachine(name: string, issues: FieldIssue[]): SpineError {
  const list = issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ');
  return new SpineError('invalid_machine', `Machine '${name}' is invalid: ${list}`, { machine: name, issues });
}
