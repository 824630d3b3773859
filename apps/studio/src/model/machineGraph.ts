/** A state of a machine diagram. */
export interface GraphNode {
  /** XState-style id: `<machine id>.<path>`. */
  id: string;
  label: string;
  parent: string | null;
  kind: 'atomic' | 'compound' | 'parallel' | 'final';
  initial: boolean;
  /** Activities or child machines invoked in this state. */
  invokes: string[];
  /** Events handled without leaving the state. */
  handles: string[];
}

/** A transition of a machine diagram. */
export interface GraphEdge {
  id: string;
  source: string;
  target: string;
  label: string;
}

interface StateConfig {
  id?: string;
  type?: string;
  initial?: string;
  states?: Record<string, StateConfig>;
  on?: Record<string, unknown>;
  after?: Record<string, unknown>;
  always?: unknown;
  invoke?: unknown;
}

/** Turns a machine's JSON config into diagram nodes and edges (the root is the canvas, not a node). */
export function machineGraph(config: unknown): { machineId: string; nodes: GraphNode[]; edges: GraphEdge[] } {
  const root = (config ?? {}) as StateConfig;
  const machineId = root.id ?? '(machine)';
  const nodes: GraphNode[] = [];
  const edges: GraphEdge[] = [];
  const byExplicitId = new Map<string, string>();
  const idOf = (path: string[]) => [machineId, ...path].join('.');

  const collect = (node: StateConfig, path: string[]) => {
    if (node.id && path.length) byExplicitId.set(node.id, idOf(path));
    for (const [key, child] of Object.entries(node.states ?? {})) collect(child, [...path, key]);
  };
  collect(root, []);

  const resolve = (source: string[], target: string): string | undefined => {
    if (target.startsWith('#')) {
      const ref = target.slice(1);
      return byExplicitId.get(ref) ?? (ref === machineId ? undefined : ref);
    }
    if (target.startsWith('.')) return idOf([...source, ...target.slice(1).split('.')]);
    if (!source.length) return idOf(target.split('.'));
    return idOf([...source.slice(0, -1), ...target.split('.')]);
  };

  const addTransitions = (from: string[], label: string, spec: unknown, handles: string[]) => {
    for (const item of Array.isArray(spec) ? spec : [spec]) {
      if (item === undefined || item === null) continue;
      const t = typeof item === 'string' ? { target: item } : (item as { target?: unknown; guard?: unknown });
      const targets = t.target === undefined ? [] : Array.isArray(t.target) ? t.target : [t.target];
      const guard = typeof t.guard === 'string' ? ` [${t.guard}]` : t.guard && typeof t.guard === 'object' && 'type' in t.guard ? ` [${String((t.guard as { type: unknown }).type)}]` : '';
      if (!targets.length) {
        handles.push(label + guard);
        continue;
      }
      for (const target of targets) {
        const resolved = typeof target === 'string' ? resolve(from, target) : undefined;
        if (!resolved) continue;
        if (!from.length) handles.push(`${label}${guard} → ${String(target)}`);
        else edges.push({ id: `e${edges.length}`, source: idOf(from), target: resolved, label: label + guard });
      }
    }
  };

  const visit = (node: StateConfig, path: string[], parentInitial: string | undefined) => {
    const handles: string[] = [];
    const invokes: string[] = [];
    for (const [event, spec] of Object.entries(node.on ?? {})) addTransitions(path, event, spec, handles);
    for (const [delay, spec] of Object.entries(node.after ?? {})) addTransitions(path, `after ${formatDelay(delay)}`, spec, handles);
    if (node.always) addTransitions(path, 'always', node.always, handles);
    const invokeList = node.invoke === undefined ? [] : Array.isArray(node.invoke) ? node.invoke : [node.invoke];
    for (const invoke of invokeList as { id?: string; src?: unknown; onDone?: unknown; onError?: unknown }[]) {
      invokes.push(typeof invoke.src === 'string' ? invoke.src : (invoke.id ?? 'actor'));
      if (invoke.onDone) addTransitions(path, `done: ${invoke.id ?? invoke.src}`, invoke.onDone, handles);
      if (invoke.onError) addTransitions(path, `error: ${invoke.id ?? invoke.src}`, invoke.onError, handles);
    }
    const children = Object.entries(node.states ?? {});
    if (path.length) {
      const kind: GraphNode['kind'] = node.type === 'final' ? 'final' : node.type === 'parallel' ? 'parallel' : children.length ? 'compound' : 'atomic';
      nodes.push({ id: idOf(path), label: path[path.length - 1]!, parent: path.length > 1 ? idOf(path.slice(0, -1)) : null, kind, initial: parentInitial === path[path.length - 1], invokes, handles });
    } else if (handles.length) {
      // Root-level targetless transitions apply in every state; show them once, on the canvas legend.
      nodes.push({ id: `${machineId}.(any state)`, label: '(any state)', parent: null, kind: 'atomic', initial: false, invokes: [], handles });
    }
    for (const [key, child] of children) visit(child, [...path, key], node.type === 'parallel' ? key : node.initial);
  };
  visit(root, [], undefined);
  // Edges may point at ids that are not nodes (bad configs); keep only drawable ones.
  const known = new Set(nodes.map((n) => n.id));
  return { machineId, nodes, edges: edges.filter((e) => known.has(e.source) && known.has(e.target)) };
}

/** The ids of the state nodes active in a state value (every ancestor included). */
export function activeStateIds(machineId: string, value: unknown): Set<string> {
  const ids = new Set<string>();
  const walk = (path: string[], v: unknown) => {
    if (typeof v === 'string') {
      ids.add([machineId, ...path, v].join('.'));
    } else if (v && typeof v === 'object') {
      for (const [key, sub] of Object.entries(v)) {
        ids.add([machineId, ...path, key].join('.'));
        walk([...path, key], sub);
      }
    }
  };
  walk([], value);
  return ids;
}

/** A short label for a state value: `tick1`, `review.waiting`, `a | b` for parallel states. */
export function formatStateValue(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    return Object.entries(value)
      .map(([k, v]) => (typeof v === 'string' ? `${k}.${v}` : v && typeof v === 'object' && Object.keys(v).length ? `${k}.${formatStateValue(v)}` : k))
      .join(' | ');
  }
  return value === null || value === undefined ? '—' : JSON.stringify(value);
}

function formatDelay(delay: string): string {
  const ms = Number(delay);
  if (Number.isNaN(ms)) return delay;
  return ms >= 1000 && ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}
