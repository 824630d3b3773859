import { seededRandom } from '@spine/llm';
import { vi } from 'vitest';
import { PostgresStore } from '@spine/store-postgres';
import { freshPostgresUrl, withPostgres } from '../../support/postgres.js';
import type { ConformanceCase } from './MachineSpec.js';
import { durableStore } from './runDurable.js';
import { conformanceSuite } from './suite.js';

/**
 * A corpus on the PostgreSQL store: variants (b) warm and (c) restarted before every input, each
 * case in its own schema. CI runs a seeded subset of `subset` cases (the SQLite suites run them
 * all); SPINE_CONFORMANCE_PG=all runs every case, SPINE_CONFORMANCE_SEED picks another subset.
 */
export function conformanceOnPostgres(name: string, cases: ConformanceCase[], subset: number): void {
  const all = process.env.SPINE_CONFORMANCE_PG === 'all';
  const seed = Number(process.env.SPINE_CONFORMANCE_SEED ?? 11);
  const schemas = new Map<string, string>();
  // A case's file name is stable across its restarts, so it names one schema for all of them.
  durableStore.open = (file) => {
    let url = schemas.get(file);
    if (!url) schemas.set(file, (url = freshPostgresUrl('conf')));
    return PostgresStore.open(url, { maxConnections: 4 });
  };
  durableStore.settleMs = 20_000;
  durableStore.describe = (store, now) => describeStall(store as PostgresStore, now, [...schemas.values()].find((url) => new URL(url).searchParams.get('schema') === (store as PostgresStore).schema));
  const random = seededRandom(seed);
  const selected = all ? cases : cases.map((c) => ({ c, k: random() })).sort((a, b) => a.k - b.k).slice(0, subset).map(({ c }) => c);
  conformanceSuite(`${name} on postgres`, selected, all ? '' : ` (a seeded subset of ${selected.length} of ${cases.length}, seed ${seed})`);
  // Fewer cases at once than on SQLite: each holds PostgreSQL connections, and a case's hosts share one event loop.
  vi.setConfig({ maxConcurrency: 6 });
}

/**
 * What a stalled case's message quotes: the pool's connections, the server's clock beside the
 * harness's, and the run's rows (actors with owner and epoch, events, jobs, hosts with lease), read
 * on a connection of its own (the store's pool may be the thing that is stuck).
 */
async function describeStall(store: PostgresStore, now: number, url: string | undefined): Promise<string> {
  const pool = `pool: total ${store.pool.totalCount}, idle ${store.pool.idleCount}, waiting ${store.pool.waitingCount}`;
  if (!url) return pool;
  return withPostgres(url, async (client) => {
    const rows = async (sql: string) => JSON.stringify((await client.query(sql)).rows);
    return [
      `${pool}; harness clock ${now}, Date.now() ${Date.now()}, server ${await rows('SELECT spine_now_ms() AS now')}`,
      `actors: ${await rows('SELECT id, status, owner, owner_epoch, seq, state_value FROM actors ORDER BY id')}`,
      `events: ${await rows('SELECT id, actor_id, type, due_at, source FROM events ORDER BY id')}`,
      `jobs: ${await rows('SELECT key, status, owner, attempts, run_at FROM jobs ORDER BY created_at, key')}`,
      `hosts: ${await rows('SELECT id, pid, heartbeat_at, lease_until FROM hosts ORDER BY id')}`,
      // Every other session of the server (other cases' too): one idle in a transaction, or waiting on a lock, holds rows up.
      `sessions: ${await rows("SELECT pid, state, wait_event_type, wait_event, (now() - xact_start)::text AS in_xact, left(query, 100) AS query FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND (state <> 'idle' OR wait_event_type = 'Lock')")}`,
    ].join('\n');
  });
}
