import { connect, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { freshPostgresUrl, withPostgres } from '../../../test/support/postgres.js';
import { PostgresStore } from './PostgresStore.js';

/**
 * A TCP proxy in front of the test server that can lose the answer to the next COMMIT (or the
 * next statement whose protocol messages carry `marker`): it passes it on, drops what the server
 * answers, then cuts both sides, so the client cannot know whether its transaction committed.
 */
class CommitCutter {
  server!: Server;
  #armed = false;
  #marker = 'COMMIT\0';
  readonly #sockets = new Set<Socket>();

  async start(upstream: URL): Promise<number> {
    this.server = createServer((client) => {
      const server = connect(Number(upstream.port), upstream.hostname);
      this.#sockets.add(client).add(server);
      let cut = false;
      client.on('data', (chunk: Buffer) => {
        server.write(chunk);
        if (this.#armed && chunk.includes(this.#marker)) {
          this.#armed = false;
          cut = true;
          setTimeout(() => (client.destroy(), server.destroy()), 300);
        }
      });
      server.on('data', (chunk: Buffer) => void (cut || client.write(chunk)));
      for (const socket of [client, server]) socket.on('error', () => {}).on('close', () => (client.destroy(), server.destroy()));
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as AddressInfo).port;
  }

  /** Loses the answer to the next COMMIT (or statement carrying `marker`) that passes. */
  arm(marker = 'COMMIT\0'): void {
    this.#armed = true;
    this.#marker = marker;
  }

  get armed(): boolean {
    return this.#armed;
  }

  async stop(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/**
 * A store on a fresh schema whose connections go through a CommitCutter (both closed after the
 * test), with one actor `id` and its first event when asked; `url` reaches the schema directly.
 */
async function storeBehindCutter(schema: string, report: (line: string) => void = () => {}, id?: string): Promise<{ store: PostgresStore; cutter: CommitCutter; url: URL }> {
  const url = new URL(freshPostgresUrl(schema));
  const cutter = new CommitCutter();
  const proxied = new URL(url);
  proxied.port = String(await cutter.start(url));
  cleanup.push(() => cutter.stop());
  const store = await PostgresStore.open(proxied.toString(), { reconnect: { report } });
  cleanup.push(() => store.close());
  if (id) {
    await store.createActors([{ id, runId: id, parentId: null, childKey: null, machine: 'm', version: 'v1', owner: null }], [
      { actorId: id, type: 'xstate.init', event: '{"type":"xstate.init"}', dueAt: 0, source: 'external' },
    ]);
  }
  return { store, cutter, url };
}

describe('PostgresStore when the answer to COMMIT is lost', () => {
  it('learns that the transaction committed instead of applying it twice or failing', async () => {
    const lines: string[] = [];
    const { store, cutter, url } = await storeBehindCutter('cut', (line) => lines.push(line));

    const init = (id: string) => ({ actorId: id, type: 'xstate.init', event: '{"type":"xstate.init"}', dueAt: 0, source: 'external' });
    // Creating actors is one statement (its own transaction): its answer is lost.
    cutter.arm('spine_create_actors\0');
    // Run again, this commit would fail on the actor's primary key; an extra event would show too.
    await store.createActors([{ id: 'a', runId: 'a', parentId: null, childKey: null, machine: 'm', version: 'v1', owner: null }], [init('a')]);
    expect(cutter.armed, 'the answer to the statement was lost').toBe(false);
    cutter.arm();
    await store.appendAudit([{ at: 1, runId: 'a', actorId: 'a', kind: 'activity.logged', who: 'agent', subject: 'once', detail: '{}' }]);
    expect(cutter.armed).toBe(false);

    const counts = await withPostgres(url.toString(), async (c) => (await c.query<{ actors: string; events: string; audit: string }>('SELECT (SELECT COUNT(*) FROM actors) AS actors, (SELECT COUNT(*) FROM events) AS events, (SELECT COUNT(*) FROM audit_log) AS audit')).rows[0]);
    expect(counts).toEqual({ actors: '1', events: '1', audit: '1' });
    expect(await store.verifyAudit()).toMatchObject({ ok: true, rows: 1 });
    expect(await store.getActor('a')).toMatchObject({ id: 'a', status: 'active' });
  });

  it('learns that a pipelined step commit committed, so the step is neither refused nor written twice', async () => {
    const { store, cutter, url } = await storeBehindCutter('cutstep');
    // Created by another store: this one does not know the actor's base, so its step reads first (the pipelined path).
    const creator = await PostgresStore.open(url.toString());
    await creator.createActors([{ id: 's', runId: 's', parentId: null, childKey: null, machine: 'm', version: 'v1', owner: null }], [
      { actorId: 's', type: 'xstate.init', event: '{"type":"xstate.init"}', dueAt: 0, source: 'external' },
    ]);
    await creator.close();
    const [event] = await store.nextEvents('s', Number.MAX_SAFE_INTEGER, 1);
    const snapshot = JSON.stringify({ status: 'active', value: 'a', context: {}, children: {} });
    cutter.arm();
    // The plain step takes the two-round-trip pipelined path; run again blindly, it would find its seq moved ('conflict').
    const result = await store.commitStep({
      actorId: 's', expectedSeq: 0, eventId: event!.id, snapshot, stateValue: '"a"', status: 'active', output: null, error: null,
      history: { eventType: 'xstate.init', event: '{"type":"xstate.init"}', version: 'v1', emitted: null, startedAt: 1, durationUs: 5 },
      messages: [], cancelTimers: [], jobs: [], cancelJobs: [], spawn: [], stop: [], deadLetters: [],
    });
    expect(cutter.armed, 'the answer to COMMIT was lost').toBe(false);
    expect(result).toEqual({ ok: true });
    expect((await store.getActor('s'))!.seq).toBe(1);
    expect((await store.history('s')).map((h) => h.seq)).toEqual([1]);
  });

  // One entry takes its own statement (scalar parameters); several take the array statement.
  it.each([
    { statement: 'one entry, its own statement', ids: ['t'], marker: 'spine_trip_one_' },
    { statement: 'two entries, the array statement', ids: ['t', 'v'], marker: 'spine_trip_commit\0' },
  ])('learns that a one-trip activity commit ($statement) committed when all its answers were lost, so no result is refused or applied twice', async ({ ids, marker }) => {
    const { store, cutter } = await storeBehindCutter(`cuttrip${ids.length}`, undefined, ids[0]);
    if (ids[1]) await store.createActors([{ id: ids[1], runId: ids[1], parentId: null, childKey: null, machine: 'm', version: 'v1', owner: null }], [{ actorId: ids[1], type: 'xstate.init', event: '{"type":"xstate.init"}', dueAt: 0, source: 'external' }]);
    await store.claimActors(ids, 'h1', []);
    const entries = [];
    for (const id of ids) {
      const fence = { owner: 'h1', epoch: (await store.getActor(id))!.ownerEpoch };
      const [init] = await store.nextEvents(id, Number.MAX_SAFE_INTEGER, 1);
      const stepOf = (expectedSeq: number, eventId: number | null) => ({
        actorId: id, expectedSeq, fence, eventId, snapshot: JSON.stringify({ status: 'active', value: `s${expectedSeq + 1}`, context: {}, children: {} }), stateValue: `"s${expectedSeq + 1}"`,
        status: 'active' as const, output: null, error: null, history: { eventType: 'x', event: '{"type":"x"}', version: 'v1', emitted: null, startedAt: 1, durationUs: 5 },
        messages: [], cancelTimers: [], cancelJobs: [], spawn: [], stop: [], deadLetters: [],
        jobs: [{ key: `${id}:${expectedSeq + 1}`, actorId: id, runId: id, childId: 'w', src: 'work', input: '{}', runAt: 0, claimedBy: 'h1' }],
      });
      expect(await store.commitStep(stepOf(0, init!.id))).toEqual({ ok: true });
      const event = { actorId: id, type: 'xstate.done.actor.w', event: '{"type":"xstate.done.actor.w"}', dueAt: 5, source: `activity:${id}:1` };
      entries.push({ completion: { key: `${id}:1`, owner: 'h1', attempt: 1, status: 'done' as const, output: '{}', error: null, journal: '[]', event }, step: stepOf(1, null) });
    }
    // The store committed seq 1 itself, so this is one statement (its own transaction), whose answer is lost.
    cutter.arm(marker);
    const result = await store.commitBatch(entries);
    expect(cutter.armed, 'the answers were lost').toBe(false);
    expect(result).toEqual(ids.map(() => ({ ok: true })));
    for (const id of ids) {
      expect(await store.getActor(id)).toMatchObject({ seq: 2 });
      expect((await store.history(id)).map((h) => h.seq)).toEqual([1, 2]);
      expect(await store.getJob(`${id}:1`)).toMatchObject({ status: 'done', attempts: 1 });
      expect(await store.getJob(`${id}:2`)).toMatchObject({ status: 'running', owner: 'h1', attempts: 1 });
      expect(await store.nextEvents(id, Number.MAX_SAFE_INTEGER, 10)).toEqual([]);
    }
  });

  it('learns that a one-trip mailbox step committed when its answer was lost, so it is neither refused nor written twice', async () => {
    const { store, cutter } = await storeBehindCutter('cutmail', undefined, 'u');
    await store.claimActors(['u'], 'h1', []);
    const fence = { owner: 'h1', epoch: (await store.getActor('u'))!.ownerEpoch };
    const [init] = await store.nextEvents('u', Number.MAX_SAFE_INTEGER, 1);
    // The store created the actor, so its first step is one statement (its own transaction), whose answer is lost.
    cutter.arm('spine_trip_one_');
    const result = await store.commitStep({
      actorId: 'u', expectedSeq: 0, fence, eventId: init!.id, snapshot: JSON.stringify({ status: 'active', value: 'a', context: {}, children: {} }), stateValue: '"a"',
      status: 'active', output: null, error: null, history: { eventType: 'xstate.init', event: '{"type":"xstate.init"}', version: 'v1', emitted: null, startedAt: 1, durationUs: 5 },
      messages: [], cancelTimers: [], cancelJobs: [], spawn: [], stop: [], deadLetters: [],
      jobs: [{ key: 'u:1', actorId: 'u', runId: 'u', childId: 'w', src: 'work', input: '{}', runAt: 0, claimedBy: 'h1' }],
    });
    expect(cutter.armed, 'the answer was lost').toBe(false);
    expect(result).toEqual({ ok: true });
    expect(await store.getActor('u')).toMatchObject({ seq: 1 });
    expect((await store.history('u')).map((h) => h.seq)).toEqual([1]);
    expect(await store.getJob('u:1')).toMatchObject({ status: 'running', owner: 'h1', attempts: 1 });
    expect(await store.nextEvents('u', Number.MAX_SAFE_INTEGER, 10)).toEqual([]);
  });

  it('goes on after the server ends its idle pooled connections (as at a restart), without crashing the process', async () => {
    // Named, so that only this store's connections are ended: other test files share the server and its database.
    const named = new URL(freshPostgresUrl('drop'));
    const name = `spine-drop-${named.searchParams.get('schema')!.slice(-10)}`;
    named.searchParams.set('application_name', name);
    const url = named.toString();
    const store = await PostgresStore.open(url);
    cleanup.push(() => store.close());
    const init = (id: string) => ({ actorId: id, type: 'xstate.init', event: '{"type":"xstate.init"}', dueAt: 0, source: 'external' });
    await store.createActors([{ id: 'b', runId: 'b', parentId: null, childKey: null, machine: 'm', version: 'v1', owner: null }], [init('b')]);
    // Every idle connection of the store is ended by the server (as at a restart), then reads go on.
    const ended = await withPostgres(url, async (c) =>
      (await c.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND application_name = $1 AND query NOT LIKE 'LISTEN%' AND state = 'idle'", [name])).rowCount,
    );
    expect(ended).toBeGreaterThan(0);
    expect(await store.getActor('b')).toMatchObject({ id: 'b' });
    await store.enqueue([{ actorId: 'b', type: 'go', event: '{"type":"go"}', dueAt: 0, source: 'external' }]);
    const events = await withPostgres(url, async (c) => (await c.query('SELECT type FROM events ORDER BY id')).rows.map((r: { type: string }) => r.type));
    expect(events).toEqual(['xstate.init', 'go']);
  });
});
