import type { Spent } from './Budget.js';
import type { CircuitState } from './CircuitBreaker.js';
import type { FailureKind } from './Failure.js';
import { addUsage, zeroUsage, type Usage } from './Usage.js';

/**
 * What was decided about one model or tool call:
 * - `ok`: it worked;
 * - `retry`: wait `delayMs` durably (a rate limit's `retry-after`, or back-off with jitter), then call again;
 * - `shrink`: the context overflowed; the next attempt sends a shrunk conversation;
 * - `reask`: the structured answer missed its schema; the next attempt re-asks with the issues;
 * - `fail`: no retry can help (bad request, attempts or re-asks used up);
 * - `budget_exceeded`: the call was not made: it would have overrun the agent's or the run's budget;
 * - `circuit_open`: the call was not made: the provider's or tool's breaker is open;
 * - `invalid_input`: the model gave a tool bad arguments; it is told to fix them;
 * - `disable`: the tool kept failing and is disabled for the rest of the run; the model is told;
 * - `skipped_disabled`: the model called a tool disabled earlier; it is told again;
 * - `refused`: the agent was not granted the tool (least privilege); the model is told.
 */
export type CallDecision =
  | 'ok'
  | 'retry'
  | 'shrink'
  | 'reask'
  | 'fail'
  | 'budget_exceeded'
  | 'circuit_open'
  | 'invalid_input'
  | 'disable'
  | 'skipped_disabled'
  | 'refused';

/** A breaker's state as journaled with a call. */
export interface BreakerFacts {
  name: string;
  state: CircuitState;
  consecutiveFailures: number;
  /** When it last opened (absent in journals written before breakers were restored). */
  openedAt?: number | null;
  /** When the half-open probe was let through, while it is out. */
  probeStartedAt?: number | null;
}

/**
 * The facts a model or tool activity records with `ctx.record` for each attempt: one attempt
 * is one call (or one refusal to call), so the journal is the ledger.
 */
export interface CallFacts {
  call: 'model' | 'tool';
  agent: string;
  provider?: string;
  /** The provider as the GenAI semantic conventions name it (`openai`, `anthropic`), and its host. */
  providerName?: string;
  serverAddress?: string;
  serverPort?: number;
  /** `chat`: the GenAI operation. */
  operation?: string;
  /** The request's `maxOutputTokens`. */
  maxTokens?: number;
  /** The provider's id for the response, and why it stopped (`stop`, `length`, `tool_calls`, ...). */
  responseId?: string;
  finishReasons?: string[];
  /** The model asked for; `responseModel` is the one that answered (priced by it). */
  model?: string;
  responseModel?: string;
  /** `promptHash` of the system prompt: which prompt version made the call. */
  promptVersion?: string;
  tool?: string;
  /** The key sent with the request (`Idempotency-Key` header, tool context). */
  idempotencyKey?: string;
  usage: Usage;
  costUsd: number;
  latencyMs: number;
  decision: CallDecision;
  failure?: { kind: FailureKind | 'tool_failed' | 'circuit_open'; message: string; status?: number };
  /** How long the host waits before the next attempt (durably). */
  delayMs?: number;
  /** What the provider's `retry-after` asked for. */
  retryAfterMs?: number;
  breaker?: BreakerFacts;
  /** Present when `decision` is `refused`. */
  refused?: { tool: string; agent: string; allowed: string[] };
  /** Present when `decision` is `budget_exceeded`. */
  budget?: { scope: 'agent' | 'run'; exceeded: 'tokens' | 'usd'; spent: number; estimate: number; limit: number };
  /**
   * Present when the model has no price (no SPINE_PRICES entry, no catalog entry): its cost is
   * recorded as 0 but is unknown. `spine show`, the audit log (`model.unpriced`) and the studio say so.
   */
  unpriced?: { model: string };
  /** Present when `decision` is `reask`: what the next attempt adds to the conversation. */
  reask?: { answer: string; message: string; issues: { path: string; message: string }[] };
  /** Present when `decision` is `shrink`: the size the next attempt shrinks the conversation to. */
  shrink?: { targetTokens: number; droppedMessages: number };
}

/** Reads the usage recorded in a journal entry (zero when it has none). */
export function usageOf(entry: Record<string, unknown>): Usage {
  const usage = entry['usage'];
  if (!usage || typeof usage !== 'object') return { ...zeroUsage };
  const u = usage as Record<string, unknown>;
  const n = (key: string) => (typeof u[key] === 'number' && Number.isFinite(u[key]) ? (u[key] as number) : 0);
  return { inputTokens: n('inputTokens'), outputTokens: n('outputTokens'), cacheReadTokens: n('cacheReadTokens'), cacheWriteTokens: n('cacheWriteTokens') };
}

/** Reads the cost recorded in a journal entry (0 when it has none). */
export function costOfEntry(entry: Record<string, unknown>): number {
  const cost = entry['costUsd'];
  return typeof cost === 'number' && Number.isFinite(cost) ? cost : 0;
}

/**
 * What the journaled calls spent, optionally only an agent's: what budgets are checked against.
 *
 * @example
 * ```ts
 * const spent = spentOf(await ctx.runJournal(), { agent: 'writer' }); // { tokens, usd }
 * ```
 */
export function spentOf(entries: readonly Record<string, unknown>[], filter: { agent?: string } = {}): Spent {
  let tokens = 0;
  let usd = 0;
  for (const entry of entries) {
    if (filter.agent !== undefined && entry['agent'] !== filter.agent) continue;
    const usage = usageOf(entry);
    tokens += usage.inputTokens + usage.outputTokens;
    usd += costOfEntry(entry);
  }
  return { tokens, usd: Math.round(usd * 1e9) / 1e9 };
}

/** A job as the ledger reads it (a subset of the runtime's `JobRecord`). */
export interface LedgerJob {
  key: string;
  actorId: string;
  src: string;
  attempts: number;
  status: string;
  /** The journal: JSON text as stored, or parsed. */
  journal: string | readonly Record<string, unknown>[];
}

/** One journaled call attempt. */
export interface LedgerCall {
  jobKey: string;
  actorId: string;
  activity: string;
  attempt: number;
  host: string | undefined;
  startedAt: number | undefined;
  call: 'model' | 'tool';
  agent: string;
  model: string | undefined;
  tool: string | undefined;
  decision: string;
  usage: Usage;
  costUsd: number;
  latencyMs: number;
  failure: string | undefined;
}

/** Usage and cost summed over some calls. */
export interface LedgerTotal {
  calls: number;
  usage: Usage;
  tokens: number;
  costUsd: number;
  latencyMs: number;
}

/** Everything a run's journal says about its model and tool calls. */
export interface RunLedger {
  calls: LedgerCall[];
  total: LedgerTotal;
  byAgent: Record<string, LedgerTotal>;
  byModel: Record<string, LedgerTotal>;
  /** The last journaled state of each breaker. */
  breakers: (BreakerFacts & { at: number | undefined })[];
  /** Models the run called that have no price: their cost is counted as 0 but is unknown. */
  unpriced: string[];
  /** Tool calls refused because the agent was not granted the tool. */
  refusals: { agent: string; tool: string; allowed: string[]; jobKey: string; at: number | undefined }[];
  /**
   * Hosts (processes) that worked on the run, in order of their first journaled attempt: more
   * than one means the run was resumed (after a crash, a stop or a deploy).
   */
  hosts: string[];
  /**
   * What resuming saved and cost. `notRepaid`: calls journaled before the last resume, which the
   * resumed process did not make again (the journal answered for them). `reExecuted`: attempts
   * that started but never journaled (in flight at a crash or a stop) and so ran again.
   */
  resume: { resumes: number; notRepaid: LedgerTotal; reExecuted: number };
}

/**
 * Reads a run's jobs as a ledger: every journaled call, totals per agent and per model, breaker
 * states, refused tool calls, and what resuming did not have to pay again.
 */
export function runLedger(jobs: readonly LedgerJob[]): RunLedger {
  const calls: LedgerCall[] = [];
  const breakers = new Map<string, BreakerFacts & { at: number | undefined }>();
  const refusals: RunLedger['refusals'] = [];
  const unpriced = new Set<string>();
  const firstSeen = new Map<string, number>();
  let reExecuted = 0;
  for (const job of jobs) {
    const journal = typeof job.journal === 'string' ? (JSON.parse(job.journal) as Record<string, unknown>[]) : job.journal;
    // Every claim bumps `attempts`; an attempt with no journal entry was cut off mid-flight.
    const finished = job.status === 'done' || job.status === 'failed' || job.status === 'cancelled';
    reExecuted += Math.max(0, job.attempts - journal.length - (finished || job.status === 'pending' ? 0 : 1));
    for (const entry of journal) {
      const host = typeof entry['host'] === 'string' ? entry['host'] : undefined;
      const at = typeof entry['startedAt'] === 'number' ? entry['startedAt'] : undefined;
      if (host !== undefined && at !== undefined && (firstSeen.get(host) ?? Infinity) > at) firstSeen.set(host, at);
      if (entry['call'] !== 'model' && entry['call'] !== 'tool') continue;
      const failure = entry['failure'] as { kind?: string; message?: string } | undefined;
      const call: LedgerCall = {
        jobKey: job.key,
        actorId: job.actorId,
        activity: job.src,
        attempt: typeof entry['attempt'] === 'number' ? entry['attempt'] : 0,
        host,
        startedAt: at,
        call: entry['call'],
        agent: typeof entry['agent'] === 'string' ? entry['agent'] : '?',
        model: typeof entry['model'] === 'string' ? entry['model'] : undefined,
        tool: typeof entry['tool'] === 'string' ? entry['tool'] : undefined,
        decision: typeof entry['decision'] === 'string' ? entry['decision'] : '?',
        usage: usageOf(entry),
        costUsd: costOfEntry(entry),
        latencyMs: typeof entry['latencyMs'] === 'number' ? entry['latencyMs'] : 0,
        failure: failure ? `${failure.kind ?? '?'}: ${failure.message ?? ''}` : undefined,
      };
      calls.push(call);
      const breaker = entry['breaker'] as BreakerFacts | undefined;
      if (breaker?.name) {
        const seen = breakers.get(breaker.name);
        if (!seen || (seen.at ?? 0) <= (at ?? 0)) breakers.set(breaker.name, { ...breaker, at });
      }
      const refused = entry['refused'] as { tool: string; agent: string; allowed: string[] } | undefined;
      if (refused) refusals.push({ ...refused, jobKey: job.key, at });
      const noPrice = entry['unpriced'] as { model?: unknown } | undefined;
      if (noPrice && typeof noPrice.model === 'string') unpriced.add(noPrice.model);
    }
  }
  calls.sort((a, b) => (a.startedAt ?? 0) - (b.startedAt ?? 0));
  const hosts = [...firstSeen.entries()].sort((a, b) => a[1] - b[1]).map(([host]) => host);
  const lastHost = hosts.length > 1 ? hosts[hosts.length - 1] : undefined;
  return {
    calls,
    total: sum(calls),
    byAgent: group(calls, (c) => c.agent),
    byModel: group(calls.filter((c) => c.call === 'model'), (c) => c.model ?? '?'),
    breakers: [...breakers.values()].sort((a, b) => a.name.localeCompare(b.name)),
    refusals,
    unpriced: [...unpriced].sort(),
    hosts,
    resume: {
      resumes: Math.max(0, hosts.length - 1),
      notRepaid: sum(lastHost === undefined ? [] : calls.filter((c) => c.host !== lastHost)),
      reExecuted,
    },
  };
}

function sum(calls: readonly LedgerCall[]): LedgerTotal {
  let usage: Usage = { ...zeroUsage };
  let costUsd = 0;
  let latencyMs = 0;
  for (const call of calls) {
    usage = addUsage(usage, call.usage);
    costUsd += call.costUsd;
    latencyMs += call.latencyMs;
  }
  return { calls: calls.length, usage, tokens: usage.inputTokens + usage.outputTokens, costUsd: Math.round(costUsd * 1e9) / 1e9, latencyMs };
}

function group(calls: readonly LedgerCall[], by: (call: LedgerCall) => string): Record<string, LedgerTotal> {
  const groups = new Map<string, LedgerCall[]>();
  for (const call of calls) groups.set(by(call), [...(groups.get(by(call)) ?? []), call]);
  return Object.fromEntries([...groups.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([key, list]) => [key, sum(list)]));
}
