import { describe, expect, it } from 'vitest';
import { minConfidenceOf, setMinConfidence } from './confidenceMeta.js';
import type { MachineDoc } from './machineDocument.js';

const doc = { id: 'm', initial: 'a', states: { a: { meta: { risk: 'low' }, invoke: { id: 'send', src: 'send' } }, b: {} } } as MachineDoc;

describe('a state confidence threshold', () => {
  it('is written beside the risk tier and removed with an empty meta', () => {
    const set = setMinConfidence(doc, ['a'], 0.7);
    expect(set.states!.a).toMatchObject({ meta: { risk: 'low', minConfidence: 0.7 } });
    expect(minConfidenceOf(set, ['a'])).toBe(0.7);
    expect(setMinConfidence(set, ['a'], undefined).states!.a).toEqual(doc.states!.a);
    const b = setMinConfidence(doc, ['b'], 0.5);
    expect(setMinConfidence(b, ['b'], undefined).states!.b).toEqual({});
  });

  it('refuses a value outside 0..1', () => {
    expect(() => setMinConfidence(doc, ['a'], 1.5)).toThrow('A confidence threshold is a number from 0 to 1, got 1.5.');
  });
});
