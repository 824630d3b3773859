import { describe, expect, it } from 'vitest';
import { spawnSpine } from '../../../test/support/spawnSpine.js';
import { postgresUrl } from '../../../test/support/postgres.js';
import type { PostgresBenchReport } from './benchPostgres.js';

// `spine bench --store postgres --quick --json` as a user runs it, on the test server: every
// figure present and positive, DBOS Transact measured in the same run, the ratios and the
// server's durability settings. Timings are not asserted (this machine is shared).

describe('spine bench --store postgres --json', () => {
  it('reports Spine with 1, 2 and 4 worker processes, DBOS Transact and Spine\'s send workflow on the same server, each figure positive, with the ratios and the durability read from the server', async () => {
    const r = await spawnSpine(['bench', '--store', 'postgres', '--db', postgresUrl(), '--quick', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as PostgresBenchReport;
    expect(report).toMatchObject({ store: 'postgres', quick: true, rounds: 1, steps: 20 });
    // Every worker (Spine, DBOS, the floor) started with the V8 settings the real binary applied to itself.
    expect(report.machine.v8Flags).toEqual(['--no-allocation-site-pretenuring']);
    expect(report.server.source).toMatch(/^--db postgres:\/\//);
    expect(Object.keys(report.server.settings).sort()).toEqual(['fsync', 'full_page_writes', 'synchronous_commit', 'wal_sync_method']);
    expect(report.durability.postgres).toContain(`fsync=${report.server.settings.fsync}, synchronous_commit=${report.server.settings.synchronous_commit}`);
    // The peer is a dev dependency of this repository, so here it is measured.
    expect(report.peer).toEqual({ available: true, name: 'DBOS Transact', version: expect.stringMatching(/^5\.3\./) });
    const many = Math.max(...report.figures.map((f) => f.inFlight));
    expect(many).toBe(5);
    const expected = [1, many].flatMap((inFlight) => [...[1, 2, 4].map((w) => `spine.activity.${w}w.${inFlight}`), `dbos.activity.1w.${inFlight}`, `floor.activity.1w.${inFlight}`, `spine.send.1w.${inFlight}`]);
    expect(report.figures.map((f) => f.id).sort()).toEqual(expected.sort());
    for (const f of report.figures) {
      expect(f.id).toBe(`${f.system}.${f.workflow}.${f.workers}w.${f.inFlight}`);
      expect(f.durability).toBe('postgres');
      expect(f.stepsPerSec).toBeGreaterThan(0);
      expect(f.usPerStep).toBeCloseTo(1e6 / f.stepsPerSec);
      expect(f.rounds).toHaveLength(1);
      expect(f.cpuUsPerStep).toBeGreaterThan(0);
      // Linux: how busy the machine's cores were, a share.
      expect(f.machineBusy).toBeGreaterThan(0);
      expect(f.machineBusy).toBeLessThanOrEqual(1);
      // The profile: statements per step, counted for one worker.
      if (f.system === 'spine' && f.workers === 1) expect(f.queriesPerStep).toBeGreaterThan(0);
      else expect(f.queriesPerStep).toBeUndefined();
    }
    for (const inFlight of [1, many]) {
      // Against the floor (one bare statement per step), measured in the same run; timings are not asserted.
      expect(report.ratios.find((x) => /^Spine step \/ floor/.test(x.name) && x.inFlight === inFlight)?.ratio).toBeGreaterThan(0);
      expect(report.ratios.find((x) => /^DBOS Transact step \/ floor/.test(x.name) && x.inFlight === inFlight)?.ratio).toBeGreaterThan(0);
      for (const workers of [1, 2, 4]) {
        expect(report.ratios.find((x) => /Spine \/ DBOS/.test(x.name) && x.workers === workers && x.inFlight === inFlight)?.ratio).toBeGreaterThan(0);
        if (workers > 1) expect(report.ratios.find((x) => /scaling/.test(x.name) && x.workers === workers && x.inFlight === inFlight)?.ratio).toBeGreaterThan(0);
      }
    }
  }, 300_000);

  it('refuses a --store it does not know, with the usage', async () => {
    const r = await spawnSpine(['bench', '--store', 'mysql']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--store must be sqlite or postgres, got 'mysql'/);
  });
});
