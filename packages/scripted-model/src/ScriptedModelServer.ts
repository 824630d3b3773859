import type { RecordedTranscription, Transcriber } from './transcriptions.js';
import type { ChatRequest } from './ChatRequest.js';
import type { FaultKind, FaultPlan } from './faults.js';
import type { Script } from './Script.js';
import type { Usage } from './tokens.js';

/** Options of {@link startScriptedModelServer}; every field has a default. */
export interface ScriptedModelServerOptions {
  /** Interface to listen on (default `'127.0.0.1'`). */
  host?: string;
  /** Port to listen on (default 0: any free port). */
  port?: number;
  /** Rules that answer requests (default none: every request gets a 400 saying no rule matched). */
  script?: Script;
  /** Seeded random faults, drawn before the script is consulted (default none). */
  faults?: FaultPlan;
  /** How long a `stall` fault holds a request before destroying its socket, in ms (default 60_000). */
  stallMs?: number;
  /** Delay before each successful reply, in ms (default 0). */
  latencyMs?: number;
  /**
   * Delay between two chunks of a streamed answer (`stream: true`), in ms (default 0: all at once).
   * With it the answer arrives a word at a time, as a real model writes it; the request counts as
   * `ok` only once its last chunk is out (`client_closed` if the client leaves first).
   */
  chunkDelayMs?: number;
  /** When set, requests whose counted prompt tokens exceed it get a `context_length` error, as a real model's window would. */
  contextWindowTokens?: number;
  /** When set, requests must carry `Authorization: Bearer <apiKey>` or get a 401, as a real provider does. */
  apiKey?: string;
  /** Answers `POST /v1/audio/transcriptions` (default: a text naming the file and its hash, saying it is scripted). */
  transcribe?: Transcriber;
}

/**
 * How the server answered a chat request: `ok` (a scripted reply), a fault kind (scripted, drawn
 * from the fault plan, or a real check: `unauthorized` for a wrong key, `context_length` for an
 * exceeded window), `invalid_request` (the body is not valid JSON or not a valid request),
 * `no_rule_matched`, `script_error` (a `respond` function threw or returned a malformed reply),
 * `client_closed` (the client went away before the reply was sent), or `pending` (not answered yet).
 */
export type RequestOutcome =
  | 'ok'
  | FaultKind
  | 'invalid_request'
  | 'no_rule_matched'
  | 'script_error'
  | 'client_closed'
  | 'pending';

/** One `POST /v1/chat/completions` the server received. */
export interface RecordedRequest {
  /** When it arrived, in ms since the epoch. */
  at: number;
  /** Its `Idempotency-Key` header, when it had one. */
  idempotencyKey?: string;
  /** The parsed JSON body, or the raw text when it was not JSON. */
  body: unknown;
  /** The validated request, when the body was valid. */
  chat?: ChatRequest;
  outcome: RequestOutcome;
  /** The usage reported to the client, when the outcome is `ok`. */
  usage?: Usage;
}

/** Counters over every chat request since start or the last `reset()`. */
export interface ScriptedModelTotals {
  /** Chat requests received, whatever their outcome. */
  calls: number;
  /** Requests answered with a scripted reply. */
  completed: number;
  /** Requests answered with a fault (see {@link RequestOutcome}). */
  faulted: number;
  /** Sum of the usage of the successful responses sent. */
  usage: Usage;
}

/** A running scripted model server. */
export interface ScriptedModelServer {
  /** Base URL including `/v1`, e.g. `http://127.0.0.1:43123/v1`: what `OPENAI_BASE_URL` should be. */
  readonly url: string;
  readonly port: number;
  /** Replaces the script; rules with `times` start counting afresh. */
  setScript(script: Script): void;
  /** Replaces the fault plan (restarting its PRNG from its seed), or removes it with undefined. */
  setFaults(plan: FaultPlan | undefined): void;
  /** Every chat request received, in order of arrival (`GET /v1/models` is not recorded). */
  readonly requests: readonly RecordedRequest[];
  /** Every `POST /v1/audio/transcriptions` received, in order of arrival. */
  readonly transcriptions: readonly RecordedTranscription[];
  /** Counts calls, completions, faults and the usage the server reported. */
  totals(): ScriptedModelTotals;
  /** Counts requests by `Idempotency-Key` header; requests without one are under `''`. */
  callsByKey(): Map<string, { received: number; completed: number }>;
  /** Forgets the recorded requests, and so the totals; keeps the script and the fault plan. */
  reset(): void;
  /** Stops listening and destroys open sockets, stalled ones included, so it never hangs. */
  close(): Promise<void>;
}
