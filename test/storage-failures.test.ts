import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, spawnSpine, spineBin, type SpineExit } from './support/spawnSpine.js';

// Storage failures under the real `spine` process: a tiny file system that fills up
// mid-run, a read-only file system, a damaged index page. Each must end the process
// with one clear line and a non-zero exit (never a loop, never a raw stack), and
// leave the database unchanged or consistent. A small tmpfs is used where this
// process may mount one (root in a container); otherwise a file-size limit
// (`ulimit -f`) and a read-only directory (chmod) stand in.
const machines = join(repoRoot, 'test/fixtures/crash-machines');

function canMount(): boolean {
  if (process.platform !== 'linux' || process.getuid?.() !== 0 || process.env.SPINE_TEST_NO_MOUNT) return false;
  const probe = mkdtempSync(join(tmpdir(), 'spine-mount-probe-'));
  const ok = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe]).status === 0;
  if (ok) spawnSync('umount', [probe]);
  rmSync(probe, { recursive: true, force: true });
  return ok;
}
const MOUNT = canMount();

/** A directory on its own small file system when possible. */
function smallDisk(sizeKb: number): { dir: string; remountReadOnly(): void; release(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'spine-disk-'));
  if (MOUNT) {
    expect(spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKb}k`, 'tmpfs', dir]).status).toBe(0);
    return {
      dir,
      remountReadOnly: () => expect(spawnSync('mount', ['-o', 'remount,ro', dir]).status).toBe(0),
      release: () => {
        spawnSync('umount', [dir]);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  return {
    dir,
    remountReadOnly: () => {
      for (const name of ['spine.db', 'spine.db.secret']) chmodSync(join(dir, name), 0o400);
      chmodSync(dir, 0o555);
    },
    release: () => {
      chmodSync(dir, 0o755);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The effect endpoint of the crash machine; `onStep` may do something before it answers. */
class EffectServer {
  onStep: ((step: number) => void) | undefined;
  server!: Server;
  url = '';
  async start() {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const { step } = JSON.parse(body) as { step: number };
        this.onStep?.(step);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ value: step }));
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/effect`;
  }
}

/** `spine`, optionally under a file-size limit in 512-byte blocks (`ulimit -f`). */
function spine(args: string[], env: Record<string, string>, fileBlocks?: number): Promise<SpineExit> {
  if (fileBlocks === undefined) return spawnSpine(args, { env, killAfterMs: 60_000 });
  return new Promise((resolve) => {
    const quoted = [process.execPath, spineBin, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const child = spawn('sh', ['-c', `ulimit -f ${fileBlocks} && exec ${quoted}`], { env: { ...process.env, SPINE_DB: '', ...env }, cwd: repoRoot });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Fills the file system holding `dir` until a write fails. */
function fill(dir: string): void {
  const fd = openSync(join(dir, 'filler'), 'w');
  const chunk = Buffer.alloc(4096, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch {
    // ENOSPC: full
  } finally {
    closeSync(fd);
  }
}

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const count = (text: string, pattern: RegExp) => text.split('\n').filter((line) => pattern.test(line)).length;

function expectOneClearLine(exit: SpineExit, pattern: RegExp) {
  expect(exit.signal, exit.stderr).toBeNull(); // exited by itself, not killed after looping
  expect(exit.code, exit.stderr).toBe(1);
  expect(count(exit.stderr, pattern), exit.stderr).toBe(1);
  expect(exit.stderr).not.toMatch(/^\s+at /m); // no stack
  expect(exit.stderr).not.toContain('SqliteError');
}

describe('storage failures under the real spine process', () => {
  const effect = new EffectServer();
  beforeAll(() => effect.start());
  afterAll(() => effect.server.close());

  it('stops once with one clear line when the disk fills mid-run, and the database resumes after space is freed', async () => {
    const disk = smallDisk(16 * 1024);
    try {
      const db = join(disk.dir, 'spine.db');
      const env = { SPINE_TEST_EFFECT_URL: effect.url, SPINE_SECRET: 'storage-suite-secret-0123456789' };
      const common = ['--db', db, '--machines', machines];
      effect.onStep = MOUNT ? (step) => step === 4 && fill(disk.dir) : undefined;
      const full = await spine(['run', 'steps20', ...common], env, MOUNT ? undefined : 200);
      effect.onStep = undefined;
      expectOneClearLine(full, MOUNT ? /is full/ : /is full|I\/O error/);

      rmSync(join(disk.dir, 'filler'), { force: true });
      const check = new Database(db);
      expect(check.pragma('integrity_check', { simple: true })).toBe('ok');
      check.close();
      const resumed = await spine(['resume', ...common, '--json'], env);
      expect(resumed.code, resumed.stderr).toBe(0);
      const audit = await spine(['audit', '--verify', ...common], env);
      expect(audit.code, audit.stderr).toBe(0);
    } finally {
      effect.onStep = undefined;
      disk.release();
    }
  });

  // Root ignores file modes: without a mount there is no read-only disk to test with.
  it.skipIf(!MOUNT && process.getuid?.() === 0)('says a read-only disk is read-only (not corrupt), exits 1 and changes nothing', async () => {
    const disk = smallDisk(16 * 1024);
    try {
      const db = join(disk.dir, 'spine.db');
      const env = { SPINE_TEST_EFFECT_URL: effect.url, SPINE_SECRET: 'storage-suite-secret-0123456789' };
      const common = ['--db', db, '--machines', machines];
      expect((await spine(['run', 'steps20', ...common], env)).code).toBe(0);
      const before = sha(db);
      disk.remountReadOnly();
      const refused = await spine(['run', 'steps20', ...common], env);
      expectOneClearLine(refused, /read-only/);
      expect(refused.stderr).not.toContain('corrupt');
      expect(sha(db)).toBe(before);
    } finally {
      disk.release();
    }
  });

  it('refuses a database with a damaged index page at open, and on the first malformed read when the open check is skipped', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spine-corrupt-'));
    mkdirSync(dir, { recursive: true });
    const db = join(dir, 'spine.db');
    const env = { SPINE_TEST_EFFECT_URL: effect.url, SPINE_SECRET: 'storage-suite-secret-0123456789' };
    const common = ['--db', db, '--machines', machines];
    expect((await spine(['run', 'steps20', ...common], env)).code).toBe(0);
    // Overwrite the root page of the index on actors' primary key with garbage.
    const sqlite = new Database(db);
    const { rootpage } = sqlite.prepare("SELECT rootpage FROM sqlite_master WHERE type = 'index' AND tbl_name = 'actors' AND name LIKE 'sqlite_autoindex%'").get() as { rootpage: number };
    const pageSize = sqlite.pragma('page_size', { simple: true }) as number;
    sqlite.close();
    const fd = openSync(db, 'r+');
    writeSync(fd, Buffer.alloc(pageSize, 0xa5), 0, pageSize, (rootpage - 1) * pageSize);
    closeSync(fd);
    const before = sha(db);

    const atOpen = await spine(['run', 'steps20', ...common], env);
    expectOneClearLine(atOpen, /is corrupt/);
    expect(sha(db)).toBe(before);

    const lazily = await spine(['run', 'steps20', ...common], { ...env, SPINE_QUICK_CHECK_MAX_BYTES: '1' });
    expectOneClearLine(lazily, /is corrupt/);
    const read = await spine(['runs', ...common], { ...env, SPINE_QUICK_CHECK_MAX_BYTES: '1' });
    expect(read.stderr).not.toMatch(/^\s+at /m);
  });
});
