/** What went wrong with a model call, as far as retrying is concerned. */
export type FailureKind =
  | 'rate_limit'
  | 'transient'
  | 'bad_request'
  | 'context_overflow'
  | 'malformed_output'
  | 'timeout'
  | 'aborted';

/** One way a structured answer missed its schema: the field's dotted path (`""` for the root) and zod's message. */
export interface OutputIssue {
  path: string;
  message: string;
}

/** A classified failure: a JSON-serialisable value that `decide` turns into an action. */
export interface Failure {
  kind: FailureKind;
  /** Human-readable, safe to log (callModel redacts API keys from it). */
  message: string;
  /** HTTP status, when the provider answered. */
  status?: number;
  /** How long the provider asked us to wait (`retry-after-ms` / `retry-after`). */
  retryAfterMs?: number;
  /** The provider's own error code, e.g. `context_length_exceeded`, `insufficient_quota`. */
  providerCode?: string;
  /** For `malformed_output`: what failed the schema. */
  issues?: OutputIssue[];
  /** For `malformed_output`: the JSON Schema the answer must match, as sent to the model. */
  expected?: unknown;
}
