import { asRecord } from '@spine/runtime/editing';
import { getIn, setIn, stateKeys, type MachineDoc } from './machineDocument.js';

/**
 * Sets (or removes) a state's confidence threshold, `meta.minConfidence` (0..1): below it, a
 * low-risk action of the state goes to the review queue. An empty `meta` is removed.
 */
export function setMinConfidence(doc: MachineDoc, path: readonly string[], value: number | undefined): MachineDoc {
  if (value !== undefined && !(value >= 0 && value <= 1)) throw new Error(`A confidence threshold is a number from 0 to 1, got ${value}.`);
  const keys = stateKeys(path);
  let next = setIn(doc, [...keys, 'meta', 'minConfidence'], value);
  if (!Object.keys(asRecord(getIn(next, [...keys, 'meta'])) ?? {}).length) next = setIn(next, [...keys, 'meta'], undefined);
  return next;
}

/** A state's confidence threshold, if it declares one. */
export function minConfidenceOf(doc: MachineDoc, path: readonly string[]): number | undefined {
  const value = getIn(doc, [...stateKeys(path), 'meta', 'minConfidence']);
  return typeof value === 'number' ? value : undefined;
}
