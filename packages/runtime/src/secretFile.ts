import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { SpineError } from './errors.js';
import { nodeCrypto } from './lazyBuiltins.js';

/** Where the signing secret of a database lives when SPINE_SECRET is not set: `<db>.secret`, mode 0600. */
export function secretPathFor(dbPath: string): string {
  return `${dbPath}.secret`;
}

/**
 * The secret that signs approval decisions: `SPINE_SECRET`, else the secret file
 * next to the database, else undefined. Never stored in the database, never logged.
 *
 * @throws SpineError `no_secret` when the file is readable by others (fix with `chmod 600`).
 */
export function readSecret(dbPath: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.SPINE_SECRET) return env.SPINE_SECRET;
  if (!dbPath || dbPath === ':memory:' || isDatabaseUrl(dbPath)) return undefined;
  const file = secretPathFor(dbPath);
  if (!existsSync(file)) return undefined;
  if (process.platform !== 'win32' && (statSync(file).mode & 0o077) !== 0) {
    throw new SpineError('no_secret', `The secret file '${file}' is readable by other users; run \`chmod 600 ${file}\`.`);
  }
  const secret = readFileSync(file, 'utf8').trim();
  return secret || undefined;
}

/** `readSecret`, creating the secret file (32 random bytes, mode 0600) the first time. */
export function ensureSecret(dbPath: string, env: NodeJS.ProcessEnv = process.env): string {
  const existing = readSecret(dbPath, env);
  if (existing) return existing;
  if (dbPath === ':memory:') throw new SpineError('no_secret', 'An in-memory database has no place for a secret file: set SPINE_SECRET.');
  if (isDatabaseUrl(dbPath)) {
    throw new SpineError('no_secret', 'A database reached by URL (PostgreSQL) is shared by hosts on many machines, so its signing secret is configuration, never a local file: set SPINE_SECRET (the same on every host).');
  }
  const file = secretPathFor(dbPath);
  try {
    writeFileSync(file, `${nodeCrypto().randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error; // another process made it first: use theirs
  }
  chmodSync(file, 0o600);
  return readSecret(dbPath, env)!;
}

/** A URL (`postgres://…`) or what is left of one (`?schema=x`): never a place for a secret file. */
function isDatabaseUrl(dbPath: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(dbPath) || /(^|[\\/])\?[^\\/]*=/.test(dbPath);
}
