import { seededRandom } from '@spine/llm';
import { vi } from 'vitest';
import { PostgresStore } from '@spine/store-postgres';
import { freshPostgresUrl } from '../../support/postgres.js';
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
  const random = seededRandom(seed);
  const selected = all ? cases : cases.map((c) => ({ c, k: random() })).sort((a, b) => a.k - b.k).slice(0, subset).map(({ c }) => c);
  conformanceSuite(`${name} on postgres`, selected, all ? '' : ` (a seeded subset of ${selected.length} of ${cases.length}, seed ${seed})`);
  // Fewer cases at once than on SQLite: each holds PostgreSQL connections, and a case's hosts share one event loop.
  vi.setConfig({ maxConcurrency: 6 });
}
