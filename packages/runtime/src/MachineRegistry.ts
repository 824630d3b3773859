import { fromPromise, setup, type AnyActorLogic, type AnyStateMachine } from 'xstate';
import { canonicalJson, contentHash } from './canonicalJson.js';
import { toMachineDefinition, type Activity, type CodeMachineDefinition, type MachineConfigJson, type MachineDefinition } from './defineMachine.js';
import { callbackActivity, promiseActivity } from './activities/logicActivities.js';
import { codeConfig, codeVersion, logicKind, machineActors } from './xstateLogic.js';
import { SpineError, type FieldIssue } from './errors.js';
import type { HostStore } from './Store.js';
import { validateMachineConfig } from './validateMachineConfig.js';

/** A machine built for one version: what the host steps. */
export interface MachineVersion {
  name: string;
  version: string;
  config: MachineConfigJson;
  definition: MachineDefinition;
  machine: AnyStateMachine;
  /** The durable child machine an invoked or spawned `src` names, if it is one. */
  childMachine(src: string): string | undefined;
  /** Why this machine cannot run durably (an actor logic the host cannot keep), if it cannot. */
  refusal: string | undefined;
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
  /** The current version of each registered machine (a hash of its whole structure), until the next `register`. */
  readonly #versions = new Map<string, string>();
  #revision = 0;

  /**
   * Registers (or replaces) a machine definition, JSON or code; returns its current
   * version. A machine written in code also registers each machine it invokes or
   * spawns, as `<name>/<src>`, so they run as durable children.
   */
  register(input: MachineDefinition | CodeMachineDefinition): { name: string; version: string } {
    const definition = toMachineDefinition(input);
    if (definition.machine) return this.#registerCode(definition, definition.machine);
    this.#definitions.set(definition.name, definition.actors ? withActorActivities(definition) : definition);
    this.#revision++;
    this.#versions.clear();
    return { name: definition.name, version: versionOf(definition.config) };
  }

  #registerCode(definition: MachineDefinition, machine: AnyStateMachine): { name: string; version: string } {
    const activities: Record<string, Activity> = {};
    const children: Record<string, string> = {};
    const unsupported: string[] = [];
    for (const [src, logic] of machineActors(machine)) {
      const kind = logicKind(logic);
      if (kind === 'promise') activities[src] = promiseActivity(logic);
      else if (kind === 'callback') activities[src] = callbackActivity(logic);
      else if (kind === 'machine') {
        children[src] = `${definition.name}/${src}`;
        this.register({ name: children[src], machine: logic as AnyStateMachine });
      } else unsupported.push(src);
    }
    const full: MachineDefinition & CodeParts = {
      ...definition,
      activities: { ...activities, ...definition.activities },
      [CODE]: { children, unsupported, actors: machineActors(machine) },
    };
    this.#definitions.set(definition.name, full);
    this.#revision++;
    this.#versions.clear();
    return { name: definition.name, version: definitionVersion(full) };
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
    let version = this.#versions.get(name);
    if (version === undefined) this.#versions.set(name, (version = definitionVersion(definition)));
    const key = `${name}@${version}`;
    let built = this.#built.get(key);
    if (!built) {
      built = this.#build(definition, definition.config, version);
      this.#built.set(key, built);
    }
    return built;
  }

  /** The current version of a machine, saved to the store so later runs can be pinned to it. */
  async current(name: string, store: Pick<HostStore, 'saveMachineVersion' | 'getMachineVersion'>): Promise<MachineVersion> {
    const built = this.machine(name);
    if (!this.#saved.has(`${name}@${built.version}`)) {
      const structure = built.definition.machine ? codeConfig(built.definition.machine) : built.config;
      await store.saveMachineVersion(name, built.version, canonicalJson(structure));
      this.#saved.add(`${name}@${built.version}`);
    }
    return built;
  }

  /** A version of a machine already built here (by `machine`, `current` or `pinned`), without building or reading anything. */
  built(name: string, version: string): MachineVersion | undefined {
    return this.#built.get(`${name}@${version}`);
  }

  /** A pinned version: its structure from the store, its implementations from the registry. */
  async pinned(name: string, version: string, store: Pick<HostStore, 'saveMachineVersion' | 'getMachineVersion'>): Promise<MachineVersion> {
    const key = `${name}@${version}`;
    const cached = this.#built.get(key);
    if (cached) return cached;
    const definition = this.definition(name);
    let config: MachineConfigJson;
    if (definitionVersion(definition) === version) {
      config = definition.config;
    } else if (definition.machine) {
      // The same code built by another transpiler has other function text, so another
      // version: when the stored structure has the same shape (function text aside),
      // the actor runs on the current code.
      const stored = await store.getMachineVersion(name, version);
      if (stored && canonicalJson(shapeOf(JSON.parse(stored))) === canonicalJson(shapeOf(codeConfig(definition.machine)))) {
        const built = this.#build(definition, definition.config, version);
        this.#built.set(key, built);
        return built;
      }
      throw new SpineError(
        'unknown_version',
        `Machine '${name}' version '${version}' was registered from code that is no longer registered (now '${definitionVersion(definition)}'); register that code again or move the actor with moveActorToVersion.`,
        { machine: name },
      );
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
    const code = (definition as CodeParts)[CODE];
    if (definition.machine && code) {
      const refusal = code.unsupported.length
        ? `Machine '${definition.name}' uses actor logic the durable host cannot keep (${code.unsupported.join(', ')}): only fromPromise, fromCallback and machines can be invoked or spawned.`
        : undefined;
      return { name: definition.name, version, config, definition, machine: definition.machine, childMachine: (src) => code.children[src], refusal };
    }
    // Unreachable states are legal in xstate: an editor warning, never a refusal at run time.
    const issues = validateMachineConfig(config, definition, { machines: this.names() }).filter((issue) => issue.rule !== 'unreachable');
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
    const known = new Set(this.names());
    return { name: definition.name, version, config, definition, machine, childMachine: (src) => (known.has(src) ? src : undefined), refusal: undefined };
  }
}

const CODE = Symbol('spine.codeMachine');
interface CodeParts {
  [CODE]?: { children: Record<string, string>; unsupported: string[]; actors: Map<string, AnyActorLogic> };
}

/**
 * A JSON definition's `actors` (xstate logic by name) as the activities that host them;
 * logic the host cannot keep is refused here, at registration, with the reason.
 */
function withActorActivities(definition: MachineDefinition): MachineDefinition {
  const activities: Record<string, Activity> = {};
  const issues: FieldIssue[] = [];
  for (const [src, logic] of Object.entries(definition.actors ?? {})) {
    const path = `actors.${src}`;
    if (Object.hasOwn(definition.activities ?? {}, src)) {
      issues.push({ path, message: `'${src}' is both an activity and an actor; give it one implementation` });
      continue;
    }
    const kind = logicKind(logic);
    if (kind === 'promise') activities[src] = promiseActivity(logic);
    else if (kind === 'callback') activities[src] = callbackActivity(logic);
    else if (kind === 'machine') issues.push({ path, message: `a machine cannot be given as an actor of a JSON definition; register it and invoke it by its machine name` });
    else issues.push({ path, message: `actor logic the durable host cannot keep: only fromPromise and fromCallback can be given as actors` });
  }
  if (issues.length) throw invalidMachine(definition.name, issues);
  return { ...definition, activities: { ...definition.activities, ...activities } };
}

/** A code machine's stored structure with every function's text replaced by a marker. */
function shapeOf(value: unknown): unknown {
  if (typeof value === 'string') return value.startsWith('fn:') ? 'fn' : value;
  if (Array.isArray(value)) return value.map(shapeOf);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = k === 'fn' || k === 'source' ? 'fn' : shapeOf(v);
    return out;
  }
  return value;
}

/** The version of a definition: of its JSON structure, or of its code (config and implementations). */
export function definitionVersion(definition: MachineDefinition): string {
  return definition.machine ? codeVersion(definition.machine) : versionOf(definition.config);
}

/** The version of a machine structure: a hash of its canonical JSON. */
export function versionOf(config: MachineConfigJson): string {
  return contentHash(config);
}

function invalidMachine(name: string, issues: FieldIssue[]): SpineError {
  const list = issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ');
  return new SpineError('invalid_machine', `Machine '${name}' is invalid: ${list}`, { machine: name, issues });
}
