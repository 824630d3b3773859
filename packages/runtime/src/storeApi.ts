/**
 * What a Store implementation and a read-only tool need from the runtime (`@spine/runtime/store`):
 * the Store contract's types, the errors, the audit chain, secrets and dead-letter bounds, without
 * xstate, zod or OpenTelemetry, so that `spine runs` and `spine show` start fast.
 */
export type * from './Store.js';
export { SpineError, RetryableError, TerminalError, ensureError, serializeError, formatIssues, markError } from './errors.js';
export type { SpineErrorCode, FieldIssue, SerializedError } from './errors.js';
export { auditHash, verifyAuditChain, GENESIS_HASH } from './auditChain.js';
export { readSecret, ensureSecret, secretPathFor } from './secretFile.js';
export { boundDeadLetter, maxDeadLetterChars, DEFAULT_DEAD_LETTER_RETENTION } from './deadLetterBounds.js';
export type { DeadLetterRetention } from './deadLetterBounds.js';
export { encodeHistoryStep, decodeHistoryStep, isCheckpointBody, isCheckpointSeq, HistoryDecoder, HISTORY_CHECKPOINT_EVERY } from './history/index.js';
export { packPayload, unpackPayload, isPackedPayload, packJobOutput, packJobJournal, unpackJobTexts, unpackJobOutput, MIN_PACKED_CHARS } from './payloadCodec.js';
export type { StoredText, StoredJobTexts } from './payloadCodec.js';
export type { HistoryStep, EncodedHistoryStep, StoredHistoryBody, EncodeHistoryOptions } from './history/index.js';
export { checkCreateEntry, createdActor, stepHistory, toActor, toEvent, toJob, toHistory, toHistoryRow, toDeadLetter, toApproval, toDecision, toAudit } from './storeRows.js';
export type { ActorRow, EventRow, JobRow, HistoryRowColumns, DeadLetterRow, ApprovalRow, DecisionRow, AuditRow } from './storeRows.js';
export { parseJson, stepOfJobKey } from './control/json.js';
export { AUDIT_ANCHOR_KEY, signAnchor, auditAnchorOf, parseAuditAnchor, auditStartGap, checkAuditAnchor } from './auditAnchor.js';
export type { AuditAnchor } from './auditAnchor.js';
export { DEFAULT_LEASE_MS } from './host/lease.js';
export { STORAGE_FAILURE_CODES, latchStorageErrors, foundCorrupt } from './storageFailures.js';
export type { StorageFailureKind, StorageErrorReporting } from './storageFailures.js';
export { crashInBatchHook } from './crashInBatchHook.js';
export { CommitBases } from './commitBases.js';
export type { CommitBase } from './commitBases.js';
