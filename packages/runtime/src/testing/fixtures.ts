import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assign } from 'xstate';
import { z } from 'zod';
import { defineActivity, defineMachine, sendToParent, type MachineDefinition } from '../defineMachine.js';
import type { Store } from '../Store.js';

/** A fresh temporary database path. */
export function tempDbPath(name = 'spine.db'): string {
  return join(mkdtempSync(join(tmpdir(), 'spine-test-')), name);
}

/**
 * The store with a hook around some of its methods (`null`: the store without that method);
 * everything else passes straight through, bound to the store (its private fields need it).
 */
export function wrapped(store: Store, hooks: Partial<{ [K in keyof Store]: ((call: () => Promise<unknown>, ...args: unknown[]) => Promise<unknown>) | null }>): Store {
  return new Proxy(store, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      const hook = hooks[prop as keyof Store];
      if (hook === null) return undefined;
      if (typeof value !== 'function') return value;
      const method = (value as (...a: unknown[]) => unknown).bind(target);
      return hook ? (...args: unknown[]) => hook(() => method(...args) as Promise<unknown>, ...args) : method;
    },
  });
}

/** An activity that runs until its attempt is aborted (its state left, its host stopping), then fails; `onAbort` hears it. */
export function untilAborted(onAbort: () => void = () => {}) {
  return defineActivity({
    run: (_input: unknown, ctx) =>
      new Promise<never>((_resolve, reject) =>
        ctx.signal.addEventListener('abort', () => {
          onAbort();
          reject(new Error('aborted'));
        }),
      ),
  });
}

/** Counts activity executions per idempotency key, and can hold executions open. */
export class EffectLog {
  readonly calls = new Map<string, number>();
  gate: Promise<void> | undefined;
  record(key: string): void {
    this.calls.set(key, (this.calls.get(key) ?? 0) + 1);
  }
  total(): number {
    return [...this.calls.values()].reduce((a, b) => a + b, 0);
  }
}

/** An order machine: waits for items, charges through an activity, then waits for shipping or a timeout. */
export function orderMachine(log: EffectLog, options: { onCharge?: (key: string) => void | Promise<void> } = {}): MachineDefinition {
  return defineMachine({
    name: 'order',
    config: {
      id: 'order',
      initial: 'open',
      states: {
        open: {
          on: {
            'item.added': { actions: 'addItem' },
            'order.placed': { target: 'charging', guard: 'hasItems' },
          },
        },
        charging: {
          invoke: { id: 'charge', src: 'charge', onDone: { target: 'paid', actions: 'saveReceipt' }, onError: { target: 'failed', actions: 'saveError' } },
        },
        paid: { after: { 1000: 'expired' }, on: { 'order.shipped': 'shipped' } },
        shipped: { type: 'final' },
        expired: { type: 'final' },
        failed: { type: 'final' },
      },
    },
    schemas: {
      input: z.object({ customer: z.string() }),
      context: z.object({ customer: z.string(), items: z.array(z.object({ sku: z.string(), qty: z.number() })), receipt: z.string().nullable(), error: z.string().nullable() }),
      events: {
        'item.added': z.object({ sku: z.string().min(1), qty: z.number().int().positive() }),
        'order.placed': z.object({}),
        'order.shipped': z.object({ carrier: z.string() }),
      },
    },
    context: (input: { customer: string }) => ({ customer: input.customer, items: [], receipt: null, error: null }),
    actions: {
      addItem: assign({ items: ({ context, event }: any) => [...context.items, { sku: event.sku, qty: event.qty }] }),
      saveReceipt: assign({ receipt: ({ event }: any) => event.output.receipt }),
      saveError: assign({ error: ({ event }: any) => event.error.message }),
    },
    guards: { hasItems: ({ context }: any) => context.items.length > 0 },
    output: ({ context }: any) => ({ receipt: context.receipt, items: context.items.length }),
    activities: {
      charge: defineActivity({
        mapInput: ({ context }) => ({ customer: context.customer, total: context.items.reduce((n: number, i: { qty: number }) => n + i.qty, 0) }),
        async run(input: { customer: string; total: number }, ctx) {
          log.record(ctx.key);
          await options.onCharge?.(ctx.key);
          if (log.gate) await log.gate;
          return { receipt: `r-${input.customer}-${input.total}` };
        },
      }),
    },
  });
}

/** A child agent that reports to its parent by durable message, then finishes with output. */
/** A run that waits one second (a due timer for another host to find), then rings and waits forever. */
export const timerMachine = defineMachine({
  name: 'timer',
  config: { id: 'timer', initial: 'waiting', states: { waiting: { after: { 1000: 'rang' } }, rang: {} } },
  schemas: {},
});

export const childMachine = defineMachine({
  name: 'child',
  config: {
    id: 'child',
    initial: 'working',
    states: {
      working: { entry: 'report', on: { 'work.finish': 'finished' } },
      finished: { type: 'final' },
    },
  },
  schemas: { input: z.object({ task: z.string() }), events: { 'work.finish': z.object({ note: z.string() }) } },
  context: (input: { task: string }) => ({ task: input.task }),
  actions: { report: sendToParent(({ context }) => ({ type: 'child.started', task: context.task })) },
  output: ({ context }: any) => ({ did: context.task }),
});

/** A parent that invokes `child` as a separate durable actor. */
export const parentMachine = defineMachine({
  name: 'parent',
  config: {
    id: 'parent',
    initial: 'delegating',
    states: {
      delegating: {
        invoke: { id: 'worker', src: 'child', input: { task: 'sweep' }, onDone: { target: 'done', actions: 'saveResult' } },
        on: { 'child.started': { actions: 'noteStarted' } },
      },
      done: { type: 'final' },
    },
  },
  schemas: { events: { 'child.started': z.object({ task: z.string() }) } },
  context: () => ({ started: null, result: null }),
  actions: {
    noteStarted: assign({ started: ({ event }: any) => event.task }),
    saveResult: assign({ result: ({ event }: any) => event.output }),
  },
  output: ({ context }: any) => ({ started: context.started, result: context.result }),
});
