import type { ActorRecord, HostStore, JobStatus, OpenWork } from '../Store.js';
import type { MachineRegistry, MachineVersion } from '../MachineRegistry.js';
import { riskPolicies, withConfidence } from '../riskPolicy.js';
import type { StepInputs, StepResult } from './planCommit.js';
import { sendTarget } from './planCommit.js';
import type { StepPlan } from './planStep.js';

const NONE: StepInputs = Object.freeze({ children: new Map(), descendants: new Map(), openWork: new Map(), takenIds: new Set<string>(), machineOf: new Map(), lastJournal: null });

/**
 * Does every read a step's plan depends on, and only those its result needs: the
 * actor's children (when it stops, spawns, messages one or finishes), the whole
 * subtree of every child it stops (all of them when it finishes) with the seq of each
 * actor, the open work (jobs, pending approvals, stored delayed sends) of the actor
 * when it cancels an activity or finishes and of every actor it stops, whether the
 * ids of its spawns are taken, the machine of every actor it messages, and its
 * last journal entry when it requests risky work. Also makes sure the versions of
 * spawned machines are stored (normally done when the host starts).
 *
 * The reads are not one snapshot: the commit is what makes them safe. Each actor's
 * seq is read (in its parent's `childrenOf`) before its own children are, and the
 * store refuses the commit when a stopped actor moved past that seq or an approval
 * to cancel is no longer pending, so a grandchild spawned after the read makes the
 * step conflict and be planned again rather than be missed.
 *
 * `known.childless`: the host's cache knows the actor has no durable children (it read
 * none and has committed every step since, none spawning one), so they are not read
 * again; set here when a read finds none. `known.approvalFree`: likewise for its pending
 * approvals, which are all a step that only stops an activity needs of its open work.
 * `known.timerFree` and `known.openJobs`: likewise for its stored delayed sends and its open
 * jobs; with all four known, a finishing step reads none of its own open work.
 *
 * A step that needs no read (most: one that only starts activities of low risk, or none) gets its
 * inputs at once, not a promise, so it is planned in the same turn.
 */
export function readStepInputs(
  store: HostStore,
  registry: MachineRegistry,
  record: ActorRecord,
  version: MachineVersion,
  result: StepResult,
  known: Partial<KnownActor> = {},
): StepInputs | Promise<StepInputs> {
  const finishing = !result.ok || result.next.status !== 'active';
  const plan = result.ok ? result.plan : undefined;
  const needsChildren =
    finishing || (plan !== undefined && (plan.stopChildren.length > 0 || plan.spawns.length > 0 || plan.sends.some((s) => typeof s.to === 'string' || 'child' in s.to)));
  const risky = plan !== undefined && requestsRisk(plan, version);
  // No finish, spawn, stop or send: nothing to read but the last journal entry, for a job of risk.
  if (!needsChildren && !plan?.sends.length && !risky) return NONE;
  if (needsChildren && known.childless && !plan?.spawns.length && !plan?.sends.length && !risky) {
    // No children to read (the host knows it has none): what `readAll` would find, without a read when
    // the step cancels none of its own work or the host knows all of that work too.
    if (!cancelsOwnWork(plan, finishing, NONE.children, known)) return NONE;
    const own = knownOpenWork(record.id, known);
    if (own) return { ...NONE, openWork: new Map([[record.id, own]]) };
  }
  return readAll(store, registry, record, plan, finishing, needsChildren, risky, known);
}

/**
 * Whether a step cancels open work of its own actor: a finishing actor all of it; a step that stops
 * one of its activities (a child that is no durable actor), that one's approvals, unless it has none.
 */
function cancelsOwnWork(plan: StepPlan | undefined, finishing: boolean, children: ReadonlyMap<string, string>, known: Partial<KnownActor>): boolean {
  return finishing || (plan!.stopChildren.some((key) => !children.has(key)) && !known.approvalFree);
}

/** Whether a step requests a job above low risk (its plan then reads the actor's last journal entry). */
function requestsRisk(plan: StepPlan, version: MachineVersion): boolean {
  if (!plan.jobs.length) return false;
  const policies = riskPolicies(version.machine);
  return plan.jobs.some((job) => (withConfidence(policies.get(job.childId), job.context)?.tier ?? 'low') !== 'low');
}

async function readAll(
  store: HostStore,
  registry: MachineRegistry,
  record: ActorRecord,
  plan: StepPlan | undefined,
  finishing: boolean,
  needsChildren: boolean,
  risky: boolean,
  known: Partial<KnownActor>,
): Promise<StepInputs> {
  const childRows = needsChildren && !known.childless ? await store.childrenOf(record.id) : [];
  if (needsChildren) known.childless = childRows.length === 0;
  const children = new Map(childRows.map((c) => [c.childKey ?? c.id, c.id]));
  const descendants = new Map<string, { parentId: string; seq: number }>();
  // Breadth first from the children this step stops (all of them when it finishes): parents before their children.
  let frontier = childRows.filter((c) => finishing || plan!.stopChildren.includes(c.childKey ?? c.id)).map((c) => ({ id: c.id, parentId: record.id, seq: c.seq }));
  while (frontier.length) {
    const next: typeof frontier = [];
    for (const actor of frontier) {
      if (descendants.has(actor.id) || actor.id === record.id) continue;
      descendants.set(actor.id, { parentId: actor.parentId, seq: actor.seq });
      for (const c of await store.childrenOf(actor.id)) next.push({ id: c.id, parentId: actor.id, seq: c.seq });
    }
    frontier = next;
  }
  const cancelsOwn = cancelsOwnWork(plan, finishing, children, known);
  const ownKnown = cancelsOwn && needsChildren ? knownOpenWork(record.id, known) : undefined;
  const workOf = [...(cancelsOwn && needsChildren && !ownKnown ? [record.id] : []), ...descendants.keys()];
  const openWork = new Map((workOf.length ? await store.openWorkOf(workOf) : []).map((w) => [w.actorId, w]));
  const own = openWork.get(record.id);
  if (ownKnown) openWork.set(record.id, ownKnown);
  else if (own) {
    known.approvalFree = own.approvals.length === 0;
    known.timerFree = own.timers.length === 0;
    known.openJobs = new Map(own.jobs.map((job) => [job.key, { childId: job.childId, status: job.status }]));
  }
  const takenIds = new Set<string>();
  const machineOf = new Map<string, string>();
  let lastJournal: unknown = null;
  if (plan) {
    for (const spawn of plan.spawns) {
      const id = `${record.id}/${spawn.childKey}`;
      if (await store.getActor(id, { snapshot: false })) takenIds.add(id);
      await registry.current(spawn.machine, store);
    }
    for (const send of plan.sends) {
      const target = sendTarget(record, send.to, children);
      if (target === undefined || target === record.id || machineOf.has(target)) continue;
      const actor = await store.getActor(target, { snapshot: false });
      if (actor) machineOf.set(target, actor.machine);
    }
    if (risky) lastJournal = await lastJournalEntry(store, record.id);
  }
  return { children, descendants, openWork, takenIds, machineOf, lastJournal };
}

/**
 * What a host knows of an actor it holds, so a step can skip reads. Each fact was read (or
 * is true of a new actor), and every step since was committed by this host (a conflict drops
 * the whole entry) and did not change it. Children, approvals, delayed sends and jobs appear
 * only through the actor's own steps (spawns, held jobs, sends, invokes), so a step that
 * creates none keeps the fact, and the host follows the jobs its steps create and end.
 */
export interface KnownActor {
  /** No durable children. */
  childless: boolean;
  /** No pending approvals. */
  approvalFree: boolean;
  /** No delayed send of its own still waiting in a mailbox (`OpenWork.timers`). */
  timerFree: boolean;
  /**
   * Its open jobs (key -> child id and status as its step wrote it), or undefined when not known.
   * Never misses an open one; may still list one ended since by a result that went through the
   * mailbox, or by a person's decision (cancelling an ended job changes nothing).
   */
  openJobs: ReadonlyMap<string, KnownJob> | undefined;
}

/** An open job of an actor, as the host last wrote it. */
export interface KnownJob {
  childId: string;
  status: JobStatus;
}

/** The actor's open work as the host knows it, when it knows all of it (no children, approvals or delayed sends; its jobs). */
function knownOpenWork(actorId: string, known: Partial<KnownActor>): OpenWork | undefined {
  if (!known.childless || !known.approvalFree || !known.timerFree || !known.openJobs) return undefined;
  return { actorId, jobs: [...known.openJobs].map(([key, job]) => ({ key, childId: job.childId, status: job.status })), approvals: [], timers: [] };
}

async function lastJournalEntry(store: HostStore, actorId: string): Promise<unknown> {
  const jobs = await store.listJobs({ actorId, status: ['done', 'failed'] });
  for (let i = jobs.length - 1; i >= 0; i--) {
    const entries = JSON.parse(jobs[i]!.journal) as Record<string, unknown>[];
    const entry = entries.at(-1);
    if (entry) return { jobKey: jobs[i]!.key, src: jobs[i]!.src, ...entry };
  }
  return null;
}
