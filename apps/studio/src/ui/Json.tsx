import { pretty } from '../model/format.js';

/** A JSON value in a scrollable block. */
export function Json({ value, testId, max = 18 }: { value: unknown; testId?: string; max?: number }) {
  const text = pretty(value);
  return (
    <pre className="json" style={{ maxHeight: `${max * 1.35}em` }} data-testid={testId}>
      {text}
    </pre>
  );
}
