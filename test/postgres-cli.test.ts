import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRuntime, defineActivity, ensureSecret, readSecret, defineMachine, SimulatedClock, type MachineDefinition, type Runtime, type Store } from '@spine/runtime';
import { PostgresStore } from '@spine/store-postgres';
import { SqliteStore } from '@spine/store-sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { freshPostgresUrl } from './support/postgres.js';
import { repoRoot, spawnSpine } from './support/spawnSpine.js';

// The real `spine` process on PostgreSQL (--db postgres://… and SPINE_DB), and `spine copy`
// moving an SQLite database with runs in every condition into PostgreSQL, where they finish.
const machines = join(repoRoot, 'packages/cli/test-machines');
const SECRET = 'copy-test-secret';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

describe('spine on PostgreSQL', () => {
  it('runs, sends to and shows a run with --db postgres://…, and lists it through SPINE_DB', async () => {
    const db = freshPostgresUrl('cli');
    const started = await spawnSpine(['run', 'door', '--db', db, '--machines', machines, '--input', '{"name":"front"}', '--json']);
    expect(started.code, started.stderr).toBe(3);
    const { runId } = JSON.parse(started.stdout) as { runId: string };
    for (const event of ['{"type":"door.open","by":"ada"}', '{"type":"door.close"}']) {
      const sent = await spawnSpine(['send', runId, event, '--db', db, '--machines', machines]);
      expect(sent.code, sent.stderr).toBe(0);
    }
    const locked = await spawnSpine(['send', runId, '{"type":"door.lock"}', '--db', db, '--machines', machines, '--json']);
    expect(JSON.parse(locked.stdout).outcome).toEqual({ status: 'done', runId, output: { name: 'front', openedBy: ['ada'] } });

    const shown = await spawnSpine(['show', runId, '--db', db, '--json']);
    expect(shown.code, shown.stderr).toBe(0);
    expect((JSON.parse(shown.stdout) as { steps: { event: { type: string } }[] }).steps.map((s) => s.event.type)).toEqual(['xstate.init', 'door.open', 'door.close', 'door.lock']);
    const listed = await spawnSpine(['runs', '--json'], { env: { SPINE_DB: db } });
    expect(JSON.parse(listed.stdout)).toMatchObject([{ runId, status: 'done', steps: 4 }]);
    const audit = await spawnSpine(['audit', '--verify', '--db', db]);
    expect(audit.code, audit.stderr).toBe(0);
    expect(audit.stdout).toMatch(/audit log intact/);
  }, 120_000);

  it('says there is no Spine database at an empty PostgreSQL schema, and names an unreachable server', async () => {
    const empty = await spawnSpine(['runs', '--db', freshPostgresUrl('empty')]);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/No Spine database at postgres:\/\/127\.0\.0\.1:\d+\/postgres \(schema spine_empty_/);
    const down = await spawnSpine(['runs', '--db', 'postgres://spine:secret@127.0.0.1:1/spine']);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/PostgreSQL server at postgres:\/\/127\.0\.0\.1:1\/spine is unreachable/);
    expect(down.stderr).not.toContain('secret@');
  }, 60_000);
});

describe('a database URL where a file path belongs', () => {
  it('is refused by name and leaves no file behind, for the SQLite store and the secret file alike', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'spine-url-path-'));
    // `--db "$URL?schema=x2"` with $URL empty, and a URL handed to the SQLite store directly.
    const run = await spawnSpine(['run', 'door', '--db', '?schema=x2', '--machines', machines], { cwd });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/'\?schema=x2' is a database URL \(or the query of one\), not an SQLite file path/);
    await expect(SqliteStore.open(join(cwd, '?schema=x2'))).rejects.toMatchObject({ code: 'store_refused' });
    await expect(SqliteStore.open('postgres://spine:pw@127.0.0.1:1/db?schema=x2')).rejects.toThrow(/'postgres:\/\/spine:\*\*\*@127\.0\.0\.1:1\/db\?schema=x2' is a database URL/);
    expect(() => ensureSecret('postgres://127.0.0.1:1/db?schema=x2', {})).toThrow(/set SPINE_SECRET/);
    expect(readSecret('postgres://127.0.0.1:1/db?schema=x2', {})).toBeUndefined();
    expect(readdirSync(cwd)).toEqual([]);
  }, 60_000);
});

/** Four machines: one finishes, one sleeps a minute, one waits for a person, one has work in flight. */
function machinesFor(calls: Map<string, number>): MachineDefinition[] {
  const count = (name: string) => async (_input: unknown, ctx: { key: string }) => {
    calls.set(`${name}:${ctx.key}`, (calls.get(`${name}:${ctx.key}`) ?? 0) + 1);
    return { key: ctx.key };
  };
  return [
    defineMachine({ name: 'quick', config: { id: 'quick', initial: 'idle', states: { idle: { on: { go: 'done' } }, done: { type: 'final' } } }, schemas: { events: { go: z.object({}) } } }),
    defineMachine({ name: 'sleeper', config: { id: 'sleeper', initial: 'asleep', states: { asleep: { after: { 60000: 'awake' } }, awake: { type: 'final' } } }, schemas: {} }),
    defineMachine({
      name: 'publisher',
      config: {
        id: 'publisher',
        initial: 'publishing',
        states: { publishing: { meta: { risk: 'medium' }, invoke: { id: 'publish', src: 'publish', onDone: 'published' } }, published: { type: 'final' } },
      },
      schemas: {},
      activities: { publish: defineActivity({ run: count('publish') }) },
    }),
    defineMachine({
      name: 'worker',
      config: { id: 'worker', initial: 'working', states: { working: { invoke: { id: 'work', src: 'work', onDone: 'worked' } }, worked: { type: 'final' } } },
      schemas: {},
      activities: { work: defineActivity({ run: count('work') }) },
    }),
  ];
}

async function host(store: Store, definitions: MachineDefinition[], clock: SimulatedClock, options: { runActivities?: boolean } = {}): Promise<Runtime> {
  const runtime = createRuntime({ store, machines: definitions, clock, secret: SECRET, pollIntervalMs: 10, onError: () => {}, ...options });
  cleanup.push(async () => {
    await runtime.stop();
    await store.close();
  });
  await runtime.start();
  return runtime;
}

describe('spine copy', () => {
  it('copies a database with done, sleeping, approval-waiting and in-flight runs to PostgreSQL, where they resume and finish with history and audit intact', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'spine-copy-')), 'spine.db');
    const clock = new SimulatedClock();
    const calls = new Map<string, number>();
    const definitions = machinesFor(calls);

    // The source: activities never run here, so the worker's job stays pending (in flight at the copy).
    const sqlite = await SqliteStore.open(file, { secret: SECRET });
    const source = await host(sqlite, definitions, clock, { runActivities: false });
    const quick = await source.startRun('quick');
    await source.send(quick.runId, { type: 'go' });
    expect(await source.waitForRun(quick.runId)).toMatchObject({ status: 'done' });
    const sleeper = await source.startRun('sleeper');
    const publisher = await source.startRun('publisher');
    const worker = await source.startRun('worker');
    for (const { runId } of [sleeper, publisher]) await source.waitForRun(runId, { horizonMs: 0 });
    await expect.poll(async () => (await sqlite.listJobs({ runId: worker.runId })).length).toBe(1);
    await source.send(quick.runId, { type: 'go' }).catch(() => {}); // refused: the run is done (a dead letter to copy)
    expect((await sqlite.listApprovals({ status: ['pending'] })).map((a) => a.runId)).toEqual([publisher.runId]);
    expect((await sqlite.listJobs({ runId: worker.runId }))[0]).toMatchObject({ status: 'pending' });
    const sourceHistory = new Map<string, unknown[]>();
    for (const { runId } of [quick, sleeper, publisher, worker]) sourceHistory.set(runId, stripRowIds(await sqlite.runHistory(runId)));
    const sourceAudit = await sqlite.listAudit();
    const sourceLetters = await sqlite.listDeadLetters();
    await source.stop();

    const target = freshPostgresUrl('copy');
    const copied = await spawnSpine(['copy', '--from', file, '--to', target, '--json'], { env: { SPINE_SECRET: SECRET } });
    expect(copied.code, copied.stderr).toBe(0);
    expect(JSON.parse(copied.stdout)).toMatchObject({ runs: 4, unfinished: 3, audit: { ok: true, rows: sourceAudit.length } });
    // Copying again is refused: the target is no longer empty, and nothing is added to it.
    const again = await spawnSpine(['copy', '--from', file, '--to', target], { env: { SPINE_SECRET: SECRET } });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already holds a Spine database.*--into-non-empty/);

    const pg = await PostgresStore.open(target, { secret: SECRET });
    for (const [runId, rows] of sourceHistory) expect(stripRowIds(await pg.runHistory(runId)), runId).toEqual(rows);
    expect(await pg.listAudit()).toEqual(sourceAudit);
    expect((await pg.listDeadLetters()).map(({ id: _id, ...rest }) => rest)).toEqual(sourceLetters.map(({ id: _id, ...rest }) => rest));
    expect(await pg.verifyAudit()).toMatchObject({ ok: true, rows: sourceAudit.length });

    // The target's host takes the runs over: the in-flight work runs once, a person approves, the timer fires.
    const resumed = await host(pg, definitions, clock);
    expect(await resumed.waitForRun(worker.runId)).toMatchObject({ status: 'done' });
    expect(calls.get(`work:${worker.runId}:1:0`)).toBe(1);
    expect(await resumed.waitForRun(publisher.runId, { horizonMs: 0 })).toMatchObject({ status: 'waiting' });
    await resumed.decide({ runId: publisher.runId }, { decision: 'approve', by: 'ada' });
    expect(await resumed.waitForRun(publisher.runId)).toMatchObject({ status: 'done' });
    expect([...calls.keys()].filter((k) => k.startsWith('publish:'))).toHaveLength(1);
    expect(await resumed.waitForRun(sleeper.runId, { horizonMs: 0 })).toMatchObject({ status: 'waiting' });
    clock.advance(60_000);
    await resumed.poke();
    expect(await resumed.waitForRun(sleeper.runId)).toMatchObject({ status: 'done' });
    expect(await resumed.waitForRun(quick.runId)).toMatchObject({ status: 'done' });

    // Every run's history goes on from the copied steps, and the audit chain verifies with the new rows.
    for (const [runId, rows] of sourceHistory) expect(stripRowIds(await pg.runHistory(runId)).slice(0, rows.length)).toEqual(rows);
    expect((await pg.listAudit()).map((a) => a.kind)).toContain('approval.approved');
    expect(await pg.verifyAudit()).toMatchObject({ ok: true });
  }, 90_000);
});

function stripRowIds(rows: { rowId: number }[]): unknown[] {
  return rows.map(({ rowId: _rowId, ...rest }) => rest);
}
