import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadMachineDirectory, MachineRegistry, roundTripSnapshot } from '@spine/runtime';
import Database from 'better-sqlite3';
import { tsImport } from 'tsx/esm/api';
import { seededRandom } from '@spine/llm';
import { SqliteStore } from '@spine/store-sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSpine, type SpineExit } from './support/spawnSpine.js';
import { EffectServer } from './support/effectServer.js';

// The real `spine` process, killed with SIGKILL at seeded random moments, then resumed.
const root = fileURLToPath(new URL('..', import.meta.url));
const machines = join(root, 'test/fixtures/crash-machines');
const SEEDS = Number(process.env.SPINE_CRASH_SEEDS ?? 30);

function spine(args: string[], env: Record<string, string>, killAfterMs?: number): Promise<SpineExit> {
  return spawnSpine(args, { env, ...(killAfterMs === undefined ? {} : { killAfterMs }) });
}

async function historySnapshots(db: string): Promise<string[]> {
  const store = await SqliteStore.open(db, { readonly: true });
  try {
    const roots = await store.listActors({ rootsOnly: true });
    return (await Promise.all(roots.map((root) => store.runHistory(root.runId)))).flat().sort((a, b) => a.rowId - b.rowId).map((r) => r.snapshot);
  } finally {
    await store.close();
  }
}

async function loadRegistry(dir: string) {
  const registry = new MachineRegistry();
  const parent = pathToFileURL(`${dir}/`).href;
  for (const definition of await loadMachineDirectory(dir, { importModule: (url) => tsImport(url, parent) as Promise<Record<string, unknown>> })) {
    registry.register(definition);
  }
  return registry;
}

function finalState(db: string) {
  const sqlite = new Database(db, { readonly: true });
  try {
    const ready = sqlite.prepare("SELECT 1 FROM sqlite_master WHERE name = 'actors'").get();
    if (!ready) return []; // killed before the schema was committed
    return sqlite.prepare('SELECT id, status, snapshot, seq FROM actors WHERE parent_id IS NULL').all() as { id: string; status: string; snapshot: string; seq: number }[];
  } finally {
    sqlite.close();
  }
}

describe('crash suite: the real spine process killed with SIGKILL', () => {
  const effects = new EffectServer();
  let baseline: { snapshot: string; results: number[] };

  beforeAll(async () => {
    await effects.start();
    const db = join(mkdtempSync(join(tmpdir(), 'spine-crash-')), 'baseline.db');
    const run = await spine(['run', 'steps20', '--db', db, '--machines', machines, '--json'], { SPINE_TEST_EFFECT_URL: effects.url });
    expect(run.code, run.stderr).toBe(0);
    const [actor] = finalState(db);
    baseline = { snapshot: actor!.snapshot, results: JSON.parse(run.stdout).output.results };
    // Persistable: every snapshot of the run survives persist -> JSON -> restore -> persist.
    const { machine } = (await loadRegistry(machines)).machine('steps20');
    const history = await historySnapshots(db);
    expect(history.length).toBe(22); // init, 20 activity results, 1 timer
    for (const snapshot of history) expect(roundTripSnapshot(machine, snapshot)).toBe(snapshot);
    expect(baseline.results).toHaveLength(20);
    expect(effects.raw.size).toBe(20);
    effects.reset();
  }, 60_000);

  afterAll(() => effects.server?.close());

  it(`finishes every run with the uninterrupted final snapshot and each effect applied once (${SEEDS} seeds)`, async () => {
    const summary = { kills: 0, killedBeforeStart: 0, rawCalls: 0, completedCalls: 0, reRuns: 0 };
    for (let seed = 1; seed <= SEEDS; seed++) {
      effects.reset();
      const random = seededRandom(seed);
      const db = join(mkdtempSync(join(tmpdir(), `spine-crash-${seed}-`)), 'spine.db');
      const env = { SPINE_TEST_EFFECT_URL: effects.url };
      let kills = 0;
      const first = await spine(['run', 'steps20', '--db', db, '--machines', machines, '--json'], env, 250 + random() * 900);
      if (first.signal === 'SIGKILL') kills++;
      // Sometimes kill the resume too, to crash a process that was itself recovering.
      if (kills && existsSync(db) && finalState(db).length > 0 && random() < 0.4) {
        const again = await spine(['resume', '--db', db, '--machines', machines], env, 150 + random() * 500);
        if (again.signal === 'SIGKILL') kills++;
      }
      // Killed before the run was stored (even before the database existed): nothing to
      // resume, so start it again as a user would.
      const stored = existsSync(db) && finalState(db).length > 0;
      const resumed = stored
        ? await spine(['resume', '--db', db, '--machines', machines, '--json'], env)
        : await spine(['run', 'steps20', '--db', db, '--machines', machines, '--json'], env);
      expect(resumed.code, `seed ${seed}: ${resumed.stderr}`).toBe(0);
      if (!stored) summary.killedBeforeStart++;
      const [actor] = finalState(db);
      expect(actor!.status, `seed ${seed}`).toBe('done');
      expect(actor!.snapshot, `seed ${seed}: final snapshot differs from the uninterrupted run`).toBe(baseline.snapshot);
      const raw = [...effects.raw.values()].reduce((a, b) => a + b, 0);
      expect(effects.applied.size, `seed ${seed}: each of the 20 effects applied once, under one key`).toBe(20);
      expect(raw, `seed ${seed}: raw calls ${raw} > completed 20 + kills ${kills}`).toBeLessThanOrEqual(20 + kills);
      summary.kills += kills;
      summary.rawCalls += raw;
      summary.completedCalls += 20;
      summary.reRuns += raw - 20;
    }
    console.log(`crash suite: ${SEEDS} seeds, ${summary.kills} kills (${summary.killedBeforeStart} before the run was stored), ${summary.rawCalls} raw effect calls for ${summary.completedCalls} effects (${summary.reRuns} in-flight re-runs)`);
    expect(summary.kills).toBeGreaterThanOrEqual(SEEDS * 0.8);
  }, 20 * 60_000);
});
