import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The built `spine worker` refusing bad settings before it opens anything. Its drain on SIGTERM and
// its fencing run in test/fencing.test.ts and test/failover.test.ts (real processes and signals).
const bin = fileURLToPath(new URL('../../bin/spine.js', import.meta.url));
const machines = fileURLToPath(new URL('../../test-machines', import.meta.url));

function worker(args: string[], env: Record<string, string> = {}) {
  const db = join(mkdtempSync(join(tmpdir(), 'spine-worker-')), 'spine.db');
  const r = spawnSync(process.execPath, [bin, 'worker', '--db', db, '--machines', machines, ...args], { encoding: 'utf8', env: { ...process.env, SPINE_DB: '', ...env }, timeout: 30_000 });
  return { code: r.status, stderr: r.stderr, db };
}

describe('spine worker', () => {
  it('refuses a bad --concurrency or --drain-timeout, naming it, exit 2, and opens no database', () => {
    for (const args of [['--concurrency', 'many'], ['--drain-timeout', '2.5']]) {
      const r = worker(args);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`${args[0]} must be a non-negative integer, got '${args[1]}'`);
      expect(existsSync(r.db)).toBe(false);
    }
  }, 120_000);

  it('refuses a lease that is not a whole number of at least 100 ms, naming SPINE_LEASE_MS', () => {
    for (const lease of ['soon', '50', '1.5']) {
      const r = worker([], { SPINE_LEASE_MS: lease });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`SPINE_LEASE_MS must be a whole number of milliseconds, at least 100, got '${lease}'`);
      expect(existsSync(r.db)).toBe(false);
    }
  }, 120_000);
});
