import { describe, expect, it } from 'vitest';
import { SpineError } from '../errors.js';
import { decodeHistoryStep, encodeHistoryStep, HistoryDecoder, isCheckpointBody, type StoredHistoryBody } from './historyCodec.js';

/** A seeded generator (mulberry32), so a failing sequence can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An agent-like run: a context that gains messages, a state that moves, now and then a big tool output and unicode. */
function agentSteps(seed: number, count: number): { seq: number; event: string; snapshot: string }[] {
  const next = random(seed);
  const context: { messages: string[]; notes: Record<string, string>; counter: number } = { messages: [], notes: {}, counter: 0 };
  const steps = [];
  for (let seq = 1; seq <= count; seq++) {
    const roll = next();
    let event: unknown;
    if (roll < 0.3) {
      const output = `Result ${seq}: ${'lorem ipsum dolor sit amet '.repeat(Math.floor(next() * 80))}— naïve café 🚀 \u2028`;
      context.messages.push(output);
      event = { type: 'xstate.done.actor.model', output, actorId: 'model' };
    } else if (roll < 0.5) {
      context.notes[`k${seq}`] = 'x'.repeat(Math.floor(next() * 3000));
      event = { type: 'notes.ready', seq };
    } else if (roll < 0.6 && context.messages.length) {
      context.messages.shift();
      event = { type: 'context.trimmed' };
    } else {
      context.counter++;
      event = { type: 'tick' };
    }
    const snapshot = JSON.stringify({ status: 'active', value: { working: `s${seq % 4}` }, context, children: {} });
    steps.push({ seq, event: JSON.stringify(event), snapshot });
  }
  return steps;
}

function encodeAll(steps: { seq: number; event: string; snapshot: string }[], checkpointEvery?: number): StoredHistoryBody[] {
  let base: string | null = null;
  return steps.map((step) => {
    const { body } = encodeHistoryStep(step, base, { checkpointEvery });
    base = step.snapshot;
    return { actorId: 'a', seq: step.seq, body };
  });
}

describe('the history codec', () => {
  it('decodes every step of a seeded agent run to the exact event and snapshot, in order and from any step', () => {
    for (const seed of [1, 2, 3, 42, 1337]) {
      const steps = agentSteps(seed, 80);
      const bodies = encodeAll(steps, 16);
      const inOrder = new HistoryDecoder();
      const chainOf = (_actorId: string, seq: number) => {
        let start = seq - 1;
        while (!isCheckpointBody(bodies[start - 1]!.body)) start--;
        return bodies.slice(start - 1, seq - 1);
      };
      bodies.forEach((row, i) => expect(inOrder.decode(row, chainOf)).toEqual({ event: steps[i]!.event, snapshot: steps[i]!.snapshot }));
      const next = random(seed);
      for (let k = 0; k < 20; k++) {
        const i = Math.floor(next() * steps.length);
        expect(new HistoryDecoder().decode(bodies[i]!, chainOf), `seed ${seed}, step ${i + 1}`).toEqual({ event: steps[i]!.event, snapshot: steps[i]!.snapshot });
      }
    }
  });

  it('stores a step that changes little in a few bytes, and an output that is both in the event and the snapshot about once', () => {
    const context = { messages: ['hello '.repeat(400)], count: 1 };
    const before = JSON.stringify({ value: 'idle', context });
    const after = JSON.stringify({ value: 'idle', context: { ...context, count: 2 } });
    expect(encodeHistoryStep({ seq: 2, event: '{"type":"tick"}', snapshot: after }, before).body.length).toBeLessThan(40);

    const output = Array.from({ length: 60 }, (_, i) => `finding ${i}: ${(i * 7919).toString(36)}`).join('; ');
    const withOutput = JSON.stringify({ value: 'done', context: { ...context, answer: output } });
    const event = JSON.stringify({ type: 'xstate.done.actor.model', output, actorId: 'model' });
    const { body, checkpoint } = encodeHistoryStep({ seq: 3, event, snapshot: withOutput }, after);
    expect(checkpoint).toBe(false);
    expect(body.length).toBeLessThan(output.length);
    expect(decodeHistoryStep(body, after)).toEqual({ event, snapshot: withOutput });
  });

  it('refers to an activity output the store keeps instead of copying it, and refuses to decode without that very output', () => {
    const output = JSON.stringify({ text: Array.from({ length: 80 }, (_, i) => `claim ${i}: ${(i * 104729).toString(36)}`).join('. ') });
    const before = JSON.stringify({ value: 'thinking', context: { notes: [] } });
    const after = JSON.stringify({ value: 'reporting', context: { notes: [JSON.parse(output).text] } });
    const event = JSON.stringify({ type: 'xstate.done.actor.model', output: JSON.parse(output), actorId: 'model' });
    const copied = encodeHistoryStep({ seq: 5, event, snapshot: after }, before);
    const referred = encodeHistoryStep({ seq: 5, event, snapshot: after }, before, { shared: output });
    expect(referred.body.length).toBeLessThan(copied.body.length / 3);
    expect(decodeHistoryStep(referred.body, before, output)).toEqual({ event, snapshot: after });
    expect(() => decodeHistoryStep(referred.body, before)).toThrow(/output of its activity, which is missing/);
    expect(() => decodeHistoryStep(referred.body, before, `${output} `)).toThrow(/differs from the stored one/);
    const first = encodeHistoryStep({ seq: 1, event, snapshot: after }, null, { shared: output });
    expect(new HistoryDecoder().decode({ actorId: 'a', seq: 1, body: first.body, shared: output }, () => [])).toEqual({ event, snapshot: after });
  });

  it('stores the first step, and every checkpointEvery-th step, whole', () => {
    const bodies = encodeAll(agentSteps(7, 10), 4);
    expect(bodies.map((b) => isCheckpointBody(b.body))).toEqual([true, false, false, false, true, false, false, false, true, false]);
    expect(encodeAll(agentSteps(7, 3), 1).every((b) => isCheckpointBody(b.body))).toBe(true);
  });

  it('refuses to decode a delta against another snapshot, without its previous step, or when damaged', () => {
    const steps = agentSteps(9, 3);
    const [first, second] = encodeAll(steps);
    expect(() => decodeHistoryStep(second!.body, steps[2]!.snapshot)).toThrow(/different previous snapshot/);
    expect(() => decodeHistoryStep(second!.body, null)).toThrow(/previous step is missing/);
    expect(() => new HistoryDecoder().decode(second!, () => [])).toThrow(/no checkpoint of actor 'a' precedes step 2/);
    expect(() => decodeHistoryStep(Uint8Array.of(0x7f), null)).toThrow(SpineError);
    const cut = first!.body.slice(0, first!.body.length - 3);
    expect(() => decodeHistoryStep(cut, null)).toThrow(/storage_corrupt|does not inflate|cannot be decoded/);
  });

  it('decodes a chain of bodies with a gap as an error naming the missing step', () => {
    const steps = agentSteps(11, 4);
    const bodies = encodeAll(steps);
    expect(() => new HistoryDecoder().decode(bodies[3]!, () => [bodies[0]!, bodies[2]!])).toThrow(/step 2 of actor 'a' is missing/);
  });

  it('writes bodies byte for byte as stored ones were written (the format belongs to the database, not to this version)', () => {
    const snapshot = (n: number, notes = '') =>
      JSON.stringify({ status: 'active', value: `s${n}`, historyValue: {}, context: { count: n, notes }, children: { [`w${n}`]: { snapshot: { status: 'active' }, src: 'work', syncSnapshot: false } } });
    const long = 'the quick brown fox jumps over the lazy dog; '.repeat(30);
    const done = (n: number, output: unknown) => JSON.stringify({ type: `xstate.done.actor.w${n}`, output, actorId: `w${n}` });
    // Base64 of the bodies as Spine wrote them before their encoder was rewritten to write into one buffer.
    const cases: [string, Parameters<typeof encodeHistoryStep>, string][] = [
      ['a checkpoint, stored as it is', [{ seq: 1, event: '{"type":"xstate.init","input":null}', snapshot: snapshot(0) }, null],
        'ESN7InR5cGUiOiJ4c3RhdGUuaW5pdCIsImlucHV0IjpudWxsfXsic3RhdHVzIjoiYWN0aXZlIiwidmFsdWUiOiJzMCIsImhpc3RvcnlWYWx1ZSI6e30sImNvbnRleHQiOnsiY291bnQiOjAsIm5vdGVzIjoiIn0sImNoaWxkcmVuIjp7IncwIjp7InNuYXBzaG90Ijp7InN0YXR1cyI6ImFjdGl2ZSJ9LCJzcmMiOiJ3b3JrIiwic3luY1NuYXBzaG90IjpmYWxzZX19fQ=='],
      ['a delta, stored as it is', [{ seq: 3, event: done(2, { ok: true }), snapshot: snapshot(3) }, snapshot(2)],
        'EqcKAuIdRkN7InR5cGUiOiJ4c3RhdGUuZG9uZS5hY3Rvci53MiIsIm91dHB1dCI6eyJvayI6dHJ1ZX0sImFjdG9ySWQiOiJ3MiJ9MyIsImhpc3RvcnlWYWx1ZSI6e30sImNvbnRleHQiOnsiY291bnQiOjMsIm5vdGVzIjoiIn0sImNoaWxkcmVuIjp7Incz'],
      ['a delta, deflated against the previous snapshot', [{ seq: 4, event: done(3, { ok: true }), snapshot: snapshot(4, long) }, snapshot(3)],
        'Ao22790dRkOrViqpLAAZVwGyKVUvJT8vVS8xuSS/SK8cZEF+aUlBKdi0/Gwlq5Ki0tRaHZBb8os8U5SslMqNlWpNiHSHCcIdJRmpCoWlmcnZCklF+eV5Cmn5FQpZpbkFxQr5ZalFCiDpnMSqSoWU/HRrMG9U8WhojKaN0ZwyWm4gFYwYpbkJAA=='],
      ['a delta against a shared output', [{ seq: 5, event: done(4, long), snapshot: snapshot(5, `${long}!`) }, snapshot(4, long), { shared: JSON.stringify(long) }],
        'IkiEyvYwSNWlHUaAC6tWKqksABXKFaDyOlUvJT8vVS8xuSS/SK8cVEznl5YUlJaMFsBoAUlSqI8qRk6Do6ExGhq4yqdhnzaUdEDN4fwizxQlK6VyE6VaUyKbwqajTWHsVdqwTzKjHhwtL0dseUm7xK+I0RY2BQA='],
    ];
    for (const [what, args, written] of cases) {
      expect(Buffer.from(encodeHistoryStep(...args).body).toString('base64'), what).toBe(written);
    }
    // In the other order too: the encoder keeps the last snapshot's bytes for the next step, never in place of another base.
    for (const [what, args, written] of [...cases].reverse()) expect(Buffer.from(encodeHistoryStep(...args).body).toString('base64'), what).toBe(written);
  });
});
