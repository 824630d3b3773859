import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRuntime, defineMachine, type MachineDefinition, type Runtime } from '@spine/runtime';
import { startServer, type ServerOptions, type SpineServer } from '@spine/server';
import { SqliteStore, type SqliteStoreOptions } from '@spine/store-sqlite';
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { assign } from 'xstate';
import { z } from 'zod';

/** A machine that waits for `gate.open` with a typed payload: every refused input must leave it waiting, untouched. */
export function gateMachine(): MachineDefinition {
  return defineMachine({
    name: 'gate',
    config: {
      id: 'gate',
      initial: 'waiting',
      states: {
        waiting: { on: { 'gate.open': { target: 'open', actions: 'remember' } } },
        open: { type: 'final' },
      },
    },
    schemas: {
      input: z.strictObject({ label: z.string().max(20) }).optional(),
      events: { 'gate.open': z.strictObject({ note: z.string().min(1).max(50), count: z.number().int().min(0).max(10) }) },
    },
    context: () => ({ note: null as string | null }),
    actions: { remember: assign({ note: ({ event }: any) => event.note }) },
  });
}

/** A store, a started host with one waiting run, and a studio server on port 0. */
export interface FuzzTarget {
  db: string;
  store: SqliteStore;
  runtime: Runtime;
  server: SpineServer;
  runId: string;
  close(): Promise<void>;
}

/** Starts everything a hostile-input test needs, in this process. */
export async function startFuzzTarget(options: { store?: SqliteStoreOptions; server?: Partial<ServerOptions> } = {}): Promise<FuzzTarget> {
  const db = join(mkdtempSync(join(tmpdir(), 'spine-fuzz-')), 'spine.db');
  const store = await SqliteStore.open(db, { secret: 'fuzz-suite-secret-0123456789', ...options.store });
  const runtime = createRuntime({ store, machines: [gateMachine()], onError: () => {} });
  await runtime.start();
  const { runId } = await runtime.startRun('gate');
  await runtime.waitForRun(runId, { horizonMs: 0 });
  const server = await startServer({ store, runtime, studioDir: '/nonexistent', ...options.server });
  return {
    db,
    store,
    runtime,
    server,
    runId,
    async close() {
      await server.close();
      await runtime.stop();
      await store.close();
    },
  };
}

/** A digest of what refused input must never change: actors, mailboxes, history, jobs, approvals. */
export function durableState(db: string): string {
  const d = new Database(db, { readonly: true });
  try {
    const hash = createHash('sha256');
    for (const sql of [
      'SELECT id, seq, status, snapshot, state_value, output, error FROM actors ORDER BY id',
      'SELECT * FROM events ORDER BY id',
      'SELECT actor_id, seq, event_type, hex(body) FROM history ORDER BY actor_id, seq',
      'SELECT key, status, attempts FROM jobs ORDER BY key',
      'SELECT id, status FROM approvals ORDER BY id',
    ]) {
      hash.update(JSON.stringify(d.prepare(sql).all()));
    }
    return hash.digest('hex');
  } finally {
    d.close();
  }
}

/** How many dead letters the database holds and how many characters they take. */
export function deadLetterUsage(db: string): { rows: number; chars: number; perActorMax: number } {
  const d = new Database(db, { readonly: true });
  try {
    const total = d.prepare('SELECT COUNT(*) AS rows, COALESCE(SUM(LENGTH(event) + LENGTH(reason) + COALESCE(LENGTH(issues), 0) + LENGTH(actor_id) + LENGTH(source)), 0) AS chars FROM dead_letters').get() as { rows: number; chars: number };
    const per = d.prepare('SELECT COALESCE(MAX(n), 0) AS n FROM (SELECT COUNT(*) AS n FROM dead_letters GROUP BY actor_id)').get() as { n: number };
    return { ...total, perActorMax: per.n };
  } finally {
    d.close();
  }
}
