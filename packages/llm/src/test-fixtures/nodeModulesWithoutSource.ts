// Import this first in any test that loads the AI SDK.
//
// The root vitest config starts workers with `--conditions source` so workspace packages resolve
// to their TypeScript sources. Node applies that condition inside node_modules too, and some of
// the AI SDK's dependencies (eventsource-parser) export `source` -> a .ts file Node 20 cannot load.
// This registers a resolve hook that drops the `source` condition when it would pick a .ts file
// inside node_modules. It is a no-op when the condition is not set.
import { register } from 'node:module';

register(new URL('./nodeModulesWithoutSource.hooks.mjs', import.meta.url));
