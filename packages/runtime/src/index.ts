export { createRuntime, Runtime, FINISHED, encodeRejection } from './createRuntime.js';
export type { RuntimeOptions, RunOutcome, StepNotice, PartialNotice } from './createRuntime.js';
export { MachineRegistry, versionOf, definitionVersion } from './MachineRegistry.js';
export { codeVersion, logicKind, machineActors, DURABLE_PARENT } from './xstateLogic.js';
export type { LogicKind } from './xstateLogic.js';
export type { MachineVersion } from './MachineRegistry.js';
export { defineMachine, defineActivity, sendToActor, sendToParent, getDurableSend, DURABLE_SEND } from './defineMachine.js';
export type {
  Activity,
  ActivityContext,
  ActivityPartial,
  CodeMachineDefinition,
  ActivityRetry,
  DurableSend,
  DurableTarget,
  MachineConfigJson,
  MachineDefinition,
  MachineImplementation,
} from './defineMachine.js';
export { validateMachineConfig } from './validateMachineConfig.js';
export type { ImplementationNames, MachineIssue, MachineRule, ValidateMachineOptions } from './validateMachineConfig.js';
export { MachineIndex, machineNames, transitionsOf } from './machineWalk.js';
export type { MachineElement, MachineNames, TransitionRef } from './machineWalk.js';
export { formatMachineJson, jsonEqual } from './formatMachineJson.js';
export { parseMachineLayout } from './machineLayout.js';
export {
  activePaths,
  afterTimers,
  cancelRun,
  createControl,
  forkRun,
  moveActorToVersion,
  planFork,
  planRetry,
  planRunStop,
  planVersionMove,
  readForkInputs,
  retryRun,
} from './control/index.js';
export type {
  CancelRunOptions,
  Control,
  DelayResolver,
  ForkInputs,
  ForkPlanOptions,
  ForkRunOptions,
  MoveActorOptions,
  MoveActorResult,
  RetryInputs,
  RetryOutcome,
  RetryPlan,
  RetryRunOptions,
  RunStopInputs,
  RunStopOptions,
} from './control/index.js';
export type { MachineLayout } from './machineLayout.js';
export { roundTripSnapshot } from './roundTripSnapshot.js';
export { encodeSnapshot, decodeSnapshot, snapshotContext, SNAPSHOT_META_KEY } from './snapshotCodec.js';
export { validateEvent, zodIssues } from './validateEvent.js';
export { planStep } from './step/planStep.js';
export type { ExecutableAction, StepPlan } from './step/planStep.js';
export { SpineError, RetryableError, TerminalError, ensureError, serializeError, formatIssues, markError } from './errors.js';
export type { SpineErrorCode, FieldIssue, SerializedError } from './errors.js';
export { systemClock, SimulatedClock } from './clock.js';
export type { Clock } from './clock.js';
export { canonicalJson, contentHash } from './canonicalJson.js';
export { loadMachineDirectory } from './loadMachineDirectory.js';
export type * from './Store.js';
export { DEFAULT_LEASE_MS } from './host/lease.js';
export { ApprovalDesk } from './ApprovalDesk.js';
export type { ApprovalErrorJson, Decision, DecisionOutcome } from './ApprovalDesk.js';
export { auditHash, verifyAuditChain, GENESIS_HASH } from './auditChain.js';
export { auditOfAttempt } from './auditOfAttempt.js';
export { signDecision, verifyDecision, proposalHash } from './decisions.js';
export type { DecisionPayload } from './decisions.js';
export { riskPolicies, riskPoliciesOfConfig, withConfidence } from './riskPolicy.js';
export type { ConfidenceEscalation, RiskPolicy } from './riskPolicy.js';
export { Redactor, redactingStore, secretsFromEnv, REDACTED } from './redact.js';
export { readSecret, ensureSecret, secretPathFor } from './secretFile.js';
export { stepProvenance, activityProvenance, promptHash } from './stepProvenance.js';
export type { StepProvenance, ActivityProvenance } from './stepProvenance.js';
export { RunTelemetry, traceIdOfRun, spanIdOfRun, spanIdOfStep, spineIdGenerator, modelFacts } from './telemetry.js';
export type { ActivitySpan } from './telemetry.js';
export { eventNameProblem, implementationNameProblem, isEventName, isImplementationName, hasOwn, ownValue, MAX_NAME_LENGTH } from './names.js';
export { depthProblem, MAX_EVENT_DEPTH } from './inputLimits.js';
export { boundDeadLetter, maxDeadLetterChars, DEFAULT_DEAD_LETTER_RETENTION } from './deadLetterBounds.js';
export type { DeadLetterRetention } from './deadLetterBounds.js';
export { isPersistentStorageError } from './hostFailure.js';
export { encodeHistoryStep, decodeHistoryStep, isCheckpointBody, isCheckpointSeq, HistoryDecoder, HISTORY_CHECKPOINT_EVERY } from './history/index.js';
export type { HistoryStep, EncodedHistoryStep, StoredHistoryBody, EncodeHistoryOptions } from './history/index.js';
export { packPayload, unpackPayload, isPackedPayload, packJobOutput, packJobJournal, unpackJobTexts, MIN_PACKED_CHARS } from './payloadCodec.js';
export type { StoredText, StoredJobTexts } from './payloadCodec.js';
