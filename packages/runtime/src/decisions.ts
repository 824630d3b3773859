import { createHash, createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { canonicalJson } from './canonicalJson.js';

/** What a person decided about an approval; signed as canonical JSON. */
export interface DecisionPayload {
  v: 1;
  approvalId: string;
  runId: string;
  jobKey: string;
  /** sha256 of the proposal the person saw: a decision cannot be applied to a different proposal. */
  proposalHash: string;
  decision: 'approve' | 'reject';
  by: string;
  /** When the person decided (ms since the epoch). */
  at: number;
  /** The edited activity input, when the person changed the proposal before approving. */
  input?: unknown;
  reason?: string;
  nonce: string;
}

/** sha256 (hex) of a JSON text, as decisions bind to proposals. */
export function proposalHash(proposalJson: string): string {
  return createHash('sha256').update(proposalJson).digest('hex');
}

/** Serialises and signs a decision with HMAC-SHA256 under the server secret. */
export function signDecision(decision: Omit<DecisionPayload, 'v' | 'nonce'>, secret: string): { payload: string; signature: string } {
  const payload = canonicalJson({ ...decision, v: 1, nonce: randomUUID() });
  return { payload, signature: hmac(payload, secret) };
}

/** Whether `signature` is the HMAC-SHA256 of `payload` under `secret` (constant-time comparison). */
export function verifyDecision(payload: string, signature: string, secret: string): boolean {
  const expected = Buffer.from(hmac(payload, secret), 'hex');
  const given = /^[0-9a-f]{64}$/i.test(signature) ? Buffer.from(signature, 'hex') : Buffer.alloc(0);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function hmac(payload: string, secret: string): string {
  return createHmac('sha256', secret).update(payload).digest('hex');
}
