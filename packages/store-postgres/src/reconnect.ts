import type pg from 'pg';
import { SpineError } from '@spine/runtime/store';
import { classifyStorageError } from './storageErrors.js';

/** Options of `Reconnect`. */
export interface ReconnectOptions {
  /** How long one call waits for an unreachable server before it fails with `storage_busy` (default 60,000 ms). */
  maxWaitMs?: number;
  /** Where the one-line outage messages go (default: stderr). */
  report?: (line: string) => void;
}

/** The first pause after a failed connection; it doubles up to `MAX_PAUSE_MS`. */
const FIRST_PAUSE_MS = 250;
const MAX_PAUSE_MS = 2_000;
/** While the server stays down, the outage line is said again at most this often. */
const REPEAT_MS = 10_000;

/**
 * Waits out an unreachable PostgreSQL server (a restart, a failover, a dropped network) for
 * the store's calls: a connection that cannot be opened is tried again after a growing pause,
 * a write transaction whose COMMIT got no answer is looked up by its transaction id instead of
 * being applied again, and the store's process says one line when the server goes away (and
 * again every 10 s while it stays away) and one when it is back, however many calls wait.
 * Before the server has answered once (opening the store), nothing waits: the error is the answer.
 */
export class Reconnect {
  readonly #server: string;
  readonly #maxWaitMs: number;
  readonly #report: (line: string) => void;
  /** When the current outage began (undefined while the server answers), and when it was last said. */
  #down: { since: number; said: number } | undefined;
  /** Whether the server ever answered: a store that could not open fails at once instead of waiting. */
  #reached = false;

  constructor(server: string, options: ReconnectOptions = {}) {
    this.#server = server;
    this.#maxWaitMs = options.maxWaitMs ?? 60_000;
    this.#report = options.report ?? ((line) => void process.stderr.write(`${line}\n`));
  }

  /** A deadline for one call's waiting, counted from now. */
  deadline(): number {
    return Date.now() + this.#maxWaitMs;
  }

  /** A pooled connection, waiting (until `deadline`) while the server is unreachable. */
  async connect(pool: pg.Pool, deadline = this.deadline()): Promise<pg.PoolClient> {
    for (let attempt = 0; ; attempt++) {
      try {
        const client = await pool.connect();
        this.#reached = true;
        this.up();
        return client;
      } catch (error) {
        await this.pause(error, attempt, deadline);
      }
    }
  }

  /**
   * After an unreachable-server error: says so (once per outage, then every 10 s), then waits
   * before the next attempt. Rethrows the error when it is something else or `deadline` has passed.
   */
  async pause(error: unknown, attempt: number, deadline: number): Promise<void> {
    if (!this.#reached || classifyStorageError(error) !== 'unreachable') throw error;
    const now = Date.now();
    const wait = Math.min(FIRST_PAUSE_MS * 2 ** attempt, MAX_PAUSE_MS);
    if (now + wait > deadline) throw error;
    if (!this.#down) this.#down = { since: now, said: 0 };
    if (now - this.#down.said >= REPEAT_MS) {
      this.#down.said = now;
      const since = now - this.#down.since >= 1_000 ? ` for ${Math.round((now - this.#down.since) / 1_000)}s` : '';
      this.#report(`spine: PostgreSQL at ${this.#server} unreachable${since} (${reasonOf(error)}); retrying in ${formatSeconds(wait)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, wait));
  }

  /** The server answered: ends the outage, saying so if one was reported. */
  up(): void {
    const down = this.#down;
    if (!down) return;
    this.#down = undefined;
    if (down.said) this.#report(`spine: PostgreSQL at ${this.#server} reachable again after ${formatSeconds(Date.now() - down.since)}`);
  }

  /**
   * Whether the write transaction `xid`, whose COMMIT was sent but never answered, committed.
   * Asks the server (`txid_status`) once it is reachable: 'committed' or 'aborted' (a transaction
   * cut off by a restart is aborted). Fails with `storage_busy` when the answer cannot be had in time.
   */
  async committed(pool: pg.Pool, xid: number, deadline: number): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      const client = await this.connect(pool, deadline);
      let status: string | null;
      try {
        status = (await client.query<{ status: string | null }>('SELECT txid_status($1) AS status', [xid])).rows[0]?.status ?? null;
      } catch (error) {
        client.release(true);
        await this.pause(error, attempt, deadline);
        continue;
      }
      client.release();
      if (status === 'committed') return true;
      if (status === 'aborted') return false;
      // Still in progress: the old backend has not yet noticed its client went away.
      if (status !== 'in progress' || Date.now() + MAX_PAUSE_MS > deadline) {
        throw new SpineError('storage_busy', `The PostgreSQL server at ${this.#server} did not confirm a commit before the connection dropped, and its outcome could not be learnt (transaction ${xid}: ${status ?? 'unknown'}); the step is tried again once the server answers.`);
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(FIRST_PAUSE_MS * 2 ** attempt, MAX_PAUSE_MS)));
    }
  }
}

/** The short reason of a connection error: its code (ECONNREFUSED, 57P01) or its message. */
function reasonOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code === '57P01' ? '57P01 admin_shutdown' : code === '57P03' ? '57P03 cannot_connect_now' : code;
  const message = (error as Error | null)?.message ?? String(error);
  // pg's words for a connection that broke earlier (the cause was said by the call that met it).
  return /not queryable|Connection terminated/i.test(message) ? 'connection lost' : message;
}

function formatSeconds(ms: number): string {
  return ms < 1_000 ? `${(ms / 1_000).toFixed(2).replace(/0$/, '')}s` : `${Math.round(ms / 100) / 10}s`;
}
