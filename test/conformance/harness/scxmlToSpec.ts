import { DOMParser, type Element } from '@xmldom/xmldom';
import { assign, enqueueActions, sendParent, type EventObject } from 'xstate';
import type { MachineSpec } from './MachineSpec.js';

/**
 * Converts an SCXML document into a `MachineSpec`: the structure becomes JSON (every
 * executable element an action object `{ type: 'scxml.<element>', params }`, every
 * `cond` a guard `{ type: 'scxml.cond', params: { expr } }`), and one fixed set of
 * implementations interprets those params. The same spec therefore runs in memory
 * and durably, and the durable host sees nothing but named, parameterised actions.
 *
 * ECMAScript expressions of the fixtures are evaluated with `new Function`: the
 * fixtures are the W3C/SCION conformance files vendored beside this suite, never
 * input from outside the repository.
 *
 * Throws `Unsupported` for what the conversion does not cover (the case is then left
 * out of the corpus, listed with the reason).
 */
export function scxmlToSpec(xml: string, name: string): MachineSpec {
  const doc = new DOMParser().parseFromString(xml, 'text/xml');
  const root = doc.documentElement;
  if (!root || root.localName !== 'scxml') throw new Unsupported('not an <scxml> document');
  return convertDocument(root as unknown as Element, name);
}

/** A feature of SCXML this conversion does not cover. */
export class Unsupported extends Error {}

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
type ActionJson = { type: string; params: Record<string, Json> };

function convertDocument(root: Element, name: string): MachineSpec {
  const data: { id: string; expr?: string; text?: string }[] = [];
  const children: MachineSpec[] = [];
  let invokeCount = 0;
  const stateIds = new Set<string>();

  const elements = (node: Element, ...names: string[]): Element[] => {
    const out: Element[] = [];
    for (let child = node.firstChild; child; child = child.nextSibling) {
      if (child.nodeType === 1 && (names.length === 0 || names.includes((child as Element).localName!))) out.push(child as Element);
    }
    return out;
  };
  const attr = (node: Element, key: string): string | undefined => (node.hasAttribute(key) ? node.getAttribute(key)! : undefined);
  const text = (node: Element): string => node.textContent ?? '';

  const collectData = (node: Element) => {
    for (const dm of elements(node, 'datamodel')) {
      for (const d of elements(dm, 'data')) {
        if (attr(d, 'src') !== undefined) throw new Unsupported('<data src>');
        const id = attr(d, 'id')!;
        const expr = attr(d, 'expr');
        const body = text(d).trim();
        data.push({ id, ...(expr !== undefined ? { expr } : body ? { text: body } : {}) });
      }
    }
  };

  const exec = (block: Element): ActionJson[] => elements(block).flatMap(execOne);

  function execOne(el: Element): ActionJson[] {
    switch (el.localName) {
      case 'raise':
        return [{ type: 'scxml.raise', params: { event: attr(el, 'event')! } }];
      case 'log':
        return [];
      case 'assign': {
        const location = attr(el, 'location');
        if (!location) throw new Unsupported('<assign> without location');
        const expr = attr(el, 'expr') ?? (text(el).trim() || 'undefined');
        return [{ type: 'scxml.assign', params: { location, expr } }];
      }
      case 'script':
        if (attr(el, 'src') !== undefined) throw new Unsupported('<script src>');
        return [{ type: 'scxml.script', params: { src: text(el) } }];
      case 'cancel': {
        const sendid = attr(el, 'sendid');
        const sendidexpr = attr(el, 'sendidexpr');
        return [{ type: 'scxml.cancel', params: { ...(sendid !== undefined ? { sendid } : {}), ...(sendidexpr !== undefined ? { sendidexpr } : {}) } }];
      }
      case 'send':
        return [{ type: 'scxml.send', params: sendParams(el) }];
      case 'if': {
        const branches: Json[] = [];
        let current: { cond?: string; actions: ActionJson[] } = { cond: attr(el, 'cond')!, actions: [] };
        for (const child of elements(el)) {
          if (child.localName === 'elseif' || child.localName === 'else') {
            branches.push(current as unknown as Json);
            current = child.localName === 'elseif' ? { cond: attr(child, 'cond')!, actions: [] } : { actions: [] };
          } else {
            current.actions.push(...execOne(child));
          }
        }
        branches.push(current as unknown as Json);
        return [{ type: 'scxml.if', params: { branches } }];
      }
      case 'foreach': {
        const index = attr(el, 'index');
        return [
          {
            type: 'scxml.foreach',
            params: { array: attr(el, 'array')!, item: attr(el, 'item')!, ...(index ? { index } : {}), actions: exec(el) as unknown as Json },
          },
        ];
      }
      default:
        throw new Unsupported(`<${el.localName}> in executable content`);
    }
  }

  function sendParams(el: Element): Record<string, Json> {
    const type = attr(el, 'type');
    if (type && type !== 'http://www.w3.org/TR/scxml/#SCXMLEventProcessor' && type !== 'scxml') throw new Unsupported(`<send type="${type}">`);
    if (attr(el, 'idlocation') !== undefined) throw new Unsupported('<send idlocation>');
    if (attr(el, 'typeexpr') !== undefined) throw new Unsupported('<send typeexpr>');
    const params: Record<string, Json> = {};
    for (const key of ['event', 'eventexpr', 'target', 'targetexpr', 'delay', 'delayexpr', 'id', 'namelist']) {
      const value = attr(el, key);
      if (value !== undefined) params[key] = value;
    }
    const list = elements(el, 'param').map((p) => ({ name: attr(p, 'name')!, expr: attr(p, 'expr') ?? attr(p, 'location') ?? 'undefined' }));
    if (list.length) params.params = list;
    const content = elements(el, 'content')[0];
    if (content) {
      if (elements(content).length) throw new Unsupported('<content> with markup in <send>');
      params.content = attr(content, 'expr') ?? JSON.stringify(text(content));
    }
    return params;
  }

  const events = (descriptor: string | undefined): string[] => {
    if (!descriptor) return [''];
    return descriptor
      .split(/\s+/)
      .filter(Boolean)
      .map((d) => {
        let e = d.replace(/\.\*$/, '').replace(/\*$/, '');
        if (e === '') return '*';
        if (e.startsWith('done.invoke')) e = `xstate.done.actor${e.slice('done.invoke'.length)}`;
        else if (e.startsWith('done.state.')) e = `xstate.done.state.${sanitize(e.slice('done.state.'.length))}`;
        // SCXML descriptors match by token prefix: `foo` also matches `foo.bar`.
        return `${e}.*`;
      });
  };

  const targets = (value: string | undefined): string[] | undefined =>
    value === undefined ? undefined : value.split(/\s+/).filter(Boolean).map((t) => `#${sanitize(t)}`);

  function transitionsOf(node: Element): { on: Record<string, Json[]>; always: Json[] } {
    const on: Record<string, Json[]> = {};
    const always: Json[] = [];
    for (const t of elements(node, 'transition')) {
      const target = targets(attr(t, 'target'));
      const cond = attr(t, 'cond');
      if (cond && /\bIn\(/.test(cond)) throw new Unsupported('In() predicate');
      const config: Record<string, Json> = {};
      if (target) {
        config.target = target;
        config.reenter = attr(t, 'type') !== 'internal';
      }
      if (cond) config.guard = { type: 'scxml.cond', params: { expr: cond } };
      const actions = exec(t);
      if (actions.length) config.actions = actions as unknown as Json;
      for (const event of events(attr(t, 'event'))) {
        if (event === '') always.push(config);
        else (on[event] ??= []).push(config);
      }
    }
    return { on, always };
  }

  function stateConfig(node: Element, isRoot: boolean): Record<string, Json> {
    const config: Record<string, Json> = {};
    if (!isRoot) {
      const id = sanitize(attr(node, 'id') ?? `anon${stateIds.size}`);
      stateIds.add(id);
      config.id = id;
    }
    collectData(node);
    if (node.localName === 'history') {
      config.type = 'history';
      config.history = attr(node, 'type') === 'deep' ? 'deep' : 'shallow';
      const t = elements(node, 'transition')[0];
      if (t) {
        if (exec(t).length) throw new Unsupported('executable content in a history default transition');
        const target = targets(attr(t, 'target'));
        if (target) config.target = target.length === 1 ? target[0]! : target;
      }
      return config;
    }
    if (node.localName === 'final') {
      config.type = 'final';
      if (elements(node, 'donedata').length) throw new Unsupported('<donedata>');
    }
    if (node.localName === 'parallel') config.type = 'parallel';
    const stateChildren = elements(node, 'state', 'parallel', 'final', 'history');
    if (stateChildren.length) {
      const states: Record<string, Json> = {};
      for (const child of stateChildren) {
        const childConfig = stateConfig(child, false);
        states[childConfig.id as string] = childConfig;
      }
      config.states = states;
      if (node.localName !== 'parallel') {
        const initialAttr = attr(node, 'initial');
        const initialEl = elements(node, 'initial')[0];
        const keys = stateChildren.filter((c) => c.localName !== 'history').map((c) => sanitize(attr(c, 'id')!));
        const keyOf = (ids: string) => {
          const list = ids.split(/\s+/).filter(Boolean).map(sanitize);
          if (list.length !== 1 || !(list[0]! in states)) throw new Unsupported(`deep or multiple initial states ('${ids}')`);
          return list[0]!;
        };
        if (initialAttr) config.initial = keyOf(initialAttr);
        else if (initialEl) {
          const t = elements(initialEl, 'transition')[0]!;
          const actions = exec(t);
          const target = keyOf(attr(t, 'target')!);
          config.initial = actions.length ? ({ target, actions } as unknown as Json) : target;
        } else config.initial = keys[0]!;
      }
    }
    const entry = elements(node, 'onentry').flatMap(exec);
    const exit = elements(node, 'onexit').flatMap(exec);
    if (entry.length) config.entry = entry as unknown as Json;
    if (exit.length) config.exit = exit as unknown as Json;
    const { on, always } = transitionsOf(node);
    const invokes = elements(node, 'invoke').map(invokeConfig);
    if (invokes.length) config.invoke = invokes;
    if (Object.keys(on).length) config.on = on as unknown as Json;
    if (always.length) config.always = always;
    return config;
  }

  function invokeConfig(el: Element): Json {
    for (const unsupported of ['src', 'srcexpr', 'typeexpr', 'idlocation']) if (attr(el, unsupported) !== undefined) throw new Unsupported(`<invoke ${unsupported}>`);
    if (attr(el, 'autoforward') === 'true') throw new Unsupported('<invoke autoforward>');
    if (elements(el, 'finalize').length) throw new Unsupported('<finalize>');
    if (elements(el, 'param').length || attr(el, 'namelist')) throw new Unsupported('<invoke> params');
    const content = elements(el, 'content')[0];
    const childDoc = content ? elements(content, 'scxml')[0] : undefined;
    if (!childDoc) throw new Unsupported('<invoke> without inline <scxml> content');
    const id = attr(el, 'id') ?? `invoke${invokeCount}`;
    const childName = `${name}~${invokeCount++}`;
    children.push(convertDocument(childDoc, childName));
    return { id, src: childName };
  }

  const config = stateConfig(root, true);
  config.id = sanitize(attr(root, 'name') ?? 'scxml');
  const initial = attr(root, 'initial');
  const first = elements(root, 'state', 'parallel', 'final')[0];
  if (initial) {
    const ids = initial.split(/\s+/).filter(Boolean).map(sanitize);
    if (ids.length !== 1 || !(config.states as Record<string, Json>)[ids[0]!]) throw new Unsupported(`deep or multiple initial states ('${initial}')`);
    config.initial = ids[0]!;
  } else if (first && config.initial === undefined) config.initial = sanitize(attr(first, 'id')!);
  const declared = data.slice();
  return {
    name,
    config,
    context: (input: Record<string, unknown> | undefined) => {
      const context: Record<string, unknown> = {};
      for (const d of declared) context[d.id] = undefined;
      for (const d of declared) {
        if (input && d.id in input) context[d.id] = input[d.id];
        else if (d.expr !== undefined) context[d.id] = evaluate(d.expr, context, undefined);
        else if (d.text !== undefined) context[d.id] = parseDataText(d.text);
      }
      return context;
    },
    actions: scxmlActions,
    guards: scxmlGuards,
    children,
  };
}

function parseDataText(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

function sanitize(id: string): string {
  return id.replace(/\./g, '$');
}

// ---- the interpreter of the JSON actions -----------------------------------------

interface ScxmlEvent {
  name: string;
  data: unknown;
  type: string;
}

function scxmlEvent(event: EventObject | undefined): ScxmlEvent | undefined {
  if (!event) return undefined;
  const e = event as EventObject & { data?: unknown; output?: unknown; error?: unknown };
  const name = e.type.startsWith('xstate.done.actor.') ? `done.invoke.${e.type.slice('xstate.done.actor.'.length)}` : e.type;
  return { name, data: e.data ?? e.output ?? e.error, type: 'external' };
}

const compiled = new Map<string, (...args: unknown[]) => unknown>();

/** Evaluates a fixture's ECMAScript expression over the datamodel (read only). */
function evaluate(expr: string, context: Record<string, unknown>, event: EventObject | undefined): unknown {
  return run(`return (${expr});`, { ...context }, event).result;
}

/** Runs statements over a copy of the datamodel; returns the result and the changed datamodel. */
function run(body: string, scope: Record<string, unknown>, event: EventObject | undefined): { result: unknown; scope: Record<string, unknown> } {
  let fn = compiled.get(body);
  if (!fn) {
    fn = new Function('__scope', '_event', 'In', `with (__scope) { ${body} }`) as (...args: unknown[]) => unknown;
    compiled.set(body, fn);
  }
  // Names that are not globals resolve in the datamodel (undeclared ones read as undefined), so no script leaks a global.
  const proxy = new Proxy(scope, { has: (target, key) => typeof key === 'string' && (key in target || !(key in globalThis)) });
  const result = fn(proxy, scxmlEvent(event), () => {
    throw new Unsupported('In()');
  });
  return { result, scope };
}

function delayMs(value: string): number {
  const match = /^(\d*\.?\d+)(ms|s)$/.exec(value.trim());
  if (!match) throw new Error(`invalid delay '${value}'`);
  return match[2] === 's' ? Number(match[1]) * 1000 : Number(match[1]);
}

type Args = { context: Record<string, unknown>; event: EventObject };

const scxmlGuards = {
  'scxml.cond': ({ context, event }: Args, params: { expr: string }) => Boolean(evaluate(params.expr, context, event)),
};

const scxmlActions: Record<string, unknown> = {
  'scxml.assign': assign(({ context, event }: Args, params: { location: string; expr: string }) => {
    const scope = structuredClone(context);
    if (!/^[A-Za-z_$][\w$]*/.test(params.location)) throw new Error(`invalid location '${params.location}'`);
    const head = params.location.split(/[.[]/)[0]!;
    if (!(head in scope)) throw new Error(`assign to undeclared location '${params.location}'`);
    return run(`${params.location} = (${params.expr});`, scope, event).scope;
  }),
  'scxml.script': assign(({ context, event }: Args, params: { src: string }) => run(params.src, structuredClone(context), event).scope),
  'scxml.raise': enqueueActions(({ enqueue }, params: { event: string }) => enqueue.raise({ type: params.event })),
  'scxml.cancel': enqueueActions(({ enqueue, context, event }: Args & { enqueue: any }, params: { sendid?: string; sendidexpr?: string }) =>
    enqueue.cancel(params.sendid ?? String(evaluate(params.sendidexpr!, context, event))),
  ),
  'scxml.send': enqueueActions(({ enqueue, context, event, self }: Args & { enqueue: any; self: unknown }, params: Record<string, any>) => {
    const type = params.event ?? String(evaluate(params.eventexpr, context, event));
    let data: unknown;
    if (params.content !== undefined) data = evaluate(params.content, context, event);
    if (params.namelist || params.params) {
      const fields: Record<string, unknown> = {};
      for (const n of (params.namelist ?? '').split(/\s+/).filter(Boolean)) fields[n] = evaluate(n, context, event);
      for (const p of params.params ?? []) fields[p.name] = evaluate(p.expr, context, event);
      data = fields;
    }
    const sent = data === undefined ? { type } : { type, data };
    const delayValue = params.delay ?? (params.delayexpr !== undefined ? String(evaluate(params.delayexpr, context, event)) : undefined);
    const delay = delayValue === undefined ? undefined : delayMs(delayValue);
    const target = params.target ?? (params.targetexpr !== undefined ? String(evaluate(params.targetexpr, context, event)) : undefined);
    const options = { ...(delay !== undefined ? { delay } : {}), ...(params.id !== undefined ? { id: params.id } : {}) };
    if (target === undefined) enqueue.sendTo(self, sent, options);
    else if (target === '#_internal') enqueue.raise(sent, options);
    else if (target === '#_parent') enqueue(sendParent(sent, options));
    else if (target.startsWith('#_') && target !== '#_scxml_' ) enqueue.sendTo(target.slice(2), sent, options);
    else throw new Error(`unsupported send target '${target}'`);
  }),
  'scxml.if': enqueueActions(({ enqueue, context, event }: Args & { enqueue: any }, params: { branches: { cond?: string; actions: ActionJson[] }[] }) => {
    for (const branch of params.branches) {
      if (branch.cond === undefined || evaluate(branch.cond, context, event)) {
        for (const action of branch.actions) enqueue(action);
        return;
      }
    }
  }),
  'scxml.foreach': enqueueActions(
    ({ enqueue, context, event }: Args & { enqueue: any }, params: { array: string; item: string; index?: string; actions: ActionJson[] }) => {
      const array = evaluate(params.array, context, event);
      if (!Array.isArray(array)) throw new Error(`foreach array '${params.array}' is not an array`);
      array.forEach((value, i) => {
        enqueue({ type: 'scxml.assign', params: { location: params.item, expr: JSON.stringify(value) ?? 'undefined' } });
        if (params.index) enqueue({ type: 'scxml.assign', params: { location: params.index, expr: String(i) } });
        for (const action of params.actions) enqueue(action);
      });
    },
  ),
};
