/**
 * Machine structure (`<name>.machine.json`) as TypeScript (`setup(...).createMachine(...)`) and
 * as a Mermaid state diagram. Pure and free of Node APIs: the studio's editor and `spine export`
 * share it. Every name from the file reaches the output through `JSON.stringify` (TypeScript)
 * or a generated id and an escaped label (Mermaid), never as raw text.
 */

/** The parts of a state node the exporters read (a JSON machine config). */
interface StateJson {
  id?: string;
  type?: string;
  initial?: string;
  states?: Record<string, StateJson>;
  on?: Record<string, unknown>;
  after?: Record<string, unknown>;
  always?: unknown;
  invoke?: unknown;
  entry?: unknown;
  exit?: unknown;
}

/** The names a machine's implementation must provide, found in its structure. */
export interface MachineNames {
  actions: string[];
  guards: string[];
  actors: string[];
  delays: string[];
}

/** Lists the named actions, guards, invoked actors and delays a machine config refers to. */
export function machineNames(config: unknown): MachineNames {
  const actions = new Set<string>();
  const guards = new Set<string>();
  const actors = new Set<string>();
  const delays = new Set<string>();
  const addActions = (value: unknown) => {
    for (const a of list(value)) {
      const name = typeof a === 'string' ? a : isRecord(a) && typeof a.type === 'string' ? a.type : undefined;
      if (name && !name.startsWith('xstate.')) actions.add(name);
    }
  };
  const addTransitions = (value: unknown) => {
    for (const t of list(value)) {
      if (!isRecord(t)) continue;
      addActions(t.actions);
      const guard = typeof t.guard === 'string' ? t.guard : isRecord(t.guard) && typeof t.guard.type === 'string' ? t.guard.type : undefined;
      if (guard) guards.add(guard);
    }
  };
  const visit = (node: StateJson) => {
    addActions(node.entry);
    addActions(node.exit);
    for (const value of Object.values(node.on ?? {})) addTransitions(value);
    for (const [delay, value] of Object.entries(node.after ?? {})) {
      if (!/^\d+$/.test(delay)) delays.add(delay);
      addTransitions(value);
    }
    addTransitions(node.always);
    for (const invoke of list(node.invoke)) {
      if (!isRecord(invoke)) continue;
      if (typeof invoke.src === 'string') actors.add(invoke.src);
      addTransitions(invoke.onDone);
      addTransitions(invoke.onError);
    }
    for (const child of Object.values(node.states ?? {})) visit(child);
  };
  if (isRecord(config)) visit(config as StateJson);
  const sorted = (s: Set<string>) => [...s].sort();
  return { actions: sorted(actions), guards: sorted(guards), actors: sorted(actors), delays: sorted(delays) };
}

/**
 * The machine as TypeScript a user can paste into an XState v5 project: `setup()` names every
 * action, guard, actor and delay (as stubs to fill in; Spine keeps the real ones in
 * `<name>.ts`) and `.createMachine()` holds the structure unchanged.
 *
 * @example
 * ```ts
 * writeFileSync('writer.machine.ts', machineToTypeScript('writer', JSON.parse(readFileSync('writer.machine.json', 'utf8'))));
 * ```
 */
export function machineToTypeScript(name: string, config: unknown): string {
  const names = machineNames(config);
  const key = (k: string) => JSON.stringify(k);
  const block = (entries: string[]) => (entries.length ? `{\n${entries.map((e) => `    ${e},`).join('\n')}\n  }` : '{}');
  const actions = names.actions.map((a) => `${key(a)}: () => {}`);
  const guards = names.guards.map((g) => `${key(g)}: () => true`);
  const actors = names.actors.map((a) => `${key(a)}: fromPromise(async () => { throw new Error(${JSON.stringify(`implement actor ${a}`)}); })`);
  const delays = names.delays.map((d) => `${key(d)}: 1000`);
  const imports = names.actors.length ? 'fromPromise, setup' : 'setup';
  const body = JSON.stringify(config, null, 2).replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
  return [
    `// Exported by Spine from ${JSON.stringify(`${name}.machine.json`)}. Spine keeps the implementations in the machine's .ts file;`,
    '// the stubs below only name them, so this file type-checks and runs on its own.',
    `import { ${imports} } from 'xstate';`,
    '',
    `export const ${identifier(name)}Machine = setup({`,
    '  types: {} as { context: Record<string, unknown>; events: { type: string; [key: string]: unknown }; input: unknown },',
    `  actions: ${block(actions)},`,
    `  guards: ${block(guards)},`,
    `  actors: ${block(actors)},`,
    `  delays: ${block(delays)},`,
    `}).createMachine(${body.split('\n').join('\n')});`,
    '',
  ].join('\n');
}

/**
 * The machine as a Mermaid `stateDiagram-v2`: states (compound ones nested), the initial and
 * final markers, and every transition labelled with its event (`after 5s`, `done: draft`,
 * `always`) and guard. State names become generated ids with quoted, escaped labels.
 */
export function machineToMermaid(config: unknown): string {
  if (!isRecord(config)) return 'stateDiagram-v2\n';
  const root = config as StateJson;
  const ids = new Map<string, string>();
  const byXstateId = new Map<string, string>();
  const paths: string[][] = [];
  const collect = (node: StateJson, path: string[]) => {
    for (const [child, value] of Object.entries(node.states ?? {})) {
      const p = [...path, child];
      ids.set(p.join('.'), `s${ids.size}`);
      if (value.id) byXstateId.set(value.id, p.join('.'));
      paths.push(p);
      collect(value, p);
    }
  };
  collect(root, []);
  const lines = ['stateDiagram-v2'];
  const edges: string[] = [];
  const resolve = (target: string, from: string[]): string | undefined => {
    if (target.startsWith('#')) {
      const ref = target.slice(1);
      const rootId = root.id ?? '';
      const byId = byXstateId.get(ref);
      if (byId) return ids.get(byId);
      const dotted = ref.startsWith(`${rootId}.`) ? ref.slice(rootId.length + 1) : ref;
      return ids.get(dotted);
    }
    if (target.startsWith('.')) return ids.get([...from, ...target.slice(1).split('.')].join('.'));
    for (let depth = from.length - 1; depth >= 0; depth--) {
      const candidate = [...from.slice(0, depth), ...target.split('.')].join('.');
      if (ids.has(candidate)) return ids.get(candidate);
    }
    return undefined;
  };
  const addEdges = (from: string[], label: string, value: unknown) => {
    const source = ids.get(from.join('.'))!;
    for (const t of list(value)) {
      const transition = typeof t === 'string' ? { target: t } : isRecord(t) ? t : undefined;
      if (!transition) continue;
      const guard = typeof transition.guard === 'string' ? transition.guard : isRecord(transition.guard) && typeof transition.guard.type === 'string' ? transition.guard.type : undefined;
      const text = guard ? `${label} [${guard}]` : label;
      const targets = list(transition.target).filter((x): x is string => typeof x === 'string');
      for (const target of targets.length ? targets : [from[from.length - 1]!]) {
        const to = targets.length ? resolve(target, from) : source;
        if (to) edges.push(`${source} --> ${to} : ${mermaidText(text)}`);
      }
    }
  };
  const render = (node: StateJson, path: string[], indent: string) => {
    const initial = node.initial;
    if (initial && ids.has([...path, initial].join('.'))) lines.push(`${indent}[*] --> ${ids.get([...path, initial].join('.'))}`);
    for (const [name, child] of Object.entries(node.states ?? {})) {
      const p = [...path, name];
      const id = ids.get(p.join('.'))!;
      lines.push(`${indent}state "${mermaidText(name)}" as ${id}`);
      if (child.states && Object.keys(child.states).length) {
        lines.push(`${indent}state ${id} {`);
        render(child, p, `${indent}  `);
        lines.push(`${indent}}`);
      }
      if (child.type === 'final') lines.push(`${indent}${id} --> [*]`);
      for (const [event, value] of Object.entries(child.on ?? {})) addEdges(p, event === '*' ? 'any event' : event, value);
      for (const [delay, value] of Object.entries(child.after ?? {})) addEdges(p, /^\d+$/.test(delay) ? `after ${delay}ms` : `after ${delay}`, value);
      addEdges(p, 'always', child.always);
      for (const invoke of list(child.invoke)) {
        if (!isRecord(invoke)) continue;
        const src = typeof invoke.src === 'string' ? invoke.src : 'actor';
        addEdges(p, `done: ${src}`, invoke.onDone);
        addEdges(p, `error: ${src}`, invoke.onError);
      }
    }
  };
  render(root, [], '  ');
  return [...lines, ...edges.map((e) => `  ${e}`), ''].join('\n');
}

/** Text safe inside a Mermaid label: quotes, colons, semicolons, `#` and brackets as entity codes, one line. */
function mermaidText(text: string): string {
  return text
    .replace(/[\r\n]+/g, ' ')
    .replace(/[#":;<>{}[\]`]/g, (c) => `#${c.charCodeAt(0)};`);
}

/** A JavaScript identifier from a machine name: `order-flow` -> `orderFlow`. */
function identifier(name: string): string {
  const camel = name.replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ? c.toUpperCase() : ''));
  const safe = camel.replace(/^[^A-Za-z_$]+/, '');
  return safe ? safe[0]!.toLowerCase() + safe.slice(1) : 'exported';
}

function list(value: unknown): unknown[] {
  return value === undefined || value === null ? [] : Array.isArray(value) ? value : [value];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
