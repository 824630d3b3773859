import { describe, expect, it } from 'vitest';
import { placeEdgeLabels } from './placeEdgeLabels.js';

describe('placeEdgeLabels', () => {
  it('moves labels of edges between the same two states apart, so none overlaps another', () => {
    const layout = new Map([
      ['a', { id: 'a', x: 0, y: 0, width: 100, height: 40 }],
      ['b', { id: 'b', x: 300, y: 0, width: 100, height: 40 }],
    ]);
    const parents = new Map([
      ['a', null],
      ['b', null],
    ]);
    const edges = ['first.event', 'second.event', 'third.event'].map((label, i) => ({ id: `e${i}`, source: 'a', target: 'b', label }));
    const centres = [...placeEdgeLabels(edges, layout, parents).values()];
    expect(centres.map((c) => c.x)).toEqual([200, 200, 200]);
    const ys = centres.map((c) => c.y).sort((p, q) => p - q);
    for (let i = 1; i < ys.length; i++) expect(ys[i]! - ys[i - 1]!).toBeGreaterThanOrEqual(15);
    expect(centres[0]!.y).toBe(20);
  });
});
