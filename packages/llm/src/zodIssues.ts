import type { z } from 'zod';
import type { OutputIssue } from './Failure.js';

/** Turns a zod error into `{ path, message }` issues, the path dotted (`items.0.price`, `""` for the root). */
export function issuesOf(error: z.ZodError): OutputIssue[] {
  return error.issues.map((issue) => ({
    path: issue.path.map((part) => String(part)).join('.'),
    message: issue.message,
  }));
}

/** One line per issue: `items.0.price: Expected number, received string`. */
export function formatIssues(issues: readonly OutputIssue[]): string {
  return issues.map((issue) => `${issue.path || '(root)'}: ${issue.message}`).join('; ');
}
