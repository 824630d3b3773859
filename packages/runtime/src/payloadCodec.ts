import { SpineError } from './errors.js';
import { nodeZlib } from './lazyBuiltins.js';

/**
 * How a store keeps a large text column (a job's input, output and journal): as it is when it is
 * short, else deflated into bytes that start with a format byte. A store keeps the two apart by
 * type (text stays text, a packed value is a blob), so a short value costs nothing to write or read.
 *
 * The deflate dictionary is a fixed preset of the JSON keys Spine writes (format 1: never edited;
 * a new preset is a new format byte) followed by `context`: texts of the same row the value most
 * resembles (an activity's output resembles its input). Decoding must be given the same context;
 * a checksum of the text refuses a wrong one (`storage_corrupt`) instead of decoding garbage.
 */

/**
 * Shorter texts are kept as they are: a zlib call costs more time than it saves bytes. An
 * activity's one-attempt journal (about 100 characters) and small inputs and outputs stay below it,
 * so the step path of plain activities never calls zlib.
 */
export const MIN_PACKED_CHARS = 128;

/** Format 1: deflate-raw (level 6) against PRESET_1 + context, then the text's CRC-32. */
const FORMAT_1 = 0x01;
const WINDOW = 32 * 1024;

/** The keys and words of Spine's journals, model results, prompts and XState snapshots. Format 1's dictionary: never change it. */
const PRESET_1 = Buffer.from(
  [
    '{"status":"active","value":"","historyValue":{},"context":{},"children":{},"output":null,"error":null}',
    '{"messages":[{"role":"system","content":""},{"role":"user","content":""},{"role":"assistant","content":""},{"role":"tool","content":""}],"budget":{"maxTokens":,"maxUsd":},"runBudget":{',
    '{"text":"","toolCalls":[{"id":"call_","name":"","input":{}}],"finishReason":"tool-calls","object":{',
    '[{"attempt":1,"host":"host-","startedAt":17,"call":"model","agent":"","provider":"openai-compatible@","providerName":"openai","serverAddress":"","serverPort":,"operation":"chat","model":"","maxTokens":,"promptVersion":"","idempotencyKey":"",',
    '"usage":{"inputTokens":,"outputTokens":,"cacheReadTokens":0,"cacheWriteTokens":0},"costUsd":0.00,"latencyMs":,"decision":"ok","responseModel":"","responseId":"","finishReasons":["stop"],',
    '"breaker":{"name":"provider:","state":"closed","consecutiveFailures":0,"openedAt":null,"probeStartedAt":null},"outcome":"ok","durationMs":}]',
  ].join(''),
  'utf8',
);

/**
 * Packs `text` for a store column: the text itself when short (or when deflate would not make it
 * smaller), else the packed bytes. `context`: the same row's texts to compress against, in an order
 * the reader repeats.
 *
 * @example
 * const output = packPayload(job.output, [job.input]);
 * unpackPayload(output, [job.input]); // job.output
 */
export function packPayload(text: string, context: readonly (string | null | undefined)[] = []): string | Uint8Array {
  if (text.length < MIN_PACKED_CHARS) return text;
  const bytes = Buffer.from(text, 'utf8');
  const packed = nodeZlib().deflateRawSync(bytes, { dictionary: dictionaryOf(context) });
  if (packed.length + 5 >= bytes.length) return text;
  const head = Buffer.alloc(5);
  head[0] = FORMAT_1;
  head.writeUInt32BE(nodeZlib().crc32(bytes), 1);
  return Buffer.concat([head, packed]);
}

/**
 * The text a column value holds: a text as it is, packed bytes inflated against the same `context`
 * they were packed with. Throws `storage_corrupt` (naming `where`) when the bytes do not decode to
 * the text they were made from.
 */
export function unpackPayload(value: string | Uint8Array, context: readonly (string | null | undefined)[] = [], where = 'A stored value'): string {
  if (typeof value === 'string') return value;
  const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (bytes[0] !== FORMAT_1 || bytes.length < 5) throw corrupt(where, `it starts with an unknown format byte ${bytes[0] ?? '(empty value)'}`);
  let text: Buffer;
  try {
    text = nodeZlib().inflateRawSync(bytes.subarray(5), { dictionary: dictionaryOf(context) });
  } catch (error) {
    throw corrupt(where, `it does not inflate (${(error as Error).message})`);
  }
  if (nodeZlib().crc32(text) !== bytes.readUInt32BE(1)) throw corrupt(where, 'its checksum differs (the row was changed after it was written)');
  return text.toString('utf8');
}

/** True when a column value is packed (not a plain text). */
export function isPackedPayload(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array;
}

function dictionaryOf(context: readonly (string | null | undefined)[]): Buffer {
  const parts = context.filter((c): c is string => typeof c === 'string' && c.length > 0);
  if (!parts.length) return PRESET_1;
  const dictionary = Buffer.concat([PRESET_1, ...parts.map((p) => Buffer.from(p, 'utf8'))]);
  return dictionary.length > WINDOW ? dictionary.subarray(dictionary.length - WINDOW) : dictionary;
}

function corrupt(where: string, why: string): SpineError {
  return new SpineError('storage_corrupt', `${where} cannot be decoded: ${why}. The database was changed outside Spine or is damaged; restore it from a backup.`);
}

/** A text column as a store keeps it: the text, or bytes made by `packPayload`. */
export type StoredText = string | Uint8Array;

/** A job row's three large texts as stored (`input` packed alone, `output` against the input, `journal` against both). */
export interface StoredJobTexts {
  key: string;
  input: StoredText;
  output: StoredText | null;
  journal: StoredText;
}

/** Packs a job's output for its row: against the job's input, which the row keeps beside it. */
export function packJobOutput(output: string, input: string): StoredText {
  return packPayload(output, [input]);
}

/** Packs a job's journal for its row: against the job's input and output (null while it has none). */
export function packJobJournal(journal: string, input: string, output: string | null): StoredText {
  return packPayload(journal, [input, output]);
}

/** A job row with its input, output and journal as the texts that were written (see `packJobOutput`, `packJobJournal`). */
export function unpackJobTexts<R extends StoredJobTexts>(row: R): Omit<R, 'input' | 'output' | 'journal'> & { input: string; output: string | null; journal: string } {
  if (typeof row.input === 'string' && (row.output === null || typeof row.output === 'string') && typeof row.journal === 'string') {
    return row as Omit<R, 'input' | 'output' | 'journal'> & { input: string; output: string | null; journal: string };
  }
  const { input, output } = unpackJobOutput(row);
  return { ...row, input, output, journal: unpackPayload(row.journal, [input, output], `The job '${row.key}''s journal`) };
}

/** A job row's input and output as written, without its journal (see `packJobOutput`). */
export function unpackJobOutput(row: Omit<StoredJobTexts, 'journal'>): { input: string; output: string | null } {
  const where = `The job '${row.key}'`;
  const input = unpackPayload(row.input, [], `${where}'s input`);
  return { input, output: row.output === null ? null : unpackPayload(row.output, [input], `${where}'s output`) };
}
