import type { ApprovalRecord } from '@spine/runtime';
import { dbOptions, dbPath, parse } from '../args.js';
import { CliError, EXIT } from '../CliError.js';
import { age, table } from '../format.js';
import { openStore } from '../openStore.js';
import { help } from '../help.js';

const usage = 'spine approvals [--all] [--run ID] [--db FILE] [--json]';

/** `spine approvals`: the approvals inbox — what each agent proposes, why, and how long is left. */
export async function approvals(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { ...dbOptions, all: { type: 'boolean', default: false }, run: { type: 'string' } }, usage);
  if (values.help) return help(usage);
  if (positionals.length) throw new CliError(`unexpected argument '${positionals[0]}'\nusage: ${usage}`);
  const store = await openStore(dbPath(values.db), { mustExist: true });
  try {
    const list = await store.listApprovals({ ...(values.run ? { runId: values.run } : {}), ...(values.all ? {} : { status: ['pending'] }) });
    if (values.json) {
      process.stdout.write(`${JSON.stringify(list.map(approvalJson))}\n`);
      return EXIT.done;
    }
    if (!list.length) {
      process.stdout.write(values.all ? 'no approvals yet\n' : 'no pending approvals\n');
      return EXIT.done;
    }
    const now = Date.now();
    const rows = list.map((a) => [a.runId, a.src, a.tier, a.status === 'pending' ? deadlineText(a, now) : `${a.status}${a.decidedBy ? ` by ${a.decidedBy}` : ''}`, age(now - a.requestedAt), short(a.proposal, 60), short(reasoningOf(a), 60)]);
    process.stdout.write(`${table(['RUN', 'ACTIVITY', 'TIER', 'DEADLINE', 'WAITING', 'PROPOSAL', 'WHY'], rows)}\n`);
    if (!values.all) process.stdout.write('\ndecide with `spine approve <run> [--as NAME] [--edit JSON]` or `spine reject <run> [--as NAME] [--reason TEXT]`\n');
    return EXIT.done;
  } finally {
    await store.close();
  }
}

/** An approval as the CLI and the server print it: JSON fields parsed. */
export function approvalJson(a: ApprovalRecord) {
  return {
    ...a,
    proposal: parseOr(a.proposal),
    rationale: parseOr(a.rationale),
    editedInput: a.editedInput === null ? null : parseOr(a.editedInput),
    escalated: a.escalatedAt !== null,
  };
}

function deadlineText(a: ApprovalRecord, now: number): string {
  const flags = [a.tier === 'high' ? 'run halted' : '', a.escalatedAt !== null ? 'ESCALATED' : ''].filter(Boolean);
  let text = 'none';
  if (a.deadlineAt !== null && a.escalatedAt === null) text = a.deadlineAt > now ? `in ${age(a.deadlineAt - now)} (${a.onDeadline})` : `overdue (${a.onDeadline})`;
  return [text, ...flags].join(', ');
}

function reasoningOf(a: ApprovalRecord): string {
  const rationale = parseOr(a.rationale) as { reasoning?: unknown; lastJournal?: unknown; escalated?: { confidence: number | null; minConfidence: number } } | undefined;
  const reasoning = rationale?.reasoning ?? rationale?.lastJournal ?? '';
  const text = typeof reasoning === 'string' ? reasoning : JSON.stringify(reasoning);
  const unsure = rationale?.escalated;
  return unsure ? `[confidence ${unsure.confidence ?? 'missing'} < ${unsure.minConfidence}] ${text}` : text;
}

function short(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

function parseOr(json: string): unknown {
  try {
    return JSON.parse(json);
  } catch {
    return json;
  }
}
