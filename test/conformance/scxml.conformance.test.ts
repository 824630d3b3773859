import { scxmlCases } from './corpus/scxmlCases.js';
import { conformanceSuite } from './harness/suite.js';

// The SCION/W3C SCXML fixtures (vendored in fixtures/scxml with their licences) that the conversion covers.
conformanceSuite('scxml', scxmlCases().cases);
