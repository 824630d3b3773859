import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error a plain ESM script without types
import { startPostgres, sweepOrphanedClusters } from '../scripts/postgres-cluster.mjs';
import { repoRoot } from './support/spawnSpine.js';

interface Cluster {
  url: string;
  dataDir: string;
  stop(): Promise<void>;
}
type Start = (options: { parent: string; report?: (line: string) => void }) => Promise<Cluster>;
type Sweep = (options: { parent: string; log?: (line: string) => void }) => string[];

const script = join(repoRoot, 'scripts/postgres-cluster.mjs');
// Short, and open to the `postgres` user the servers run as when the tests run as root.
const parent = mkdtempSync(join(tmpdir(), 'spine-sweep-'));
chmodSync(parent, 0o755);
const children: ChildProcess[] = [];

afterAll(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  // Whatever a failed test left: its owners are all dead now.
  (sweepOrphanedClusters as Sweep)({ parent, log: () => {} });
  rmSync(parent, { recursive: true, force: true });
});

/** A node process that starts a cluster under `parent` and then just runs; resolves with its cluster's directory. */
function clusterOwner(): Promise<{ child: ChildProcess; root: string }> {
  const code = `import(${JSON.stringify(script)}).then(async (m) => { const c = await m.startPostgres({ parent: ${JSON.stringify(parent)} }); console.log(JSON.stringify({ dataDir: c.dataDir })); setInterval(() => {}, 1 << 30); });`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += String(chunk);
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve({ child, root: dirname((JSON.parse(line) as { dataDir: string }).dataDir) });
    });
    child.once('exit', (code, signal) => reject(new Error(`the cluster's owner exited (${code ?? signal}) before its cluster was up: ${out}`)));
  });
}

/** The postmaster's pid, from the cluster's postmaster.pid. */
function serverPidOf(root: string): number {
  return Number(readFileSync(join(root, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
}

/** Whether a process runs (a zombie, exited but not yet reaped, does not). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

function killed(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

describe('private PostgreSQL clusters of a killed process', () => {
  it('are stopped and removed by the next start, which says so, while a live owner keeps its cluster', async () => {
    const [dead, alive] = await Promise.all([clusterOwner(), clusterOwner()]);
    const deadServer = serverPidOf(dead.root);
    const aliveServer = serverPidOf(alive.root);
    await killed(dead.child);
    // SIGKILL leaves the server running and its directory behind: nothing else would ever stop them.
    expect(running(deadServer)).toBe(true);
    expect(existsSync(dead.root)).toBe(true);

    // Not clusters of a dead owner: one being created (no owner file yet), and one whose pid now names another process.
    const creating = mkdtempSync(join(parent, 'spine-pg-'));
    const reused = mkdtempSync(join(parent, 'spine-pg-'));
    mkdirSync(join(reused, 'data'));
    writeFileSync(join(reused, 'owner.json'), JSON.stringify({ pid: process.pid, start: '1' }));

    const lines: string[] = [];
    const next = await (startPostgres as Start)({ parent, report: (line) => lines.push(line) });
    try {
      expect(running(deadServer)).toBe(false);
      expect(existsSync(dead.root)).toBe(false);
      expect(existsSync(reused)).toBe(false); // same pid, another start time: its owner is gone
      expect(existsSync(creating)).toBe(true);
      expect(running(aliveServer)).toBe(true);
      expect(existsSync(alive.root)).toBe(true);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^spine: swept 2 private PostgreSQL clusters left by dead processes: /);
      expect(lines[0]).toContain(`${dead.root} (owner pid ${dead.child.pid} gone, server pid ${deadServer} stopped)`);
      expect(lines[0]).toContain(`${reused} (owner pid ${process.pid} gone)`);
    } finally {
      await next.stop();
    }

    // Once the other owner dies too, its cluster goes the same way.
    await killed(alive.child);
    expect((sweepOrphanedClusters as Sweep)({ parent, log: () => {} })).toEqual([alive.root]);
    expect(running(aliveServer)).toBe(false);
    rmSync(creating, { recursive: true });
  });
});

describe('stopping a private PostgreSQL cluster', () => {
  it('leaves the event loop free while the server stops and its directory goes (vitest stops it in its main process)', async () => {
    const cluster = await (startPostgres as Start)({ parent });
    const root = dirname(cluster.dataDir);
    const server = serverPidOf(root);
    const stopping = cluster.stop();
    // A synchronous stop had stopped the server and removed the directory before any other callback
    // could run: vitest's main process handled nothing else meanwhile (not even its last worker's exit).
    const seenWhileStopping = await new Promise<boolean>((resolve) => setImmediate(() => resolve(existsSync(root))));
    await stopping;
    expect(seenWhileStopping).toBe(true);
    expect(existsSync(root)).toBe(false);
    expect(running(server)).toBe(false);
  });
});
