import { readSecret, secretPathFor, toDecision, type DecisionRecord, type DecisionRow, type Store } from '@spine/runtime/store';
import type { StoreCopy } from '@spine/store-postgres';
import { parse } from '../args.js';
import { CliError, EXIT } from '../CliError.js';
import { isPostgresUrl, openStore } from '../openStore.js';
import { help } from '../help.js';

const usage = 'spine copy --from FILE|URL --to postgres://… [--into-non-empty] [--json]';
const ALL = 1_000_000_000;

/**
 * `spine copy`: moves a whole Spine database, usually an SQLite file, into PostgreSQL:
 * every run (done, waiting on a timer, an approval or an event, in flight with pending
 * jobs), machine versions, history, journals, approvals, decisions, the audit log (its
 * chain verified at the source and again on the target) and dead letters, in one
 * transaction. The target must be empty unless `--into-non-empty`. Stop the source's
 * hosts first: a copy is a snapshot, and runs resume on the target's hosts.
 */
export async function copy(args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    { from: { type: 'string' }, to: { type: 'string' }, 'into-non-empty': { type: 'boolean', default: false }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
    usage,
  );
  if (values.help) return help(usage);
  if (positionals.length) throw new CliError(`unexpected argument '${positionals[0]}'\nusage: ${usage}`);
  if (!values.from || !values.to) throw new CliError(`both --from and --to are needed\nusage: ${usage}`);
  if (!isPostgresUrl(values.to)) throw new CliError(`--to must be a PostgreSQL URL (postgres://user:pass@host:port/db); got '${values.to}'\nusage: ${usage}`);
  const say = (line: string) => values.json || process.stderr.write(`${line}\n`);

  const source = await openStore(values.from, { mustExist: true, readonly: true });
  let data: StoreCopy;
  try {
    const check = await source.verifyAudit();
    if (!check.ok) throw new CliError(`the source's audit log does not verify (${check.reason}, first bad row ${check.firstBadSeq}); nothing was copied`, EXIT.failed);
    data = await readEverything(source);
  } finally {
    await source.close();
  }

  // The target's audit anchor is signed with the secret the source's decisions were signed with,
  // so the hosts that take the runs over must share it.
  const sourceSecret = isPostgresUrl(values.from) ? undefined : readSecret(values.from);
  const secret = process.env.SPINE_SECRET || sourceSecret;
  const { PostgresStore } = await import('@spine/store-postgres');
  const target = await PostgresStore.open(values.to, secret ? { secret } : {}).catch((error: unknown) => {
    throw new CliError((error as Error).message, EXIT.failed);
  });
  try {
    if (!values['into-non-empty'] && !(await target.isEmpty())) {
      throw new CliError(`${target.where} already holds a Spine database (runs, machine versions or audit rows); nothing was copied. Copy into an empty database or schema, or pass --into-non-empty to add to it`, EXIT.failed);
    }
    const counts = await target.importCopy(data);
    const verified = await target.verifyAudit();
    const runs = new Set(data.actors.map((a) => a.runId)).size;
    const waiting = data.actors.filter((a) => a.parentId === null && a.status === 'active').length;
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ to: target.where, runs, unfinished: waiting, counts, audit: verified })}\n`);
    } else {
      process.stdout.write(
        `copied ${runs} runs (${waiting} unfinished) to ${target.where}: ${counts.actors} actors, ${counts.history} steps, ${counts.jobs} jobs, ${counts.events} queued events and timers, ` +
          `${counts.approvals} approvals, ${counts.decisions} decisions, ${counts.audit} audit rows, ${counts.deadLetters} dead letters, ${counts.machineVersions} machine versions\n`,
      );
      process.stdout.write(verified.ok ? `audit log verified on the target: ${verified.rows} rows, head ${verified.head}\n` : `spine: the copied audit log does not verify: ${verified.reason}\n`);
      if (waiting) say(`resume them there: spine resume --db '${values.to.replace(/:[^:@/]*@/, ':***@')}'`);
    }
    if (!process.env.SPINE_SECRET && sourceSecret) {
      say(`note: decisions and the audit anchor are signed with ${secretPathFor(values.from)}; give every host of the PostgreSQL database SPINE_SECRET with its content`);
    }
    return verified.ok ? EXIT.done : EXIT.failed;
  } finally {
    await target.close();
  }
}

/** Reads a whole database through the Store's readers, in the orders a copy must keep. */
async function readEverything(store: Store): Promise<StoreCopy> {
  const versions = await store.listMachineVersions();
  const machineVersions = [];
  for (const v of versions) machineVersions.push({ ...v, definition: (await store.getMachineVersion(v.machine, v.version)) ?? '{}' });
  const actors = (await store.listActors({ limit: ALL })).reverse(); // oldest first
  const events = [];
  for (const actor of actors) events.push(...(await store.nextEvents(actor.id, Number.MAX_SAFE_INTEGER, ALL)));
  events.sort((a, b) => a.id - b.id);
  const history = [];
  for (let after = 0; ; ) {
    const page = await store.historySince(after, 10_000);
    history.push(...page);
    if (page.length < 10_000) break;
    after = page.at(-1)!.rowId;
  }
  const jobs = await store.listJobs({});
  const approvals = new Map((await store.listApprovals({ limit: ALL })).map((a) => [a.id, a]));
  // Pending approvals of actors no longer active are not listed: find every job's approval by its id.
  for (const job of jobs) {
    const id = `approval:${job.key}`;
    if (!approvals.has(id)) {
      const approval = await store.getApproval(id);
      if (approval) approvals.set(id, approval);
    }
  }
  return {
    machineVersions,
    actors,
    events,
    history: history.map(({ rowId: _rowId, ...row }) => row),
    jobs,
    approvals: [...approvals.values()].sort((a, b) => a.requestedAt - b.requestedAt || a.id.localeCompare(b.id)),
    decisions: decisionsOf(store) ?? (await store.pendingDecisions(ALL)),
    audit: await store.listAudit({ limit: ALL }),
    deadLetters: await store.listDeadLetters(),
  };
}

/**
 * Every decision of an SQLite source, applied and refused ones included (the Store's
 * readers list only those still to apply). Undefined for any other store.
 */
function decisionsOf(store: Store): DecisionRecord[] | undefined {
  const db = (store as { db?: { prepare(sql: string): { all(): unknown[] } } }).db;
  if (!db || typeof db.prepare !== 'function') return undefined;
  return (db.prepare('SELECT id, approval_id, payload, signature, status, created_at FROM decisions ORDER BY id').all() as DecisionRow[]).map(toDecision);
}
