import {
  asRecord,
  MachineIndex,
  referenceName,
  toArray,
  transitionsOf,
  type MachineElement,
  type MachineIssue,
  type TransitionRef,
} from '@spine/runtime/editing';
import type { MachineDoc, StateKind } from './machineDocument.js';
import { invokesOf, stateKind } from './machineDocument.js';

/** A state as the editor draws it. */
export interface EditorNode {
  /** The state's path joined with '.': stable across edits that do not rename it. */
  id: string;
  path: string[];
  label: string;
  parentId: string | null;
  kind: StateKind;
  initial: boolean;
  /** `src` of each invoke. */
  invokes: string[];
  tags: string[];
  risk: string | undefined;
  /** Events handled without leaving the state (targetless transitions). */
  handles: string[];
}

/** A transition as the editor draws it: one edge per target. */
export interface EditorEdge {
  id: string;
  source: string;
  target: string;
  label: string;
  element: { state: string[]; transition: TransitionRef & { index: number } };
}

/** The root's id when it has transitions with targets (drawn as an "any state" box). */
export const ROOT_NODE = '(any state)';

/** The id of a state node. */
export function nodeId(path: readonly string[]): string {
  return path.length ? path.join('.') : ROOT_NODE;
}

/** A stable key for one transition (not per target): what an issue about it is keyed by. */
export function transitionKey(state: readonly string[], ref: TransitionRef): string {
  return `${nodeId(state)}|${ref.source}|${ref.invoke ?? ''}|${ref.key ?? ''}|${ref.index ?? '*'}`;
}

/** Turns a machine document into the editor's nodes and edges. */
export function buildEditorGraph(doc: MachineDoc): { nodes: EditorNode[]; edges: EditorEdge[] } {
  const index = new MachineIndex(doc);
  const nodes: EditorNode[] = [];
  const edges: EditorEdge[] = [];
  for (const state of index.states) {
    const node = state.node;
    const handles: string[] = [];
    for (const t of transitionsOf(node, state.path)) {
      const label = transitionLabel(t.ref, t.guard, invokesOf(node));
      const targets = t.targets.filter((x): x is string => typeof x === 'string');
      if (!targets.length) handles.push(label);
      targets.forEach((target, i) => {
        const resolved = index.resolve(state, target);
        if (!resolved) return;
        edges.push({
          id: `${transitionKey(state.path, t.ref)}|${i}`,
          source: nodeId(state.path),
          target: nodeId(resolved.path),
          label,
          element: { state: state.path, transition: t.ref },
        });
      });
    }
    if (!state.path.length) {
      if (edges.some((e) => e.source === ROOT_NODE) || handles.length) {
        nodes.push({ id: ROOT_NODE, path: [], label: 'any state', parentId: null, kind: 'atomic', initial: false, invokes: [], tags: [], risk: undefined, handles });
      }
      continue;
    }
    const parent = state.parent!;
    nodes.push({
      id: nodeId(state.path),
      path: state.path,
      label: state.path.at(-1)!,
      parentId: parent.path.length ? nodeId(parent.path) : null,
      kind: stateKind(node),
      initial: parent.node.type !== 'parallel' && parent.node.initial === state.path.at(-1),
      invokes: invokesOf(node).map((i) => String(i.src ?? i.id ?? 'activity')),
      tags: toArray(node.tags).filter((t): t is string => typeof t === 'string'),
      risk: typeof asRecord(node.meta)?.risk === 'string' ? (asRecord(node.meta)!.risk as string) : undefined,
      handles,
    });
  }
  return { nodes, edges };
}

/** An edge label: `event [guard]`, `after 2s`, `done: model`, `always`. */
export function transitionLabel(ref: TransitionRef, guard: unknown, invokes: Record<string, unknown>[] = []): string {
  const g = referenceName(guard);
  const suffix = g ? ` [${g}]` : '';
  const invoke = invokes[ref.invoke ?? 0];
  const invokeName = String(invoke?.id ?? invoke?.src ?? 'activity');
  switch (ref.source) {
    case 'on':
      return `${ref.key}${suffix}`;
    case 'after':
      return `after ${formatDelay(ref.key ?? '')}${suffix}`;
    case 'always':
      return `always${suffix}`;
    case 'onDone':
      return `done${suffix}`;
    case 'invoke.onDone':
      return `done: ${invokeName}${suffix}`;
    case 'invoke.onError':
      return `error: ${invokeName}${suffix}`;
  }
}

function formatDelay(delay: string): string {
  if (!/^\d+$/.test(delay)) return delay;
  const ms = Number(delay);
  for (const [unit, size] of [['h', 3_600_000], ['min', 60_000], ['s', 1000]] as const) if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

/** Issues grouped by what they point at: a state node id, or a transition key (or `state|source|invoke|key|*` for all of one event). */
export interface IssueIndex {
  byNode: Map<string, MachineIssue[]>;
  byTransition: Map<string, MachineIssue[]>;
}

/** Indexes issues by the element each names, so the canvas can mark states and edges. */
export function indexIssues(issues: readonly MachineIssue[]): IssueIndex {
  const byNode = new Map<string, MachineIssue[]>();
  const byTransition = new Map<string, MachineIssue[]>();
  const push = (map: Map<string, MachineIssue[]>, key: string, issue: MachineIssue) => map.set(key, [...(map.get(key) ?? []), issue]);
  for (const issue of issues) {
    const element: MachineElement = issue.element;
    if (element.transition) push(byTransition, transitionKey(element.state, element.transition), issue);
    else push(byNode, nodeId(element.state), issue);
  }
  return { byNode, byTransition };
}

/** The issues about one edge's transition (including those about every transition of its event or delay). */
export function edgeIssues(index: IssueIndex, edge: EditorEdge): MachineIssue[] {
  const ref = edge.element.transition;
  return [
    ...(index.byTransition.get(transitionKey(edge.element.state, ref)) ?? []),
    ...(index.byTransition.get(transitionKey(edge.element.state, { source: ref.source, ...(ref.key !== undefined ? { key: ref.key } : {}), ...(ref.invoke !== undefined ? { invoke: ref.invoke } : {}) })) ?? []),
  ];
}
