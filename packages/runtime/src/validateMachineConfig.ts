import type { MachineConfigJson } from './defineMachine.js';
import type { FieldIssue } from './errors.js';
import {
  asRecord,
  isReservedEvent,
  MachineIndex,
  referenceName,
  statePathText,
  toArray,
  transitionsOf,
  type MachineElement,
  type StateInfo,
} from './machineWalk.js';
import { eventNameProblem, implementationNameProblem } from './names.js';

/** What a machine issue is about; the editor and the server refuse to save a machine with any. */
export type MachineRule =
  | 'malformed'
  | 'unknown_action'
  | 'unknown_guard'
  | 'unknown_delay'
  | 'unknown_activity'
  | 'unknown_event'
  | 'bad_target'
  | 'duplicate_id'
  | 'missing_initial'
  | 'unreachable'
  | 'dead_end'
  | 'bad_meta'
  /** An event type or implementation name outside the grammar of `names.ts` (it could reach generated code). */
  | 'bad_name'
  /** Params that do not match the action's or guard's params schema (checked where the schemas are: the server). */
  | 'bad_params';

/** A problem in a machine structure: the rule it breaks and the element it is about. */
export interface MachineIssue extends FieldIssue {
  rule: MachineRule;
  element: MachineElement;
}

/**
 * The names an implementation provides. Only the keys are read, so a
 * `MachineDefinition` fits, and so does a list of names sent to a browser.
 */
export interface ImplementationNames {
  actions?: Record<string, unknown>;
  guards?: Record<string, unknown>;
  delays?: Record<string, unknown>;
  activities?: Record<string, unknown>;
  /** xstate logic by name (a JSON definition's `actors`): invocable like activities. */
  actors?: Record<string, unknown>;
  schemas?: { events?: Record<string, unknown> };
}

/** Options of `validateMachineConfig`. */
export interface ValidateMachineOptions {
  /** Machines that may be invoked by name (durable child agents). Default: none. */
  machines?: string[];
  /**
   * Also check what the editor checks before a save: events not in the
   * implementation's event schemas, and states that are not final but have no
   * way out. Loading a machine does not (default false).
   */
  strict?: boolean;
}

const RISK_TIERS = ['low', 'medium', 'high'];

/**
 * Checks a JSON machine structure against its implementation's names and
 * returns every problem found, each with the path and the element it is about:
 * unknown actions, guards, delays and activities, bad targets, duplicate ids,
 * missing initial states, states no transition can reach, malformed risk tiers,
 * and with `strict` also events outside the schemas and dead-end states.
 * Browser-safe: the studio's editor runs the same checks as the server.
 *
 * @example
 * const issues = validateMachineConfig(config, definition, { machines: registry.names(), strict: true });
 * if (issues.length) throw new Error(issues.map((i) => `${i.path}: ${i.message}`).join('; '));
 */
export function validateMachineConfig(
  config: MachineConfigJson,
  implementation: ImplementationNames,
  options: ValidateMachineOptions = {},
): MachineIssue[] {
  const issues: MachineIssue[] = [];
  const report = (rule: MachineRule, element: MachineElement, path: string, message: string) => issues.push({ path, message, rule, element });
  const actions = new Set(Object.keys(implementation.actions ?? {}));
  const guards = new Set(Object.keys(implementation.guards ?? {}));
  const delays = new Set(Object.keys(implementation.delays ?? {}));
  const actors = new Set([...Object.keys(implementation.activities ?? {}), ...Object.keys(implementation.actors ?? {}), ...(options.machines ?? [])]);
  const events = implementation.schemas?.events ? Object.keys(implementation.schemas.events) : undefined;
  const index = new MachineIndex(config);

  for (const state of index.duplicateIds) {
    report('duplicate_id', { state: state.path }, statePathText(state.path), `duplicate state id '#${String(state.node.id)}'`);
  }

  const checkActions = (list: unknown, element: MachineElement, path: string) => {
    for (const action of toArray(list)) {
      const name = referenceName(action);
      if (name === undefined) report('malformed', element, path, 'actions must be named (a string or { type, params })');
      else if (implementationNameProblem(name, 'action name')) report('bad_name', element, path, implementationNameProblem(name, 'action name')!);
      else if (!actions.has(name)) report('unknown_action', element, path, `unknown action '${name}'`);
    }
  };

  const edges = new Map<StateInfo, StateInfo[]>();
  const leaving = new Map<StateInfo, StateInfo[]>();
  for (const state of index.states) {
    const at = statePathText(state.path);
    const node = state.node;
    const self: MachineElement = { state: state.path };
    if (state.path.length && !asRecord(node)) report('malformed', self, at, 'a state must be a JSON object');
    const children = state.children;
    const initial = initialTarget(node.initial);
    if (children.length && node.type !== 'parallel') {
      if (initial === undefined) report('missing_initial', self, at, 'compound state has no initial state');
      else if (!children.some((c) => c.path.at(-1) === initial)) report('missing_initial', self, at, `initial state '${initial}' does not exist`);
    }
    // `initial: { target, actions }`, as xstate allows.
    if (asRecord(node.initial)) checkActions(asRecord(node.initial)!.actions, self, `${at}.initial.actions`);
    // A history state's default target is a way into the states it names.
    if (node.type === 'history' && typeof node.target === 'string') {
      const resolved = index.resolve(state, node.target);
      if (resolved) edges.set(state, [...(edges.get(state) ?? []), resolved]);
    }
    if (node.type === 'final' && children.length) report('malformed', self, at, 'a final state cannot have child states');
    if (node.tags !== undefined && !toArray(node.tags).every((t) => typeof t === 'string')) report('malformed', self, `${at}.tags`, 'tags must be strings');
    checkMeta(node.meta, self, `${at}.meta`, report);
    checkActions(node.entry, self, `${at}.entry`);
    checkActions(node.exit, self, `${at}.exit`);

    for (const [event] of Object.entries(asRecord(node.on) ?? {})) {
      const problem = isReservedEvent(event) ? undefined : eventNameProblem(event);
      if (problem) {
        report('bad_name', { state: state.path, transition: { source: 'on', key: event } }, `${at}.on.${JSON.stringify(event)}`, problem);
        continue;
      }
      if (options.strict && events && !acceptsEvent(event, events)) {
        const element: MachineElement = { state: state.path, transition: { source: 'on', key: event } };
        report('unknown_event', element, `${at}.on.${event}`, `event '${event}' is not in the machine's event schemas (accepted: ${events.length ? events.join(', ') : 'none'})`);
      }
    }
    for (const delay of Object.keys(asRecord(node.after) ?? {})) {
      const problem = /^\d+$/.test(delay) ? undefined : implementationNameProblem(delay, 'delay name');
      if (problem) report('bad_name', { state: state.path, transition: { source: 'after', key: delay } }, `${at}.after.${JSON.stringify(delay)}`, problem);
      else if (!/^\d+$/.test(delay) && !delays.has(delay)) {
        report('unknown_delay', { state: state.path, transition: { source: 'after', key: delay } }, `${at}.after.${delay}`, `unknown delay '${delay}'`);
      }
    }
    toArray(node.invoke).forEach((invoke, i) => {
      const inv = asRecord(invoke);
      const path = `${at}.invoke[${i}]`;
      const src = inv?.src;
      if (typeof src !== 'string') report('malformed', self, path, 'invoke src must be the name of an activity or a machine');
      else if (implementationNameProblem(src, 'activity name')) report('bad_name', self, path, implementationNameProblem(src, 'activity name')!);
      else if (!actors.has(src)) report('unknown_activity', self, path, `unknown activity or machine '${src}'`);
      checkMeta(inv?.meta, self, `${path}.meta`, report);
    });

    for (const t of transitionsOf(node, state.path)) {
      const element: MachineElement = { state: state.path, transition: t.ref };
      if (t.raw === null || (typeof t.raw !== 'string' && typeof t.raw !== 'object')) {
        report('malformed', element, t.path, 'a transition must be a target string or an object');
        continue;
      }
      if (t.guard !== undefined) {
        const name = referenceName(t.guard);
        if (name !== undefined && implementationNameProblem(name, 'guard name')) report('bad_name', element, t.path, implementationNameProblem(name, 'guard name')!);
        else if (name === undefined || !guards.has(name)) report('unknown_guard', element, t.path, `unknown guard '${String(name ?? JSON.stringify(t.guard))}'`);
      }
      checkActions(t.actions, element, `${t.path}.actions`);
      for (const target of t.targets) {
        if (typeof target !== 'string') {
          report('malformed', element, t.path, 'a target must be a string');
          continue;
        }
        const resolved = index.resolve(state, target);
        if (!resolved) {
          report('bad_target', element, t.path, `target '${target}' does not exist`);
          continue;
        }
        edges.set(state, [...(edges.get(state) ?? []), resolved]);
        // A state's own `onDone` fires only once it is done: it is no way out of a stuck descendant.
        if (t.ref.source !== 'onDone') leaving.set(state, [...(leaving.get(state) ?? []), resolved]);
      }
    }
  }

  // Reachability: the root, the initial child of a reachable compound state, every
  // region of a reachable parallel state, and every target of a reachable state or
  // of any of its ancestors (transitions on an ancestor apply in its descendants).
  const reachable = new Set<StateInfo>();
  const queue: StateInfo[] = [];
  const enter = (state: StateInfo) => {
    for (let s: StateInfo | undefined = state; s; s = s.parent) {
      if (!reachable.has(s)) {
        reachable.add(s);
        queue.push(s);
      }
    }
  };
  enter(index.root);
  while (queue.length) {
    const state = queue.shift()!;
    const node = state.node;
    if (node.type === 'parallel') state.children.forEach(enter);
    else if (initialTarget(node.initial) !== undefined) state.children.filter((c) => c.path.at(-1) === initialTarget(node.initial)).forEach(enter);
    for (const target of edges.get(state) ?? []) enter(target);
  }
  for (const state of index.states) {
    if (!reachable.has(state)) report('unreachable', { state: state.path }, statePathText(state.path), `state '${state.path.join('.')}' is unreachable: no transition leads to it`);
  }

  if (options.strict) {
    for (const state of index.states) {
      if (!state.path.length || state.children.length || state.node.type === 'final' || state.node.type === 'history') continue;
      // A transition of the state or of an ancestor is a way out unless it leads back to the state or an ancestor.
      let out = false;
      for (let s: StateInfo | undefined = state; s && !out; s = s.parent) out = (leaving.get(s) ?? []).some((target) => !isWithin(state, target));
      if (!out) {
        report('dead_end', { state: state.path }, statePathText(state.path), `state '${state.path.join('.')}' has no way out and is not final: add a transition that leaves it, or make it final`);
      }
    }
  }
  return issues;
}

/** The initial child of a compound state: `initial: 'a'` or `initial: { target: 'a', actions }`. */
function initialTarget(initial: unknown): string | undefined {
  if (typeof initial === 'string') return initial;
  const target = asRecord(initial)?.target;
  return typeof target === 'string' ? target : undefined;
}

/** Whether an event type is accepted by a machine's schemas (`*` and `prefix.*` wildcards match what they cover). */
function acceptsEvent(event: string, accepted: string[]): boolean {
  if (isReservedEvent(event) || event === '*') return true;
  if (event.endsWith('.*')) {
    const prefix = event.slice(0, -1);
    return accepted.some((a) => a.startsWith(prefix));
  }
  return accepted.includes(event);
}

function isWithin(state: StateInfo, ancestor: StateInfo): boolean {
  for (let s: StateInfo | undefined = state; s; s = s.parent) if (s === ancestor) return true;
  return false;
}

function checkMeta(meta: unknown, element: MachineElement, path: string, report: (rule: MachineRule, element: MachineElement, path: string, message: string) => void): void {
  const record = asRecord(meta);
  if (meta !== undefined && !record) return report('bad_meta', element, path, 'meta must be a JSON object');
  if (!record) return;
  if (record.risk !== undefined && !RISK_TIERS.includes(record.risk as string)) {
    report('bad_meta', element, `${path}.risk`, `risk tier '${String(record.risk)}' is not one of ${RISK_TIERS.join(', ')}`);
  }
  const deadline = record.approvalDeadlineMs;
  if (deadline !== undefined && (typeof deadline !== 'number' || !Number.isFinite(deadline) || deadline < 0)) {
    report('bad_meta', element, `${path}.approvalDeadlineMs`, 'approvalDeadlineMs must be a non-negative number of milliseconds');
  }
  const minConfidence = record.minConfidence;
  if (minConfidence !== undefined && (typeof minConfidence !== 'number' || !(minConfidence >= 0 && minConfidence <= 1))) {
    report('bad_meta', element, `${path}.minConfidence`, 'minConfidence must be a number from 0 to 1');
  }
  if (record.onDeadline !== undefined && record.onDeadline !== 'escalate' && record.onDeadline !== 'halt') {
    report('bad_meta', element, `${path}.onDeadline`, "onDeadline must be 'escalate' or 'halt'");
  }
}
