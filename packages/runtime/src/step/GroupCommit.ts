import type { BatchEntry, BatchResult, HostStore } from '../Store.js';

/** Options of a `GroupCommit`. */
export interface GroupCommitOptions {
  /** Most entries in one transaction (default 256); a full batch is written at once. */
  maxBatch?: number;
  /**
   * How many committers are at work now (the drains in progress): once that many entries
   * wait, nobody else can join this turn, so the batch is written at once instead of at
   * `setImmediate`. Default: always wait for `setImmediate`.
   */
  committers?: () => number;
}

interface Pending {
  entry: BatchEntry;
  resolve(result: BatchResult): void;
  reject(error: unknown): void;
}

/**
 * Group commit: collects the commits that steps of many actors request in the same
 * turn of the event loop (until `setImmediate`, `maxBatch` entries, or an entry from
 * every committer at work) and writes them
 * in one store transaction, so they share one fsync. Each caller's promise settles only
 * after the transaction that holds its entry committed: nothing a step causes becomes
 * visible before then. One transaction is in flight at a time; entries that arrive
 * meanwhile form the next batch.
 */
export class GroupCommit {
  readonly #store: HostStore;
  readonly #maxBatch: number;
  readonly #committers: () => number;
  #queue: Pending[] = [];
  #scheduled = false;
  /** A transaction is in flight: entries that arrive meanwhile form the next batch. */
  #writing = false;

  constructor(store: HostStore, options: GroupCommitOptions = {}) {
    this.#store = store;
    this.#maxBatch = Math.max(1, options.maxBatch ?? 256);
    this.#committers = options.committers ?? (() => Infinity);
  }

  /**
   * Commits one entry with whatever else is ready. Resolves with its result; rejects with
   * the entry's own error (a refused constraint) or with the batch's (I/O, a lock).
   */
  commit(entry: BatchEntry): Promise<BatchResult> {
    return new Promise<BatchResult>((resolve, reject) => {
      this.#queue.push({ entry, resolve, reject });
      if (this.#queue.length >= Math.min(this.#maxBatch, this.#committers())) this.#flush();
      else if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => {
          this.#scheduled = false;
          this.#flush();
        });
      }
    });
  }

  /** Writes the waiting entries unless a transaction is in flight (its end writes them next). */
  #flush(): void {
    if (this.#writing || !this.#queue.length) return;
    const batch = this.#queue.splice(0, this.#maxBatch);
    this.#writing = true;
    let written: Promise<BatchResult[]>;
    try {
      written = commitEntries(this.#store, batch.map((p) => p.entry));
    } catch (error) {
      written = Promise.reject(error);
    }
    written.then(
      (results) => this.#settle(batch, results),
      (error: unknown) => this.#settle(batch, undefined, error),
    );
  }

  /** Settles each caller of a written batch with its entry's result (or the batch's error), then writes what waits. */
  #settle(batch: Pending[], results: BatchResult[] | undefined, error?: unknown): void {
    this.#writing = false;
    batch.forEach((pending, i) => {
      if (!results) return pending.reject(error);
      const result = results[i];
      if (!result) pending.reject(new Error(`The store answered ${results.length} of the ${batch.length} entries of a batch.`));
      else if (!result.ok && result.reason === 'failed') pending.reject(result.error);
      else pending.resolve(result);
    });
    if (this.#queue.length && !this.#scheduled) this.#flush();
  }
}

/**
 * `commitBatch` when the store has it and there is something to group (several entries,
 * a result with its step, or an actor created with its first step); `commitStep` for a lone step (the same one transaction);
 * entry by entry otherwise (a result then always goes through the mailbox).
 */
function commitEntries(store: HostStore, entries: BatchEntry[]): Promise<BatchResult[]> {
  const lone = entries.length === 1 && !entries[0]!.completion && !entries[0]!.create;
  return store.commitBatch && !lone ? store.commitBatch(entries) : commitOneByOne(store, entries);
}

async function commitOneByOne(store: HostStore, entries: BatchEntry[]): Promise<BatchResult[]> {
  const results: BatchResult[] = [];
  for (const { completion, step, create } of entries) {
    if (create) throw new Error(`The store cannot create actor '${create.id}' with its first step (it does not say createsWithStep).`);
    if (completion) results.push((await store.completeJob(completion)) ? (step ? { ok: false, reason: 'queued' } : { ok: true }) : { ok: false, reason: (await takenOver(store, completion)) ? 'refused' : 'cancelled' });
    else if (step) {
      try {
        results.push(await store.commitStep(step));
      } catch (error) {
        results.push({ ok: false, reason: 'failed', error: error as Error });
      }
    } else results.push({ ok: true });
  }
  return results;
}

/** Why a job's outcome was refused: another owner or a later attempt runs it now (else it was cancelled or had finished). */
export async function takenOver(store: HostStore, outcome: { key: string; owner: string; attempt?: number }): Promise<boolean> {
  const job = await store.getJob(outcome.key);
  return job !== undefined && job.status !== 'cancelled' && (job.owner !== outcome.owner || (outcome.attempt !== undefined && job.attempts !== outcome.attempt));
}
