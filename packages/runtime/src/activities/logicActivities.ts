import type { AnyActorLogic, EventObject } from 'xstate';
import type { Activity, ActivityContext } from '../defineMachine.js';

/** What xstate logic sees as `self` while it runs as an activity: its id and no live parent. */
function activitySelf(ctx: ActivityContext) {
  return { id: ctx.childId, sessionId: ctx.key, send() {}, getSnapshot: () => ({ status: 'active' }) };
}

/**
 * `fromPromise` logic as a durable activity: it runs once after the step that
 * invoked it commits; its result is journaled and delivered as
 * `xstate.done.actor.<id>` (a rejection as `xstate.error.actor.<id>`), and a
 * restore never starts it again.
 */
export function promiseActivity(logic: AnyActorLogic): Activity {
  const create = (logic as unknown as { config: (args: Record<string, unknown>) => PromiseLike<unknown> }).config;
  return {
    run: async (input, ctx) => create({ input, signal: ctx.signal, self: activitySelf(ctx), system: undefined, emit: () => {} }),
    kind: 'promise',
  };
}

/**
 * `fromCallback` logic as a long-lived durable activity: it runs while its state is
 * active, `sendBack` puts events into the invoking actor's durable mailbox, `receive`
 * gets what the actor sends to it while it runs in this host (see `ActivityContext.receive`), leaving
 * the state stops it (its cleanup runs) and a host that died running it is
 * replaced by one that starts it again. It ends only by throwing (delivered as
 * `xstate.error.actor.<id>`).
 */
export function callbackActivity(logic: AnyActorLogic): Activity {
  const callback = (logic as unknown as { config: (args: Record<string, unknown>) => unknown }).config;
  return {
    kind: 'callback',
    maxAttempts: Number.POSITIVE_INFINITY,
    run: (input, ctx) =>
      new Promise<never>((_, reject) => {
        let dispose: unknown;
        // The host keeps the order of sends (one after the other) and counts them as work in flight.
        const sendBack = (event: EventObject) => {
          if (ctx.signal.aborted) return;
          ctx.send(event).catch(reject);
        };
        const receive = (listener: (event: EventObject) => void) => {
          ctx.receive?.((event) => {
            if (ctx.signal.aborted) return;
            try {
              listener(event);
            } catch (error) {
              reject(error); // as xstate: a listener that throws fails the callback actor
            }
          });
        };
        const stop = () => {
          try {
            if (typeof dispose === 'function') (dispose as () => void)();
          } catch {
            /* a cleanup that throws cannot change what already happened */
          }
          reject(ctx.signal.reason ?? new Error('stopped'));
        };
        try {
          dispose = callback({ input, system: undefined, self: activitySelf(ctx), sendBack, receive, emit: () => {} });
        } catch (error) {
          reject(error);
          return;
        }
        if (ctx.signal.aborted) stop();
        else ctx.signal.addEventListener('abort', stop, { once: true });
      }),
  };
}
