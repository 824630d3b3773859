export { resolveProvider } from './resolveProvider.js';
export type {
  FetchFunction,
  LanguageModelInstance,
  ProviderConfig,
  ProviderKind,
  ResolveProviderOptions,
} from './resolveProvider.js';

export { callModel, parseJsonAnswer } from './callModel.js';
export type { CallModelOptions, ModelRequest, ModelResult } from './callModel.js';
export { callStructured } from './callStructured.js';
export type { CallStructuredOptions, StructuredAttempt, StructuredResult } from './callStructured.js';
export { chatMessageSchema, toModelMessages } from './ChatMessage.js';
export type { ChatMessage, ToolCall } from './ChatMessage.js';

export { classifyFailure, parseRetryAfter } from './classifyFailure.js';
export type { ClassifyOptions } from './classifyFailure.js';
export type { Failure, FailureKind, OutputIssue } from './Failure.js';
export {
  backoffDelay,
  countsTowardBreaker,
  decide,
  defaultRetryPolicies,
  reaskMessage,
  retryPolicies,
} from './decide.js';
export type {
  BackoffPolicy,
  Decision,
  FailPolicy,
  ReaskPolicy,
  RetryPolicies,
  RetryPolicy,
  RetryPolicyOverride,
  ShrinkPolicy,
} from './decide.js';
export { seededRandom } from './seededRandom.js';
export { CircuitBreaker } from './CircuitBreaker.js';
export type { CircuitBreakerJSON, CircuitBreakerOptions, CircuitState } from './CircuitBreaker.js';
export { readBreakerStates, restoreBreakers } from './restoreBreakers.js';
export type { BreakerJournalSource } from './restoreBreakers.js';

export { addUsage, totalTokens, zeroUsage } from './Usage.js';
export type { Usage } from './Usage.js';
export { costOf, findPrice, loadPriceTable } from './loadPriceTable.js';
export type { Cost, ModelPrice, PriceSource, PriceTable } from './loadPriceTable.js';
export { estimateCallCost, estimateTokens } from './estimateTokens.js';
export { tokenizerFor } from './tokenizerFor.js';
export type { EncodingName, Tokenizer } from './tokenizerFor.js';
export type { CallEstimate } from './estimateTokens.js';
export { assertBudget, checkBudget, splitBudget } from './Budget.js';
export type { Budget, BudgetCheck, Spent } from './Budget.js';
export { shrinkContext } from './shrinkContext.js';
export type { ShrinkOptions, ShrinkResult } from './shrinkContext.js';

export { defineTool } from './defineTool.js';
export type { Tool, ToolContext, ToolDefinition } from './defineTool.js';
export { grantTools, ToolRegistry } from './grantTools.js';
export type { ToolRefusal } from './grantTools.js';
export { runToolLoop } from './runToolLoop.js';
export type { ToolCallRecord, ToolLoopOptions, ToolLoopResult, ToolRetryPolicy } from './runToolLoop.js';
export { closeToolSources, MCP_IDEMPOTENCY_META_KEY, mcpTools, trackToolSource } from './mcpTools.js';
export type { McpHttpServer, McpServerOptions, McpSourceOptions, McpStdioServer, McpToolSource } from './mcpTools.js';
export { mcpConfigSchema, McpServers, mcpServers } from './McpServers.js';
export type { McpConfig, McpServersOptions } from './McpServers.js';
export { toJsonSchema } from './toJsonSchema.js';
export type { JsonSchema } from './toJsonSchema.js';

export {
  BudgetExceededError,
  CircuitOpenError,
  ConfigError,
  ensureError,
  LlmError,
  MalformedOutputError,
  ModelCallError,
  ToolError,
  ToolNotAllowedError,
} from './errors.js';
export type { LlmErrorCode, LlmErrorOptions } from './errors.js';

export { agentModel, createLlmEnvironment, OFFLINE_HINT, providerKindOf } from './LlmEnvironment.js';
export type { LlmEnvironment, LlmEnvironmentOptions, ModelChoice, ToolRetryPolicy as ToolActivityRetryPolicy } from './LlmEnvironment.js';
export { modelActivity } from './modelActivity.js';
export type { AgentModelRequest, ModelActivityOptions, ModelStep } from './modelActivity.js';
export { toolActivity, toolCallActivity } from './toolActivity.js';
export type { ToolActivityOptions, ToolCallActivityOptions, ToolStep } from './toolActivity.js';
export { costOfEntry, runLedger, spentOf, usageOf } from './ledger.js';
export type { BreakerFacts, CallDecision, CallFacts, LedgerCall, LedgerJob, LedgerTotal, RunLedger } from './ledger.js';
