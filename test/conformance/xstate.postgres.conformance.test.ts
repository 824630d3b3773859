import { xstateCases } from './corpus/xstateCases.js';
import { conformanceOnPostgres } from './harness/onPostgres.js';

// The xstate corpus on PostgreSQL: a seeded 30 cases in CI, SPINE_CONFORMANCE_PG=all for every one.
conformanceOnPostgres('xstate', xstateCases, 30);
