import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Store } from '@spine/runtime';
import { PostgresStore } from '@spine/store-postgres';
import { SqliteStore } from '@spine/store-sqlite';
import { afterEach, afterAll, describe, expect, it } from 'vitest';
import { startServe, type ServeProcess } from './e2e/support/spine.js';
import { freshPostgresUrl } from './support/postgres.js';
import { spawnSpine } from './support/spawnSpine.js';

// `spine send` to a run that a live `spine serve` host in another process drives: the sender
// wakes the host (SQLite: it touches `<db>.wake`, which the host watches; PostgreSQL: a NOTIFY
// the host LISTENs for), so the host applies the event at once. The host polls only every 10
// minutes here, so an event applied by that host within the test's timeout can only have been
// found through the notification, never through the poll timer.
const machines = fileURLToPath(new URL('../packages/cli/test-machines', import.meta.url));
const POLL_MS = 600_000;
const env = { SPINE_SECRET: 'send-wake-secret' };

const dir = mkdtempSync(join(tmpdir(), 'spine-send-wake-'));
let serve: ServeProcess | undefined;
afterEach(async () => {
  await serve?.stop();
  serve = undefined;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('spine send to a run a live host in another process drives', () => {
  for (const kind of ['sqlite', 'postgres'] as const) {
    it(`is applied by that host at once, woken through ${kind === 'sqlite' ? 'the wake file' : 'NOTIFY'} rather than its poll (${kind})`, async () => {
      const db = kind === 'sqlite' ? join(dir, 'spine.db') : freshPostgresUrl('sendwake');
      serve = await startServe({ db, machines, env, args: ['--poll-ms', String(POLL_MS)] });
      const started = await fetch(`${serve.url}/api/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ machine: 'door', input: { name: 'front' } }) });
      expect(started.status, await started.clone().text()).toBe(201);
      const { runId } = (await started.json()) as { runId: string };

      const reader: Store = kind === 'sqlite' ? await SqliteStore.open(db, { readonly: true }) : await PostgresStore.open(db, { readonly: true });
      try {
        // The serve host owns the run it started, and it waits for `door.open`.
        const before = await reader.getActor(runId);
        expect(before).toMatchObject({ status: 'active', stateValue: '"closed"' });
        const host = before!.owner;
        expect(host).toMatch(/^host-/);
        if (kind === 'sqlite') expect(existsSync(`${db}.wake`)).toBe(true); // the host watches it

        for (const [n, type] of [[1, 'door.open'], [2, 'door.close'], [3, 'door.open']] as const) {
          const sent = await spawnSpine(['send', runId, JSON.stringify(type === 'door.open' ? { type, by: 'ada' } : { type }), '--db', db, '--machines', machines], { env });
          expect(sent.code, sent.stderr).toBe(0);
          // `spine send` returns once the event is applied; the serve host applied it (it still owns the run).
          const after = await reader.getActor(runId);
          expect(after).toMatchObject({ owner: host, seq: 1 + n, stateValue: type === 'door.open' ? '"open"' : '"closed"' });
        }
        const steps = await reader.history(runId);
        expect(steps.map((s) => s.eventType)).toEqual(['xstate.init', 'door.open', 'door.close', 'door.open']);
      } finally {
        await reader.close();
      }
    }, 120_000);
  }
});
