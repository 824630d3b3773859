import { userInfo } from 'node:os';
import { createRuntime, SpineError, type Decision } from '@spine/runtime';
import { dbOptions, dbPath, intArg, parse, parseJsonArg } from '../args.js';
import { CliError, EXIT } from '../CliError.js';
import { stateText } from '../format.js';
import { loadMachines } from '../loadMachines.js';
import { openStore, signingSecretFor } from '../openStore.js';
import { restoreBreakers } from '../restoreBreakers.js';
import { help } from '../help.js';

const approveUsage = 'spine approve <runId> [--as NAME] [--edit JSON] [--reason TEXT] [--id APPROVAL] [--db FILE] [--machines DIR] [--json]';
const rejectUsage = 'spine reject <runId> [--as NAME] [--reason TEXT] [--id APPROVAL] [--db FILE] [--machines DIR] [--json]';

/** `spine approve`: approves a run's pending approval (optionally with an edited proposal), signed, then drives the run on. */
export function approve(args: string[]): Promise<number> {
  return decide(args, 'approve');
}

/** `spine reject`: rejects a run's pending approval with a reason; the machine receives the rejection. */
export function reject(args: string[]): Promise<number> {
  return decide(args, 'reject');
}

async function decide(args: string[], kind: 'approve' | 'reject'): Promise<number> {
  const usage = kind === 'approve' ? approveUsage : rejectUsage;
  const common = { ...dbOptions, as: { type: 'string' }, reason: { type: 'string' }, id: { type: 'string' }, 'wait-timers': { type: 'string' } } as const;
  // `--edit` exists only for approve: reject refuses it as an unknown option.
  const { values, positionals } = kind === 'approve' ? parse(args, { ...common, edit: { type: 'string' } }, usage) : parse(args, common, usage);
  if (values.help) return help(usage);
  const [runId, ...extra] = positionals;
  if (!runId || extra.length) throw new CliError(`expected one run id\nusage: ${usage}`);
  const by = values.as ?? process.env.USER ?? userInfo().username;
  if (!by.trim()) throw new CliError(`--as NAME must name the person deciding\nusage: ${usage}`);
  const edit = kind === 'approve' ? parseJsonArg((values as { edit?: string }).edit, '--edit') : undefined;
  const registry = await loadMachines(values.machines ?? 'machines');
  const db = dbPath(values.db);
  const store = await openStore(db, { mustExist: true });
  const runtime = createRuntime({ store, machines: registry, secret: await signingSecretFor(db) });
  try {
    const root = await store.getActor(runId);
    if (!root) throw new CliError(`no run with id '${runId}' (list pending approvals with \`spine approvals\`)`);
    const decision: Decision =
      kind === 'approve'
        ? { decision: 'approve', by, ...(edit !== undefined ? { input: edit } : {}), ...(values.reason !== undefined ? { reason: values.reason } : {}) }
        : { decision: 'reject', by, ...(values.reason !== undefined ? { reason: values.reason } : {}) };
    let result;
    try {
      // Find and record the decision with no host running: a command that refuses (nothing
      // pending, a bad edit, a closed approval) must not claim any run's work on its way out.
      result = await runtime.decide({ runId: root.runId, ...(values.id ? { approvalId: values.id } : {}) }, decision, { drive: false });
    } catch (error) {
      if (error instanceof SpineError) throw new CliError(error.message, error.code === 'invalid_input' || error.code === 'unknown_approval' ? EXIT.usage : EXIT.failed);
      throw error;
    }
    if (result.status === 'refused') {
      if (values.json) process.stdout.write(`${JSON.stringify({ decision: result })}\n`);
      throw new CliError(`the decision was refused: ${result.reason}`, EXIT.failed);
    }
    await restoreBreakers(store); // a provider failing before this process started stays open
    await runtime.start(); // only now, to drive the decided run on
    const outcome = await runtime.waitForRun(root.runId, { horizonMs: intArg(values['wait-timers'], '--wait-timers', 0) * 1000 });
    const after = await store.getActor(root.runId);
    if (values.json) process.stdout.write(`${JSON.stringify({ decision: result, outcome })}\n`);
    else process.stdout.write(`${kind === 'approve' ? 'approved' : 'rejected'} ${result.approvalId} as ${by}; run ${root.runId} is ${after?.status} in state ${stateText(after?.stateValue ?? null)}\n`);
    return outcome.status === 'error' ? EXIT.failed : EXIT.done;
  } finally {
    await runtime.stop();
    await store.close();
  }
}
