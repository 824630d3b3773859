import { formatIssues as formatFieldIssues, zodIssues } from '@spine/runtime';
import type { z } from 'zod';
import type { OutputIssue } from './Failure.js';

/**
 * Turns a zod error into `{ path, message }` issues: the runtime's one formatter
 * (`zodIssues`: `items[0].price`, `(root)` for the root).
 */
export function issuesOf(error: z.ZodError): OutputIssue[] {
  return zodIssues(error);
}

/** One line for the issues: `items[0].price: Expected number, received string; ...` (the runtime's `formatIssues`). */
export function formatIssues(issues: readonly OutputIssue[]): string {
  return formatFieldIssues(issues);
}
