/**
 * The browser-safe part of the runtime (`@spine/runtime/editing`): what the
 * studio's machine editor shares with the server, so both check and write a
 * machine the same way. Nothing here imports Node modules.
 */
export { validateMachineConfig } from './validateMachineConfig.js';
export type { ImplementationNames, MachineIssue, MachineRule, ValidateMachineOptions } from './validateMachineConfig.js';
export { MachineIndex, machineNames, transitionsOf, statePathText, referenceName, isReservedEvent, toArray, asRecord } from './machineWalk.js';
export type { MachineElement, MachineNames, StateInfo, StateJson, TransitionEntry, TransitionRef } from './machineWalk.js';
export { formatMachineJson, parseJsonWithSpans, jsonEqual } from './formatMachineJson.js';
export type { JsonNode } from './formatMachineJson.js';
export { parseMachineLayout } from './machineLayout.js';
export type { MachineLayout } from './machineLayout.js';
export type { MachineConfigJson } from './defineMachine.js';
export type { FieldIssue } from './errors.js';
export { eventNameProblem, implementationNameProblem, isEventName, isImplementationName } from './names.js';
