/**
 * Writes machine JSON the way people keep it in git: 2-space indentation and a
 * trailing newline, key order as given, and, when the file's previous text is
 * passed, every unchanged part copied from it byte for byte (a container that
 * was written on one line stays on one line). So a machine saved unchanged is
 * byte-identical, and an edit shows in a diff as only what changed.
 * Browser-safe: no Node imports.
 *
 * @example
 * const text = formatMachineJson(editedConfig, { previous: readFileSync(file, 'utf8') });
 */
export function formatMachineJson(value: unknown, options: { previous?: string } = {}): string {
  let root: JsonNode | undefined;
  let text = '';
  if (options.previous !== undefined) {
    try {
      text = options.previous;
      root = parseJsonWithSpans(text);
    } catch {
      root = undefined; // not JSON: written fresh
    }
  }
  if (!root) return `${print(value, undefined, '', { text: '', unit: '  ', inline: false })}\n`;
  const unit = detectIndentUnit(text);
  const body = print(value, root, lineIndent(text, root.start), { text, unit, inline: false });
  return text.slice(0, root.start) + body + text.slice(root.end);
}

/** A parsed JSON value with where its text starts and ends. */
export type JsonNode = { start: number; end: number; value: unknown } & (
  | { kind: 'object'; entries: { key: string; node: JsonNode }[] }
  | { kind: 'array'; items: JsonNode[] }
  | { kind: 'primitive' }
);

/** Parses JSON text, keeping the source span of every value (throws SyntaxError like JSON.parse). */
export function parseJsonWithSpans(text: string): JsonNode {
  let i = 0;
  const ws = () => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\n' || text[i] === '\r' || text[i] === '\t')) i++;
  };
  const fail = (what: string): never => {
    throw new SyntaxError(`Invalid JSON at offset ${i}: ${what}`);
  };
  const stringEnd = (from: number): number => {
    let j = from + 1;
    while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
    if (j >= text.length) fail('unterminated string');
    return j + 1;
  };
  const value = (): JsonNode => {
    ws();
    const start = i;
    const c = text[i];
    if (c === '{') {
      i++;
      const entries: { key: string; node: JsonNode }[] = [];
      const out: Record<string, unknown> = {};
      ws();
      if (text[i] === '}') {
        i++;
        return { kind: 'object', start, end: i, value: out, entries };
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('expected a key');
        const keyEnd = stringEnd(i);
        const key = JSON.parse(text.slice(i, keyEnd)) as string;
        i = keyEnd;
        ws();
        if (text[i] !== ':') fail("expected ':'");
        i++;
        const node = value();
        const existing = entries.findIndex((e) => e.key === key);
        if (existing >= 0) entries.splice(existing, 1);
        entries.push({ key, node });
        out[key] = node.value;
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return { kind: 'object', start, end: i, value: out, entries };
        }
        fail("expected ',' or '}'");
      }
    }
    if (c === '[') {
      i++;
      const items: JsonNode[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return { kind: 'array', start, end: i, value: [], items };
      }
      for (;;) {
        items.push(value());
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return { kind: 'array', start, end: i, value: items.map((n) => n.value), items };
        }
        fail("expected ',' or ']'");
      }
    }
    if (c === '"') i = stringEnd(i);
    else {
      const m = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(i, i + 400));
      if (!m) fail('unexpected character');
      i += m![0].length;
    }
    return { kind: 'primitive', start, end: i, value: JSON.parse(text.slice(start, i)) as unknown };
  };
  const root = value();
  ws();
  if (i < text.length) fail('unexpected text after the value');
  return root;
}

/** Deep equality of JSON values, key order included (the order is part of the file). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((v, i) => jsonEqual(v, bb[i]));
  }
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

interface PrintContext {
  text: string;
  unit: string;
  /** Inside a container written on one line. */
  inline: boolean;
}

function print(value: unknown, node: JsonNode | undefined, indent: string, ctx: PrintContext): string {
  if (node && jsonEqual(value, node.value)) return reindent(ctx.text.slice(node.start, node.end), lineIndent(ctx.text, node.start), indent);
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  const wasInline = node && node.kind !== 'primitive' ? !ctx.text.slice(node.start, node.end).includes('\n') : ctx.inline;
  const inner = indent + ctx.unit;
  const child = { ...ctx, inline: wasInline };
  if (Array.isArray(value)) {
    if (!value.length) return '[]';
    const old = node?.kind === 'array' ? node.items : [];
    const used = new Set<JsonNode>();
    // Reuse an unchanged item's text wherever it moved to; else the item at the same index.
    const matches = value.map((v) => {
      const same = old.find((n) => !used.has(n) && jsonEqual(v, n.value));
      if (same) used.add(same);
      return same;
    });
    const parts = value.map((v, i) => print(v, matches[i] ?? (old[i] && !used.has(old[i]) ? old[i] : undefined), inner, child));
    if (wasInline) {
      const pad = node && ctx.text[node.start + 1] === ' ' ? ' ' : '';
      return `[${pad}${parts.join(', ')}${pad}]`;
    }
    return `[\n${parts.map((p) => inner + p).join(',\n')}\n${indent}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  if (!entries.length) return '{}';
  const old = node?.kind === 'object' ? node.entries : [];
  const parts = entries.map(([key, v]) => `${JSON.stringify(key)}: ${print(v, old.find((e) => e.key === key)?.node, inner, child)}`);
  if (wasInline) {
    const pad = node ? (ctx.text[node.start + 1] === ' ' ? ' ' : '') : ' ';
    return `{${pad}${parts.join(', ')}${pad}}`;
  }
  return `{\n${parts.map((p) => inner + p).join(',\n')}\n${indent}}`;
}

/** The leading whitespace of the line that `offset` is on. */
function lineIndent(text: string, offset: number): string {
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  return /^[ \t]*/.exec(text.slice(lineStart, offset))![0];
}

/** Moves a copied multi-line span from one indentation to another. */
function reindent(span: string, from: string, to: string): string {
  if (from === to || !span.includes('\n')) return span;
  return span
    .split('\n')
    .map((line, i) => (i === 0 ? line : line.startsWith(from) ? to + line.slice(from.length) : line))
    .join('\n');
}

function detectIndentUnit(text: string): string {
  const m = /\n([ \t]+)\S/.exec(text);
  return m ? m[1]! : '  ';
}
