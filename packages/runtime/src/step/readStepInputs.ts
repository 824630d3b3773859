import type { ActorRecord, HostStore } from '../Store.js';
import type { MachineRegistry, MachineVersion } from '../MachineRegistry.js';
import { riskPolicies, withConfidence } from '../riskPolicy.js';
import type { StepInputs, StepResult } from './planCommit.js';
import { sendTarget } from './planCommit.js';

const NONE: StepInputs = Object.freeze({ children: new Map(), takenIds: new Set<string>(), machineOf: new Map(), lastJournal: null });

/**
 * Does every read a step's plan depends on, and only those its result needs: the
 * actor's children (when it stops, spawns, messages one or finishes), whether the
 * ids of its spawns are taken, the machine of every actor it messages, and its
 * last journal entry when it requests risky work. Also makes sure the versions of
 * spawned machines are stored (normally done when the host starts).
 *
 * `known.childless`: the host's cache knows the actor has no durable children (it read
 * none and has committed every step since, none spawning one), so they are not read
 * again; set here when a read finds none.
 */
export async function readStepInputs(
  store: HostStore,
  registry: MachineRegistry,
  record: ActorRecord,
  version: MachineVersion,
  result: StepResult,
  known: { childless?: boolean } = {},
): Promise<StepInputs> {
  const finishing = !result.ok || result.next.status !== 'active';
  const plan = result.ok ? result.plan : undefined;
  const needsChildren =
    finishing || (plan !== undefined && (plan.stopChildren.length > 0 || plan.spawns.length > 0 || plan.sends.some((s) => typeof s.to === 'string' || 'child' in s.to)));
  if (!needsChildren && !plan?.sends.length && !plan?.jobs.length) return NONE;
  const children = new Map(needsChildren && !known.childless ? (await store.childrenOf(record.id)).map((c) => [c.childKey ?? c.id, c.id]) : []);
  if (needsChildren) known.childless = children.size === 0;
  const takenIds = new Set<string>();
  const machineOf = new Map<string, string>();
  let lastJournal: unknown = null;
  if (plan) {
    for (const spawn of plan.spawns) {
      const id = `${record.id}/${spawn.childKey}`;
      if (await store.getActor(id)) takenIds.add(id);
      await registry.current(spawn.machine, store);
    }
    for (const send of plan.sends) {
      const target = sendTarget(record, send.to, children);
      if (target === undefined || target === record.id || machineOf.has(target)) continue;
      const actor = await store.getActor(target);
      if (actor) machineOf.set(target, actor.machine);
    }
    const policies = plan.jobs.length ? riskPolicies(version.machine) : undefined;
    if (plan.jobs.some((job) => (withConfidence(policies?.get(job.childId), job.context)?.tier ?? 'low') !== 'low')) lastJournal = await lastJournalEntry(store, record.id);
  }
  return { children, takenIds, machineOf, lastJournal };
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
