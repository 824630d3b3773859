import { createRequire } from 'node:module';

// node:crypto and node:zlib take milliseconds to load, and the commands that only read (`spine runs`,
// `spine show`'s first page, `--help`) hash and deflate nothing: the modules that need them load
// them at their first call instead of with the store's API.
const require = createRequire(import.meta.url);
let crypto: typeof import('node:crypto') | undefined;
let zlib: typeof import('node:zlib') | undefined;

/** `node:crypto`, loaded at the first call. */
export function nodeCrypto(): typeof import('node:crypto') {
  return (crypto ??= require('node:crypto') as typeof import('node:crypto'));
}

/** `node:zlib`, loaded at the first call. */
export function nodeZlib(): typeof import('node:zlib') {
  return (zlib ??= require('node:zlib') as typeof import('node:zlib'));
}
