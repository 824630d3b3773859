import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { EvalStore, type EvalSession } from './EvalStore.js';

/** One eval session as the studio lists it. */
export interface SessionOverview {
  id: string;
  mode: EvalSession['mode'];
  startedAt: number;
  finishedAt: number | null;
  versions: Record<string, string>;
  passed: boolean | null;
  metrics: Record<string, number>;
  checks: { metric: string; value: number | undefined; check: string; expected: string; held: boolean }[];
  failing: { caseId: string; repeat: number; runId: string; reasons: string[] }[];
}

/** Every suite with its sessions (newest first) and its online scores over time, per machine version. */
export interface EvalsOverview {
  suites: {
    name: string;
    sessions: SessionOverview[];
    online: { runId: string; machine: string; version: string; scoredAt: number; scores: Record<string, number> }[];
  }[];
}

/**
 * What the studio's Evals page shows, read from a Spine database (read-only; a database with no
 * eval tables yet has no suites). For `spine serve`.
 */
export function evalsOverview(path: string): EvalsOverview {
  if (!existsSync(path)) return { suites: [] };
  const probe = new Database(path, { readonly: true, fileMustExist: true });
  let hasTables: boolean;
  try {
    hasTables = probe.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'eval_sessions'").get() !== undefined;
  } finally {
    probe.close();
  }
  if (!hasTables) return { suites: [] };
  const store = EvalStore.open(path);
  try {
    const byName = new Map<string, EvalsOverview['suites'][number]>();
    for (const session of store.sessions()) {
      const suite = byName.get(session.suite) ?? { name: session.suite, sessions: [], online: [] };
      byName.set(session.suite, suite);
      const summary = (session.summary ?? {}) as Partial<SessionOverview> & { passed?: boolean };
      if (session.mode === 'online') {
        for (const r of store.results(session.id)) {
          const scores = Object.fromEntries(Object.entries(r.scores).filter(([, s]) => !s.skipped).map(([name, s]) => [name, s.value]));
          suite.online.push({ runId: r.runId, machine: r.machine, version: r.version, scoredAt: r.scoredAt, scores });
        }
      }
      suite.sessions.push({
        id: session.id,
        mode: session.mode,
        startedAt: session.startedAt,
        finishedAt: session.finishedAt,
        versions: session.versions,
        passed: session.mode === 'offline' && session.finishedAt !== null ? Boolean(summary.passed) : null,
        metrics: summary.metrics ?? {},
        checks: summary.checks ?? [],
        failing: summary.failing ?? [],
      });
    }
    for (const suite of byName.values()) suite.online.sort((a, b) => a.scoredAt - b.scoredAt);
    return { suites: [...byName.values()] };
  } finally {
    store.close();
  }
}
