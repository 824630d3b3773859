import { createMachine } from 'xstate';
import { describe, expect, it } from 'vitest';
import { riskPolicies, withConfidence } from './riskPolicy.js';
import { validateMachineConfig } from './validateMachineConfig.js';

const config = (meta: Record<string, unknown>) => ({
  id: 'm',
  initial: 'acting',
  states: { acting: { meta, invoke: { id: 'act', src: 'act', onDone: 'done' } }, done: { type: 'final' } },
});

describe('confidence thresholds', () => {
  it('escalate a low-tier activity to review when the declared confidence is under the threshold or missing', () => {
    const policy = riskPolicies(createMachine(config({ risk: 'low', minConfidence: 0.7, confidenceFrom: 'answer.confidence' }) as never)).get('act');
    expect(policy).toMatchObject({ tier: 'low', minConfidence: 0.7, confidenceFrom: 'answer.confidence' });
    expect(withConfidence(policy, { answer: { confidence: 0.9 } })).toBe(policy);
    expect(withConfidence(policy, { answer: { confidence: 0.7 } })).toBe(policy);
    expect(withConfidence(policy, { answer: { confidence: 0.69 } })).toMatchObject({ tier: 'medium', escalated: { reason: 'low_confidence', confidence: 0.69, minConfidence: 0.7, confidenceFrom: 'answer.confidence' } });
    expect(withConfidence(policy, { answer: { confidence: 'high' } })).toMatchObject({ tier: 'medium', escalated: { confidence: null } });
    expect(withConfidence(policy, { answer: null })).toMatchObject({ tier: 'medium', escalated: { confidence: null } });
  });

  it('makes a state with only a threshold low risk, reads `confidence` by default, and leaves medium and high tiers alone', () => {
    const alone = riskPolicies(createMachine(config({ minConfidence: 0.5 }) as never)).get('act');
    expect(alone).toMatchObject({ tier: 'low', confidenceFrom: 'confidence' });
    expect(withConfidence(alone, { confidence: 0.2 })?.tier).toBe('medium');
    const medium = riskPolicies(createMachine(config({ risk: 'medium', minConfidence: 0.5 }) as never)).get('act');
    expect(withConfidence(medium, { confidence: 0.9 })).toBe(medium);
    expect(withConfidence(undefined, {})).toBeUndefined();
  });

  it('refuses a threshold outside 0..1, naming the state', () => {
    expect(() => riskPolicies(createMachine(config({ risk: 'low', minConfidence: 7 }) as never))).toThrow("state 'm.acting': minConfidence must be a number from 0 to 1, got 7.");
    const issues = validateMachineConfig(config({ risk: 'low', minConfidence: '0.5' }) as never, { activities: { act: {} } });
    expect(issues.map((i) => i.message)).toContain('minConfidence must be a number from 0 to 1');
  });
});
