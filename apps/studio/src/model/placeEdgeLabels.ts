import type { GraphEdge } from './machineGraph.js';
import type { PlacedNode } from './layoutGraph.js';

/** A label's box on the canvas. */
export interface LabelBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

const CHAR = 5.6;
const HEIGHT = 15;
const GAP = 3;

/**
 * Where each edge's label goes so no two labels overlap (React Flow puts every label at its
 * edge's midpoint, so edges between the same two layers pile their labels up): labels are taken
 * in order and each is moved up or down, alternately and further each time, until its box is
 * clear of the boxes already placed. `layout` holds positions relative to parents, as ELK gives
 * them. Returns each label's centre.
 */
export function placeEdgeLabels(edges: readonly GraphEdge[], layout: ReadonlyMap<string, PlacedNode>, parents: ReadonlyMap<string, string | null>): Map<string, { x: number; y: number }> {
  const absolute = new Map<string, { x: number; y: number; width: number; height: number }>();
  const abs = (id: string): { x: number; y: number; width: number; height: number } | undefined => {
    const known = absolute.get(id);
    if (known) return known;
    const node = layout.get(id);
    if (!node) return undefined;
    const parent = parents.get(id);
    const origin = parent ? abs(parent) : undefined;
    const box = { x: node.x + (origin?.x ?? 0), y: node.y + (origin?.y ?? 0), width: node.width, height: node.height };
    absolute.set(id, box);
    return box;
  };
  const placed: LabelBox[] = [];
  const centres = new Map<string, { x: number; y: number }>();
  const overlaps = (b: LabelBox) => placed.some((p) => b.x < p.x + p.width + GAP && p.x < b.x + b.width + GAP && b.y < p.y + p.height + GAP && p.y < b.y + b.height + GAP);
  for (const edge of edges) {
    const s = abs(edge.source);
    const t = abs(edge.target);
    if (!s || !t || !edge.label) continue;
    const width = edge.label.length * CHAR + 10;
    const cx = edge.source === edge.target ? s.x + s.width / 2 : (s.x + s.width + t.x) / 2;
    const cy = edge.source === edge.target ? s.y - HEIGHT : (s.y + s.height / 2 + t.y + t.height / 2) / 2;
    let box: LabelBox = { x: cx - width / 2, y: cy - HEIGHT / 2, width, height: HEIGHT };
    for (let i = 1; overlaps(box) && i < 40; i++) {
      const dy = Math.ceil(i / 2) * (HEIGHT + GAP) * (i % 2 ? 1 : -1);
      box = { ...box, y: cy - HEIGHT / 2 + dy };
    }
    placed.push(box);
    centres.set(edge.id, { x: box.x + width / 2, y: box.y + HEIGHT / 2 });
  }
  return centres;
}
