export { createRuntime, Runtime, FINISHED } from './createRuntime.js';
export type { RuntimeOptions, RunOutcome, StepNotice } from './createRuntime.js';
export { MachineRegistry, versionOf } from './MachineRegistry.js';
export type { MachineVersion } from './MachineRegistry.js';
export { defineMachine, defineActivity, sendToActor, sendToParent, getDurableSend, DURABLE_SEND } from './defineMachine.js';
export type {
  Activity,
  ActivityContext,
  ActivityRetry,
  DurableSend,
  DurableTarget,
  MachineConfigJson,
  MachineDefinition,
  MachineImplementation,
} from './defineMachine.js';
export { validateMachineConfig } from './validateMachineConfig.js';
export { roundTripSnapshot } from './roundTripSnapshot.js';
export { validateEvent, zodIssues } from './validateEvent.js';
export { planStep } from './planStep.js';
export type { ExecutableAction, StepPlan } from './planStep.js';
export { SpineError, RetryableError, TerminalError, ensureError, serializeError } from './errors.js';
export type { SpineErrorCode, FieldIssue, SerializedError } from './errors.js';
export { systemClock, SimulatedClock } from './clock.js';
export type { Clock } from './clock.js';
export { canonicalJson, contentHash } from './canonicalJson.js';
export { loadMachineDirectory } from './loadMachineDirectory.js';
export type * from './Store.js';
