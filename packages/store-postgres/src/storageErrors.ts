import { latchStorageErrors, SpineError, STORAGE_FAILURE_CODES, type SpineErrorCode, type StorageFailureKind } from '@spine/runtime/store';

/** What kind of storage failure an error is (the same kinds as the SQLite store's, plus an unreachable server). */
export type StorageFailure = StorageFailureKind | 'unreachable';

const CODES: Record<StorageFailure, SpineErrorCode> = {
  ...STORAGE_FAILURE_CODES,
  // Not persistent: the host keeps its work and tries again once the server is back.
  unreachable: 'storage_busy',
};

const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED']);

/**
 * Classifies an error thrown by node-postgres (a SQLSTATE in `code`, or a socket
 * `errno` code) as a storage failure, or undefined when it is something else
 * (a constraint, a bug, a refusal).
 */
export function classifyStorageError(error: unknown): StorageFailure | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  const message = (error as Error | null)?.message ?? '';
  if (typeof code !== 'string') {
    // pg says these without a code when the socket goes away under a query.
    if (/Connection terminated|connection timeout|Client has encountered a connection error|terminating connection/i.test(message)) return 'unreachable';
    return undefined;
  }
  if (code === '53100' || code === '53200' || code === '54000') return 'full'; // disk_full, out_of_memory, program_limit_exceeded
  if (code === '25006' || code === '42501') return 'read_only'; // read_only_sql_transaction, insufficient_privilege
  if (code === 'XX001' || code === 'XX002') return 'corrupt'; // data_corrupted, index_corrupted
  if (code === '40001' || code === '40P01' || code === '55P03' || code === '53300') return 'busy'; // serialization, deadlock, lock_not_available, too_many_connections
  if (NETWORK.has(code) || code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03') return 'unreachable';
  if (code === '58030' || code.startsWith('58')) return 'io';
  return undefined;
}

/** The SpineError for a storage failure: one line that says what happened to which database and what to do. */
export function storageError(kind: StorageFailure, where: string, cause: unknown): SpineError {
  const raw = (cause as Error | null)?.message || String((cause as { code?: unknown })?.code ?? cause);
  const message = {
    full: `The PostgreSQL server holding ${where} is out of space or memory (${raw}). The step being written was rolled back; free some space, then run \`spine resume\`.`,
    read_only: `${where} cannot be written: the server or the role is read-only (${raw}). Grant the role write access; commands that only read (runs, show, audit) still work.`,
    corrupt: `${where} reports corrupt data (${raw}). Spine will not write to it any more; restore it from a backup.`,
    busy: `${where} is busy: a lock or too many connections (${raw}); try again.`,
    io: `The PostgreSQL server holding ${where} failed with an I/O error (${raw}); check its disk, then run \`spine resume\`.`,
    unreachable: `The PostgreSQL server at ${where} is unreachable (${raw}); Spine retries once it is back (check that it is running and reachable).`,
  }[kind];
  return new SpineError(CODES[kind], message, { cause });
}

/** The classified SpineError for an error, or the error itself when it is no storage failure. */
export function toStorageError(error: unknown, where: string): unknown {
  if (SpineError.is(error)) return error;
  const kind = classifyStorageError(error);
  return kind ? storageError(kind, where, error) : error;
}

/**
 * Makes every method of a store class report storage failures as classified
 * SpineErrors instead of raw driver errors (as the SQLite store does). After a
 * corruption error an instance refuses every further call with it. `close` is never refused.
 */
export function reportStorageErrors(store: { prototype: object }): void {
  latchStorageErrors(store as { prototype: { where?: string } }, { toStorageError: (self, error) => toStorageError(error, self.where ?? '(database)') });
}
