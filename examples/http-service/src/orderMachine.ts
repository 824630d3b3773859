import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { defineActivity, defineMachine } from '@spine/runtime';
import { assign } from 'xstate';
import { z } from 'zod';

const item = z.object({ sku: z.string().min(1), price: z.number().positive() });
const context = z.object({
  items: z.array(item),
  reservation: z.string().nullable(),
  charge: z.string().nullable(),
  error: z.string().nullable(),
});
type Context = z.infer<typeof context>;

/**
 * Stands in for the warehouse and the payment provider this service would call over HTTP: each
 * effect is a line in a file (`EFFECTS_LOG`), and, like real providers, both are idempotent by the
 * key Spine passes (`ctx.key`): asked twice with one key, they act once and answer the same.
 */
export class Effects {
  constructor(readonly file: string) {}

  record(line: Record<string, unknown>): void {
    appendFileSync(this.file, `${JSON.stringify({ ...line, pid: process.pid })}\n`);
  }

  lines(): Record<string, unknown>[] {
    if (!existsSync(this.file)) return [];
    return readFileSync(this.file, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  /** The result already given for this key, if the provider acted on it before. */
  done(effect: string, key: string): Record<string, unknown> | undefined {
    return this.lines().find((l) => l['effect'] === effect && l['key'] === key && l['phase'] === 'done');
  }
}

/** Options of the order machine. */
export interface OrderOptions {
  effects: Effects;
  /** How long the payment provider takes (default 300 ms): the window a crash can land in. */
  chargeDelayMs?: number;
}

/**
 * An order: items are added, then it is placed; stock is reserved and the card charged, each an
 * activity that runs only after the step asking for it is committed and is never repeated once
 * its result is journaled.
 */
export function orderMachine(options: OrderOptions) {
  const { effects } = options;
  const delay = options.chargeDelayMs ?? 300;
  return defineMachine({
    name: 'order',
    config: {
      id: 'order',
      initial: 'cart',
      states: {
        cart: {
          on: {
            'order.item_added': { actions: 'addItem' },
            'order.placed': { target: 'reserving', guard: 'hasItems' },
          },
        },
        reserving: {
          invoke: { id: 'reserve', src: 'reserveStock', onDone: { target: 'charging', actions: 'saveReservation' }, onError: { target: 'failed', actions: 'saveError' } },
        },
        charging: {
          invoke: { id: 'charge', src: 'chargeCard', onDone: { target: 'paid', actions: 'saveCharge' }, onError: { target: 'failed', actions: 'saveError' } },
        },
        paid: { type: 'final' },
        failed: { type: 'final' },
      },
    },
    schemas: {
      context,
      events: { 'order.item_added': item, 'order.placed': z.object({}) },
    },
    context: (): Context => ({ items: [], reservation: null, charge: null, error: null }),
    guards: { hasItems: ({ context }: { context: Context }) => context.items.length > 0 },
    actions: {
      // The event was checked against `order.item_added`'s schema before this step ran.
      addItem: assign(({ context, event }: { context: Context; event: { type: string; sku?: string; price?: number } }) => ({ items: [...context.items, { sku: event.sku!, price: event.price! }] })),
      saveReservation: assign(({ event }: { event: { output: { reservation: string } } }) => ({ reservation: event.output.reservation })),
      saveCharge: assign(({ event }: { event: { output: { charge: string } } }) => ({ charge: event.output.charge })),
      saveError: assign(({ event }: { event: { error: { message?: string } } }) => ({ error: event.error.message ?? 'failed' })),
    },
    output: ({ context }: { context: Context }) => ({ reservation: context.reservation, charge: context.charge, error: context.error }),
    activities: {
      reserveStock: defineActivity({
        mapInput: ({ context }: { context: Context }) => ({ skus: context.items.map((i) => i.sku) }),
        run: async (input: { skus: string[] }, ctx) => {
          const before = effects.done('reserve', ctx.key);
          if (before) return { reservation: String(before['reservation']) };
          const reservation = `res_${ctx.key.replace(/[^a-z0-9]/gi, '').slice(-10)}`;
          effects.record({ effect: 'reserve', phase: 'done', key: ctx.key, skus: input.skus, reservation });
          return { reservation };
        },
      }),
      chargeCard: defineActivity({
        mapInput: ({ context }: { context: Context }) => ({ amount: context.items.reduce((sum, i) => sum + i.price, 0) }),
        run: async (input: { amount: number }, ctx) => {
          const before = effects.done('charge', ctx.key);
          if (before) return { charge: String(before['charge']) };
          effects.record({ effect: 'charge', phase: 'start', key: ctx.key, amount: input.amount, attempt: ctx.attempt });
          await new Promise((resolve) => setTimeout(resolve, delay));
          const charge = `ch_${ctx.key.replace(/[^a-z0-9]/gi, '').slice(-10)}`;
          effects.record({ effect: 'charge', phase: 'done', key: ctx.key, amount: input.amount, charge });
          return { charge };
        },
      }),
    },
  });
}
