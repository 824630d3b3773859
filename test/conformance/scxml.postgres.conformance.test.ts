import { scxmlCases } from './corpus/scxmlCases.js';
import { conformanceOnPostgres } from './harness/onPostgres.js';

// The SCXML corpus on PostgreSQL: a seeded 20 cases in CI, SPINE_CONFORMANCE_PG=all for every one.
conformanceOnPostgres('scxml', scxmlCases().cases, 20);
