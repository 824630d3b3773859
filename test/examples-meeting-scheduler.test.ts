import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seededRandom } from '@spine/llm';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServices, type Route, type Services } from '../examples/meeting-scheduler/services.js';
import { spawnExample } from './support/spawnExample.js';

// examples/meeting-scheduler run as its README says, against the real HTTP services (in this
// process, so they outlive every kill), SIGKILLed in the middle of each call (after the service
// applied it, before the scheduler heard back) and between each pair of steps, then started
// again. CI runs a seeded subset of the kill points in one run; SPINE_EXAMPLE_FULL=1 runs all.

const FULL = process.env.SPINE_EXAMPLE_FULL === '1';
const STEPS: { route: Route; src: string }[] = [
  { route: 'calendar', src: 'bookMeeting' },
  { route: 'tasks', src: 'updateTask' },
  { route: 'notifications', src: 'notifyAttendees' },
];
type KillPoint = { kind: 'mid'; step: number } | { kind: 'between'; step: number };
/** Every kill point, in the order a run passes them: mid-call of step i, then between step i and i + 1. */
const ALL: KillPoint[] = STEPS.flatMap((_, step) => [{ kind: 'mid', step } as KillPoint, ...(step < STEPS.length - 1 ? [{ kind: 'between', step } as KillPoint] : [])]);

let services: Services;
beforeAll(async () => {
  services = await startServices();
});
afterAll(() => services.close());

function jobDone(db: string, src: string): boolean {
  if (!existsSync(db)) return false;
  try {
    const sqlite = new Database(db, { readonly: true, fileMustExist: true });
    try {
      return sqlite.prepare("SELECT 1 FROM jobs WHERE src = ? AND status = 'done'").get(src) !== undefined;
    } finally {
      sqlite.close();
    }
  } catch {
    return false; // mid-migration
  }
}

describe('examples/meeting-scheduler', () => {
  it(`never books, updates or notifies twice when SIGKILLed mid-call and between steps (${FULL ? 'every kill point' : 'a seeded subset'})`, async () => {
    const random = seededRandom(7);
    const points = FULL ? ALL : ALL.filter(() => random() < 0.6);
    if (!points.some((p) => p.kind === 'mid')) points.push(ALL[0]!);
    const dir = mkdtempSync(join(tmpdir(), 'spine-meeting-'));
    const db = join(dir, 'meeting.db');
    const args = ['--db', db, '--run-id', 'meeting-crash', '--quiet'];
    const env = { SCHEDULER_SERVICES_URL: services.url };
    const killed: string[] = [];
    for (const point of points) {
      const { route, src } = STEPS[point.step]!;
      let until: () => boolean;
      if (point.kind === 'mid') {
        const before = services.state.received[route];
        services.holdAfterApply(route);
        until = () => services.state.received[route] > before;
      } else {
        // Between steps: the step is journaled; the next call is held unanswered should it start first.
        services.holdAfterApply(STEPS[point.step + 1]!.route);
        until = () => jobDone(db, src);
      }
      const run = await spawnExample('meeting-scheduler', args, { env, killWhen: until });
      services.release();
      expect(run.signal, `${point.kind} ${route}: ${run.stderr}`).toBe('SIGKILL');
      killed.push(`${point.kind} ${route}`);
    }
    const last = await spawnExample('meeting-scheduler', args, { env });
    expect(last.code, last.stderr).toBe(0);
    expect(killed.length).toBeGreaterThan(1);

    const { bookings, taskUpdates, notifications, received } = services.state;
    expect(bookings).toEqual([{ id: 'evt-1', title: 'Quarterly planning', slot: '2026-12-07T10:00:00Z', attendees: ['ana@example.com', 'bo@example.com'] }]);
    expect(taskUpdates).toEqual([{ taskId: 'PLAN-42', note: 'Meeting evt-1 booked for 2026-12-07T10:00:00Z' }]);
    expect(notifications.map((n) => n.to)).toEqual(['ana@example.com', 'bo@example.com']);
    // Each call killed in the middle was sent again (same key) and answered from the stored reply.
    for (const point of points.filter((p) => p.kind === 'mid')) expect(received[STEPS[point.step]!.route], killed.join(', ')).toBeGreaterThanOrEqual(2);
    const sqlite = new Database(db, { readonly: true });
    const output = JSON.parse((sqlite.prepare("SELECT output FROM actors WHERE id = 'meeting-crash'").get() as { output: string }).output);
    sqlite.close();
    expect(output).toEqual({ booking: { id: 'evt-1', slot: '2026-12-07T10:00:00Z' }, notified: 2, error: null });
  }, 180_000);
});
