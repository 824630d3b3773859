import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

// The systems the scheduler calls, as one real HTTP server: a calendar, a task tracker and a
// notifier. Each write honours the `Idempotency-Key` header the way Stripe's API does: the
// first request with a key is applied and its response stored; a repeat gets the stored
// response and changes nothing.

/** The three write routes. */
export type Route = 'calendar' | 'tasks' | 'notifications';

/** What the services hold: every effect applied, and every request received. */
export interface ServicesState {
  bookings: { id: string; title: string; slot: string; attendees: string[] }[];
  taskUpdates: { taskId: string; note: string }[];
  notifications: { to: string; text: string }[];
  /** Requests received per route, repeats included. */
  received: Record<Route, number>;
}

/** A running set of services. */
export interface Services {
  url: string;
  state: ServicesState;
  /**
   * Holds the next request on a route after applying it, without answering, until `release()`
   * (or the client goes away): a crash "in the middle of the call", after the effect happened
   * but before the caller heard of it.
   */
  holdAfterApply(route: Route): void;
  release(): void;
  close(): Promise<void>;
}

/** Starts the services on 127.0.0.1 (port 0: any free port). */
export async function startServices(options: { port?: number } = {}): Promise<Services> {
  const state: ServicesState = { bookings: [], taskUpdates: [], notifications: [], received: { calendar: 0, tasks: 0, notifications: 0 } };
  const replies = new Map<string, { status: number; body: unknown }>();
  const holding = new Set<Route>();
  const held: ServerResponse[] = [];

  const apply = (route: Route, body: Record<string, unknown>): { status: number; body: unknown } => {
    switch (route) {
      case 'calendar': {
        const clash = state.bookings.find((b) => b.slot === body['slot']);
        if (clash) return { status: 409, body: { error: `slot ${String(body['slot'])} is taken by ${clash.id}` } };
        const booking = { id: `evt-${state.bookings.length + 1}`, title: String(body['title']), slot: String(body['slot']), attendees: body['attendees'] as string[] };
        state.bookings.push(booking);
        return { status: 201, body: booking };
      }
      case 'tasks': {
        const update = { taskId: String(body['taskId']), note: String(body['note']) };
        state.taskUpdates.push(update);
        return { status: 200, body: { ...update, updated: state.taskUpdates.length } };
      }
      case 'notifications': {
        const sent = (body['to'] as string[]).map((to) => ({ to, text: String(body['text']) }));
        state.notifications.push(...sent);
        return { status: 202, body: { sent: sent.length } };
      }
    }
  };

  const handle = (req: IncomingMessage, res: ServerResponse, text: string) => {
    const route = ({ '/calendar/events': 'calendar', '/tasks/update': 'tasks', '/notifications': 'notifications' } as Record<string, Route>)[new URL(req.url ?? '/', 'http://x').pathname];
    const send = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.method === 'GET' && req.url === '/state') return send(200, state);
    if (req.method !== 'POST' || !route) return send(404, { error: `no route ${req.method} ${req.url}` });
    state.received[route]++;
    const key = req.headers['idempotency-key'];
    if (typeof key !== 'string' || !key) return send(400, { error: 'an Idempotency-Key header is required' });
    let reply = replies.get(`${route}:${key}`);
    if (!reply) {
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(text) as Record<string, unknown>;
      } catch {
        return send(400, { error: 'the body is not JSON' });
      }
      reply = apply(route, body);
      replies.set(`${route}:${key}`, reply);
    }
    if (holding.delete(route)) {
      held.push(res);
      return;
    }
    send(reply.status, reply.body);
  };

  const server: Server = createServer((req, res) => {
    let text = '';
    req.on('data', (chunk) => (text += chunk));
    req.on('end', () => handle(req, res, text));
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    state,
    holdAfterApply: (route) => void holding.add(route),
    release() {
      holding.clear();
      for (const res of held.splice(0)) res.destroy();
    },
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
