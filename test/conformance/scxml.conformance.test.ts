import { scxmlCases } from './corpus/scxmlCases.js';
import { conformanceSuite } from './harness/suite.js';

// The SCION/W3C SCXML fixtures (vendored in fixtures/scxml with their licences) that the conversion covers.
const { cases, unsupported } = scxmlCases();
conformanceSuite('scxml', cases, `; ${unsupported.length} fixtures not converted (e.g. ${[...new Set(unsupported.map((u) => u.reason.replace(/ \(.*\)$/, '')))].slice(0, 4).join(', ')})`);
