import { layoutGraph, nodeSize } from '../model/layoutGraph.js';
import type { GraphNode } from '../model/machineGraph.js';
import type { EditorEdge, EditorNode } from './editorGraph.js';

/** A state's box: position relative to its parent state, and size. */
export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Positions by node id, relative to the parent state (the layout sidecar's shape). */
export type Positions = Record<string, { x: number; y: number }>;

const PADDING = { top: 34, left: 14, right: 14, bottom: 14 };
const GAP = 48;

/** The lines a state box shows under its name (the same ones its size is measured from). */
export function nodeLines(node: EditorNode): string[] {
  const lines = node.invokes.map((i) => `⚙ ${i}`);
  if (node.risk) lines.push(`risk: ${node.risk}`);
  if (node.tags.length) lines.push(node.tags.map((t) => `#${t}`).join(' '));
  return [...lines, ...node.handles.map((h) => `↻ ${h}`)];
}

function asGraphNode(node: EditorNode): GraphNode {
  // layoutGraph sizes a box from its label and lines; hand it the editor's lines.
  return { id: node.id, label: node.label, parent: node.parentId, kind: node.kind, initial: node.initial, invokes: [], handles: nodeLines(node).map((l) => l.slice(2)) };
}

/** The size of an atomic or final state box. */
export function atomicSize(node: EditorNode): { width: number; height: number } {
  return nodeSize(asGraphNode(node));
}

let warmed: Promise<void> | undefined;

/**
 * Loads the layout engine and runs it once on a small machine (elkjs is
 * compiled Java: its first layout pays for the JIT), so a timed layout measures
 * only the layout. Runs once per page.
 */
export function warmLayout(): Promise<void> {
  warmed ??= (async () => {
    const nodes: EditorNode[] = [];
    const edges: EditorEdge[] = [];
    const add = (id: string, parentId: string | null, kind: EditorNode['kind'] = 'atomic') =>
      nodes.push({ id, path: id.split('.'), label: id, parentId, kind, initial: false, invokes: [], tags: [], risk: undefined, handles: [] });
    for (let i = 0; i < 8; i++) add(`s${i}`, null);
    add('g', null, 'compound');
    for (let i = 0; i < 4; i++) add(`g.c${i}`, 'g');
    for (let i = 0; i < 7; i++) edges.push({ id: `e${i}`, source: `s${i}`, target: `s${i + 1}`, label: 'go', element: { state: [`s${i}`], transition: { source: 'on', key: 'go', index: 0 } } });
    for (let i = 0; i < 3; i++) edges.push({ id: `c${i}`, source: `g.c${i}`, target: `g.c${i + 1}`, label: 'go', element: { state: ['g', `c${i}`], transition: { source: 'on', key: 'go', index: 0 } } });
    edges.push({ id: 'x', source: 's7', target: 'g', label: 'go', element: { state: ['s7'], transition: { source: 'on', key: 'go', index: 0 } } });
    await autoLayout(nodes, edges);
  })();
  return warmed;
}

// Past this many states, ELK sweeps once for crossings and skips greedy switching: a 100-state
// machine lays out in a fraction of the time, with a layout people can still read (and tidy by dragging).
const LARGE = 40;

/** Lays every state out with ELK (layered, left to right, compound states as nested graphs). */
export async function autoLayout(nodes: EditorNode[], edges: EditorEdge[]): Promise<Map<string, Rect>> {
  return layoutGraph(
    nodes.map(asGraphNode),
    edges.map((e) => ({ id: e.id, source: e.source, target: e.target, label: e.label })),
    nodes.length > LARGE ? { 'elk.layered.thoroughness': '1', 'elk.layered.crossingMinimization.greedySwitch.type': 'OFF' } : {},
  );
}

/**
 * Every state's box: a placed position (the user's, else the auto layout's,
 * else next to its siblings), atomic sizes from their text, and compound states
 * grown to hold their children.
 */
export function geometry(nodes: EditorNode[], placed: Positions, auto: ReadonlyMap<string, Rect>): Map<string, Rect> {
  const out = new Map<string, Rect>();
  const children = new Map<string | null, EditorNode[]>();
  for (const node of nodes) children.set(node.parentId, [...(children.get(node.parentId) ?? []), node]);
  const place = (parent: string | null) => {
    let nextX = parent ? PADDING.left : 0;
    for (const node of children.get(parent) ?? []) {
      const kids = children.get(node.id);
      if (kids?.length) place(node.id);
      let position = placed[node.id] ?? auto.get(node.id) ?? { x: nextX, y: parent ? PADDING.top : 0 };
      // A child never sits above or left of its parent's content (the parent grows right and down to hold it).
      if (parent) position = { x: Math.max(4, position.x), y: Math.max(PADDING.top - 8, position.y) };
      let size = { width: auto.get(node.id)?.width ?? 0, height: auto.get(node.id)?.height ?? 0 };
      if (kids?.length) {
        let right = 160;
        let bottom = 60;
        for (const kid of kids) {
          const r = out.get(kid.id)!;
          right = Math.max(right, r.x + r.width + PADDING.right);
          bottom = Math.max(bottom, r.y + r.height + PADDING.bottom);
        }
        size = { width: Math.max(size.width, right), height: Math.max(size.height, bottom) };
      } else size = atomicSize(node);
      const rect = { x: position.x, y: position.y, ...size };
      out.set(node.id, rect);
      nextX = Math.max(nextX, rect.x + rect.width + GAP);
    }
  };
  place(null);
  return out;
}

/** Where a new state goes: below its siblings (under `near` when given, else under the leftmost one), clear of them. */
export function freeSpot(parentId: string | null, nodes: EditorNode[], rects: ReadonlyMap<string, Rect>, near?: string): { x: number; y: number } {
  const siblings = nodes.filter((n) => n.parentId === parentId).map((n) => rects.get(n.id)!).filter(Boolean);
  if (!siblings.length) return parentId ? { x: PADDING.left, y: PADDING.top } : { x: 0, y: 0 };
  const bottom = Math.max(...siblings.map((r) => r.y + r.height));
  const anchor = (near && rects.get(near)) || siblings.reduce((a, b) => (b.x < a.x ? b : a));
  return { x: Math.round(anchor.x), y: Math.round(bottom + GAP) };
}
