#!/usr/bin/env node
// A private, throwaway PostgreSQL cluster for tests: initdb in a temp dir, started on a free
// loopback port with fsync off (a test cluster never needs to survive power loss), stopped
// and removed at the end. Used by vitest's globalSetup (test/support/postgresGlobalSetup.ts);
// run it by hand to get a server for a debugging session:
//
//   node scripts/postgres-cluster.mjs        # prints the URL, stops and removes the cluster on Ctrl+C
//
// PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` user
// (created when missing) and every server command runs through runuser/su.
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const USER = 'postgres';

/** The directory holding initdb, pg_ctl and postgres, or undefined when PostgreSQL is not installed. */
export function findPostgresBin() {
  const candidates = [];
  if (process.env.SPINE_PG_BIN) candidates.push(process.env.SPINE_PG_BIN);
  for (const dir of (process.env.PATH ?? '').split(':')) if (dir) candidates.push(dir);
  candidates.push('/usr/local/bin', '/usr/local/pgsql/bin');
  // Debian's packages: /usr/lib/postgresql/<major>/bin, newest first.
  if (existsSync('/usr/lib/postgresql')) {
    const majors = readdirSync('/usr/lib/postgresql').filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
    for (const major of majors) candidates.push(`/usr/lib/postgresql/${major}/bin`);
  }
  return candidates.find((dir) => ['initdb', 'pg_ctl', 'postgres'].every((name) => existsSync(join(dir, name))));
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

function ensureUser() {
  if (spawnSync('id', ['-u', USER], { stdio: 'ignore' }).status === 0) return;
  execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/bin/sh', USER], { stdio: 'inherit' });
}

function userIds() {
  const uid = Number(execFileSync('id', ['-u', USER], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', USER], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

/** The program and arguments that run a server command, as the `postgres` user when we are root. */
function commandLine(bin, name, args) {
  const command = join(bin, name);
  const quoted = [command, ...args].map((a) => `'${String(a).replaceAll("'", "'\\''")}'`).join(' ');
  return !isRoot()
    ? [command, args]
    : existsSync('/usr/sbin/runuser') || existsSync('/sbin/runuser')
      ? ['runuser', ['-u', USER, '--', command, ...args]]
      : ['su', [USER, '-s', '/bin/sh', '-c', quoted]];
}

/** `run` without blocking this process's event loop. */
function runAsync(bin, name, args) {
  return new Promise((resolve, reject) => {
    const [file, argv] = commandLine(bin, name, args);
    execFile(file, argv, { encoding: 'utf8', cwd: tmpdir() }, (error, stdout, stderr) =>
      error ? reject(new Error(`${name} ${args.join(' ')} failed: ${(stderr || stdout || error.message).trim()}`)) : resolve(stdout),
    );
  });
}

/** Runs a server command, as the `postgres` user when we are root. */
function run(bin, name, args) {
  const [file, argv] = commandLine(bin, name, args);
  const result = spawnSync(file, argv, { encoding: 'utf8', cwd: tmpdir() });
  if (result.status !== 0) {
    throw new Error(`${name} failed (exit ${result.status}): ${(result.stderr || result.stdout || String(result.error ?? '')).trim()}`);
  }
  return result.stdout;
}

const CLUSTER_PREFIX = 'spine-pg-';
const OWNER_FILE = 'owner.json';

/**
 * When a process started, from /proc/<pid>/stat (field 22, in clock ticks since boot): with the pid
 * it names one process, even after the pid is reused. Undefined where there is no /proc, or no such process.
 */
function processStart(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (the command) is in parentheses and may hold spaces or parentheses: count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z') return undefined; // a zombie has exited; only its exit status is left
    return fields[19]; // field 22; fields[0] is field 3
  } catch {
    return undefined;
  }
}

/** Whether the process a cluster's owner file names still runs (the same process, not a later one with its pid). */
function ownerAlive(owner) {
  if (existsSync('/proc/self/stat')) return owner.start !== undefined && processStart(owner.pid) === owner.start;
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

/**
 * Stops and removes the clusters under `parent` whose owning process is gone (SIGKILLed before it
 * could stop them): their server would otherwise run, and their directory stay, forever. A cluster
 * without an owner file (being created right now, or made by an older version of this script) and
 * one whose owner runs are never touched. Says in one line on stderr what it swept; returns the
 * directories it removed.
 */
export function sweepOrphanedClusters({ parent = tmpdir(), log = (line) => process.stderr.write(`${line}\n`) } = {}) {
  const swept = [];
  let entries = [];
  try {
    entries = readdirSync(parent).filter((name) => name.startsWith(CLUSTER_PREFIX));
  } catch {
    return swept;
  }
  for (const name of entries) {
    const root = join(parent, name);
    let owner;
    try {
      owner = JSON.parse(readFileSync(join(root, OWNER_FILE), 'utf8'));
    } catch {
      continue;
    }
    if (!Number.isInteger(owner?.pid) || ownerAlive(owner)) continue;
    const data = join(root, 'data');
    const server = serverPid(data);
    if (server !== undefined) {
      const bin = findPostgresBin();
      try {
        if (bin) run(bin, 'pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } catch {
        // Stopped meanwhile (another process sweeping the same cluster): only the directory is left.
      }
    }
    rmSync(root, { recursive: true, force: true });
    swept.push({ root, owner: owner.pid, server });
  }
  if (swept.length) {
    const what = swept.map((c) => `${c.root} (owner pid ${c.owner} gone${c.server === undefined ? '' : `, server pid ${c.server} stopped`})`).join(', ');
    log(`spine: swept ${swept.length} private PostgreSQL cluster${swept.length === 1 ? '' : 's'} left by dead processes: ${what}`);
  }
  return swept.map((c) => c.root);
}

/**
 * The pid of a cluster's running postmaster (the first line of postmaster.pid), when that process
 * still runs and is a postgres server (so a stale file never gets an unrelated process signalled).
 */
function serverPid(data) {
  let pid;
  try {
    pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  if (existsSync('/proc/self/stat')) {
    if (processStart(pid) === undefined) return undefined;
    try {
      if (!readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('postgres')) return undefined;
    } catch {
      return undefined;
    }
  }
  return pid;
}

/**
 * Creates and starts a private cluster. Returns its URL (database `postgres`, user `postgres`,
 * trust authentication on 127.0.0.1 only) and `stop()`, which stops it and removes its directory.
 * `durable: true` keeps PostgreSQL's own durability (fsync, synchronous_commit, full_page_writes
 * on), as a benchmark needs; tests leave them off. The cluster lives in a new `spine-pg-*` directory
 * under `parent` (default the temp dir), which records this process as its owner; clusters there
 * whose owner is gone are swept first (`sweepOrphanedClusters`, its line on stderr or to `report`).
 */
export async function startPostgres({ durable = false, parent = tmpdir(), report } = {}) {
  const bin = findPostgresBin();
  if (!bin) {
    throw new Error(
      'PostgreSQL is not installed (no initdb/pg_ctl/postgres on PATH, in /usr/local/bin or /usr/lib/postgresql/*/bin). ' +
        'Install it with `sh scripts/ensure-postgres.sh` (Debian: apt-get install postgresql), or point the tests at a server with SPINE_TEST_PG_URL=postgres://user:pass@host:port/db.',
    );
  }
  sweepOrphanedClusters({ parent, ...(report ? { log: report } : {}) });
  const root = mkdtempSync(join(parent, CLUSTER_PREFIX));
  // Its owner, first: a later start sweeps the cluster once this process is gone without stopping it.
  writeFileSync(join(root, OWNER_FILE), JSON.stringify({ pid: process.pid, start: processStart(process.pid) }));
  const data = join(root, 'data');
  const log = join(root, 'server.log');
  if (isRoot()) {
    ensureUser();
    const { uid, gid } = userIds();
    chownSync(root, uid, gid);
  }
  const port = await freePort();
  try {
    run(bin, 'initdb', ['-D', data, '-U', USER, '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
    const options = [
      `-p ${port}`,
      "-c listen_addresses='127.0.0.1'",
      `-c unix_socket_directories='${root}'`,
      ...(durable ? [] : ['-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off']),
      '-c max_connections=300',
      '-c shared_buffers=64MB',
    ].join(' ');
    run(bin, 'pg_ctl', ['-D', data, '-l', log, '-w', '-t', '60', '-o', options, 'start']);
  } catch (error) {
    const tail = existsSync(log) ? `\n${readFileSync(log, 'utf8').split('\n').slice(-15).join('\n')}` : '';
    rmSync(root, { recursive: true, force: true });
    throw new Error(`${error.message}${tail}`);
  }
  let stopped = false;
  return {
    url: `postgres://${USER}@127.0.0.1:${port}/postgres`,
    port,
    dataDir: data,
    bin,
    /** Runs `pg_ctl` on this cluster (restart tests), as the cluster's owner. */
    pgCtl: (args) => run(bin, 'pg_ctl', ['-D', data, '-l', log, ...args]),
    /** `pgCtl` without blocking this process (a test's own servers keep answering meanwhile). */
    pgCtlAsync: (args) => runAsync(bin, 'pg_ctl', ['-D', data, '-l', log, ...args]),
    /**
     * Stops the server and removes its directory without blocking the event loop: vitest runs it in
     * its main process at the end of a run, where a synchronous stop (and the removal of a data
     * directory holding hundreds of test schemas, seconds on a busy disk) held up the handling of
     * the last test worker's exit until vitest reported "Timeout terminating forks worker".
     */
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        await runAsync(bin, 'pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } finally {
        await rm(root, { recursive: true, force: true });
      }
    },
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const cluster = await startPostgres();
  console.log(cluster.url);
  console.error(`spine: private PostgreSQL cluster at ${cluster.url}; Ctrl+C stops and removes it`);
  const stop = () => cluster.stop().finally(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  setInterval(() => {}, 1 << 30);
}
