import type { NewDeadLetter } from './Store.js';

/**
 * How much refused input a store keeps. A refused event is evidence, not data
 * to replay: its payload is cut to a bounded preview while the reason and the
 * failing fields are kept, and the oldest letters go first once an actor, or
 * the whole store, holds more than its cap.
 */
export interface DeadLetterRetention {
  /** The stored event preview, in UTF-16 characters (default 2048). */
  maxEventChars: number;
  /** The stored reason, in characters (default 1024). */
  maxReasonChars: number;
  /** The stored issues (JSON), in characters (default 2048). */
  maxIssuesChars: number;
  /** Dead letters kept per actor; older ones are deleted (default 1000). */
  maxPerActor: number;
  /** Dead letters kept in the whole store; older ones are deleted (default 10,000). */
  maxTotal: number;
}

/** The retention used when a store is given none. */
export const DEFAULT_DEAD_LETTER_RETENTION: Readonly<DeadLetterRetention> = Object.freeze({
  maxEventChars: 2048,
  maxReasonChars: 1024,
  maxIssuesChars: 2048,
  maxPerActor: 1000,
  maxTotal: 10_000,
});

/** The most characters one stored dead letter can take (event, reason, issues, actor id and source). */
export function maxDeadLetterChars(retention: DeadLetterRetention): number {
  return retention.maxEventChars + 200 + retention.maxReasonChars + retention.maxIssuesChars + 2 * 512;
}

/**
 * A dead letter cut to the retention's sizes. An event longer than the limit is
 * stored as valid JSON: `{"truncated":true,"chars":N,"preview":"..."}`, so readers
 * still parse it and see that (and how much) was cut.
 */
export function boundDeadLetter(letter: NewDeadLetter, retention: DeadLetterRetention = DEFAULT_DEAD_LETTER_RETENTION): NewDeadLetter {
  const event = letter.event.length <= retention.maxEventChars ? letter.event : fitJson(letter.event.length, letter.event, retention.maxEventChars, (preview) => ({ truncated: true, chars: letter.event.length, preview }));
  return {
    ...letter,
    actorId: cut(letter.actorId, 512),
    source: cut(letter.source, 512),
    event,
    reason: cut(letter.reason, retention.maxReasonChars),
    issues:
      letter.issues === null || letter.issues.length <= retention.maxIssuesChars
        ? letter.issues
        : fitJson(letter.issues.length, letter.issues, retention.maxIssuesChars, (preview) => [{ path: '(issues)', message: `${preview}… (${letter.issues!.length} characters in all)` }]),
  };
}

/** The JSON of `wrap(preview)` with the longest prefix of `text` that keeps it within `max` characters (escaping can grow text sixfold). */
function fitJson(_length: number, text: string, max: number, wrap: (preview: string) => unknown): string {
  let n = Math.max(0, max - 100);
  for (;;) {
    const json = JSON.stringify(wrap(text.slice(0, n)));
    if (json.length <= max || n === 0) return json;
    n = Math.max(0, Math.min(n - 1, Math.floor((n * (max - 100)) / json.length)));
  }
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
