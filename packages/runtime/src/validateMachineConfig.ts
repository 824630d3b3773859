import type { MachineConfigJson, MachineImplementation } from './defineMachine.js';
import type { FieldIssue } from './errors.js';

type StateJson = Record<string, unknown> & {
  id?: string;
  type?: string;
  initial?: string;
  states?: Record<string, StateJson>;
};

interface StateInfo {
  path: string[];
  node: StateJson;
  parent: StateInfo | undefined;
}

/**
 * Checks a JSON machine structure against its implementations and returns every
 * problem found, each with the path of the element it is about: unknown actions,
 * guards, delays and activities, bad targets, duplicate ids, missing initial
 * states, and states no transition can reach.
 */
export function validateMachineConfig(
  config: MachineConfigJson,
  implementation: Pick<MachineImplementation, 'actions' | 'guards' | 'delays' | 'activities'>,
  options: { machines?: string[] } = {},
): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const actions = new Set(Object.keys(implementation.actions ?? {}));
  const guards = new Set(Object.keys(implementation.guards ?? {}));
  const delays = new Set(Object.keys(implementation.delays ?? {}));
  const actors = new Set([...Object.keys(implementation.activities ?? {}), ...(options.machines ?? [])]);
  const states: StateInfo[] = [];
  const byId = new Map<string, StateInfo>();

  const collect = (node: StateJson, path: string[], parent: StateInfo | undefined) => {
    const info: StateInfo = { path, node, parent };
    states.push(info);
    if (typeof node.id === 'string') {
      if (byId.has(node.id)) issues.push({ path: where(path), message: `duplicate state id '#${node.id}'` });
      byId.set(node.id, info);
    }
    const children = node.states ?? {};
    const names = Object.keys(children);
    if (names.length && node.type !== 'parallel') {
      if (typeof node.initial !== 'string') issues.push({ path: where(path), message: 'compound state has no initial state' });
      else if (!children[node.initial]) issues.push({ path: where(path), message: `initial state '${node.initial}' does not exist` });
    }
    for (const name of names) collect(children[name]!, [...path, name], info);
  };
  collect(config as StateJson, [], undefined);

  const resolveTarget = (from: StateInfo, target: string): StateInfo | undefined => {
    if (target.startsWith('#')) {
      const [id, ...rest] = target.slice(1).split('.');
      const base = byId.get(id!);
      return base && descend(base, rest);
    }
    if (target.startsWith('.')) return descend(from, target.slice(1).split('.'));
    const [first, ...rest] = target.split('.');
    const parent = from.parent ?? from;
    const sibling = parent.node.states?.[first!] ? states.find((s) => s.parent === parent && s.path.at(-1) === first) : undefined;
    return sibling && descend(sibling, rest);
  };
  const descend = (from: StateInfo, names: string[]): StateInfo | undefined => {
    let current: StateInfo | undefined = from;
    for (const name of names) {
      if (!current || !current.node.states?.[name]) return undefined;
      const parent: StateInfo = current;
      current = states.find((s) => s.parent === parent && s.path.at(-1) === name);
    }
    return current;
  };

  const edges = new Map<StateInfo, StateInfo[]>();
  const checkActions = (list: unknown, path: string) => {
    for (const action of toArray(list)) {
      const name = typeof action === 'string' ? action : (action as { type?: unknown })?.type;
      if (typeof name !== 'string') issues.push({ path, message: 'actions must be named (a string or { type, params })' });
      else if (!actions.has(name)) issues.push({ path, message: `unknown action '${name}'` });
    }
  };
  const checkTransitions = (from: StateInfo, value: unknown, path: string) => {
    for (const transition of toArray(value)) {
      const t = typeof transition === 'string' ? { target: transition } : (transition as Record<string, unknown> | undefined);
      if (!t || typeof t !== 'object') continue;
      const guard = t.guard;
      const guardName = typeof guard === 'string' ? guard : (guard as { type?: unknown } | undefined)?.type;
      if (guard !== undefined && (typeof guardName !== 'string' || !guards.has(guardName))) {
        issues.push({ path, message: `unknown guard '${String(guardName)}'` });
      }
      checkActions(t.actions, `${path}.actions`);
      for (const target of toArray(t.target)) {
        if (typeof target !== 'string') continue;
        const resolved = resolveTarget(from, target);
        if (!resolved) issues.push({ path, message: `target '${target}' does not exist` });
        else edges.set(from, [...(edges.get(from) ?? []), resolved]);
      }
    }
  };

  for (const state of states) {
    const at = where(state.path);
    const node = state.node;
    checkActions(node.entry, `${at}.entry`);
    checkActions(node.exit, `${at}.exit`);
    for (const [event, transitions] of Object.entries((node.on as Record<string, unknown>) ?? {})) {
      checkTransitions(state, transitions, `${at}.on.${event}`);
    }
    if (node.always) checkTransitions(state, node.always, `${at}.always`);
    if (node.onDone) checkTransitions(state, node.onDone, `${at}.onDone`);
    for (const [delay, transitions] of Object.entries((node.after as Record<string, unknown>) ?? {})) {
      if (!/^\d+$/.test(delay) && !delays.has(delay)) issues.push({ path: `${at}.after.${delay}`, message: `unknown delay '${delay}'` });
      checkTransitions(state, transitions, `${at}.after.${delay}`);
    }
    toArray(node.invoke).forEach((invoke, index) => {
      const inv = invoke as Record<string, unknown>;
      const src = inv?.src;
      const path = `${at}.invoke[${index}]`;
      if (typeof src !== 'string') issues.push({ path, message: 'invoke src must be the name of an activity or a machine' });
      else if (!actors.has(src)) issues.push({ path, message: `unknown activity or machine '${src}'` });
      if (inv?.onDone) checkTransitions(state, inv.onDone, `${path}.onDone`);
      if (inv?.onError) checkTransitions(state, inv.onError, `${path}.onError`);
    });
  }

  // Reachability: the root, the initial child of a reachable compound state, every
  // region of a reachable parallel state, and every target of a reachable state or
  // of any of its ancestors (transitions on an ancestor apply in its descendants).
  const reachable = new Set<StateInfo>();
  const queue: StateInfo[] = [states[0]!];
  const enter = (state: StateInfo) => {
    for (let s: StateInfo | undefined = state; s; s = s.parent) {
      if (!reachable.has(s)) {
        reachable.add(s);
        queue.push(s);
      }
    }
  };
  enter(states[0]!);
  while (queue.length) {
    const state = queue.shift()!;
    const node = state.node;
    const children = states.filter((s) => s.parent === state);
    if (node.type === 'parallel') children.forEach(enter);
    else if (typeof node.initial === 'string') children.filter((c) => c.path.at(-1) === node.initial).forEach(enter);
    for (const target of edges.get(state) ?? []) enter(target);
  }
  for (const state of states) {
    if (!reachable.has(state)) issues.push({ path: where(state.path), message: 'state is unreachable: no transition leads to it' });
  }
  return issues;
}

function where(path: string[]): string {
  return path.length ? `states.${path.join('.states.')}` : '(root)';
}

function toArray(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}
