import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { seededRandom } from '@spine/llm';
import { loadMachineDirectory, MachineRegistry, type Store } from '@spine/runtime';
import { PostgresStore } from '@spine/store-postgres';
import { SqliteStore } from '@spine/store-sqlite';
import Database from 'better-sqlite3';
import { tsImport } from 'tsx/esm/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSpine } from './support/spawnSpine.js';
import { EffectServer } from './support/effectServer.js';
import { freshPostgresUrl, withPostgres } from './support/postgres.js';

// Many runs in flight, so steps of different runs share group commits; the real `spine`
// host is killed with SIGKILL inside a batch's transaction (a test-only hook in the store)
// or at a random moment, resumed, and the database checked: no step lost, none applied twice.
// On an SQLite file and on a PostgreSQL schema alike.
const root = fileURLToPath(new URL('..', import.meta.url));
const machines = join(root, 'test/fixtures/crash-machines');
const SEEDS = Number(process.env.SPINE_GROUP_CRASH_SEEDS ?? 2);
const RUNS = Number(process.env.SPINE_GROUP_CRASH_RUNS ?? 24);
const EFFECTS = 20;

/** Where a crash run's database lives, and how the checks read it (`$1`-style parameters on both). */
interface Target {
  name: string;
  fresh(seed: number): string;
  open(db: string): Promise<Store>;
  rows<T>(db: string, sql: string, params?: unknown[]): Promise<T[]>;
}

const targets: Target[] = [
  {
    name: 'SQLite',
    fresh: (seed) => join(mkdtempSync(join(tmpdir(), `spine-group-${seed}-`)), 'spine.db'),
    open: (db) => SqliteStore.open(db),
    rows: async <T,>(db: string, sql: string, params: unknown[] = []) => {
      const sqlite = new Database(db, { readonly: true });
      try {
        return sqlite.prepare(sql.replace(/\$\d+/g, '?')).all(...params) as T[]; // each $N once, in order
      } finally {
        sqlite.close();
      }
    },
  },
  {
    name: 'PostgreSQL',
    fresh: (seed) => freshPostgresUrl(`group_crash_${seed}`),
    open: (db) => PostgresStore.open(db),
    rows: <T,>(db: string, sql: string, params: unknown[] = []) => withPostgres(db, async (c) => (await c.query(sql, params)).rows as T[]),
  },
];

async function loadRegistry(dir: string): Promise<MachineRegistry> {
  const registry = new MachineRegistry();
  const parent = pathToFileURL(`${dir}/`).href;
  for (const definition of await loadMachineDirectory(dir, { importModule: (url) => tsImport(url, parent) as Promise<Record<string, unknown>> })) registry.register(definition);
  return registry;
}

/** Stores `count` runs of steps20 that no host drives yet (a `spine resume` picks them all up). */
async function storeRuns(store: Store, registry: MachineRegistry, count: number): Promise<string[]> {
  try {
    const { version } = await registry.current('steps20', store);
    const ids = Array.from({ length: count }, (_, i) => `run-${String(i).padStart(3, '0')}`);
    const input = JSON.stringify({ type: 'xstate.init', input: {} });
    await store.createActors(
      ids.map((id) => ({ id, runId: id, parentId: null, childKey: null, machine: 'steps20', version, owner: null })),
      ids.map((id) => ({ actorId: id, type: 'xstate.init', event: input, dueAt: Date.now(), source: 'external' })),
    );
    return ids;
  } finally {
    await store.close();
  }
}

interface Row {
  actor_id: string;
  seq: number;
  event_type: string;
}

/**
 * What a crash may leave, checked before the resume: every journaled result was applied by a
 * committed step or waits in its actor's mailbox (never neither, never both), and each run's
 * history is contiguous.
 */
async function checkNothingLost(target: Target, db: string, label: string): Promise<void> {
  const done = await target.rows<{ key: string; actor_id: string; child_id: string }>(db, "SELECT key, actor_id, child_id FROM jobs WHERE status = 'done'");
  const applied = new Set((await target.rows<{ actor_id: string; event_type: string }>(db, 'SELECT actor_id, event_type FROM history')).map((r) => `${r.actor_id} ${r.event_type}`));
  const waiting = new Map<string, number>();
  for (const e of await target.rows<{ actor_id: string; source: string }>(db, 'SELECT actor_id, source FROM events')) waiting.set(`${e.actor_id} ${e.source}`, (waiting.get(`${e.actor_id} ${e.source}`) ?? 0) + 1);
  for (const job of done) {
    const inHistory = applied.has(`${job.actor_id} xstate.done.actor.${job.child_id}`);
    const inMailbox = waiting.get(`${job.actor_id} activity:${job.key}`) ?? 0;
    expect(Number(inHistory) + inMailbox, `${label}: result of ${job.key} applied ${Number(inHistory)}x, queued ${inMailbox}x`).toBe(1);
  }
  const rows = await target.rows<Row>(db, 'SELECT actor_id, seq, event_type FROM history ORDER BY actor_id, row_id');
  const byRun = new Map<string, Row[]>();
  for (const row of rows) byRun.set(row.actor_id, [...(byRun.get(row.actor_id) ?? []), row]);
  for (const [run, history] of byRun) expect(history.map((r) => r.seq), `${label}: ${run}`).toEqual(history.map((_, i) => i + 1));
}

describe.each(targets)('crash suite: a host killed inside a group commit ($name)', (target) => {
  const effects = new EffectServer((step) => 1 + (step % 3));
  let registry: MachineRegistry;
  let reference: { snapshot: string; events: string[] };

  beforeAll(async () => {
    await effects.start();
    registry = await loadRegistry(machines);
    // The reference: one run, uninterrupted.
    const db = join(mkdtempSync(join(tmpdir(), 'spine-group-ref-')), 'ref.db');
    const run = await spawnSpine(['run', 'steps20', '--db', db, '--machines', machines, '--json'], { env: { SPINE_TEST_EFFECT_URL: effects.url } });
    expect(run.code, run.stderr).toBe(0);
    // Through the store: a finished actor's row refers to its last history row for its snapshot.
    const store = await SqliteStore.open(db, { readonly: true });
    const [actor] = await store.listActors({ rootsOnly: true });
    await store.close();
    const sqlite = new Database(db, { readonly: true });
    const events = (sqlite.prepare('SELECT event_type FROM history ORDER BY seq').all() as { event_type: string }[]).map((r) => r.event_type);
    sqlite.close();
    reference = { snapshot: actor!.snapshot!, events };
    expect(events).toHaveLength(EFFECTS + 2); // init, 20 results, 1 timer
  }, 60_000);

  afterAll(() => effects.server?.close());

  it(`resumes ${RUNS} runs killed inside a batch or at random moments with every step applied once (${SEEDS} seeds)`, async () => {
    const summary = { inBatch: 0, random: 0 };
    for (let seed = 1; seed <= SEEDS; seed++) {
      effects.raw.clear();
      const random = seededRandom(seed * 7919);
      const db = target.fresh(seed);
      const ids = await storeRuns(await target.open(db), registry, RUNS);
      const env = { SPINE_TEST_EFFECT_URL: effects.url };
      let kills = 0;
      // Odd seeds: killed inside the N-th group commit of two or more steps, between its statements (N from 1 to 3:
      // a resume of these runs makes 5 to 8 such batches on an idle machine, the first its 24 first steps, and fewer
      // when the machine is busy, so the kill lands). Even seeds: at a random time.
      const rounds = 1 + Math.floor(random() * 2);
      for (let round = 0; round < rounds; round++) {
        const inBatch = (seed + round) % 2 === 1;
        const killed = inBatch
          ? await spawnSpine(['resume', '--db', db, '--machines', machines], { env: { ...env, SPINE_TEST_KILL_IN_BATCH: String(1 + Math.floor(random() * 3)) } })
          : await spawnSpine(['resume', '--db', db, '--machines', machines], { env, killAfterMs: 400 + random() * 1200 });
        if (killed.signal !== 'SIGKILL') continue; // finished before the kill: nothing to check here
        kills++;
        if (inBatch) summary.inBatch++;
        else summary.random++;
        await checkNothingLost(target, db, `seed ${seed} round ${round}`);
      }
      const resumed = await spawnSpine(['resume', '--db', db, '--machines', machines, '--json'], { env, killAfterMs: 120_000 });
      expect(resumed.code, `seed ${seed}: ${resumed.stderr}`).toBe(0);
      await checkNothingLost(target, db, `seed ${seed} resumed`);

      for (const id of ids) {
        const store = await target.open(db);
        const actor = await store.getActor(id).finally(() => store.close());
        expect(actor!.status, `seed ${seed} ${id}`).toBe('done');
        expect(actor!.snapshot, `seed ${seed} ${id}: output differs from the reference run`).toBe(reference.snapshot);
        const events = (await target.rows<{ event_type: string }>(db, 'SELECT event_type FROM history WHERE actor_id = $1 ORDER BY seq', [id])).map((r) => r.event_type);
        expect(events, `seed ${seed} ${id}: every step once, in the reference order`).toEqual(reference.events);
        const jobs = await target.rows<{ key: string; status: string }>(db, 'SELECT key, status FROM jobs WHERE actor_id = $1', [id]);
        expect(jobs.map((j) => j.status), `seed ${seed} ${id}`).toEqual(Array(EFFECTS).fill('done'));
        for (const job of jobs) expect(effects.raw.get(job.key), `seed ${seed}: effect ${job.key} called`).toBeGreaterThanOrEqual(1);
      }
      // Every key completed once; an effect re-runs only if it was in flight at a kill (at most once per run per kill).
      expect(effects.raw.size, `seed ${seed}: one key per effect`).toBe(RUNS * EFFECTS);
      const raw = [...effects.raw.values()].reduce((a, b) => a + b, 0);
      expect(raw, `seed ${seed}: ${raw} raw calls for ${RUNS * EFFECTS} effects and ${kills} kills`).toBeLessThanOrEqual(RUNS * EFFECTS + kills * RUNS);
    }
    console.log(`group-commit crash suite (${target.name}): ${SEEDS} seeds x ${RUNS} runs, ${summary.inBatch} kills inside a batch, ${summary.random} at random times`);
    expect(summary.inBatch).toBeGreaterThanOrEqual(Math.floor(SEEDS / 2));
  }, 10 * 60_000);
});
