import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadMachineDirectory, MachineRegistry, type Store } from '@spine/runtime';
import { PostgresStore } from '@spine/store-postgres';
import { SqliteStore } from '@spine/store-sqlite';
import { tsImport } from 'tsx/esm/api';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EffectServer } from './support/effectServer.js';
import { freshPostgresUrl } from './support/postgres.js';
import { repoRoot, spineBin } from './support/spawnSpine.js';

// Issue 11's paused host: a `spine worker` is SIGSTOPped while its activity's POST is in flight,
// its lease runs out, a second worker takes the run over and finishes it; then the first wakes
// up (SIGCONT) with the answer to its POST. Its late result must be refused (fenced: another
// attempt owns the job), visibly (stderr and the audit log), and Spine completes the job once.
const machines = join(repoRoot, 'test/fixtures/crash-machines');
const LEASE_MS = 1500;
const HEARTBEAT_MS = LEASE_MS / 3;
/** Step 4 (the fifth effect) answers slowly: long enough to stop its worker in the middle of it. */
const SLOW_STEP = 4;
const SLOW_MS = 2500;
const EXPECTED = Array.from({ length: 20 }, (_, step) => step * 7 + 1);

/** A running `spine worker` whose signals the test sends. */
interface Worker {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startWorker(db: string, hostId: string, env: Record<string, string>): Worker {
  const child = spawn(process.execPath, [spineBin, 'worker', '--db', db, '--machines', machines, '--host-id', hostId, '--drain-timeout', '10'], {
    env: { ...process.env, SPINE_DB: '', SPINE_LEASE_MS: String(LEASE_MS), ...env },
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  child.stdout!.resume();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, stderr: () => stderr, exited };
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number, describe?: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${describe ? `\n${describe()}` : ''}`);
    await sleep(20);
  }
}

async function registry(): Promise<MachineRegistry> {
  const registry = new MachineRegistry();
  const parent = pathToFileURL(`${machines}/`).href;
  for (const definition of await loadMachineDirectory(machines, { importModule: (url) => tsImport(url, parent) as Promise<Record<string, unknown>> })) registry.register(definition);
  return registry;
}

const stores = {
  sqlite: { db: () => join(mkdtempSync(join(tmpdir(), 'spine-fencing-')), 'spine.db'), open: (db: string) => SqliteStore.open(db) as Promise<Store> },
  postgres: { db: () => freshPostgresUrl('fencing'), open: (db: string) => PostgresStore.open(db) as Promise<Store> },
};

const workers: Worker[] = [];
afterEach(() => {
  for (const worker of workers.splice(0)) if (worker.child.exitCode === null) worker.child.kill('SIGKILL');
});

describe('fencing: a paused worker whose run was taken over', () => {
  const effects = new EffectServer((step) => (step === SLOW_STEP ? SLOW_MS : 5));
  beforeAll(() => effects.start());
  afterAll(() => effects.server?.close());

  for (const kind of ['sqlite', 'postgres'] as const) {
    it(`refuses the late result of a SIGSTOPped worker, and the run ends once with the uninterrupted output (${kind})`, async () => {
      effects.reset();
      const db = stores[kind].db();
      const store = await stores[kind].open(db);
      try {
        // The run is stored unowned (as `startRun` of a host that is not started would): the workers pick it up.
        const runId = `fencing-${kind}`;
        const { version } = await (await registry()).current('steps20', store);
        await store.createActors([{ id: runId, runId, parentId: null, childKey: null, machine: 'steps20', version, owner: null }], [
          { actorId: runId, type: 'xstate.init', event: '{"type":"xstate.init"}', dueAt: Date.now(), source: 'external' },
        ]);
        const env = { SPINE_TEST_EFFECT_URL: effects.url };

        const first = startWorker(db, 'worker-a', env);
        workers.push(first);
        await until('worker-a to call the slow effect', () => effects.raw.size > SLOW_STEP, 30_000, first.stderr);
        const slowKey = [...effects.raw.keys()][SLOW_STEP]!;
        first.child.kill('SIGSTOP');
        const stoppedAt = Date.now();

        const second = startWorker(db, 'worker-b', env);
        workers.push(second);
        await until('worker-b to take the slow effect over', () => effects.raw.get(slowKey) === 2, 30_000, second.stderr);
        const movedMs = Date.now() - stoppedAt;
        await until('the run to finish on worker-b', async () => (await store.getActor(runId))?.status === 'done', 60_000, second.stderr);

        first.child.kill('SIGCONT');
        await until('worker-a to report its refused result', () => /job\.result_refused/.test(first.stderr()), 20_000, first.stderr);
        console.log(`fencing (${kind}): worker-a stopped during ${slowKey}; worker-b took it over after ${movedMs} ms (lease ${LEASE_MS} ms); worker-a's late result refused:\n  ${first.stderr().split('\n').find((l) => l.includes('job.result_refused'))}`);

        // Taken over only once the paused worker's lease had run out (it was renewed at most one heartbeat before the stop).
        expect(movedMs).toBeGreaterThanOrEqual(LEASE_MS - HEARTBEAT_MS - 100);
        expect(first.stderr()).toMatch(new RegExp(`spine: host worker-a: job\\.result_refused ${slowKey.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(run ${runId}\\)`));
        // The audit row is appended right after the log line.
        const refusals = async () => (await store.listAudit({ runId })).filter((a) => a.kind === 'job.result_refused');
        await until('the audit row of the refusal', async () => (await refusals()).length > 0, 10_000);
        expect(await refusals()).toEqual([expect.objectContaining({ who: 'worker-a', subject: slowKey })]);
        expect(await store.verifyAudit()).toMatchObject({ ok: true });

        // Spine completed every job once: the slow one by worker-b's second attempt, with one journaled outcome.
        const root = (await store.getActor(runId))!;
        expect(JSON.parse(root.output!)).toEqual({ results: EXPECTED, error: null });
        const jobs = await store.listJobs({ runId });
        expect(jobs).toHaveLength(20);
        for (const job of jobs) {
          const outcomes = (JSON.parse(job.journal) as { outcome?: string; host?: string }[]).filter((e) => e.outcome === 'ok');
          expect(job.status, job.key).toBe('done');
          expect(outcomes, job.key).toHaveLength(1);
        }
        const slow = jobs.find((j) => j.key === slowKey)!;
        expect(slow).toMatchObject({ attempts: 2, owner: 'worker-b' });
        expect(JSON.parse(slow.journal)).toEqual([expect.objectContaining({ attempt: 2, host: 'worker-b', outcome: 'ok' })]);
        // The effect server saw the slow key twice (the paused POST and the takeover's), and applied it once.
        expect(effects.applied.size).toBe(20);
        expect(effects.raw.get(slowKey)).toBe(2);
        expect([...effects.raw.values()].reduce((a, b) => a + b, 0)).toBe(21);
        // The run ended once: one history row per step, no step twice.
        const history = await store.runHistory(runId);
        expect(history.map((h) => h.seq)).toEqual(history.map((_, i) => i + 1));
        expect(history.filter((h) => h.status === 'done')).toHaveLength(1);

        // Both drain on SIGTERM and exit 0, saying so.
        for (const worker of [first, second]) worker.child.kill('SIGTERM');
        for (const worker of [first, second]) {
          expect(await worker.exited, worker.stderr()).toEqual({ code: 0, signal: null });
          expect(worker.stderr()).toMatch(/draining[\s\S]*drained; leases released/);
        }
      } finally {
        await store.close();
      }
    }, 120_000);
  }
});
