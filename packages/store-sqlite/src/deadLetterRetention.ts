import type Database from 'better-sqlite3';
import { boundDeadLetter, DEFAULT_DEAD_LETTER_RETENTION, type DeadLetterRetention, type NewDeadLetter } from '@spine/runtime/store';

const statements = new WeakMap<Database.Database, ReturnType<typeof prepare>>();

function prepare(db: Database.Database) {
  return {
    insert: db.prepare('INSERT INTO dead_letters (actor_id, event, reason, issues, source, created_at) VALUES (?, ?, ?, ?, ?, ?)'),
    // The id of the oldest letter still kept; everything at or before the one past it goes.
    pruneActor: db.prepare('DELETE FROM dead_letters WHERE actor_id = ? AND id <= (SELECT id FROM dead_letters WHERE actor_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)'),
    pruneAll: db.prepare('DELETE FROM dead_letters WHERE id <= (SELECT id FROM dead_letters ORDER BY id DESC LIMIT 1 OFFSET ?)'),
  };
}

/** A retention with every field set: the defaults where `partial` leaves one out; each must be a positive integer. */
export function deadLetterRetention(partial: Partial<DeadLetterRetention> = {}): DeadLetterRetention {
  const out = { ...DEFAULT_DEAD_LETTER_RETENTION, ...partial };
  for (const [key, value] of Object.entries(out)) {
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`deadLetters.${key} must be a positive integer, got ${String(value)}`);
  }
  return out;
}

/**
 * Stores one dead letter cut to the retention's sizes, then deletes the oldest
 * letters beyond the per-actor and the total cap. Call inside the transaction
 * that records the refusal, so the cap holds at every commit.
 */
export function insertBoundedDeadLetter(db: Database.Database, letter: NewDeadLetter, now: number, retention: DeadLetterRetention): void {
  let s = statements.get(db);
  if (!s) statements.set(db, (s = prepare(db)));
  const bounded = boundDeadLetter(letter, retention);
  s.insert.run(bounded.actorId, bounded.event, bounded.reason, bounded.issues, bounded.source, now);
  s.pruneActor.run(bounded.actorId, bounded.actorId, retention.maxPerActor);
  s.pruneAll.run(retention.maxTotal);
}
