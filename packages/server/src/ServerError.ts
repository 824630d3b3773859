import { SpineError, formatIssues, zodIssues } from '@spine/runtime';
import { ZodError } from 'zod';
import type { ErrorJson, IssueJson, ServerErrorCode } from './protocol.js';

const STATUS: Record<ServerErrorCode, number> = {
  invalid_json: 400,
  invalid_command: 400,
  payload_too_large: 413,
  unauthorized: 401,
  forbidden_origin: 403,
  forbidden_host: 403,
  not_found: 404,
  unknown_run: 404,
  no_runtime: 503,
  not_available: 501,
  nothing_to_retry: 409,
  conflict: 409,
  token_required: 500,
  internal: 500,
};

const RUNTIME_STATUS: Partial<Record<string, number>> = {
  invalid_event: 400,
  invalid_input: 400,
  payload_too_large: 413,
  unknown_actor: 404,
  unknown_machine: 404,
  unknown_version: 404,
  conflict: 409,
  actor_not_active: 409,
  invalid_machine: 422,
  incompatible_version: 409,
};

/**
 * Base error of the server. Thrown for refused requests (bad JSON, schema
 * issues, size limits, auth) and for commands that cannot run; `status` is the
 * HTTP status it maps to.
 */
export class ServerError extends Error {
  override name = 'ServerError';
  readonly code: ServerErrorCode;
  readonly issues: IssueJson[] | undefined;

  constructor(code: ServerErrorCode, message: string, options: { issues?: IssueJson[]; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.issues = options.issues;
  }

  /** The HTTP status of this error. */
  get status(): number {
    return STATUS[this.code];
  }
}

/** Normalises anything thrown while serving a request into an error JSON and HTTP status. */
export function toErrorJson(error: unknown): { status: number; json: ErrorJson } {
  if (error instanceof ServerError) {
    return { status: error.status, json: withIssues({ code: error.code, message: error.message }, error.issues) };
  }
  if (error instanceof SpineError) {
    return { status: RUNTIME_STATUS[error.code] ?? 500, json: withIssues({ code: error.code, message: error.message }, error.issues) };
  }
  if (error instanceof ZodError) {
    const issues = zodIssues(error);
    return { status: 400, json: { code: 'invalid_command', message: describe(issues), issues } };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { status: 500, json: { code: 'internal', message } };
}

/** A one-line summary of schema issues, naming each field. */
export function describe(issues: IssueJson[]): string {
  return `Invalid request: ${formatIssues(issues)}`;
}

function withIssues(json: ErrorJson, issues: IssueJson[] | undefined): ErrorJson {
  return issues?.length ? { ...json, issues } : json;
}
