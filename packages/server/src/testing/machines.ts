import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineActivity, defineMachine, TerminalError, type MachineDefinition } from '@spine/runtime';
import { assign } from 'xstate';
import { z } from 'zod';

/** A fresh temporary database path. */
export function tempDbPath(name = 'spine.db'): string {
  return join(mkdtempSync(join(tmpdir(), 'spine-server-')), name);
}

/**
 * Advances on durable timers every `tickMs` (tick1 -> tick2 -> tick3), then
 * waits for `ticker.resume`, then ticks once more and finishes. Accepts
 * `ticker.poke` in any state.
 */
export function tickerMachine(tickMs = 300): MachineDefinition {
  return defineMachine({
    name: 'ticker',
    config: {
      id: 'ticker',
      initial: 'tick1',
      on: { 'ticker.poke': { actions: 'countPoke' } },
      states: {
        tick1: { after: { [tickMs]: 'tick2' } },
        tick2: { after: { [tickMs]: 'tick3' } },
        tick3: { after: { [tickMs]: 'waiting' } },
        waiting: { on: { 'ticker.resume': { target: 'tick4', actions: 'saveNote' } } },
        tick4: { after: { [tickMs]: 'finished' } },
        finished: { type: 'final' },
      },
    },
    schemas: {
      input: z.object({ label: z.string() }).optional(),
      events: {
        'ticker.poke': z.object({}),
        'ticker.resume': z.object({ note: z.string().min(1) }),
      },
    },
    context: (input?: { label: string }) => ({ label: input?.label ?? 'tick', pokes: 0, note: null }),
    actions: {
      countPoke: assign({ pokes: ({ context }: any) => context.pokes + 1 }),
      saveNote: assign({ note: ({ event }: any) => event.note }),
    },
    output: ({ context }: any) => ({ pokes: context.pokes, note: context.note }),
  });
}

/** Charges through an activity that fails (terminally) while `failures.remaining > 0`, and journals usage and cost. */
export function paymentMachine(failures: { remaining: number; calls: number }): MachineDefinition {
  return defineMachine({
    name: 'payment',
    config: {
      id: 'payment',
      initial: 'charging',
      states: {
        charging: {
          invoke: { id: 'charge', src: 'charge', input: { amount: 5 }, onDone: { target: 'paid' }, onError: { target: 'declined', actions: 'saveError' } },
        },
        paid: { type: 'final' },
        declined: { on: { 'payment.retry': 'charging' } },
      },
    },
    schemas: { events: { 'payment.retry': z.object({}) } },
    context: () => ({ error: null }),
    actions: { saveError: assign({ error: ({ event }: any) => event.error.message }) },
    activities: {
      charge: defineActivity({
        async run(input: { amount: number }, ctx) {
          failures.calls++;
          ctx.record({ model: 'scripted-1', usage: { inputTokens: 100, outputTokens: 20 }, costUsd: 0.0012 });
          if (failures.remaining > 0) {
            failures.remaining--;
            throw new TerminalError(`card declined for ${input.amount}`, { kind: 'declined' });
          }
          return { receipt: `r-${input.amount}` };
        },
      }),
    },
  });
}

/** A supervisor that invokes `helper` as a durable child agent and finishes when it does. */
export const teamMachine: MachineDefinition = defineMachine({
  name: 'team',
  config: {
    id: 'team',
    initial: 'working',
    states: {
      working: { invoke: { id: 'helper', src: 'helper', input: { task: 'sweep' }, onDone: { target: 'done', actions: 'saveResult' } } },
      done: { type: 'final' },
    },
  },
  schemas: {},
  context: () => ({ result: null }),
  actions: { saveResult: assign({ result: ({ event }: any) => event.output }) },
  output: ({ context }: any) => ({ result: context.result }),
});

/** A child agent: busy for 150 ms (a durable timer), then ready until told to finish. */
export const helperMachine: MachineDefinition = defineMachine({
  name: 'helper',
  config: {
    id: 'helper',
    initial: 'busy',
    states: {
      busy: { after: { 150: 'ready' } },
      ready: { on: { 'helper.finish': 'finished' } },
      finished: { type: 'final' },
    },
  },
  schemas: { input: z.object({ task: z.string() }), events: { 'helper.finish': z.object({}) } },
  context: (input: { task: string }) => ({ task: input.task }),
  output: ({ context }: any) => ({ did: context.task }),
});
