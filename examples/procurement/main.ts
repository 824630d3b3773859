import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { createRuntime, loadMachineDirectory, SimulatedClock, systemClock, type Clock, type RunOutcome } from '@spine/runtime';
import { SqliteStore } from '@spine/store-sqlite';

// Procurement approval that waits days. Each command is one process at one moment: `--now`
// sets the (simulated) time of that process, so a test or a demo can be "five hours later" or
// "three days later" across real restarts. `demo` plays the whole story in one command.

const here = dirname(fileURLToPath(import.meta.url));
const usage = `usage: main.ts <start|resume|approve|reject|demo> [--db FILE] [--run-id ID] [--now ISO] [--as NAME] [--reason TEXT]
  start     starts the onboarding run (waits for the supplier-record review: exit 3)
  resume    lets the host apply due deadlines and work at --now (a passed 4-hour SLA escalates)
  approve   approves the pending step as --as (the deposit only as the run's named approver)
  reject    rejects it
  demo      the whole story, day by day, in this one process`;
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    db: { type: 'string', default: '.spine/examples/procurement.db' },
    'run-id': { type: 'string', default: 'onboarding-1' },
    now: { type: 'string' },
    as: { type: 'string' },
    reason: { type: 'string' },
  },
});
const command = positionals[0] ?? 'demo';
const db = resolve(values.db);
process.env['PROCUREMENT_LEDGER'] ??= join(dirname(db), 'procurement-ledger.jsonl');
const runId = values['run-id'];
const INPUT = { supplier: { name: 'Acme Metals GmbH', country: 'DE', iban: 'DE89370400440532013000' }, deposit: { amountUsd: 25_000 }, depositApprover: 'cfo' };

/** One process at one moment: a host on a clock fixed at `at`, which does what is due and stops. */
async function atMoment<T>(at: number | undefined, work: (ctx: { runtime: ReturnType<typeof createRuntime>; store: SqliteStore; clock: Clock }) => Promise<T>): Promise<T> {
  mkdirSync(dirname(db), { recursive: true });
  const clock: Clock = at === undefined ? systemClock : new SimulatedClock(at);
  const store = await SqliteStore.open(db);
  const runtime = createRuntime({ store, clock, machines: await loadMachineDirectory(join(here, 'machines')) });
  try {
    await runtime.start(); // applies deadlines that passed while no process ran, resumes work
    return await work({ runtime, store, clock });
  } finally {
    await runtime.stop();
    await store.close();
  }
}

async function describe(outcome: RunOutcome, store: SqliteStore, clock: Clock): Promise<number> {
  const when = new Date(clock.now()).toISOString();
  if (outcome.status === 'done') {
    console.log(`[${when}] ${runId} done: ${JSON.stringify(outcome.output)}`);
    return (outcome.output as { error: unknown }).error ? 1 : 0;
  }
  if (outcome.status !== 'waiting') {
    console.log(`[${when}] ${runId} ${outcome.status}: ${JSON.stringify(outcome)}`);
    return 1;
  }
  for (const a of await store.listApprovals({ runId, status: ['pending'] })) {
    const deadline = a.deadlineAt === null ? 'no deadline' : `deadline ${new Date(a.deadlineAt).toISOString()}`;
    console.log(`[${when}] ${runId} waits: ${a.src} (${a.tier} risk${a.tier === 'high' ? ', run halted' : ''}), ${deadline}${a.escalatedAt !== null ? ', ESCALATED' : ''}`);
  }
  return 3;
}

async function step(name: string, at: number | undefined): Promise<number> {
  return atMoment(at, async ({ runtime, store, clock }) => {
    if (name === 'start' && !(await store.getActor(runId))) await runtime.startRun('onboarding', { runId, input: INPUT });
    if (name === 'approve' || name === 'reject') {
      await runtime.waitForRun(runId, { horizonMs: 10_000 }); // finish what a crash left in flight first
      const [pending] = await store.listApprovals({ runId, status: ['pending'] });
      if (!pending) throw new Error(`${runId} has no pending approval`);
      const by = values.as ?? process.env['USER'] ?? 'someone';
      if (pending.tier === 'high' && name === 'approve' && by !== INPUT.depositApprover) {
        console.error(`${pending.src} needs the named approver '${INPUT.depositApprover}', not '${by}'`);
        return 2;
      }
      const decided = await runtime.decide({ approvalId: pending.id }, name === 'approve' ? { decision: 'approve', by } : { decision: 'reject', by, reason: values.reason ?? 'declined' });
      if (decided.status !== 'applied') throw new Error(`the decision was refused: ${decided.reason}`);
    }
    return describe(await runtime.waitForRun(runId, { horizonMs: 10_000 }), store, clock);
  });
}

const at = values.now === undefined ? undefined : Date.parse(values.now);
if (at !== undefined && Number.isNaN(at)) {
  console.error(`--now must be an ISO time, got '${values.now}'`);
  process.exit(2);
}
if (command === 'demo') {
  // Monday 09:00 the run starts; 14:00 the 4-hour review SLA has passed (escalated); Tuesday the
  // procurement lead approves the supplier record; the deposit then waits for the CFO until Thursday.
  const day = (d: number, h: number) => Date.UTC(2026, 2, 2 + d, h);
  process.env['SPINE_SECRET'] ??= 'procurement-demo-secret-not-for-production';
  await step('start', day(0, 9));
  await step('resume', day(0, 14));
  values.as = 'procurement-lead';
  await step('approve', day(1, 10));
  values.as = 'cfo';
  process.exitCode = await step('approve', day(3, 16));
} else if (['start', 'resume', 'approve', 'reject'].includes(command)) {
  process.exitCode = await step(command, at);
} else {
  console.error(usage);
  process.exitCode = 2;
}
