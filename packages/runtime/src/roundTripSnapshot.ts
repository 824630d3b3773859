import { createActor, type AnyStateMachine } from 'xstate';

/**
 * Restores a persisted snapshot (JSON) into a machine and persists it again.
 * A persistable machine gives back exactly the JSON it was given; the round-trip
 * tests of every machine compare the two.
 *
 * @example
 * expect(roundTripSnapshot(machine, row.snapshot)).toBe(row.snapshot);
 */
export function roundTripSnapshot(machine: AnyStateMachine, persistedJson: string): string {
  const restored = createActor(machine, { snapshot: JSON.parse(persistedJson) }).getSnapshot();
  return JSON.stringify(machine.getPersistedSnapshot(restored));
}
