import { describe, expect, it } from 'vitest';
import { SpineError } from './errors.js';
import { MIN_PACKED_CHARS, packJobJournal, packJobOutput, packPayload, unpackJobTexts, unpackPayload } from './payloadCodec.js';

const input = JSON.stringify({ messages: [{ role: 'user', content: 'Write a short report on durable execution — naïve café 🚀. '.repeat(6) }], budget: { maxTokens: 1000, maxUsd: 0.4 } });
const output = JSON.stringify({
  text: 'Durable execution — naïve café 🚀. '.repeat(8),
  toolCalls: [],
  usage: { inputTokens: 120, outputTokens: 80, cacheReadTokens: 0, cacheWriteTokens: 0 },
  model: 'scripted',
});

function corruptError(run: () => unknown): SpineError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(SpineError);
    return error as SpineError;
  }
  throw new Error('expected a storage_corrupt error');
}

describe('payload codec', () => {
  it('keeps a short text as it is and packs a long one into fewer bytes that read back exactly', () => {
    const short = 'x'.repeat(MIN_PACKED_CHARS - 1);
    expect(packPayload(short)).toBe(short);
    const packed = packPayload(input);
    expect(packed).toBeInstanceOf(Uint8Array);
    expect((packed as Uint8Array).length).toBeLessThan(Buffer.byteLength(input) / 2);
    expect(unpackPayload(packed)).toBe(input);
    // Unicode outside the BMP, line separators and a lone surrogate pair boundary survive.
    const odd = `${'🚀\u2028é'.repeat(200)}{"a":"\u0000"}`;
    expect(unpackPayload(packPayload(odd))).toBe(odd);
  });

  it('packs an output against its input and a journal against both, and reads them back from a row', () => {
    const journal = JSON.stringify([{ attempt: 1, call: 'model', usage: { inputTokens: 120, outputTokens: 80, cacheReadTokens: 0, cacheWriteTokens: 0 }, outcome: 'ok', durationMs: 12.5 }, { note: output.slice(0, 200) }]);
    const packedOutput = packJobOutput(output, input);
    expect((packedOutput as Uint8Array).length).toBeLessThan((packPayload(output) as Uint8Array).length);
    const row = { key: 'run-1:2:0', status: 'done', input: packPayload(input), output: packedOutput, journal: packJobJournal(journal, input, output) };
    expect(unpackJobTexts(row)).toEqual({ key: 'run-1:2:0', status: 'done', input, output, journal });
    // A row whose texts are all short is returned as it is.
    const plain = { key: 'k', input: '{}', output: null, journal: '[]' };
    expect(unpackJobTexts(plain)).toBe(plain);
  });

  it('refuses, as storage_corrupt naming the column, bytes read against another context, changed bytes and an unknown format', () => {
    const packed = packJobOutput(output, input) as Uint8Array;
    expect(corruptError(() => unpackPayload(packed, [input.replaceAll('naïve', 'naive')], "The job 'k'''s output")).message).toMatch(/The job 'k'''s output cannot be decoded/);
    expect(corruptError(() => unpackPayload(packed, [])).code).toBe('storage_corrupt');
    const changed = Buffer.from(packed);
    changed.writeUInt8(changed.readUInt8(12) ^ 0x40, 12);
    expect(corruptError(() => unpackPayload(changed, [input])).code).toBe('storage_corrupt');
    const unknown = Buffer.from(packed);
    unknown[0] = 0x7f;
    expect(corruptError(() => unpackPayload(unknown, [input])).message).toMatch(/unknown format byte 127/);
    expect(corruptError(() => unpackJobTexts({ key: 'run-1:2:0', input: input.replaceAll('naïve', 'naive'), output: packed, journal: '[]' })).message).toMatch(/job 'run-1:2:0''s output/);
  });

  it('still reads values packed by format 1 as first released (its preset dictionary never changes)', () => {
    // Made by packPayload(input) and packJobOutput(output, input) when format 1 was introduced.
    const packedInput =
      '0157ec169ac39ea330b20c38a81412158a33f28b4a148a520b40547e9e02c8b0a49c5485d40ab003f3f3141e354c51c84b3cbcbe2c55213931edf04a850ff36735e8298c1a40050370973c8606a0040b2b7d0cf44c6a6b01';
    const packedOutput = '01797e707c8397392ec41a3faa107fe8a396ddb1b84a20432303f442c8c280946208562e162717651694a4a628d50200';
    expect(unpackPayload(Buffer.from(packedInput, 'hex'))).toBe(input);
    expect(unpackPayload(Buffer.from(packedOutput, 'hex'), [input])).toBe(output);
  });
});
