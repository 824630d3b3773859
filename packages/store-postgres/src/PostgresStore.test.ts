import { SpineError } from '@spine/runtime';
import { runStoreContract } from '@spine/runtime/testing';
import { describe, expect, it } from 'vitest';
import { freshPostgresUrl, withPostgres } from '../../../test/support/postgres.js';
import { migrations } from './migrations.js';
import { PostgresStore } from './PostgresStore.js';

runStoreContract(() => PostgresStore.open(freshPostgresUrl('contract')));

const refusal = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => error as SpineError);

describe('PostgresStore opening a database', () => {
  it("refuses a schema holding another application's tables and writes nothing to it", async () => {
    const url = freshPostgresUrl('foreign');
    const schema = new URL(url).searchParams.get('schema')!;
    await withPostgres(url, async (c) => {
      await c.query(`CREATE SCHEMA ${schema}`);
      await c.query(`CREATE TABLE ${schema}.customers (id int)`);
    });
    const error = await refusal(PostgresStore.open(url));
    expect(error).toBeInstanceOf(SpineError);
    expect(error).toMatchObject({ code: 'store_refused', message: expect.stringMatching(/another application's tables \(customers\)/) });
    const tables = await withPostgres(url, async (c) => (await c.query('SELECT table_name FROM information_schema.tables WHERE table_schema = $1', [schema])).rows);
    expect(tables).toEqual([{ table_name: 'customers' }]);
  });

  it('refuses a database written by a newer Spine, naming both schema versions', async () => {
    const url = freshPostgresUrl('newer');
    await (await PostgresStore.open(url)).close();
    await withPostgres(url, (c) => c.query("UPDATE spine_meta SET value = $1 WHERE key = 'schema_version'", [String(migrations.length + 1)]));
    const error = await refusal(PostgresStore.open(url));
    expect(error).toMatchObject({ code: 'store_refused', message: expect.stringMatching(new RegExp(`newer Spine \\(schema ${migrations.length + 1}; this one knows up to ${migrations.length}\\)`)) });
  });

  it('lets several hosts open a new database at once: one creates the tables, every one uses them', async () => {
    const url = freshPostgresUrl('race');
    const stores = await Promise.all([1, 2, 3, 4].map(() => PostgresStore.open(url)));
    try {
      await stores[0]!.saveMachineVersion('m', 'v1', '{}');
      expect(await stores[3]!.getMachineVersion('m', 'v1')).toBe('{}');
      expect(await stores[2]!.verifyAudit()).toMatchObject({ ok: true, rows: 1 });
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  it('opens read-only without creating anything, and refuses an empty database then', async () => {
    const url = freshPostgresUrl('readonly');
    expect(await refusal(PostgresStore.open(url, { readonly: true }))).toMatchObject({ code: 'store_refused', message: expect.stringMatching(/No Spine database/) });
    await (await PostgresStore.open(url)).close();
    const reader = await PostgresStore.open(url, { readonly: true });
    try {
      expect(await reader.listActors()).toEqual([]);
      expect(await refusal(reader.appendAudit([{ at: 1, runId: null, actorId: null, kind: 'activity.logged', who: 'x', subject: null, detail: '{}' }]))).toMatchObject({ code: 'storage_read_only' });
    } finally {
      await reader.close();
    }
  });

  it('says the server is unreachable, naming it without the password', async () => {
    const error = await refusal(PostgresStore.open('postgres://spine:hunter2@127.0.0.1:1/spine', { connectTimeoutMs: 2000 }));
    expect(error).toMatchObject({ code: 'storage_busy', message: expect.stringMatching(/PostgreSQL server at postgres:\/\/127\.0\.0\.1:1\/spine is unreachable/) });
    expect((error as Error).message).not.toContain('hunter2');
  });

  it('refuses a URL that is not PostgreSQL, and a schema name that is not an identifier', async () => {
    expect(await refusal(PostgresStore.open('mysql://x@y/z'))).toMatchObject({ code: 'store_refused' });
    expect(await refusal(PostgresStore.open('postgres://x@127.0.0.1:1/z?schema=a;drop'))).toMatchObject({ code: 'store_refused', message: expect.stringMatching(/Schema name/) });
  });
});

describe('PostgresStore audit log', () => {
  it('refuses to change or delete an audit row, and reports rows removed behind its back', async () => {
    const url = freshPostgresUrl('audit');
    const store = await PostgresStore.open(url, { secret: 'test-secret' });
    try {
      const row = { at: 1, runId: 'r', actorId: 'r', kind: 'activity.logged' as const, who: 'agent', subject: 's', detail: '{}' };
      await store.appendAudit([row, row, row]);
      await expect(withPostgres(url, (c) => c.query("UPDATE audit_log SET who = 'mallory'"))).rejects.toThrow(/append-only/);
      await expect(withPostgres(url, (c) => c.query('DELETE FROM audit_log WHERE seq = 3'))).rejects.toThrow(/append-only/);
      expect(await store.verifyAudit()).toMatchObject({ ok: true, rows: 3 });
      await withPostgres(url, async (c) => {
        await c.query('ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update');
        await c.query('DELETE FROM audit_log WHERE seq = 3');
      });
      expect(await store.verifyAudit()).toMatchObject({ ok: false, firstBadSeq: 3, reason: expect.stringMatching(/rows 3 to 3 were removed/) });
    } finally {
      await store.close();
    }
  });

  it('keeps one unbroken chain when many writers append at once', async () => {
    const url = freshPostgresUrl('chain');
    const stores = await Promise.all([1, 2, 3].map(() => PostgresStore.open(url)));
    try {
      const row = (i: number) => ({ at: i, runId: 'r', actorId: 'r', kind: 'activity.logged' as const, who: 'agent', subject: String(i), detail: '{}' });
      await Promise.all(Array.from({ length: 60 }, (_, i) => stores[i % 3]!.appendAudit([row(i), row(i)])));
      expect(await stores[0]!.verifyAudit()).toMatchObject({ ok: true, rows: 120 });
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });
});

describe('PostgresStore claiming work', () => {
  it("skips an actor another transaction holds instead of waiting for it, and keeps an actor it owns while one of its own commits holds the row", async () => {
    const store = await PostgresStore.open(freshPostgresUrl('claim'));
    const other = await store.pool.connect();
    try {
      const init = (id: string) => ({ actorId: id, type: 'xstate.init', event: '{"type":"xstate.init"}', dueAt: 0, source: 'external' });
      await store.createActors(
        ['a', 'b', 'c'].map((id) => ({ id, runId: id, parentId: null, childKey: null, machine: 'm', version: 'v1', owner: id === 'c' ? 'host-1' : null })),
        ['a', 'b', 'c'].map(init),
      );
      for (const id of ['host-1', 'host-2']) await store.heartbeat({ id, hostname: 'test', pid: 1, startedAt: 0, heartbeatAt: 0 }, 600_000);
      await other.query('BEGIN');
      await other.query("SELECT id FROM actors WHERE id IN ('a', 'c') FOR UPDATE");
      const started = Date.now();
      expect((await store.claimActors(['a', 'b', 'c'], 'host-1', [])).sort()).toEqual(['b', 'c']);
      expect(Date.now() - started).toBeLessThan(2_000); // it did not wait for the lock
      await other.query('ROLLBACK');
      expect(await store.claimActors(['a'], 'host-1', [])).toEqual(['a']);
      expect(await store.claimActors(['a'], 'host-2', [])).toEqual([]);
      expect(await store.claimActors(['a'], 'host-2', ['host-1'])).toEqual(['a']);
    } finally {
      other.release();
      await store.close();
    }
  });
});

describe('PostgresStore transactions and copies', () => {
  it('copies an audit log verbatim into an empty store, and chains it anew after the rows of a store that has some', async () => {
    const source = await PostgresStore.open(freshPostgresUrl('copysrc'));
    const empty = await PostgresStore.open(freshPostgresUrl('copyempty'));
    const busy = await PostgresStore.open(freshPostgresUrl('copybusy'));
    try {
      const row = (subject: string) => ({ at: 1, runId: 'r', actorId: 'r', kind: 'activity.logged' as const, who: 'agent', subject, detail: '{}' });
      await source.appendAudit([row('one'), row('two')]);
      const audit = await source.listAudit();
      const copy = { machineVersions: [], actors: [], events: [], history: [], jobs: [], approvals: [], decisions: [], audit, deadLetters: [] };
      await empty.importCopy(copy);
      expect(await empty.listAudit()).toEqual(audit);
      expect(await empty.verifyAudit()).toMatchObject({ ok: true, rows: 2, head: audit[1]!.hash });
      await busy.appendAudit([row('already here')]);
      expect(await busy.isEmpty()).toBe(false);
      await busy.importCopy(copy);
      expect((await busy.listAudit()).map((a) => [a.seq, a.subject])).toEqual([[1, 'already here'], [2, 'one'], [3, 'two']]);
      expect(await busy.verifyAudit()).toMatchObject({ ok: true, rows: 3 });
    } finally {
      await Promise.all([source.close(), empty.close(), busy.close()]);
    }
  });
});

describe('PostgresStore waking hosts (LISTEN/NOTIFY)', () => {
  /** Resolves when `listener` has been called `n` times in all, or rejects after 10 s. */
  function counter() {
    let calls = 0;
    const waiters: { n: number; resolve: () => void }[] = [];
    const listener = () => {
      calls++;
      for (const w of waiters.filter((w) => calls >= w.n)) w.resolve();
    };
    const reach = (n: number) =>
      new Promise<void>((resolve, reject) => {
        if (calls >= n) return resolve();
        const timer = setTimeout(() => reject(new Error(`the listener was called ${calls} times, not ${n}`)), 10_000);
        waiters.push({ n, resolve: () => (clearTimeout(timer), resolve()) });
      });
    return { listener, reach, calls: () => calls };
  }

  /**
   * The backend pids LISTENing on the schema's wake channel: their LISTEN has finished (idle), so it
   * is committed; a NOTIFY committed while it still runs is not delivered to it.
   */
  const listeners = (url: string, schema: string) =>
    withPostgres(url, async (c) => (await c.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE query = $1 AND state = 'idle'", [`LISTEN "spine_wake_${schema}"`])).rows.map((r) => r.pid));

  it("wakes a host of another store on the same schema, not one on another schema, and listens again after its connection is ended", async () => {
    const url = freshPostgresUrl('wake');
    const schema = new URL(url).searchParams.get('schema')!;
    const host = await PostgresStore.open(url);
    const sender = await PostgresStore.open(url);
    const elsewhere = await PostgresStore.open(freshPostgresUrl('wake_other'));
    try {
      const ours = counter();
      const theirs = counter();
      host.onWake(ours.listener);
      elsewhere.onWake(theirs.listener);
      await expect.poll(() => listeners(url, schema), { timeout: 10_000 }).toHaveLength(1);
      sender.wakeHosts();
      await ours.reach(1);

      // An administrator (or a server restart) ends the listening connection: it comes back and says so.
      const [pid] = await listeners(url, schema);
      await withPostgres(url, (c) => c.query('SELECT pg_terminate_backend($1)', [pid]));
      await ours.reach(2); // the listener is told once it listens again: a wake may have been missed meanwhile
      await expect.poll(() => listeners(url, schema), { timeout: 10_000 }).toHaveLength(1);
      expect((await listeners(url, schema))[0]).not.toBe(pid);
      sender.wakeHosts();
      await ours.reach(3);
      expect(theirs.calls()).toBe(0);
    } finally {
      await Promise.all([host.close(), sender.close(), elsewhere.close()]);
    }
    expect(await listeners(url, schema)).toEqual([]); // close ends the listening connection
  });

  it('stops listening when the last listener unsubscribes', async () => {
    const url = freshPostgresUrl('unwake');
    const schema = new URL(url).searchParams.get('schema')!;
    const store = await PostgresStore.open(url);
    try {
      const stop = store.onWake(() => {});
      await expect.poll(() => listeners(url, schema), { timeout: 10_000 }).toHaveLength(1);
      stop();
      await expect.poll(() => listeners(url, schema), { timeout: 10_000 }).toEqual([]);
    } finally {
      await store.close();
    }
  });
});

describe('PostgresStore history feed', () => {
  it('never lets a live tail skip a step that commits after a later-numbered one', async () => {
    const store = await PostgresStore.open(freshPostgresUrl('feed'));
    const blocker = await store.pool.connect();
    try {
      const init = (id: string) => ({ actorId: id, type: 'xstate.init', event: '{"type":"xstate.init"}', dueAt: 0, source: 'external' });
      await store.createActors(
        ['slow', 'fast'].map((id) => ({ id, runId: id, parentId: null, childKey: null, machine: 'm', version: 'v1', owner: null })),
        ['slow', 'fast'].map(init),
      );
      const move = (actorId: string, audit: boolean) => ({
        actorId,
        expectedSeq: 0,
        from: 'v1',
        to: 'v2',
        at: 1,
        history: { actorId, runId: actorId, seq: 1, eventType: 'spine.version.moved', event: '{"type":"spine.version.moved"}', stateValue: '"idle"', snapshot: '{"value":"idle","context":{}}', status: 'active' as const, version: 'v2', emitted: null, startedAt: 1, durationUs: 1 },
        ...(audit ? { audit: [{ at: 1, runId: actorId, actorId, kind: 'machine.version' as const, who: 'test', subject: actorId, detail: '{}' }] } : {}),
      });
      // The slow move inserts its history row, then waits for the audit anchor this connection holds.
      await blocker.query('BEGIN');
      await blocker.query("SELECT value FROM spine_meta WHERE key = 'audit_anchor' FOR UPDATE");
      const slow = store.moveActorVersion(move('slow', true));
      await expect.poll(async () => (await store.pool.query("SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%audit_anchor%'")).rowCount, { timeout: 10_000 }).toBe(1);
      // The fast move takes the next row id and commits first.
      expect(await store.moveActorVersion(move('fast', false))).toBe(true);

      // A tail reading now must not move past the slow step's row id.
      const seen: string[] = [];
      let cursor = 0;
      const tail = async () => {
        for (const row of await store.historySince(cursor, 100)) {
          seen.push(row.actorId);
          cursor = row.rowId;
        }
      };
      await tail();
      expect(await store.historyHead()).toBeLessThanOrEqual(cursor);
      await blocker.query('COMMIT');
      expect(await slow).toBe(true);
      await tail();
      expect(seen.sort()).toEqual(['fast', 'slow']);
      expect(await store.historyHead()).toBe(cursor);
    } finally {
      blocker.release();
      await store.close();
    }
  });
});
