import { createActor, type AnyStateMachine } from 'xstate';
import { decodeSnapshot, encodeSnapshot } from './snapshotCodec.js';

/**
 * Restores a persisted snapshot (as the store keeps it, see `encodeSnapshot`) into a machine and persists it again.
 * A persistable machine gives back exactly the JSON it was given; the round-trip
 * tests of every machine compare the two.
 *
 * @example
 * expect(roundTripSnapshot(machine, row.snapshot)).toBe(row.snapshot);
 */
export function roundTripSnapshot(machine: AnyStateMachine, persistedJson: string): string {
  const restored = createActor(machine, { snapshot: decodeSnapshot(persistedJson) }).getSnapshot();
  return encodeSnapshot(machine.getPersistedSnapshot(restored));
}
