import { SpineError } from '../errors.js';
import { nodeZlib } from '../lazyBuiltins.js';

/**
 * How a history row stores its event and snapshot: one opaque body, computed here so that every
 * store writes the same bytes and only keeps them (see README.md in this folder).
 *
 * A body is either a checkpoint (the event and the whole snapshot, deflated) or a delta against
 * the snapshot of the same actor's previous step (seq - 1): the bytes shared at the start and at
 * the end are counted, not stored, and the changed middle is deflated together with the event,
 * with the previous snapshot as the compression dictionary. An activity's output therefore costs
 * once per row even though it arrives in the event and lands in the context.
 */

/** Steps between two checkpoints of an actor: decoding any step inflates at most this many bodies. */
export const HISTORY_CHECKPOINT_EVERY = 32;

const CHECKPOINT = 0x01;
const DELTA = 0x02;
/** The payload is stored as it is (deflate would not make it smaller). */
const STORED = 0x10;
/** The body was encoded against a shared text (an activity's stored output) that decoding needs again. */
const SHARED = 0x20;
const KINDS = new Set([CHECKPOINT, DELTA].flatMap((kind) => [kind, kind | STORED, kind | SHARED, kind | STORED | SHARED]));
/** Deflate's level: fast (a step pays for it); the history's texts compress well even so. */
const LEVEL = 1;
/** Smaller payloads (a step that changed little) are stored as they are: a zlib call (about 0.1 ms with its dictionary on a loaded machine) costs more time than it saves bytes. */
const MIN_DEFLATE = 512;
/** Deflate's window: only this much of a dictionary is ever used. */
const WINDOW = 32 * 1024;
/** Bytes of the unchanged start kept in the dictionary, as context for the changed middle. */
const CONTEXT = 2 * 1024;

/** One step as history encodes it. */
export interface HistoryStep {
  seq: number;
  event: string;
  snapshot: string;
}

/** What a store keeps for one step: the body, and whether decoding it needs the previous step. */
export interface EncodedHistoryStep {
  body: Uint8Array;
  /** True when the body decodes alone (no previous snapshot needed). */
  checkpoint: boolean;
}

/** A stored body with the actor and seq it belongs to, as a decoder reads it back. */
export interface StoredHistoryBody {
  actorId: string;
  seq: number;
  body: Uint8Array;
  /** The shared text the body was encoded against (see `EncodeHistoryOptions.shared`), if any. */
  shared?: string | null;
}

/** Options of `encodeHistoryStep`. */
export interface EncodeHistoryOptions {
  /** Steps between checkpoints (default `HISTORY_CHECKPOINT_EVERY`); 1 stores every step whole. */
  checkpointEvery?: number;
  /**
   * A text the store keeps anyway and can give the decoder again: the output of the activity whose
   * result this step applies (its job row). The body then refers to it instead of holding a copy.
   */
  shared?: string;
}

/** True when a step at `seq` must be a checkpoint whatever its base (the first step, then every `every` steps). */
export function isCheckpointSeq(seq: number, every = HISTORY_CHECKPOINT_EVERY): boolean {
  return every <= 1 || (seq - 1) % every === 0;
}

/**
 * Encodes one step of an actor. `base` is the snapshot of the same actor's step `seq - 1`
 * exactly as stored (null when there is none); the step is a checkpoint when there is no
 * base or `seq` falls on a checkpoint.
 *
 * @example
 * const { body, checkpoint } = encodeHistoryStep({ seq: 2, event, snapshot }, previousSnapshot);
 * decodeHistoryStep(body, checkpoint ? null : previousSnapshot); // { event, snapshot }
 */
export function encodeHistoryStep(step: HistoryStep, base: string | null, options: EncodeHistoryOptions = {}): EncodedHistoryStep {
  const event = Buffer.from(step.event, 'utf8');
  const snapshot = Buffer.from(step.snapshot, 'utf8');
  const shared = options.shared ? Buffer.from(options.shared, 'utf8') : undefined;
  const crcs = shared ? [nodeZlib().crc32(shared)] : [];
  let body: Buffer;
  let checkpoint = false;
  if (base === null || isCheckpointSeq(step.seq, options.checkpointEvery)) {
    body = frame(CHECKPOINT, crcs, [event.length], event, snapshot, () => dictionaryOf(shared, undefined, 0, 0), shared !== undefined);
    checkpoint = true;
  } else {
    const previous = lastEncoded?.text === base ? lastEncoded : { text: base, bytes: Buffer.from(base, 'utf8') };
    const before = previous.bytes;
    const limit = Math.min(before.length, snapshot.length);
    let prefix = 0;
    while (prefix < limit && before[prefix] === snapshot[prefix]) prefix++;
    let suffix = 0;
    while (suffix < limit - prefix && before[before.length - 1 - suffix] === snapshot[snapshot.length - 1 - suffix]) suffix++;
    crcs.push((previous.crc ??= nodeZlib().crc32(before)));
    const middle = snapshot.subarray(prefix, snapshot.length - suffix);
    body = frame(DELTA, crcs, [prefix, suffix, event.length], event, middle, () => dictionaryOf(shared, before, prefix, suffix), shared !== undefined);
  }
  // The next step of this actor is encoded against this snapshot: its bytes (and checksum) are kept for it.
  lastEncoded = { text: step.snapshot, bytes: snapshot };
  return { body, checkpoint };
}

/** The snapshot the last body was encoded with, as bytes: the base of the same actor's next step, most often. */
let lastEncoded: { text: string; bytes: Buffer; crc?: number } | undefined;

/**
 * Decodes one body back to the exact event and snapshot strings that were encoded. A delta
 * needs `base`, the decoded snapshot of the actor's previous step; a wrong or missing base is
 * refused (`storage_corrupt`), never decoded into a wrong snapshot.
 */
export function decodeHistoryStep(body: Uint8Array, base: string | null, shared?: string | null): { event: string; snapshot: string } {
  try {
    const { event, snapshot } = decodeStep(body, base === null ? null : new Base(Buffer.from(base, 'utf8')), shared);
    return { event, snapshot };
  } catch (error) {
    throw error instanceof Undecodable ? corrupt(error.message) : error;
  }
}

/** A decoded snapshot's bytes, kept so that decoding the next step neither encodes nor checksums it again. */
class Base {
  #crc: number | undefined;
  constructor(readonly bytes: Buffer) {}
  get crc(): number {
    return (this.#crc ??= nodeZlib().crc32(this.bytes));
  }
}

function decodeStep(body: Uint8Array, base: Base | null, shared: string | null | undefined): { event: string; snapshot: string; base: Base } {
  const bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const kind = bytes[0];
  if (kind === undefined || !KINDS.has(kind)) throw new Undecodable(`it starts with an unknown kind byte ${kind ?? '(empty body)'}`);
  let at = 1;
  const read = (): number => {
    const [value, next] = readVarint(bytes, at);
    at = next;
    return value;
  };
  let sharedBytes: Buffer | undefined;
  if (kind & SHARED) {
    if (shared === undefined || shared === null) throw new Undecodable('it refers to the output of its activity, which is missing');
    sharedBytes = Buffer.from(shared, 'utf8');
    if (bytes.length < at + 4 || bytes.readUInt32BE(at) !== nodeZlib().crc32(sharedBytes)) throw new Undecodable('it refers to an activity output that differs from the stored one');
    at += 4;
  }
  if (kind & CHECKPOINT) {
    const eventLength = read();
    const payload = unpack(kind, bytes.subarray(at), dictionaryOf(sharedBytes, undefined, 0, 0));
    return { event: payload.toString('utf8', 0, eventLength), snapshot: payload.toString('utf8', eventLength), base: new Base(payload.subarray(eventLength)) };
  }
  if (base === null) throw new Undecodable('it is a delta and the previous step is missing');
  const previous = base.bytes;
  if (bytes.length < at + 4 || bytes.readUInt32BE(at) !== base.crc) throw new Undecodable('it is a delta against a different previous snapshot');
  at += 4;
  const prefix = read();
  const suffix = read();
  const eventLength = read();
  if (prefix + suffix > previous.length) throw new Undecodable('its shared start and end are longer than the previous snapshot');
  const payload = unpack(kind, bytes.subarray(at), dictionaryOf(sharedBytes, previous, prefix, suffix));
  const snapshot = Buffer.concat([previous.subarray(0, prefix), payload.subarray(eventLength), previous.subarray(previous.length - suffix)]);
  return { event: payload.toString('utf8', 0, eventLength), snapshot: snapshot.toString('utf8'), base: new Base(snapshot) };
}

/** True when a stored body decodes without the previous step. */
export function isCheckpointBody(body: Uint8Array): boolean {
  return ((body[0] ?? 0) & CHECKPOINT) !== 0;
}

/**
 * Decodes stored bodies of many actors, remembering each actor's latest decoded snapshot so
 * that a run read in commit order inflates every body once. When a delta's previous step was
 * not read yet, `chainOf(actorId, seq)` must return that actor's bodies from its last
 * checkpoint before `seq` up to `seq - 1`, oldest first.
 */
export class HistoryDecoder {
  readonly #latest = new Map<string, { seq: number; base: Base }>();
  readonly #limit: number;

  /** `limit` bounds how many actors' latest snapshots are remembered (least recently used go first). */
  constructor(options: { limit?: number } = {}) {
    this.#limit = options.limit ?? 256;
  }

  /** Decodes one stored body (see the class summary for `chainOf`). */
  decode(row: StoredHistoryBody, chainOf: (actorId: string, seq: number) => StoredHistoryBody[]): { event: string; snapshot: string } {
    if (isCheckpointBody(row.body)) return this.#remember(row, this.#step(row, null));
    let base = this.#baseOf(row.actorId, row.seq);
    if (base === undefined) {
      const chain = chainOf(row.actorId, row.seq);
      if (!chain.length || !isCheckpointBody(chain[0]!.body)) throw corrupt(`no checkpoint of actor '${row.actorId}' precedes step ${row.seq}`, row);
      let previous: Base | null = null;
      let expected = chain[0]!.seq;
      for (const link of chain) {
        if (link.seq !== expected++) throw corrupt(`step ${expected - 1} of actor '${row.actorId}' is missing`, row);
        previous = this.#step(link, previous).base;
      }
      if (expected !== row.seq) throw corrupt(`step ${row.seq - 1} of actor '${row.actorId}' is missing`, row);
      base = previous!;
    }
    return this.#remember(row, this.#step(row, base));
  }

  /** Forgets what was remembered (after rows were rewritten, e.g. by a migration). */
  clear(): void {
    this.#latest.clear();
  }

  #step(row: StoredHistoryBody, base: Base | null): { event: string; snapshot: string; base: Base } {
    try {
      return decodeStep(row.body, base, row.shared);
    } catch (error) {
      throw error instanceof Undecodable ? corrupt(error.message, row) : error;
    }
  }

  #baseOf(actorId: string, seq: number): Base | undefined {
    const latest = this.#latest.get(actorId);
    return latest && latest.seq === seq - 1 ? latest.base : undefined;
  }

  #remember(row: StoredHistoryBody, decoded: { event: string; snapshot: string; base: Base }): { event: string; snapshot: string } {
    this.#latest.delete(row.actorId);
    this.#latest.set(row.actorId, { seq: row.seq, base: decoded.base });
    if (this.#latest.size > this.#limit) this.#latest.delete(this.#latest.keys().next().value!);
    return { event: decoded.event, snapshot: decoded.snapshot };
  }
}

/**
 * A body: its kind byte, then the checksums (4 bytes each, big-endian) and the varints of its
 * header, then the event and the rest (deflated together when that makes them smaller), written
 * into one buffer.
 */
function frame(kind: number, crcs: number[], varints: number[], event: Buffer, rest: Buffer, dictionary: () => Buffer | undefined, shared: boolean): Buffer {
  let packed: Buffer | undefined;
  if (event.length + rest.length >= MIN_DEFLATE) {
    const payload = Buffer.concat([event, rest]);
    const words = dictionary();
    const deflated = nodeZlib().deflateRawSync(payload, words?.length ? { level: LEVEL, dictionary: words } : { level: LEVEL });
    if (deflated.length < payload.length) packed = deflated;
  }
  let length = 1 + 4 * crcs.length + (packed ? packed.length : event.length + rest.length);
  for (const value of varints) length += varintLength(value);
  const out = Buffer.allocUnsafe(length);
  out[0] = kind | (packed ? 0 : STORED) | (shared ? SHARED : 0);
  let at = 1;
  for (const crc of crcs) at = out.writeUInt32BE(crc, at);
  for (const value of varints) at = writeVarint(out, at, value);
  if (packed) packed.copy(out, at);
  else rest.copy(out, at + event.copy(out, at));
  return out;
}

function unpack(kind: number, data: Buffer, dictionary: Buffer | undefined): Buffer {
  if (kind & STORED || !data.length) return data;
  try {
    return nodeZlib().inflateRawSync(data, dictionary?.length ? { dictionary } : {});
  } catch (error) {
    throw new Undecodable(`its payload does not inflate (${(error as Error).message})`);
  }
}

/**
 * What the new event and middle most resemble: the shared text (an activity output the event
 * carries), then the previous snapshot's changed middle with some unchanged context before it.
 */
function dictionaryOf(shared: Buffer | undefined, previous: Buffer | undefined, prefix: number, suffix: number): Buffer | undefined {
  const parts = [shared, previous?.subarray(Math.max(0, prefix - CONTEXT), previous.length - suffix)].filter((p): p is Buffer => p !== undefined && p.length > 0);
  if (!parts.length) return undefined;
  const dictionary = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  return dictionary.length > WINDOW ? dictionary.subarray(dictionary.length - WINDOW) : dictionary;
}

/** Writes `value` as a varint (7 bits a byte, least significant first) at `at`; returns where it ends. */
function writeVarint(out: Buffer, at: number, value: number): number {
  let rest = value;
  while (rest >= 0x80) {
    out[at++] = (rest % 0x80) | 0x80;
    rest = Math.floor(rest / 0x80);
  }
  out[at++] = rest;
  return at;
}

function varintLength(value: number): number {
  let length = 1;
  for (let rest = value; rest >= 0x80; rest = Math.floor(rest / 0x80)) length++;
  return length;
}

function readVarint(bytes: Buffer, start: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (let at = start; at < bytes.length && at < start + 8; at++) {
    const byte = bytes[at]!;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return [value, at + 1];
    scale *= 0x80;
  }
  throw new Undecodable('its header is cut short');
}

/** Why a body cannot be decoded; turned into a `storage_corrupt` SpineError that names the row where it is known. */
class Undecodable extends Error {}

function corrupt(why: string, row?: { actorId: string; seq: number }): SpineError {
  const which = row ? `The history of actor '${row.actorId}' at step ${row.seq}` : 'A history row';
  return new SpineError('storage_corrupt', `${which} cannot be decoded: ${why}. The database was changed outside Spine or is damaged; restore it from a backup.`, row ? { actorId: row.actorId } : {});
}
