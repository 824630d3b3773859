import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { defineActivity, TerminalError, type MachineImplementation } from '@spine/runtime';
import { assign } from 'xstate';
import { z } from 'zod';

// Supplier onboarding. Both effects write to the ERP ledger (a JSON-lines file at
// PROCUREMENT_LEDGER), keyed by the activity's idempotency key: a re-executed write finds its own
// line and writes nothing. Who may approve the deposit is named in the input (`depositApprover`);
// the example's `approve` command refuses anyone else.

const input = z.object({
  supplier: z.object({ name: z.string().min(1), country: z.string().length(2), iban: z.string().min(15) }),
  deposit: z.object({ amountUsd: z.number().positive() }),
  depositApprover: z.string().min(1),
});
type Input = z.infer<typeof input>;

const context = input.extend({
  reasoning: z.string(),
  supplierId: z.string().nullable(),
  paymentId: z.string().nullable(),
  escalations: z.array(z.object({ approvalId: z.string(), deadlineAt: z.number() })),
  error: z.string().nullable(),
});
type Context = z.infer<typeof context>;

/** Writes one ledger line per key; a repeat returns the line already written. */
function ledgerWrite(kind: string, key: string, entry: Record<string, unknown>): Record<string, unknown> {
  const path = process.env['PROCUREMENT_LEDGER'];
  if (!path) throw new TerminalError('PROCUREMENT_LEDGER is not set');
  mkdirSync(dirname(path), { recursive: true });
  const lines = existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) : [];
  const found = lines.find((l) => l['key'] === key);
  if (found) return found;
  const line = { kind, key, id: `${kind}-${lines.filter((l) => l['kind'] === kind).length + 1}`, ...entry };
  appendFileSync(path, `${JSON.stringify(line)}\n`);
  return line;
}

const implementation: MachineImplementation = {
  schemas: { input, context },
  context: (i: Input): Context => ({
    ...i,
    reasoning: `${i.supplier.name} (${i.supplier.country}) passed the sanctions screen; the deposit of $${i.deposit.amountUsd} is the contract's 10%.`,
    supplierId: null,
    paymentId: null,
    escalations: [],
    error: null,
  }),
  actions: {
    saveRecord: assign({ supplierId: ({ event }: any) => event.output.id }),
    savePayment: assign({ paymentId: ({ event }: any) => event.output.id }),
    noteEscalation: assign({ escalations: ({ context: c, event }: any) => [...c.escalations, { approvalId: event.approvalId, deadlineAt: event.deadlineAt }] }),
    saveError: assign({ error: ({ event }: any) => String(event.error?.message ?? event.error) }),
  },
  activities: {
    createSupplierRecord: defineActivity({
      input: z.object({ name: z.string(), country: z.string(), iban: z.string() }),
      mapInput: ({ context: c }) => c.supplier,
      run: async (supplier, ctx) => ledgerWrite('supplier', ctx.key, { supplier }),
    }),
    payDeposit: defineActivity({
      input: z.object({ supplierId: z.string(), amountUsd: z.number().positive() }),
      mapInput: ({ context: c }) => ({ supplierId: c.supplierId, amountUsd: c.deposit.amountUsd }),
      run: async (payment, ctx) => ledgerWrite('payment', ctx.key, payment),
    }),
  },
  output: ({ context: c }: { context: Context }) => ({ supplierId: c.supplierId, paymentId: c.paymentId, escalations: c.escalations.length, error: c.error }),
};

export default implementation;
