import { defineActivity, RetryableError, TerminalError, type ActivityContext, type MachineImplementation } from '@spine/runtime';
import { assign } from 'xstate';
import { z } from 'zod';

// The meeting scheduler: three side effects in a row, each an activity that sends its
// idempotency key (ctx.key: the same on every re-execution of that step) to the service, which
// applies a key once. SCHEDULER_SERVICES_URL says where the services are.

const input = z.object({
  title: z.string().min(1),
  slot: z.string().min(1),
  attendees: z.array(z.string().email()).min(1),
  taskId: z.string().min(1),
});
type Input = z.infer<typeof input>;

const context = input.extend({
  booking: z.object({ id: z.string(), slot: z.string() }).nullable(),
  notified: z.number().int().nullable(),
  error: z.string().nullable(),
});
type Context = z.infer<typeof context>;

async function post(path: string, body: unknown, ctx: ActivityContext): Promise<Record<string, unknown>> {
  const base = process.env['SCHEDULER_SERVICES_URL'];
  if (!base) throw new TerminalError('SCHEDULER_SERVICES_URL is not set');
  let response: Response;
  try {
    response = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': ctx.key }, body: JSON.stringify(body), signal: ctx.signal });
  } catch (error) {
    throw new RetryableError(`POST ${path} failed: ${(error as Error).message}`, { retryAfterMs: 200 * ctx.attempt });
  }
  const answer = (await response.json()) as Record<string, unknown>;
  if (response.status >= 500 || response.status === 429) throw new RetryableError(`POST ${path} answered ${response.status}`, { retryAfterMs: 200 * ctx.attempt });
  if (!response.ok) throw new TerminalError(`POST ${path} answered ${response.status}: ${String(answer['error'])}`);
  ctx.record({ call: 'http', path, status: response.status });
  return answer;
}

const implementation: MachineImplementation = {
  schemas: { input, context },
  context: (i: Input): Context => ({ ...i, booking: null, notified: null, error: null }),
  actions: {
    saveBooking: assign({ booking: ({ event }: any) => ({ id: event.output.id, slot: event.output.slot }) }),
    saveNotified: assign({ notified: ({ event }: any) => event.output.sent }),
    saveError: assign({ error: ({ event }: any) => String(event.error?.message ?? event.error) }),
  },
  activities: {
    bookMeeting: defineActivity({
      mapInput: ({ context: c }) => ({ title: c.title, slot: c.slot, attendees: c.attendees }),
      maxAttempts: 10,
      run: (body, ctx) => post('/calendar/events', body, ctx),
    }),
    updateTask: defineActivity({
      mapInput: ({ context: c }) => ({ taskId: c.taskId, note: `Meeting ${c.booking.id} booked for ${c.booking.slot}` }),
      maxAttempts: 10,
      run: (body, ctx) => post('/tasks/update', body, ctx),
    }),
    notifyAttendees: defineActivity({
      mapInput: ({ context: c }) => ({ to: c.attendees, text: `"${c.title}" is booked for ${c.slot}.` }),
      maxAttempts: 10,
      run: (body, ctx) => post('/notifications', body, ctx),
    }),
  },
  output: ({ context: c }: { context: Context }) => ({ booking: c.booking, notified: c.notified, error: c.error }),
};

export default implementation;
