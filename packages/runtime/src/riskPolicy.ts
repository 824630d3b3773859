import { createMachine, type AnyStateMachine } from 'xstate';
import type { MachineConfigJson } from './defineMachine.js';
import { SpineError } from './errors.js';
import type { DeadlineAction, RiskTier } from './Store.js';

/** How the host treats one invoked activity: its risk tier and, for approvals, the deadline. */
export interface RiskPolicy {
  tier: RiskTier;
  /** Milliseconds a person has to decide; none means no deadline. */
  deadlineMs: number | undefined;
  /** What the deadline does (default `escalate`). */
  onDeadline: DeadlineAction;
  /** Context field that holds the agent's reasoning for the proposal (default `reasoning`, then `rationale`). */
  rationaleFrom: string | undefined;
  /** Where the tier was declared, for messages. */
  declaredAt: string;
  /**
   * `meta.minConfidence` (0..1): a low-tier activity whose agent is less confident than this
   * goes to the review queue instead of running (see `withConfidence`).
   */
  minConfidence?: number;
  /** Context path of the agent's confidence (`meta.confidenceFrom`, default `confidence`). */
  confidenceFrom?: string;
  /** Set by `withConfidence` when this job was escalated: why. */
  escalated?: ConfidenceEscalation;
}

/** Why a low-tier activity was sent to a person: the agent's confidence was under the state's threshold (or missing). */
export interface ConfidenceEscalation {
  reason: 'low_confidence';
  /** The confidence the agent declared (null when its answer had none). */
  confidence: number | null;
  minConfidence: number;
  confidenceFrom: string;
}

const TIERS: readonly RiskTier[] = ['low', 'medium', 'high'];
const cache = new WeakMap<AnyStateMachine, Map<string, RiskPolicy>>();

interface StateNodeLike {
  id: string;
  meta?: unknown;
  tags?: readonly string[] | Set<string>;
  states?: Record<string, StateNodeLike>;
  invoke?: readonly { id: string; src: unknown; meta?: unknown }[];
}

/**
 * The risk policies of a machine's invoked activities, by invoke id. A tier is
 * declared in the invoke's `meta`, else the invoking state's `meta`, else a state
 * tag `risk:<tier>`; `approvalDeadlineMs`, `onDeadline` and `rationaleFrom` sit
 * beside `risk` in the same `meta`. Invokes without a tier are not listed.
 *
 * @example
 * // publishing: { meta: { risk: 'medium', approvalDeadlineMs: 3600000, onDeadline: 'escalate' }, invoke: { id: 'publish', src: 'publish' } }
 */
export function riskPolicies(machine: AnyStateMachine): Map<string, RiskPolicy> {
  let policies = cache.get(machine);
  if (policies) return policies;
  policies = new Map();
  const visit = (node: StateNodeLike) => {
    const stateMeta = asRecord(node.meta);
    const tags = node.tags ? [...node.tags] : [];
    const tagTier = tags.map((t) => /^risk:(.+)$/.exec(t)?.[1]).find((t) => t !== undefined);
    for (const invoke of node.invoke ?? []) {
      const invokeMeta = asRecord(invoke.meta);
      const pick = (key: string) => (invokeMeta && key in invokeMeta ? invokeMeta[key] : stateMeta?.[key]);
      const declared =
        invokeMeta?.risk !== undefined ? `state '${node.id}', invoke '${invoke.id}' meta.risk` : stateMeta?.risk !== undefined ? `state '${node.id}' meta.risk` : `state '${node.id}' tag`;
      const minConfidence = pick('minConfidence');
      if (minConfidence !== undefined && (typeof minConfidence !== 'number' || !(minConfidence >= 0 && minConfidence <= 1))) {
        throw invalid(`state '${node.id}': minConfidence must be a number from 0 to 1, got ${JSON.stringify(minConfidence)}.`);
      }
      const confidenceFrom = pick('confidenceFrom');
      // A confidence threshold alone makes the activity low risk: it acts unless the agent is unsure.
      const tier = pick('risk') ?? tagTier ?? (minConfidence === undefined ? undefined : 'low');
      if (tier === undefined) continue;
      if (!TIERS.includes(tier as RiskTier)) throw invalid(`${declared} is '${String(tier)}'; use one of ${TIERS.join(', ')}.`);
      const deadlineMs = pick('approvalDeadlineMs');
      if (deadlineMs !== undefined && (typeof deadlineMs !== 'number' || !Number.isFinite(deadlineMs) || deadlineMs < 0)) {
        throw invalid(`state '${node.id}': approvalDeadlineMs must be a non-negative number of milliseconds, got ${JSON.stringify(deadlineMs)}.`);
      }
      const onDeadline = pick('onDeadline') ?? 'escalate';
      if (onDeadline !== 'escalate' && onDeadline !== 'halt') throw invalid(`state '${node.id}': onDeadline must be 'escalate' or 'halt', got ${JSON.stringify(onDeadline)}.`);
      const rationaleFrom = pick('rationaleFrom');
      policies!.set(invoke.id, {
        tier: tier as RiskTier,
        deadlineMs: deadlineMs as number | undefined,
        onDeadline,
        rationaleFrom: typeof rationaleFrom === 'string' ? rationaleFrom : undefined,
        declaredAt: declared,
        ...(minConfidence === undefined ? {} : { minConfidence: minConfidence as number, confidenceFrom: typeof confidenceFrom === 'string' ? confidenceFrom : 'confidence' }),
      });
    }
    for (const child of Object.values(node.states ?? {})) visit(child);
  };
  visit(machine.root as unknown as StateNodeLike);
  cache.set(machine, policies);
  return policies;
}

/**
 * The policy that applies to one job given the requesting actor's context: a low-tier policy
 * with `minConfidence` becomes medium (review queue, same deadline rules) when the confidence
 * at `confidenceFrom` (a dotted context path, e.g. `answer.confidence`) is under it or is not a
 * number; `escalated` then says why. Every other policy is returned as it is.
 *
 * @example
 * // drafting: { meta: { risk: 'low', minConfidence: 0.7, confidenceFrom: 'answer.confidence' }, invoke: { id: 'send', src: 'sendReply' } }
 */
export function withConfidence(policy: RiskPolicy | undefined, context: unknown): RiskPolicy | undefined {
  if (!policy || policy.tier !== 'low' || policy.minConfidence === undefined) return policy;
  const from = policy.confidenceFrom ?? 'confidence';
  let value: unknown = context;
  for (const key of from.split('.')) {
    const record = asRecord(value);
    value = record && Object.prototype.hasOwnProperty.call(record, key) ? record[key] : undefined;
  }
  const confidence = typeof value === 'number' && Number.isFinite(value) ? value : null;
  if (confidence !== null && confidence >= policy.minConfidence) return policy;
  return { ...policy, tier: 'medium', escalated: { reason: 'low_confidence', confidence, minConfidence: policy.minConfidence, confidenceFrom: from } };
}

/**
 * The risk policies of a machine structure alone (`<name>.machine.json`, or a stored
 * version): tiers are structure, so no implementations are needed. For tools that
 * plan work for a run without hosting its machine (a fork, a migration check).
 */
export function riskPoliciesOfConfig(config: MachineConfigJson): Map<string, RiskPolicy> {
  return riskPolicies(createMachine(config as any) as AnyStateMachine);
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function invalid(message: string): SpineError {
  return new SpineError('invalid_machine', `Invalid risk tier: ${message}`);
}
