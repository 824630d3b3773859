import { describe, expect, it } from 'vitest';
import { spawnSpine } from '../../../../test/support/spawnSpine.js';
import type { BenchFigure } from './bench.js';

// `spine bench --quick --json` as a user runs it: every figure present with its durability
// label, the ratios and the wake-up figure. Timings are not asserted (this machine is shared).

describe('spine bench --json', () => {
  it('reports every figure with its durability, LangGraph.js measured in the same run, the ratios and the wake-up', async () => {
    const r = await spawnSpine(['bench', '--quick', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as {
      quick: boolean;
      machine: { v8Flags: string[] };
      durability: Record<string, string>;
      peer: { available: boolean; name?: string; version?: string };
      figures: BenchFigure[];
      ratios: { name: string; durability: string; inFlight: number; ratio: number; rounds: number[] }[];
      wake: { actors: number; woken: number; startMs: number; wakeMs: number; peakRss: number; durability: string };
      commands: { id: string; command: string; medianMs: number; targetMs?: number }[];
      send: { sends: number; p50Ms: number; p90Ms: number; maxMs: number; targetP50Ms: number; durability: string };
      storage: { available: boolean; runs?: number; steps?: number; bytesPerStep?: number; byTable?: Record<string, number>; targetBytesPerStep?: number };
      targets: { name: string; value: string; target: string; met: boolean }[];
    };
    expect(report.quick).toBe(true);
    // The real binary runs with a Spine host's V8 settings, and says so (LangGraph.js in the same process, alike).
    expect(report.machine.v8Flags).toEqual(['--no-allocation-site-pretenuring']);
    expect(report.durability).toEqual({ NORMAL: expect.stringMatching(/process crash/), FULL: expect.stringMatching(/fsync per commit/), memory: expect.stringMatching(/none/) });
    // The peer is a dev dependency of this repository, so here it is measured.
    expect(report.peer).toMatchObject({ available: true, name: 'LangGraph.js + SqliteSaver', version: expect.stringMatching(/^1\./) });
    const many = Math.max(...report.figures.map((f) => f.inFlight));
    expect(many).toBeGreaterThan(1);
    const expected: string[] = [];
    for (const durability of ['NORMAL', 'FULL']) {
      for (const inFlight of [1, many]) expected.push(`spine.activity.${inFlight}.${durability}`, `langgraph.activity.${inFlight}.${durability}`, `spine.send.${inFlight}.${durability}`);
      expected.push(`floor.bare-transaction.1.${durability}`);
    }
    expected.push('floor.transition.1.memory');
    expect(report.figures.map((f) => f.id).sort()).toEqual(expected.sort());
    for (const f of report.figures) {
      expect(f.id).toBe(`${f.system}.${f.workflow}.${f.inFlight}.${f.durability}`);
      expect(Object.keys(report.durability)).toContain(f.durability);
      expect(f.stepsPerSec).toBeGreaterThan(0);
      expect(f.usPerStep).toBeCloseTo(1e6 / f.stepsPerSec);
      expect(f.rounds).toHaveLength(1);
    }
    const ratio = (name: RegExp, durability: string, inFlight: number) => report.ratios.find((x) => name.test(x.name) && x.durability === durability && x.inFlight === inFlight)?.ratio;
    for (const durability of ['NORMAL', 'FULL']) {
      for (const inFlight of [1, many]) expect(ratio(/Spine \/ LangGraph/, durability, inFlight)).toBeGreaterThan(0);
      expect(ratio(/bare transaction/, durability, 1)).toBeGreaterThan(0);
    }
    expect(ratio(/in-memory/, 'NORMAL', 1)).toBeGreaterThan(0);
    // Each ratio is the median of its rounds' ratios, each between the two figures of one round (here, one).
    const rate = (id: string) => report.figures.find((f) => f.id === id)!.rounds[0]!;
    for (const r of report.ratios) expect(r.rounds).toEqual([r.ratio]);
    expect(ratio(/Spine \/ LangGraph/, 'FULL', many)).toBeCloseTo(rate(`spine.activity.${many}.FULL`) / rate(`langgraph.activity.${many}.FULL`));
    expect(ratio(/bare transaction/, 'NORMAL', 1)).toBeCloseTo(rate('floor.bare-transaction.1.NORMAL') / rate('spine.activity.1.NORMAL'));
    expect(report.wake).toMatchObject({ actors: 100, woken: 100, durability: 'NORMAL' });
    expect(report.wake.peakRss).toBeGreaterThan(0);
    // The commands of issue 10, each timed in fresh processes, with the targets they have.
    expect(report.commands.map((c) => c.id)).toEqual(['node', 'runs-help', 'runs', 'show', 'show-all']);
    for (const c of report.commands) expect(c.medianMs).toBeGreaterThan(0);
    expect(Object.fromEntries(report.commands.map((c) => [c.id, c.targetMs]))).toMatchObject({ 'runs-help': 200, runs: 200, show: 500 });
    expect(report.send).toMatchObject({ sends: 5, targetP50Ms: 20, durability: 'NORMAL' });
    expect(report.send.p50Ms).toBeGreaterThan(0);
    // The research pipeline's storage, from an offline `spine demo` run (the repository's machines are here).
    expect(report.storage).toMatchObject({ available: true, runs: 1, targetBytesPerStep: 1024 });
    expect(report.storage.steps).toBeGreaterThan(10);
    expect(report.storage.byTable).toHaveProperty('history');
    // The total is the tables' sum (each rounded to a byte).
    const tables = Object.values(report.storage.byTable!);
    expect(Math.abs(report.storage.bytesPerStep! - tables.reduce((x, y) => x + y, 0))).toBeLessThanOrEqual(tables.length);
    // Every target of the issue is checked against this run's figures.
    expect(report.targets.map((t) => t.name)).toEqual(
      expect.arrayContaining([expect.stringMatching(/1 in flight, NORMAL: Spine \/ LangGraph/), expect.stringMatching(/1 in flight, FULL: Spine \/ LangGraph/), expect.stringMatching(/in flight, FULL$/), expect.stringMatching(/bare transaction/), 'spine runs --help', expect.stringMatching(/^spine show/), expect.stringMatching(/^spine send/), 'research pipeline storage per step']),
    );
    for (const t of report.targets) expect(typeof t.met).toBe('boolean');
  }, 180_000);
});
