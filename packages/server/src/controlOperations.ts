import type { Store } from '@spine/runtime';
import { SqliteStore } from '@spine/store-sqlite';
import type { RunFork } from './planFork.js';
import { ServerError } from './ServerError.js';

/**
 * Store operations run control needs and the Store contract does not have yet
 * (proposed for packages/runtime/src/Store.ts). A store that implements them
 * is used as is; a SqliteStore without them gets the SQL below, one
 * transaction per operation.
 */
export interface ControlOperations {
  /** Writes a planned fork (actors, copied history, re-requested jobs and timers) atomically. */
  forkRun(fork: RunFork): Promise<void>;
  /**
   * Stops every active actor of a run: each gets a `spine.run.cancelled` history
   * row (seq + 1, so a host holding the old seq is fenced off), its open jobs are
   * cancelled and its waiting mailbox events become dead letters. Returns the stopped ids.
   */
  stopRun(runId: string, options: { reason: string; now: number }): Promise<string[]>;
  /** Moves a pending job's next attempt to `runAt` (retry now); false unless it was pending. */
  rescheduleJob(key: string, runAt: number): Promise<boolean>;
}

/** The control operations of a store: its own, or the SQLite fallback. */
export function controlOperations(store: Store): ControlOperations {
  const own = store as Partial<ControlOperations>;
  if (typeof own.forkRun === 'function' && typeof own.stopRun === 'function' && typeof own.rescheduleJob === 'function') {
    return own as ControlOperations;
  }
  if (store instanceof SqliteStore) return sqliteControl(store);
  const missing = (name: string) => async (): Promise<never> => {
    throw new ServerError('not_available', `This store has no '${name}' operation yet; run control needs it.`);
  };
  return { forkRun: missing('forkRun'), stopRun: missing('stopRun'), rescheduleJob: missing('rescheduleJob') };
}

function sqliteControl(store: SqliteStore): ControlOperations {
  const db = store.db;
  const insertActor = db.prepare(
    `INSERT INTO actors (id, run_id, parent_id, child_key, machine, version, seq, status, snapshot, state_value, output, error, owner, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)`,
  );
  const insertHistory = db.prepare(
    'INSERT INTO history (actor_id, run_id, seq, event_type, event, state_value, snapshot, status, version, emitted, started_at, duration_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const insertEvent = db.prepare('INSERT INTO events (actor_id, type, event, due_at, send_id, source, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)');
  const insertJob = db.prepare("INSERT INTO jobs (key, actor_id, run_id, child_id, src, input, status, run_at, created_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?)");
  const activeActors = db.prepare("SELECT id, seq, snapshot, state_value, version FROM actors WHERE run_id = ? AND status = 'active'");
  const stopActor = db.prepare("UPDATE actors SET status = 'stopped', seq = ?, updated_at = ? WHERE id = ? AND seq = ? AND status = 'active'");
  const cancelJobs = db.prepare("UPDATE jobs SET status = 'cancelled', finished_at = ? WHERE actor_id = ? AND status IN ('pending', 'running')");
  const mailbox = db.prepare('SELECT id, event, source FROM events WHERE actor_id = ?');
  const deleteEvent = db.prepare('DELETE FROM events WHERE id = ?');
  const insertDeadLetter = db.prepare('INSERT INTO dead_letters (actor_id, event, reason, issues, source, created_at) VALUES (?, ?, ?, NULL, ?, ?)');
  const reschedule = db.prepare("UPDATE jobs SET run_at = ? WHERE key = ? AND status = 'pending'");

  const fork = db.transaction((plan: RunFork) => {
    const now = Date.now();
    for (const a of plan.actors) {
      insertActor.run(a.id, a.runId, a.parentId, a.childKey, a.machine, a.version, a.seq, a.status, a.snapshot, a.stateValue, a.output, a.error, now, now);
    }
    for (const h of plan.history) {
      insertHistory.run(h.actorId, h.runId, h.seq, h.eventType, h.event, h.stateValue, h.snapshot, h.status, h.version, h.emitted, h.startedAt, h.durationUs);
    }
    for (const e of plan.events) insertEvent.run(e.actorId, e.type, e.event, e.dueAt, e.sendId ?? null, e.source, now);
    for (const j of plan.jobs) insertJob.run(j.key, j.actorId, j.runId, j.childId, j.src, j.input, j.runAt, now);
  });

  const stop = db.transaction((runId: string, reason: string, now: number): string[] => {
    const stopped: string[] = [];
    const event = JSON.stringify({ type: 'spine.run.cancelled', reason });
    for (const a of activeActors.all(runId) as { id: string; seq: number; snapshot: string | null; state_value: string | null; version: string }[]) {
      const seq = a.snapshot ? a.seq + 1 : a.seq;
      if (stopActor.run(seq, now, a.id, a.seq).changes === 0) continue;
      if (a.snapshot) insertHistory.run(a.id, runId, seq, 'spine.run.cancelled', event, a.state_value ?? 'null', a.snapshot, 'stopped', a.version, null, now, 0);
      cancelJobs.run(now, a.id);
      for (const e of mailbox.all(a.id) as { id: number; event: string; source: string }[]) {
        deleteEvent.run(e.id);
        insertDeadLetter.run(a.id, e.event, `Run '${runId}' was cancelled (${reason}) before this event was applied.`, e.source, now);
      }
      stopped.push(a.id);
    }
    return stopped;
  });

  return {
    async forkRun(plan) {
      fork.immediate(plan);
    },
    async stopRun(runId, options) {
      return stop.immediate(runId, options.reason, options.now);
    },
    async rescheduleJob(key, runAt) {
      return reschedule.run(runAt, key).changes > 0;
    },
  };
}
