import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * Frames the WAL may hold before the host's own connection checkpoints it (SQLite's
 * `wal_autocheckpoint`, default 1000): the backstop when the checkpointer thread falls behind.
 */
export const BACKSTOP_FRAMES = 16_384;

/** How long the checkpointer lets commits gather before it copies them into the database file. */
const GATHER_MS = 50;

// The thread: its own connection, same durability; sleeps until a commit marks the WAL dirty,
// lets commits gather, then copies them into the database file. PASSIVE never blocks a writer.
const THREAD = `
const { workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const state = workerData.state;
const db = new Database(workerData.path);
db.pragma('busy_timeout = 0');
db.pragma('synchronous = ' + workerData.synchronous);
db.pragma('wal_autocheckpoint = 0');
for (;;) {
  Atomics.wait(state, 0, 0);
  if (Atomics.load(state, 1)) break;
  Atomics.wait(state, 1, 0, workerData.gatherMs);
  if (Atomics.load(state, 1)) break;
  Atomics.store(state, 0, 0);
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {}
}
db.close();
`;

/**
 * Checkpoints the WAL on a thread of its own, so that copying committed pages into the
 * database file and the fsyncs that go with it (two per checkpoint, even at
 * `synchronous=NORMAL`) never block the event loop that commits steps. With SQLite's default
 * (a checkpoint inside the commit that crosses 1000 frames) a lone run stepping through an
 * activity workflow spent about a sixth of each step blocked there. The host's connection keeps
 * `wal_autocheckpoint = BACKSTOP_FRAMES`: while commits never pause, a PASSIVE checkpoint rarely
 * ends with every frame copied, so the WAL can only restart after a checkpoint of its own.
 * Only at `synchronous=NORMAL`: at FULL every commit fsyncs the WAL, and a WAL that grows past
 * SQLite's 1000 frames makes each of those fsyncs dearer (the file's size changes), which cost a
 * lone run more than the checkpoints it saved. Durability is unchanged: a checkpoint only copies what the WAL already holds, at the same
 * `synchronous` level, and SQLite coordinates it with every other connection.
 */
export class Checkpointer {
  /** [0]: the WAL has frames since the last checkpoint; [1]: closing. */
  readonly #state = new Int32Array(new SharedArrayBuffer(8));
  readonly #worker: Worker;
  readonly #exited: Promise<void>;

  #closing = false;

  /** `died`: the thread ended without being closed (it could not start or open the file). */
  constructor(path: string, synchronous: 'NORMAL' | 'FULL', died: () => void) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.#worker = new Worker(THREAD, { eval: true, workerData: { path, synchronous, driver, state: this.#state, gatherMs: GATHER_MS } });
    this.#worker.unref();
    this.#exited = new Promise((resolve) => {
      this.#worker.once('exit', () => {
        if (!this.#closing) died();
        resolve();
      });
      this.#worker.on('error', () => {}); // reported by 'exit'
    });
  }

  /** A transaction committed: checkpoint soon (one wake-up per gathering, whatever the commits). */
  written(): void {
    if (Atomics.compareExchange(this.#state, 0, 0, 1) === 0) Atomics.notify(this.#state, 0);
  }

  /** Stops the thread once its checkpoint in progress (if any) ends, and waits for it. */
  async close(): Promise<void> {
    this.#closing = true;
    this.#worker.ref(); // the process waits for the thread to close its connection
    Atomics.store(this.#state, 1, 1);
    // Also marks the WAL dirty: a thread about to wait for that flag returns at once instead of
    // sleeping through a notify it was not yet waiting for.
    Atomics.store(this.#state, 0, 1);
    Atomics.notify(this.#state, 0);
    Atomics.notify(this.#state, 1);
    await this.#exited;
  }
}
