import { SpineError, type Runtime, type Store } from '@spine/runtime';
import { Hono } from 'hono';

const STATUS: Partial<Record<SpineError['code'], 400 | 404 | 409 | 413 | 422>> = {
  invalid_event: 422,
  invalid_input: 422,
  unknown_actor: 404,
  actor_not_active: 409,
  payload_too_large: 413,
};

/**
 * The service's routes: each request starts a durable order actor or sends it an event; the
 * answer comes back as soon as the event is stored (the actor moves on in the background, and
 * after a crash, when the service starts again).
 */
export function createApp(runtime: Runtime, store: Store): Hono {
  const app = new Hono();

  app.onError((error, c) => {
    if (error instanceof SpineError) return c.json({ error: error.code, message: error.message }, STATUS[error.code] ?? 500);
    return c.json({ error: 'internal', message: error.message }, 500);
  });

  app.post('/orders', async (c) => {
    const { runId } = await runtime.startRun('order');
    return c.json({ orderId: runId }, 201);
  });

  app.post('/orders/:id/items', async (c) => {
    const body = await c.req.json().catch(() => undefined);
    await runtime.send(c.req.param('id'), { ...(typeof body === 'object' && body ? body : {}), type: 'order.item_added' });
    return c.json({ accepted: true }, 202);
  });

  app.post('/orders/:id/place', async (c) => {
    await runtime.send(c.req.param('id'), { type: 'order.placed' });
    return c.json({ accepted: true }, 202);
  });

  app.get('/orders/:id', async (c) => {
    const actor = await store.getActor(c.req.param('id'));
    if (!actor || actor.parentId !== null) return c.json({ error: 'unknown_actor', message: `No order '${c.req.param('id')}'.` }, 404);
    const snapshot = actor.snapshot ? (JSON.parse(actor.snapshot) as { context?: unknown }) : undefined;
    return c.json({
      orderId: actor.id,
      status: actor.status,
      state: actor.stateValue ? (JSON.parse(actor.stateValue) as unknown) : null,
      context: snapshot?.context ?? null,
      output: actor.output ? (JSON.parse(actor.output) as unknown) : null,
    });
  });

  return app;
}
