import { describe, expect, it } from 'vitest';
import { CommitBases } from './commitBases.js';
import type { StepCommit } from './Store.js';

describe('CommitBases', () => {
  const stepAt = (actorId: string, expectedSeq: number, snapshot: string, status: StepCommit['status'] = 'active') => ({ actorId, expectedSeq, snapshot, status }) as StepCommit;

  it("keeps the latest base of each actor, forgets a finished actor's, and holds at most its bounds, the oldest going first", () => {
    const bases = new CommitBases(2, 10);
    bases.committed(stepAt('a', 0, 'aaaa'), 'r');
    bases.committed(stepAt('a', 1, 'aaa'), 'r');
    expect(bases.at('a', 1)).toBeUndefined();
    expect(bases.at('a', 2)).toEqual({ seq: 2, snapshot: 'aaa', runId: 'r' });
    bases.committed(stepAt('b', 0, 'bbbb'), 'r');
    bases.committed(stepAt('c', 0, 'cc'), 'r'); // three actors: a, the oldest, goes
    expect([bases.at('a', 2), bases.at('b', 1)?.snapshot, bases.at('c', 1)?.snapshot]).toEqual([undefined, 'bbbb', 'cc']);
    bases.committed(stepAt('d', 0, 'ddddddd'), 'r'); // three actors again: b goes; c and d are 9 characters
    expect([bases.at('b', 1), bases.at('c', 1)?.snapshot, bases.at('d', 1)?.snapshot]).toEqual([undefined, 'cc', 'ddddddd']);
    bases.forget('c');
    bases.committed(stepAt('e', 0, 'eeee'), 'r'); // 7 + 4 characters: d goes
    expect([bases.at('d', 1), bases.at('e', 1)?.snapshot]).toEqual([undefined, 'eeee']);
    bases.committed(stepAt('e', 1, 'x'.repeat(11)), 'r'); // larger than the whole budget: not kept
    bases.committed(stepAt('f', 0, 'f', 'done'), 'r');
    expect([bases.at('e', 1), bases.at('e', 2), bases.at('f', 1)]).toEqual([undefined, undefined, undefined]);
  });
});
