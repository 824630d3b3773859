import { stepProvenance, type ApprovalRecord, type ApprovalStatus } from '@spine/runtime';
import { z } from 'zod';
import { bodies, type ApprovalJson, type AuditEntryJson } from './protocol.js';
import type { RunControl } from './RunControl.js';
import type { RunReader } from './RunReader.js';
import { describe, ServerError } from './ServerError.js';
import { zodIssues } from '@spine/runtime';

const approvalsQuery = z.strictObject({
  /** `pending` (default), `all`, or a comma-separated list of statuses. */
  status: z.string().max(200).optional(),
  runId: z.string().min(1).max(500).optional(),
  limit: z.coerce.number().int().min(1).max(5000).optional(),
  token: z.string().optional(),
});
const auditQuery = z.strictObject({ runId: z.string().min(1).max(500).optional(), afterSeq: z.coerce.number().int().min(0).optional(), limit: z.coerce.number().int().min(1).max(100_000).optional(), token: z.string().optional() });
const provenanceQuery = z.strictObject({ seq: z.coerce.number().int().min(1), actorId: z.string().min(1).max(500).optional(), token: z.string().optional() });
const STATUSES: readonly ApprovalStatus[] = ['pending', 'approved', 'rejected', 'expired', 'cancelled'];

/**
 * The approvals inbox, decisions, the audit log and step provenance over REST:
 * `GET /api/approvals`, `POST /api/approvals/:id/approve|reject`, `GET /api/audit`,
 * `GET /api/audit/verify`, `GET /api/runs/:id/provenance?seq=N`. Undefined when the
 * route is not one of these.
 */
export async function approvalRoutes(req: {
  method: string | undefined;
  resource: string | undefined;
  id: string | undefined;
  action: string | undefined;
  url: URL;
  body: (() => Promise<unknown>) | undefined;
  reader: RunReader;
  control: RunControl;
}): Promise<{ status?: number; body: unknown } | undefined> {
  const { method, resource, id, action, url } = req;
  const store = req.reader.store;
  const query = Object.fromEntries(url.searchParams);
  if (resource === 'approvals') {
    if (method === 'GET' && !id) {
      const q = parse(approvalsQuery, query);
      const status = q.status === 'all' ? undefined : (q.status ?? 'pending').split(',').filter(Boolean);
      const unknown = status?.filter((s) => !STATUSES.includes(s as ApprovalStatus));
      if (unknown?.length) throw new ServerError('invalid_command', `Unknown approval status '${unknown[0]}'; use all or ${STATUSES.join(', ')}.`);
      const list = await store.listApprovals({ ...(status ? { status: status as ApprovalStatus[] } : {}), ...(q.runId ? { runId: q.runId } : {}), ...(q.limit ? { limit: q.limit } : {}) });
      return { body: { available: true, serverTime: Date.now(), approvals: list.map(approvalJson) } };
    }
    if (method === 'GET' && id && !action) {
      const approval = await store.getApproval(id);
      if (!approval) throw new ServerError('not_found', `No approval with id '${id}'.`);
      return { body: approvalJson(approval) };
    }
    if (method === 'POST' && id && action === 'approve') {
      return { body: await req.control.approve({ approvalId: id, ...parse(bodies.approve.omit({ approvalId: true }), await req.body!()) }) };
    }
    if (method === 'POST' && id && action === 'reject') {
      return { body: await req.control.reject({ approvalId: id, ...parse(bodies.reject.omit({ approvalId: true }), await req.body!()) }) };
    }
  }
  if (resource === 'audit' && method === 'GET') {
    if (!id) {
      const q = parse(auditQuery, query);
      const entries = await store.listAudit({ ...(q.runId ? { runId: q.runId } : {}), ...(q.afterSeq !== undefined ? { afterSeq: q.afterSeq } : {}), ...(q.limit ? { limit: q.limit } : {}) });
      return { body: { entries: entries.map((e): AuditEntryJson => ({ ...e, detail: parseJson(e.detail) })) } };
    }
    if (id === 'verify' && !action) return { body: await store.verifyAudit() };
  }
  if (resource === 'runs' && method === 'GET' && id && action === 'provenance') {
    const q = parse(provenanceQuery, query);
    return { body: await stepProvenance(store, { actorId: q.actorId ?? id, seq: q.seq }) };
  }
  return undefined;
}

/** An approval with its JSON fields parsed, as the API and the studio read it. */
export function approvalJson(a: ApprovalRecord): ApprovalJson {
  return { ...a, proposal: parseJson(a.proposal), rationale: parseJson(a.rationale), editedInput: a.editedInput === null ? null : parseJson(a.editedInput), escalated: a.escalatedAt !== null };
}

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = zodIssues(result.error);
  throw new ServerError('invalid_command', `${describe(issues)}. Nothing was changed.`, { issues });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
