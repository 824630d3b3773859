#!/usr/bin/env node
// V8's settings for a Spine host first (see src/v8Flags.ts), then the CLI: loaded after them.
import { applyHostV8Flags } from '../dist/v8Flags.js';

applyHostV8Flags();
const { main } = await import('../dist/main.js');
process.exitCode = await main(process.argv.slice(2));
