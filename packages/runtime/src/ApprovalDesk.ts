import { canonicalJson } from './canonicalJson.js';
import type { Clock } from './clock.js';
import { proposalHash, signDecision, verifyDecision, type DecisionPayload } from './decisions.js';
import { SpineError, formatIssues } from './errors.js';
import type { MachineRegistry } from './MachineRegistry.js';
import type { RiskPolicy } from './riskPolicy.js';
import type { ApprovalRecord, ApprovalResolution, DecisionRecord, NewApproval, NewAuditEntry, NewEvent, Store } from './Store.js';
import { zodIssues } from './validateEvent.js';

/** What a person decides: approve (optionally with an edited input) or reject (optionally with a reason). */
export type Decision = { decision: 'approve'; by: string; input?: unknown; reason?: string } | { decision: 'reject'; by: string; reason?: string };

/** How a decision ended: applied, or refused with the reason (also in the audit log). */
export interface DecisionOutcome {
  approvalId: string;
  runId: string;
  decisionId: number;
  status: 'applied' | 'refused';
  reason?: string;
}

/** The error a rejected or expired approval delivers as `xstate.error.actor.<childId>`. */
export interface ApprovalErrorJson {
  name: 'ApprovalRejected' | 'ApprovalExpired';
  code: 'approval_rejected' | 'approval_expired';
  kind: 'rejected' | 'expired';
  message: string;
  details: { approvalId: string; by: string; reason: string | null };
}

/**
 * Approvals: requested by steps (in their commit), decided by people (signed,
 * stored, verified, then applied in one transaction), and timed out by deadlines
 * that any host applies when it finds them due, even after a restart.
 */
export class ApprovalDesk {
  readonly #store: Store;
  readonly #registry: MachineRegistry;
  readonly #clock: Clock;
  readonly #secret: () => string | undefined;
  readonly #signingSecret: () => string | undefined;

  /** `secret` verifies decisions; `signingSecret` (default: `secret`) signs them and may create the secret. */
  constructor(options: { store: Store; registry: MachineRegistry; clock: Clock; secret: () => string | undefined; signingSecret?: () => string | undefined }) {
    this.#store = options.store;
    this.#registry = options.registry;
    this.#clock = options.clock;
    this.#secret = options.secret;
    this.#signingSecret = options.signingSecret ?? options.secret;
  }

  /** The approval a step requests for a held job, and its audit rows. */
  static request(args: {
    job: { key: string; actorId: string; runId: string; childId: string; src: string; input: string };
    machine: string;
    version: string;
    seq: number;
    policy: RiskPolicy;
    rationale: Record<string, unknown>;
    now: number;
  }): { approval: NewApproval; audit: NewAuditEntry[] } {
    const { job, policy, now } = args;
    const tier = policy.tier === 'high' ? 'high' : 'medium';
    const approval: NewApproval = {
      id: `approval:${job.key}`,
      runId: job.runId,
      actorId: job.actorId,
      jobKey: job.key,
      childId: job.childId,
      src: job.src,
      machine: args.machine,
      version: args.version,
      seq: args.seq,
      tier,
      proposal: job.input,
      rationale: JSON.stringify(args.rationale),
      requestedAt: now,
      deadlineAt: policy.deadlineMs === undefined ? null : now + policy.deadlineMs,
      onDeadline: policy.onDeadline,
    };
    const who = `agent:${args.machine}`;
    const audit: NewAuditEntry[] = [
      {
        at: now,
        runId: job.runId,
        actorId: job.actorId,
        kind: 'approval.requested',
        who,
        subject: approval.id,
        detail: canonicalJson({ src: job.src, jobKey: job.key, tier, seq: args.seq, deadlineAt: approval.deadlineAt, onDeadline: policy.onDeadline, proposalHash: proposalHash(job.input) }),
      },
    ];
    if (tier === 'high') {
      audit.push({ at: now, runId: job.runId, actorId: job.actorId, kind: 'run.halted', who, subject: approval.id, detail: canonicalJson({ src: job.src, reason: `high-risk activity '${job.src}' waits for a person` }) });
    }
    return { approval, audit };
  }

  /**
   * Why an agent proposes risky work, as an approval shows it: where the tier was
   * declared, the event that led there, the reasoning the agent keeps in its context
   * (`policy.rationaleFrom`, else `reasoning`, else `rationale`) and its last journal
   * entry, each cut to 8 KiB of JSON.
   */
  static rationale(args: { policy: RiskPolicy; context: unknown; event: string; src: string; lastJournal: unknown }): Record<string, unknown> {
    const context = (args.context && typeof args.context === 'object' ? args.context : {}) as Record<string, unknown>;
    const field = args.policy.rationaleFrom ?? ['reasoning', 'rationale'].find((k) => context[k] !== undefined);
    const reasoning = field ? context[field] : undefined;
    const trimmed = (value: unknown) => {
      const json = JSON.stringify(value ?? null);
      return json.length > 8192 ? `${json.slice(0, 8192)}…` : (value ?? null);
    };
    return { state: args.policy.declaredAt, event: args.event, activity: args.src, reasoning: trimmed(reasoning), reasoningFrom: field ?? null, lastJournal: trimmed(args.lastJournal) };
  }

  /** The one open approval of a run, or the named one. */
  async find(target: { runId?: string; approvalId?: string }): Promise<ApprovalRecord> {
    if (target.approvalId) {
      const approval = await this.#store.getApproval(target.approvalId);
      if (!approval) throw new SpineError('unknown_approval', `No approval with id '${target.approvalId}'.`);
      return approval;
    }
    const open = await this.#store.listApprovals({ runId: target.runId!, status: ['pending'] });
    if (!open.length) throw new SpineError('unknown_approval', `Run '${target.runId}' has no pending approval. List them with \`spine approvals\`.`, { actorId: target.runId! });
    if (open.length > 1) {
      throw new SpineError('unknown_approval', `Run '${target.runId}' has ${open.length} pending approvals; name one with --id: ${open.map((a) => a.id).join(', ')}.`, { actorId: target.runId! });
    }
    return open[0]!;
  }

  /**
   * Signs a person's decision, stores it and applies it. An edited input is
   * checked against the activity's input schema first (the error names the field).
   *
   * @throws SpineError `no_secret` without a signing secret; `approval_closed` when it was already decided; `invalid_input` for a bad edit.
   */
  async decide(approval: ApprovalRecord, decision: Decision): Promise<DecisionOutcome> {
    const secret = this.#signingSecret();
    if (!secret) throw new SpineError('no_secret', 'No secret to sign decisions with: set SPINE_SECRET (or give the runtime a `secret`).');
    if (approval.status !== 'pending') throw new SpineError('approval_closed', `Approval '${approval.id}' is already ${approval.status}${approval.decidedBy ? ` (by ${approval.decidedBy})` : ''}.`);
    if (!decision.by.trim()) throw new SpineError('invalid_input', 'A decision needs the name of the person who makes it (--as NAME).');
    if (decision.decision === 'approve' && decision.input !== undefined) this.#checkInput(approval, decision.input);
    const payload: Omit<DecisionPayload, 'v' | 'nonce'> = {
      approvalId: approval.id,
      runId: approval.runId,
      jobKey: approval.jobKey,
      proposalHash: proposalHash(approval.proposal),
      decision: decision.decision,
      by: decision.by,
      at: this.#clock.now(),
      ...(decision.decision === 'approve' && decision.input !== undefined ? { input: decision.input } : {}),
      ...(decision.reason !== undefined ? { reason: decision.reason } : {}),
    };
    const signed = signDecision(payload, secret);
    const decisionId = await this.#store.submitDecision({ approvalId: approval.id, ...signed });
    const outcome = await this.apply({ id: decisionId, approvalId: approval.id, ...signed, status: 'submitted', createdAt: this.#clock.now() });
    return outcome ?? { approvalId: approval.id, runId: approval.runId, decisionId, status: 'refused', reason: 'not applied' };
  }

  /** Verifies and applies every submitted decision (a no-op without a secret: another host will). */
  async applySubmitted(): Promise<DecisionOutcome[]> {
    if (!this.#secret()) return [];
    const outcomes: DecisionOutcome[] = [];
    for (const decision of await this.#store.pendingDecisions(100)) {
      const outcome = await this.apply(decision);
      if (outcome) outcomes.push(outcome);
    }
    return outcomes;
  }

  /**
   * Applies one stored decision after checking its signature and that it still
   * matches the approval (same job, same proposal, still pending, run active).
   * A decision that fails a check is refused and audited; the approval stays open.
   */
  async apply(decision: DecisionRecord): Promise<DecisionOutcome | undefined> {
    const secret = this.#secret();
    if (!secret) return undefined;
    const now = this.#clock.now();
    const approval = await this.#store.getApproval(decision.approvalId);
    let claimed: Partial<DecisionPayload> = {};
    try {
      claimed = JSON.parse(decision.payload) as Partial<DecisionPayload>;
    } catch {
      // refused below: a payload that is not JSON cannot carry a valid signature either
    }
    const refuse = async (reason: string): Promise<DecisionOutcome> => {
      const audit: NewAuditEntry = {
        at: now,
        runId: approval?.runId ?? (typeof claimed.runId === 'string' ? claimed.runId : null),
        actorId: approval?.actorId ?? null,
        kind: 'decision.refused',
        who: 'system',
        subject: decision.approvalId,
        detail: canonicalJson({ reason, decisionId: decision.id, claimedBy: claimed.by ?? null, claimedDecision: claimed.decision ?? null, signature: decision.signature }),
      };
      await this.#store.resolveApproval({ approvalId: decision.approvalId, outcome: 'refused', decisionId: decision.id, audit: [audit], now });
      return { approvalId: decision.approvalId, runId: audit.runId ?? '', decisionId: decision.id, status: 'refused', reason };
    };
    if (!verifyDecision(decision.payload, decision.signature, secret)) return refuse('the signature does not match the decision: it was forged or altered after signing');
    if (!approval) return refuse(`no approval '${decision.approvalId}'`);
    if (claimed.v !== 1 || claimed.approvalId !== approval.id || claimed.jobKey !== approval.jobKey || claimed.runId !== approval.runId) {
      return refuse('the signed decision is for a different approval');
    }
    if (claimed.proposalHash !== proposalHash(approval.proposal)) return refuse('the signed decision is for a different proposal');
    if (typeof claimed.by !== 'string' || !claimed.by || (claimed.decision !== 'approve' && claimed.decision !== 'reject')) return refuse('the signed decision is incomplete');
    if (approval.status !== 'pending') return refuse(`the approval is already ${approval.status}`);
    const actor = await this.#store.getActor(approval.actorId);
    if (actor?.status !== 'active') return refuse(`the actor is ${actor?.status ?? 'gone'}; nothing waits for this decision`);

    const by = claimed.by;
    const decidedAt = typeof claimed.at === 'number' ? claimed.at : now;
    const reason = typeof claimed.reason === 'string' ? claimed.reason : null;
    const base = { approvalId: approval.id, decisionId: decision.id, decidedBy: by, decidedAt, reason, signature: decision.signature, now };
    const who = { at: now, runId: approval.runId, actorId: approval.actorId, who: by, subject: approval.id };
    let resolution: ApprovalResolution;
    if (claimed.decision === 'approve') {
      const edited = claimed.input !== undefined;
      if (edited) {
        try {
          this.#checkInput(approval, claimed.input);
        } catch (error) {
          return refuse(`the edited input is invalid: ${(error as Error).message}`);
        }
      }
      const jobInput = edited ? JSON.stringify(claimed.input) : approval.proposal;
      resolution = {
        ...base,
        outcome: 'approved',
        editedInput: edited ? jobInput : null,
        jobInput,
        audit: [
          {
            ...who,
            kind: edited ? 'approval.edited' : 'approval.approved',
            detail: canonicalJson({ src: approval.src, jobKey: approval.jobKey, tier: approval.tier, decidedAt, reason, proposal: parse(approval.proposal), ...(edited ? { editedInput: claimed.input } : {}), signature: decision.signature }),
          },
        ],
      };
    } else {
      const error = approvalError('rejected', approval, by, reason);
      resolution = {
        ...base,
        outcome: 'rejected',
        jobError: JSON.stringify(error),
        event: errorEvent(approval, error, now),
        audit: [{ ...who, kind: 'approval.rejected', detail: canonicalJson({ src: approval.src, jobKey: approval.jobKey, tier: approval.tier, decidedAt, reason, proposal: parse(approval.proposal), signature: decision.signature }) }],
      };
    }
    if (!(await this.#store.resolveApproval(resolution))) return refuse('the approval was resolved by someone else meanwhile');
    return { approvalId: approval.id, runId: approval.runId, decisionId: decision.id, status: 'applied' };
  }

  /** Applies passed deadlines: escalate (stays open, the actor hears `spine.approval.escalated`) or halt (expires; the actor gets the error). */
  async applyDeadlines(): Promise<ApprovalRecord[]> {
    const now = this.#clock.now();
    const due = await this.#store.dueApprovals(now, 100);
    const applied: ApprovalRecord[] = [];
    for (const approval of due) {
      const detail = canonicalJson({ src: approval.src, jobKey: approval.jobKey, tier: approval.tier, deadlineAt: approval.deadlineAt, overdueMs: now - (approval.deadlineAt ?? now) });
      const audit: NewAuditEntry = { at: now, runId: approval.runId, actorId: approval.actorId, who: 'system', subject: approval.id, kind: approval.onDeadline === 'halt' ? 'approval.expired' : 'approval.escalated', detail };
      let resolution: ApprovalResolution;
      if (approval.onDeadline === 'halt') {
        const error = approvalError('expired', approval, 'system', `no decision before the deadline (${new Date(approval.deadlineAt ?? now).toISOString()})`);
        resolution = { approvalId: approval.id, outcome: 'expired', decidedBy: 'system', decidedAt: now, reason: error.details.reason, jobError: JSON.stringify(error), event: errorEvent(approval, error, now), audit: [audit], now };
      } else {
        const event = { type: 'spine.approval.escalated', approvalId: approval.id, childId: approval.childId, src: approval.src, tier: approval.tier, deadlineAt: approval.deadlineAt };
        resolution = { approvalId: approval.id, outcome: 'escalated', event: { actorId: approval.actorId, type: event.type, event: JSON.stringify(event), dueAt: now, source: 'runtime' }, audit: [audit], now };
      }
      if (await this.#store.resolveApproval(resolution)) applied.push(approval);
    }
    return applied;
  }

  #checkInput(approval: ApprovalRecord, input: unknown): void {
    const activity = this.#registry.has(approval.machine) ? this.#registry.definition(approval.machine).activities?.[approval.src] : undefined;
    if (!activity) throw new SpineError('unknown_activity', `This host does not know activity '${approval.src}' of machine '${approval.machine}', so it cannot check the edit; run the command with --machines pointing at it.`, { machine: approval.machine });
    if (!activity.input) return;
    const result = activity.input.safeParse(input);
    if (result.success) return;
    const issues = zodIssues(result.error);
    throw new SpineError('invalid_input', `The edited input does not fit activity '${approval.src}': ${formatIssues(issues)}`, { machine: approval.machine, issues });
  }
}

function approvalError(kind: 'rejected' | 'expired', approval: ApprovalRecord, by: string, reason: string | null): ApprovalErrorJson {
  return kind === 'rejected'
    ? { name: 'ApprovalRejected', code: 'approval_rejected', kind, message: `${by} rejected '${approval.src}'${reason ? `: ${reason}` : ''}.`, details: { approvalId: approval.id, by, reason } }
    : { name: 'ApprovalExpired', code: 'approval_expired', kind, message: `'${approval.src}' was not approved in time: ${reason ?? 'deadline passed'}.`, details: { approvalId: approval.id, by, reason } };
}

function errorEvent(approval: ApprovalRecord, error: ApprovalErrorJson, now: number): NewEvent {
  const event = { type: `xstate.error.actor.${approval.childId}`, error, actorId: approval.childId };
  return { actorId: approval.actorId, type: event.type, event: JSON.stringify(event), dueAt: now, source: `approval:${approval.id}` };
}

function parse(json: string): unknown {
  try {
    return JSON.parse(json);
  } catch {
    return json;
  }
}
