import type { GraphEdge, GraphNode } from './machineGraph.js';

/** A laid-out node: position relative to its parent, and size. */
export interface PlacedNode {
  id: string;
  x: number;
  y: number;
  width: number;
  height: number;
}

const CHAR_WIDTH = 7.5;

/** Size of a state box before layout (compound states get theirs from their children). */
export function nodeSize(node: GraphNode): { width: number; height: number } {
  const lines = [node.label, ...node.invokes.map((i) => `⚙ ${i}`), ...node.handles.map((h) => `↻ ${h}`)];
  const longest = Math.max(...lines.map((l) => l.length));
  return { width: Math.max(120, Math.round(longest * CHAR_WIDTH + 36)), height: 40 + (lines.length - 1) * 16 };
}

interface ElkNode {
  id: string;
  width?: number;
  height?: number;
  x?: number;
  y?: number;
  children?: ElkNode[];
  layoutOptions?: Record<string, string>;
  edges?: { id: string; sources: string[]; targets: string[] }[];
}

let elk: Promise<{ layout(graph: ElkNode): Promise<ElkNode> }> | undefined;

function loadElk() {
  elk ??= import('elkjs/lib/elk.bundled.js').then((m) => new m.default() as unknown as { layout(graph: ElkNode): Promise<ElkNode> });
  return elk;
}

/** Starts loading the layout engine ahead of the first diagram. */
export function prefetchLayout(): void {
  void loadElk();
}

/**
 * Lays a machine diagram out with ELK's layered algorithm (left to right,
 * compound states as nested graphs). elkjs is loaded on first use, so the
 * first screen does not wait for it. `layoutOptions` override ELK's root options.
 */
export async function layoutGraph(nodes: GraphNode[], edges: GraphEdge[], layoutOptions: Record<string, string> = {}): Promise<Map<string, PlacedNode>> {
  const engine = await loadElk();
  const elkNodes = new Map<string, ElkNode>();
  for (const node of nodes) {
    const size = node.kind === 'compound' || node.kind === 'parallel' ? {} : nodeSize(node);
    elkNodes.set(node.id, {
      id: node.id,
      ...size,
      children: [],
      layoutOptions: { 'elk.padding': '[top=34,left=14,bottom=14,right=14]' },
    });
  }
  // Edge labels are drawn by React Flow at edge midpoints; the gap between layers leaves room for them.
  const longestLabel = Math.max(0, ...edges.map((e) => e.label.length));
  const wrap = nodes.length > 5 && nodes.every((n) => !n.parent);
  const root: ElkNode = {
    id: '(root)',
    children: [],
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'RIGHT',
      'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
      'elk.layered.spacing.nodeNodeBetweenLayers': String(Math.min(220, Math.max(60, Math.round(longestLabel * 6.5 + 30)))),
      'elk.spacing.nodeNode': '36',
      // Long chains wrap into rows, so a ten-state pipeline stays readable in the panel.
      ...(wrap ? { 'elk.layered.wrapping.strategy': 'SINGLE_EDGE', 'elk.aspectRatio': '1.6' } : {}),
      ...layoutOptions,
    },
    edges: edges.filter((e) => e.source !== e.target).map((e) => ({ id: e.id, sources: [e.source], targets: [e.target] })),
  };
  for (const node of nodes) {
    const parent = node.parent ? elkNodes.get(node.parent) : root;
    (parent ?? root).children!.push(elkNodes.get(node.id)!);
  }
  let laid: ElkNode;
  try {
    laid = await engine.layout(structuredClone(root));
  } catch {
    // Wrapping is not available for every graph shape; lay out unwrapped instead.
    delete root.layoutOptions!['elk.layered.wrapping.strategy'];
    laid = await engine.layout(root);
  }
  const placed = new Map<string, PlacedNode>();
  const walk = (node: ElkNode) => {
    for (const child of node.children ?? []) {
      placed.set(child.id, { id: child.id, x: child.x ?? 0, y: child.y ?? 0, width: child.width ?? 120, height: child.height ?? 40 });
      walk(child);
    }
  };
  walk(laid);
  return placed;
}
