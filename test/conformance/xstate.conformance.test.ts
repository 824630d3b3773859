import { xstateCases } from './corpus/xstateCases.js';
import { conformanceSuite } from './harness/suite.js';

// Machines from statelyai/xstate's own unit tests (corpus/LICENSE-xstate).
conformanceSuite('xstate', xstateCases);
