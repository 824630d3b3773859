import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '@spine/store-sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, spawnSpine } from './support/spawnSpine.js';

// A run whose process was SIGKILLed while its activity was in flight leaves a job
// marked running under a dead host. Commands that only read, or only record a
// decision, must leave that job alone: on today's main `spine approve` with nothing
// pending claimed it, started the activity and dropped it again on exit.
const machines = join(repoRoot, 'test/fixtures/crash-machines');

/** An effect endpoint that never answers: the activity stays in flight until its process dies. */
class HangingEffect {
  calls = 0;
  server!: Server;
  url = '';
  async start() {
    this.server = createServer(() => {
      this.calls++; // never answered
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/effect`;
  }
}

/** The run's jobs as the store lists them (a read-only store: nothing is written). */
async function jobs(db: string) {
  const store = await SqliteStore.open(db, { readonly: true });
  try {
    return (await store.listJobs({})).map(({ key, status, attempts, owner }) => ({ key, status, attempts, owner }));
  } finally {
    await store.close();
  }
}

async function firstRunId(db: string): Promise<string> {
  const store = await SqliteStore.open(db, { readonly: true });
  try {
    return (await store.listActors({ rootsOnly: true, limit: 1 }))[0]!.runId;
  } finally {
    await store.close();
  }
}

describe('commands that only read or record a decision', () => {
  const effect = new HangingEffect();
  beforeAll(() => effect.start());
  afterAll(() => {
    effect.server.closeAllConnections();
    effect.server.close();
  });

  it('never claim, start or drop a crashed run’s in-flight job', async () => {
    const db = join(mkdtempSync(join(tmpdir(), 'spine-nohost-')), 'spine.db');
    const env = { SPINE_TEST_EFFECT_URL: effect.url, SPINE_SECRET: 'no-host-suite-secret-0123456789' };
    const common = ['--db', db, '--machines', machines];
    const killed = await spawnSpine(['run', 'steps20', ...common], { env, killWhen: () => effect.calls > 0 });
    expect(killed.signal).toBe('SIGKILL');
    const before = await jobs(db);
    expect(before).toMatchObject([{ status: 'running', attempts: 1 }]);
    const runId = await firstRunId(db);
    const calls = effect.calls;

    const approve = await spawnSpine(['approve', runId, '--as', 'ada', ...common], { env });
    expect(approve.code, approve.stderr).toBe(2);
    expect(approve.stderr).toContain('has no pending approval');
    const reject = await spawnSpine(['reject', runId, '--as', 'ada', '--reason', 'no', ...common], { env });
    expect(reject.code).toBe(2);
    for (const args of [['approvals'], ['show', runId]]) {
      const read = await spawnSpine([...args, ...common], { env });
      expect(read.code, `${args.join(' ')}: ${read.stderr}`).toBe(0);
    }

    expect(await jobs(db)).toEqual(before); // same status, attempts and (dead) owner
    expect(effect.calls).toBe(calls); // the activity was not started again
  });
});
