import { describe, expect, it } from 'vitest';
import { activeStateIds, formatStateValue, machineGraph } from './machineGraph.js';

describe('machineGraph', () => {
  it('draws states, transitions with guards and delays, invokes, and nested states with XState ids', () => {
    const graph = machineGraph({
      id: 'order',
      initial: 'open',
      on: { 'order.cancel': '.cancelled' },
      states: {
        open: { on: { 'item.added': { actions: 'add' }, 'order.placed': { target: 'charging', guard: 'hasItems' } } },
        charging: { invoke: { id: 'charge', src: 'charge', onDone: 'paid', onError: { target: '#order.failed' } } },
        paid: { initial: 'waiting', states: { waiting: { after: { 1000: 'late' } }, late: {} } },
        failed: { type: 'final' },
        cancelled: { type: 'final' },
      },
    });
    expect(graph.nodes.map((n) => [n.id, n.kind, n.parent])).toEqual([
      ['order.(any state)', 'atomic', null],
      ['order.open', 'atomic', null],
      ['order.charging', 'atomic', null],
      ['order.paid', 'compound', null],
      ['order.paid.waiting', 'atomic', 'order.paid'],
      ['order.paid.late', 'atomic', 'order.paid'],
      ['order.failed', 'final', null],
      ['order.cancelled', 'final', null],
    ]);
    expect(graph.nodes.find((n) => n.id === 'order.(any state)')!.handles).toEqual(['order.cancel → .cancelled']);
    expect(graph.nodes.find((n) => n.id === 'order.open')).toMatchObject({ initial: true, handles: ['item.added'] });
    expect(graph.nodes.find((n) => n.id === 'order.charging')!.invokes).toEqual(['charge']);
    expect(graph.edges.map((e) => [e.source, e.target, e.label])).toEqual([
      ['order.open', 'order.charging', 'order.placed [hasItems]'],
      ['order.charging', 'order.paid', 'done: charge'],
      ['order.charging', 'order.failed', 'error: charge'],
      ['order.paid.waiting', 'order.paid.late', 'after 1s'],
    ]);
  });

  it('lights every active state node and its ancestors, also in parallel states', () => {
    expect([...activeStateIds('m', { paid: 'waiting' })]).toEqual(['m.paid', 'm.paid.waiting']);
    expect([...activeStateIds('m', { a: 'x', b: { c: 'y' } })]).toEqual(['m.a', 'm.a.x', 'm.b', 'm.b.c', 'm.b.c.y']);
    expect(formatStateValue({ a: 'x', b: { c: 'y' } })).toBe('a.x | b.c.y');
  });
});
