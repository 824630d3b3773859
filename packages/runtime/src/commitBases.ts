import type { StepCommit } from './Store.js';

// What a store remembers of the steps it committed, so the next step of the same actor needs no
// read before its write (see CommitBases). Used by both stores.

/** What the store knows of an actor after committing its step: the base of the next step's history delta. */
export interface CommitBase {
  seq: number;
  /** Null at seq 0: no step has written one yet. */
  snapshot: string | null;
  runId: string;
}

/**
 * The seq, snapshot and run of the actors this store committed lately, most recent last, at
 * most `maxActors` of them and `maxChars` characters of snapshots (the oldest go first). An
 * actor's snapshot at a seq never changes (every write of a snapshot moves the seq, under the
 * seq's condition), so an entry is right whenever its seq is the one a step expects; the
 * one-trip statement writes the actor only at that seq.
 */
export class CommitBases {
  readonly #bases = new Map<string, CommitBase>();
  readonly #maxActors: number;
  readonly #maxChars: number;
  #chars = 0;

  constructor(maxActors = 4_096, maxChars = 32 * 1024 * 1024) {
    this.#maxActors = maxActors;
    this.#maxChars = maxChars;
  }

  /** The actor's base when the store knows its snapshot at `seq`. */
  at(actorId: string, seq: number): CommitBase | undefined {
    const base = this.#bases.get(actorId);
    return base?.seq === seq ? base : undefined;
  }

  /** Notes an actor this store created: its first step's base is no snapshot at all. */
  created(actorId: string, runId: string): void {
    this.forget(actorId);
    this.#bases.set(actorId, { seq: 0, snapshot: null, runId });
    while (this.#bases.size > this.#maxActors) this.forget(this.#bases.keys().next().value!);
  }

  /** Notes a committed step: an active actor's next step has this base; a finished one has none. */
  committed(step: StepCommit, runId: string): void {
    this.forget(step.actorId);
    if (step.status !== 'active' || step.snapshot.length > this.#maxChars) return;
    this.#bases.set(step.actorId, { seq: step.expectedSeq + 1, snapshot: step.snapshot, runId });
    this.#chars += step.snapshot.length;
    while (this.#bases.size > this.#maxActors || this.#chars > this.#maxChars) this.forget(this.#bases.keys().next().value!);
  }

  forget(actorId: string): void {
    const base = this.#bases.get(actorId);
    if (!base) return;
    this.#bases.delete(actorId);
    this.#chars -= base.snapshot?.length ?? 0;
  }
}
