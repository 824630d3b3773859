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
