import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadMachineDirectory, MachineRegistry } from '@spine/runtime';
import { PostgresStore } from '@spine/store-postgres';
import { tsImport } from 'tsx/esm/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error a plain ESM script without types
import { startPostgres } from '../scripts/postgres-cluster.mjs';
import { EffectServer } from './support/effectServer.js';
import { withPostgres } from './support/postgres.js';
import { repoRoot, spawnSpine, type SpineExit } from './support/spawnSpine.js';

// `pg_ctl restart -m fast` under a real `spine resume` host driving 50 runs of 20 activities:
// its own private cluster (restarting the shared one would disturb every other test file).
const machines = join(repoRoot, 'test/fixtures/crash-machines');
const RUNS = 50;
const EFFECTS = 20;

interface Cluster {
  url: string;
  pgCtlAsync(args: string[]): Promise<string>;
  stop(): Promise<void>;
}

describe('a PostgreSQL restart during runs', () => {
  let cluster: Cluster;
  const effects = new EffectServer();

  beforeAll(async () => {
    cluster = (await startPostgres()) as Cluster;
    await effects.start();
  }, 120_000);

  afterAll(async () => {
    effects.server?.close();
    await cluster?.stop();
  });

  it('lets the host reconnect and finish every run, each effect once and outputs as without the restart', async () => {
    const db = `${cluster.url}?schema=restart`;
    const registry = new MachineRegistry();
    const parent = pathToFileURL(`${machines}/`).href;
    for (const definition of await loadMachineDirectory(machines, { importModule: (url) => tsImport(url, parent) as Promise<Record<string, unknown>> })) registry.register(definition);
    // The runs are stored (as `startRun` stores them) by a process that hosts nothing; `spine resume` does all the work.
    const store = await PostgresStore.open(db);
    const runIds = Array.from({ length: RUNS }, (_, i) => `restart-${String(i).padStart(2, '0')}`);
    try {
      const { version } = await registry.current('steps20', store);
      for (const id of runIds) {
        const actor = { id, runId: id, parentId: null, childKey: null, machine: 'steps20', version, owner: null };
        await store.createActors([actor], [{ actorId: id, type: 'xstate.init', event: JSON.stringify({ type: 'xstate.init' }), dueAt: Date.now(), source: 'external' }]);
      }
    } finally {
      await store.close();
    }

    const host = spawnSpine(['resume', '--db', db, '--machines', machines, '--json'], { env: { SPINE_TEST_EFFECT_URL: effects.url } });
    // Restart once a fifth of the effects are done, while the host is in full swing.
    await expect.poll(() => effects.applied.size, { timeout: 60_000, interval: 20 }).toBeGreaterThanOrEqual((RUNS * EFFECTS) / 5);
    const appliedAtRestart = effects.applied.size;
    const t0 = Date.now();
    await cluster.pgCtlAsync(['restart', '-m', 'fast', '-w', '-t', '60']);
    const restartedMs = Date.now() - t0;
    const exit: SpineExit = await host;
    console.log(`postgres restart: ${appliedAtRestart} of ${RUNS * EFFECTS} effects done at the restart, server back after ${restartedMs} ms, host done ${Date.now() - t0} ms after the restart began`);

    expect(exit.code, exit.stderr).toBe(0);
    expect(appliedAtRestart, 'the restart came before the runs were done').toBeLessThan(RUNS * EFFECTS);
    // One line while the server was away, and no stack trace.
    expect(exit.stderr).toMatch(/spine: PostgreSQL at 127\.0\.0\.1:\d+ unreachable[^\n]*\((ECONNREFUSED|57P01 admin_shutdown|57P03 cannot_connect_now|connection lost)\); retrying in [\d.]+s/);
    expect(exit.stderr).toMatch(/spine: PostgreSQL at 127\.0\.0\.1:\d+ reachable again after [\d.]+s/);
    expect(exit.stderr).not.toMatch(/\n\s+at /);

    const outcomes = JSON.parse(exit.stdout) as { runId: string; status: string; output: { results: number[]; error: string | null } }[];
    expect(outcomes).toHaveLength(RUNS);
    // The uninterrupted answer of every run: effect i answers i * 7 + 1.
    const expected = { results: Array.from({ length: EFFECTS }, (_, i) => i * 7 + 1), error: null };
    for (const outcome of outcomes) expect(outcome, outcome.runId).toEqual({ status: 'done', runId: outcome.runId, output: expected });
    expect(effects.applied.size, 'each effect key completed once').toBe(RUNS * EFFECTS);

    await withPostgres(db, async (c) => {
      // Per run: init, 20 results and the timer, in consecutive steps; one finished job per effect.
      const { rows } = await c.query<{ run_id: string; seqs: number[] }>('SELECT run_id, array_agg(seq ORDER BY seq) AS seqs FROM history GROUP BY run_id ORDER BY run_id');
      expect(rows.map((r) => r.run_id)).toEqual(runIds);
      for (const row of rows) expect(row.seqs.map(Number), row.run_id).toEqual(Array.from({ length: EFFECTS + 2 }, (_, i) => Number(row.seqs[0]) + i));
      const jobs = await c.query<{ status: string; n: string }>('SELECT status, COUNT(*) AS n FROM jobs GROUP BY status');
      expect(jobs.rows).toEqual([{ status: 'done', n: String(RUNS * EFFECTS) }]);
    });
  }, 240_000);
});
