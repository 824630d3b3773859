import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EvalStore, evalsOverview } from '@spine/evals';
import { startServer } from '@spine/server';
import { SqliteStore } from '@spine/store-sqlite';
import { describe, expect, it } from 'vitest';

// The studio's Evals page reads GET /api/evals: suites, sessions with their gate, failing cases
// linked to runs, online scores per machine version over time.

describe('GET /api/evals', () => {
  it('serves nothing for a database without evals, then every suite with its sessions and online scores', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'spine-evals-api-')), 'spine.db');
    const store = await SqliteStore.open(path);
    const server = await startServer({ store, evals: () => evalsOverview(path) });
    try {
      expect(await (await fetch(`${server.url}/api/evals`)).json()).toEqual({ suites: [] });
      const evals = EvalStore.open(path);
      evals.startSession({ id: 'research-1', suite: 'research', mode: 'offline', fingerprint: 'f', versions: { supervisor: 'abc123' }, startedAt: 1000 });
      const failing = [{ caseId: 'c1', repeat: 0, runId: 'eval-research-1-c1-0', status: 'done', reasons: ['judge: Broken: sources'] }];
      evals.finishSession('research-1', { passed: false, metrics: { judge_mean: 6 }, checks: [{ metric: 'judge_mean', value: 6, check: 'threshold', expected: '>= 8', held: false }], failing }, 2000);
      evals.startSession({ id: 'online-1', suite: 'research', mode: 'online', fingerprint: 'online', versions: {}, startedAt: 3000 });
      evals.saveResult({ sessionId: 'online-1', caseId: 'run-9', repeat: 0, runId: 'run-9', machine: 'supervisor', version: 'v2', status: 'done', completed: true, scores: { judge: { value: 9, pass: true }, exact: { value: 0, pass: true, skipped: true } }, tokens: 10, costUsd: 0, scoredAt: 3500 });
      evals.close();
      const body = (await (await fetch(`${server.url}/api/evals`)).json()) as { suites: { name: string; sessions: { id: string; passed: boolean | null; failing: unknown[] }[]; online: unknown[] }[] };
      expect(body.suites).toHaveLength(1);
      expect(body.suites[0]!.sessions.map((s) => [s.id, s.passed])).toEqual([
        ['online-1', null],
        ['research-1', false],
      ]);
      expect(body.suites[0]!.sessions[1]!.failing).toEqual(failing);
      expect(body.suites[0]!.online).toEqual([{ runId: 'run-9', machine: 'supervisor', version: 'v2', scoredAt: 3500, scores: { judge: 9 } }]);
    } finally {
      await server.close();
      await store.close();
    }
  });
});
