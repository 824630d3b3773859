import type { InspectionEvent } from '@spine/server/protocol';
import { describe, expect, it } from 'vitest';
import { actorStepAt, actorTree, addEvents, emptyTimeline, previousStep, viewIndex } from './RunTimeline.js';

function snapshotEvent(actorId: string, seq: number, rowId: number, value: string, parentId: string | null = null): InspectionEvent {
  return {
    type: '@xstate.snapshot',
    rootId: 'r',
    sessionId: actorId,
    createdAt: String(1000 + rowId),
    id: `${actorId}:${seq}:snapshot`,
    _version: 'spine-inspect/1',
    actorId,
    runId: 'r',
    ...(parentId ? { parentId } : {}),
    machine: parentId ? 'child' : 'root',
    version: 'v1',
    seq,
    rowId,
    at: 1000 + rowId,
    durationUs: 10,
    status: 'active',
    event: { type: `e${seq}` },
    snapshot: { value, context: { n: seq }, status: 'active', output: undefined, error: undefined },
  };
}

describe('RunTimeline', () => {
  it('keeps steps in commit order, ignores steps it already has, and builds the agents tree', () => {
    let t = emptyTimeline('r');
    t = addEvents(t, [snapshotEvent('r', 1, 1, 'a'), snapshotEvent('r', 2, 3, 'b')]);
    t = addEvents(t, [snapshotEvent('r/kid', 1, 2, 'x', 'r'), snapshotEvent('r', 2, 3, 'b')]);
    expect(t.steps.map((s) => s.key)).toEqual(['r:1', 'r/kid:1', 'r:2']);
    const same = addEvents(t, [snapshotEvent('r', 1, 1, 'a')]);
    expect(same).toBe(t);
    expect(actorTree(t).map(({ actor, depth }) => [actor.id, actor.childKey, depth])).toEqual([
      ['r', null, 0],
      ['r/kid', 'kid', 1],
    ]);
  });

  it('answers where each actor was at any past step', () => {
    const t = addEvents(emptyTimeline('r'), [snapshotEvent('r', 1, 1, 'a'), snapshotEvent('r/kid', 1, 2, 'x', 'r'), snapshotEvent('r', 2, 3, 'b')]);
    expect(viewIndex(t, null)).toBe(2);
    expect(viewIndex(t, 99)).toBe(2);
    expect(actorStepAt(t, 1, 'r')!.value).toBe('a');
    expect(actorStepAt(t, 2, 'r')!.value).toBe('b');
    expect(actorStepAt(t, 0, 'r/kid')).toBeUndefined();
    expect(previousStep(t, t.steps[2]!)!.key).toBe('r:1');
  });
});

describe('inspected actors (not durable)', () => {
  it('keeps the definition an actor registered with, across the later events of the same batch', () => {
    const { event: _event, ...fields } = snapshotEvent('app1/x:0', 0, 0, 'closed') as Extract<InspectionEvent, { type: '@xstate.snapshot' }>;
    const actor: InspectionEvent = {
      ...fields,
      type: '@xstate.actor' as const,
      durable: false as const,
      name: 'door',
      parentId: undefined,
      definition: JSON.stringify({ id: 'door', initial: 'closed', states: { closed: {} } }),
    };
    const timeline = addEvents({ ...emptyTimeline('r') }, [actor, snapshotEvent('app1/x:0', 1, 0, 'closed'), { ...snapshotEvent('app1/x:0', 2, 0, 'closed'), status: 'done' }]);
    expect(timeline.actors['app1/x:0']?.definition).toEqual({ id: 'door', initial: 'closed', states: { closed: {} } });
    expect(timeline.actors['app1/x:0']?.status).toBe('done');
  });
});
