import Database from 'better-sqlite3';
import type { ScoreResult } from './defineEvalSuite.js';
import type { CaseResult } from './metrics.js';

/** One `spine eval` of a suite (offline over a dataset, or online over production runs). */
export interface EvalSession {
  id: string;
  suite: string;
  mode: 'offline' | 'online';
  /** Hash of the suite, dataset, repeat count and machine versions: a crashed session resumes only if it matches. */
  fingerprint: string;
  /** JSON: machine -> version the runs were pinned to. */
  versions: Record<string, string>;
  startedAt: number;
  finishedAt: number | null;
  /** JSON of the report, once finished. */
  summary: unknown;
}

/** A stored scored run, with the machine version it ran on. */
export interface StoredResult extends CaseResult {
  sessionId: string;
  machine: string;
  version: string;
  scoredAt: number;
}

const schema = `
CREATE TABLE IF NOT EXISTS eval_sessions (
  id TEXT PRIMARY KEY,
  suite TEXT NOT NULL,
  mode TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  versions TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  finished_at INTEGER,
  summary TEXT
);
CREATE TABLE IF NOT EXISTS eval_results (
  session_id TEXT NOT NULL,
  case_id TEXT NOT NULL,
  repeat INTEGER NOT NULL,
  run_id TEXT NOT NULL,
  machine TEXT NOT NULL,
  version TEXT NOT NULL,
  status TEXT NOT NULL,
  completed INTEGER NOT NULL,
  scores TEXT NOT NULL,
  tokens INTEGER NOT NULL,
  cost_usd REAL NOT NULL,
  scored_at INTEGER NOT NULL,
  PRIMARY KEY (session_id, case_id, repeat)
);
CREATE INDEX IF NOT EXISTS eval_results_run ON eval_results (run_id);
`;

interface ResultRow {
  session_id: string;
  case_id: string;
  repeat: number;
  run_id: string;
  machine: string;
  version: string;
  status: CaseResult['status'];
  completed: number;
  scores: string;
  tokens: number;
  cost_usd: number;
  scored_at: number;
}

/**
 * Eval sessions and scored runs, kept in the run database itself (tables `eval_sessions` and
 * `eval_results`, beside the store's own), so a score sits next to the run it scores and a
 * crashed `spine eval` finds what it already scored. Open it after the Spine store has
 * initialised the file.
 */
export class EvalStore {
  readonly #db: Database.Database;

  private constructor(db: Database.Database) {
    this.#db = db;
  }

  /** Opens (and, the first time, creates) the eval tables in a Spine database file. */
  static open(path: string): EvalStore {
    const db = new Database(path);
    db.pragma('busy_timeout = 5000');
    db.exec(schema);
    return new EvalStore(db);
  }

  /** The latest unfinished session of a suite with this fingerprint: what a crashed eval left. */
  unfinishedSession(suite: string, fingerprint: string): EvalSession | undefined {
    const row = this.#db
      .prepare("SELECT * FROM eval_sessions WHERE suite = ? AND fingerprint = ? AND mode = 'offline' AND finished_at IS NULL ORDER BY started_at DESC LIMIT 1")
      .get(suite, fingerprint) as Record<string, unknown> | undefined;
    return row ? sessionOf(row) : undefined;
  }

  /** Starts a session. */
  startSession(session: Omit<EvalSession, 'finishedAt' | 'summary'>): void {
    this.#db
      .prepare('INSERT INTO eval_sessions (id, suite, mode, fingerprint, versions, started_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(session.id, session.suite, session.mode, session.fingerprint, JSON.stringify(session.versions), session.startedAt);
  }

  /** Marks a session finished with its report. */
  finishSession(id: string, summary: unknown, at: number): void {
    this.#db.prepare('UPDATE eval_sessions SET finished_at = ?, summary = ? WHERE id = ?').run(at, JSON.stringify(summary), id);
  }

  /** Records a scored run (once: a second record of the same case and repeat is ignored). */
  saveResult(result: StoredResult): void {
    this.#db
      .prepare(
        'INSERT OR IGNORE INTO eval_results (session_id, case_id, repeat, run_id, machine, version, status, completed, scores, tokens, cost_usd, scored_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      )
      .run(result.sessionId, result.caseId, result.repeat, result.runId, result.machine, result.version, result.status, result.completed ? 1 : 0, JSON.stringify(result.scores), result.tokens, result.costUsd, result.scoredAt);
  }

  /** The scored runs of a session. */
  results(sessionId: string): StoredResult[] {
    return (this.#db.prepare('SELECT * FROM eval_results WHERE session_id = ? ORDER BY case_id, repeat').all(sessionId) as ResultRow[]).map(resultOf);
  }

  /** Whether a run has been scored in any session of this mode. */
  isScored(runId: string, mode: 'offline' | 'online'): boolean {
    return this.#db.prepare('SELECT 1 FROM eval_results r JOIN eval_sessions s ON s.id = r.session_id WHERE r.run_id = ? AND s.mode = ?').get(runId, mode) !== undefined;
  }

  /** Every session, newest first (optionally of one suite). */
  sessions(suite?: string): EvalSession[] {
    const rows = (suite
      ? this.#db.prepare('SELECT * FROM eval_sessions WHERE suite = ? ORDER BY started_at DESC').all(suite)
      : this.#db.prepare('SELECT * FROM eval_sessions ORDER BY started_at DESC').all()) as Record<string, unknown>[];
    return rows.map(sessionOf);
  }

  /** Scores stored with one run (any session). */
  resultsOfRun(runId: string): StoredResult[] {
    return (this.#db.prepare('SELECT * FROM eval_results WHERE run_id = ?').all(runId) as ResultRow[]).map(resultOf);
  }

  close(): void {
    this.#db.close();
  }
}

function sessionOf(row: Record<string, unknown>): EvalSession {
  return {
    id: row['id'] as string,
    suite: row['suite'] as string,
    mode: row['mode'] as EvalSession['mode'],
    fingerprint: row['fingerprint'] as string,
    versions: JSON.parse(row['versions'] as string) as Record<string, string>,
    startedAt: row['started_at'] as number,
    finishedAt: (row['finished_at'] as number | null) ?? null,
    summary: row['summary'] ? (JSON.parse(row['summary'] as string) as unknown) : null,
  };
}

function resultOf(row: ResultRow): StoredResult {
  return {
    sessionId: row.session_id,
    caseId: row.case_id,
    repeat: row.repeat,
    runId: row.run_id,
    machine: row.machine,
    version: row.version,
    status: row.status,
    completed: row.completed === 1,
    scores: JSON.parse(row.scores) as Record<string, ScoreResult>,
    tokens: row.tokens,
    costUsd: row.cost_usd,
    scoredAt: row.scored_at,
  };
}
