import { createHash } from 'node:crypto';
import type { Runtime } from '@spine/runtime';
import type { EvalSuite, JudgeClient, ScorerKind } from './defineEvalSuite.js';
import type { EvalStore, StoredResult } from './EvalStore.js';
import { suiteMetrics, type SuiteMetrics } from './metrics.js';
import { scoreRun, storedResult, viewOfRun } from './runEvalSuite.js';

/** What one online scoring pass did. */
export interface OnlineReport {
  suite: string;
  sessionId: string;
  /** Finished production runs of the suite's machine that were not yet scored. */
  candidates: number;
  scored: StoredResult[];
  /** Metrics of this pass, and of every online score so far per machine version (quality over time). */
  metrics: SuiteMetrics['metrics'];
  byVersion: Record<string, SuiteMetrics['metrics']>;
}

/**
 * Whether a run falls in the sample: a hash of its id, so a run left out stays out and a
 * second pass picks the same runs (no run is scored twice, none is re-drawn until it is picked).
 */
export function inSample(runId: string, rate: number): boolean {
  const n = createHash('sha256').update(runId).digest().readUInt32BE(0) / 0x1_0000_0000;
  return n < rate;
}

/**
 * Online scoring: scores a sample of finished production runs of the suite's machine with the
 * suite's scorers that need no dataset expectation, storing each score with its run (and the
 * machine version it ran on). Eval runs (ids `eval-…`) are not production runs and are left out.
 */
export async function scoreOnline(
  suite: EvalSuite,
  options: { runtime: Runtime; evalStore: EvalStore; judge: JudgeClient; sample: number; now?: () => number; limit?: number },
): Promise<OnlineReport> {
  const now = options.now ?? Date.now;
  const { runtime, evalStore } = options;
  const roots = await runtime.store.listActors({ rootsOnly: true, status: ['done', 'error'] });
  const candidates = roots.filter((a) => a.machine === suite.machine && !a.id.startsWith('eval-') && !evalStore.isScored(a.id, 'online'));
  const picked = candidates.filter((a) => inSample(a.id, options.sample)).slice(0, options.limit ?? 1000);
  const sessionId = `online-${suite.name}-${now().toString(36)}`;
  evalStore.startSession({ id: sessionId, suite: suite.name, mode: 'online', fingerprint: 'online', versions: {}, startedAt: now() });
  const kinds: Record<string, ScorerKind> = Object.fromEntries(suite.scorers.filter((s) => s.online).map((s) => [s.name, s.kind]));
  const scored: StoredResult[] = [];
  for (const actor of picked) {
    const view = await viewOfRun(runtime, actor.id);
    const c = { id: actor.id, input: undefined };
    const result = await scoreRun(suite, c, view, options.judge, { onlineOnly: true });
    const stored = storedResult({ sessionId, caseId: actor.id, repeat: 0, runId: actor.id, machine: actor.machine, version: actor.version }, view, result, now());
    evalStore.saveResult(stored);
    scored.push(stored);
  }
  const byVersion: Record<string, SuiteMetrics['metrics']> = {};
  const all = evalStore.sessions(suite.name).filter((s) => s.mode === 'online').flatMap((s) => evalStore.results(s.id));
  for (const version of new Set(all.map((r) => r.version))) byVersion[version] = suiteMetrics(all.filter((r) => r.version === version), kinds).metrics;
  const metrics = suiteMetrics(scored, kinds).metrics;
  evalStore.finishSession(sessionId, { candidates: candidates.length, scored: scored.length, metrics }, now());
  return { suite: suite.name, sessionId, candidates: candidates.length, scored, metrics, byVersion };
}
