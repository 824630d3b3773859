// @spine/scripted-model: a scripted stand-in for a model that speaks OpenAI Chat Completions over
// real HTTP, with fault injection. It is a test double; it is not a model.
export { startScriptedModelServer } from './startScriptedModelServer.js';
export type {
  ScriptedModelServer,
  ScriptedModelServerOptions,
  ScriptedModelTotals,
  RecordedRequest,
  RequestOutcome,
} from './ScriptedModelServer.js';
export type { Script, ScriptRule, RuleMatch, TextMatch, Responder } from './Script.js';
export type { ScriptedReply, ScriptedToolCall } from './ScriptedReply.js';
export { faultKinds, defaultFaultPlanKinds } from './faults.js';
export type { Fault, FaultKind, FaultPlan } from './faults.js';
export { countPromptTokens, countCompletionTokens, tokensForChars } from './tokens.js';
export type { Usage } from './tokens.js';
export { chatRequestSchema } from './ChatRequest.js';
export type { ChatRequest, ChatMessage } from './ChatRequest.js';
export { parseScript } from './parseScript.js';
export { ScriptedModelError } from './ScriptedModelError.js';
export type { ScriptedModelErrorCode } from './ScriptedModelError.js';
export { describeAudio } from './transcriptions.js';
export type { RecordedTranscription, Transcriber, TranscriptionRequest } from './transcriptions.js';
