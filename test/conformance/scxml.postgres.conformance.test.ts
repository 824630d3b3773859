import { seededRandom } from '@spine/llm';
import { vi } from 'vitest';
import { PostgresStore } from '@spine/store-postgres';
import { freshPostgresUrl } from '../support/postgres.js';
import { scxmlCases } from './corpus/scxmlCases.js';
import { durableStore } from './harness/runDurable.js';
import { conformanceSuite } from './harness/suite.js';

// The SCXML corpus on the PostgreSQL store, as xstate.postgres.conformance.test.ts does for the
// xstate corpus: variants (b) warm and (c) restarted before every input, each case in its own
// schema. CI runs a seeded subset (the SQLite suite runs them all); SPINE_CONFORMANCE_PG=all runs
// every case, SPINE_CONFORMANCE_SEED picks another subset.
const ALL = process.env.SPINE_CONFORMANCE_PG === 'all';
const SEED = Number(process.env.SPINE_CONFORMANCE_SEED ?? 11);
const CI_SUBSET = 20;

const schemas = new Map<string, string>();
// A case's file name is stable across its restarts, so it names one schema for all of them.
durableStore.open = (file) => {
  let url = schemas.get(file);
  if (!url) schemas.set(file, (url = freshPostgresUrl('scxml')));
  return PostgresStore.open(url, { maxConnections: 4 });
};

const { cases } = scxmlCases();
const random = seededRandom(SEED);
const selected = ALL ? cases : cases.map((c) => ({ c, k: random() })).sort((a, b) => a.k - b.k).slice(0, CI_SUBSET).map(({ c }) => c);
conformanceSuite('scxml on postgres', selected, ALL ? '' : ` (a seeded subset of ${selected.length} of ${cases.length}, seed ${SEED})`);
// Fewer cases at once than on SQLite: each holds PostgreSQL connections, and a case's hosts share one event loop.
vi.setConfig({ maxConcurrency: 6 });
