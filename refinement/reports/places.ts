// What one layer holds at one place (a slot, an object, a register), as named fields in seL4
// terms, so that explain can say exactly which field the layers disagree on: a slot's cap
// fields, its CDT parent and, per layer, the MDB node (impl, executable: prev, next,
// revocable, firstBadged) or the abstract spec's original flag; an object's fields; a
// register decoded by its role in the syscall ABI (badge, message info, message register).
import {
  IPCBuffer,
  Reg,
  errorName,
  hex,
  messageInfoFromWord,
  msgRegisters,
  slotKey,
  type Cap,
  type IrqView,
  type LayerName,
  type ObjectView,
  type SchedulerView,
  type SlotRef,
  type Word,
} from '../../libsel4/index.ts';
import * as A from '../../spec-abstract/index.ts';
import * as E from '../../spec-executable/index.ts';
import * as I from '../../impl/index.ts';
import type { Candidate } from '../running.ts';

/**
 * One field as a layer holds it: `text` is shown (`badge 4`), `value` is what layers are
 * compared by, `before` separates it from the previous field on a line.
 */
export interface Field {
  readonly name: string;
  readonly text: string;
  readonly value: string;
  readonly before: string;
}

const field = (name: string, value: string, text = `${name} ${value}`, before = ' '): Field => ({ name, text, value, before });
/** A field that starts a new part of a line (`; CDT parent ...`, `, priority 255`). */
const part = (name: string, value: string, text = `${name} ${value}`, before = '; '): Field => field(name, value, text, before);

const linkText = (slot: SlotRef | null) => (slot === null ? 'none' : slotKey(slot));

/** Cap fields holding addresses or bit sets, shown in hex or binary. */
function capFieldText(key: string, value: unknown): string {
  if (key === 'rights' && typeof value === 'number') return value.toString(2).padStart(4, '0');
  if (value !== null && typeof value === 'object') return JSON.stringify(value);
  return typeof value === 'number' && value > 0xffff ? hex(value) : String(value);
}

/** A cap as fields: its type and object first (`endpoint 0x80040030`), then every other field. */
export function capFields(cap: Cap): Field[] {
  const ptr = 'ptr' in cap ? cap.ptr : null;
  const head = ptr === null ? cap.type : `${cap.type} ${hex(ptr)}`;
  const rest = Object.entries(cap).filter(([key]) => key !== 'type' && key !== 'ptr');
  return [field('cap', head, head), ...rest.map(([key, value]) => field(key, capFieldText(key, value)))];
}

/** The MDB node or the original flag of a slot, as the layer's own state holds it. */
function derivationFields(layer: LayerName, state: unknown, slot: SlotRef): Field[] {
  switch (layer) {
    case 'abstract': {
      const original = String(A.isOriginalCap(state as A.AbstractState, slot));
      return [part('revocable', original, `original ${original}`)];
    }
    case 'executable':
    case 'impl': {
      const mdb = layer === 'impl' ? I.decodeSlot(state as I.ImplState, slot)?.mdb : E.getSlot(state as E.ExecState, slot)?.mdb;
      if (!mdb) return [];
      return [
        part('revocable', String(mdb.revocable)),
        part('firstBadged', String(mdb.firstBadged)),
        part('MDB prev', linkText(mdb.prev)),
        part('MDB next', linkText(mdb.next)),
      ];
    }
  }
}

/** A slot as a layer holds it after a step: cap fields, CDT parent, MDB node or original flag. */
export function slotFields(layer: LayerName, candidate: Candidate, slot: SlotRef): Field[] {
  const cap = candidate.view.cap(slot);
  if (cap === null) return [field('slot', 'none', 'no such slot')];
  if (cap.type === 'null') return capFields(cap);
  return [...capFields(cap), part('CDT parent', linkText(candidate.view.cdtParent(slot))), ...derivationFields(layer, candidate.state, slot)];
}

/** Object fields that hold addresses (or words), shown in hex. */
const hexFields = new Set(['schedContext', 'tcb', 'ipcBufferVaddr', 'word', 'queue', 'yieldTo', 'yieldFrom']);

/** A refill as seL4 writes one: `{release 0, amount 50000}` (ticks). */
function refillText(value: unknown): string {
  if (value === null || typeof value !== 'object' || !('releaseTicks' in value) || !('amountTicks' in value)) return String(value);
  return `{release ${String(value.releaseTicks)}, amount ${String(value.amountTicks)}}`;
}

function objectFieldText(key: string, value: unknown): string {
  const one = (v: unknown) => (typeof v === 'number' && hexFields.has(key) ? hex(v) : v === null ? 'none' : key === 'refills' ? refillText(v) : String(v));
  return Array.isArray(value) ? `[${value.map(one).join(', ')}]` : one(value);
}

/** An object's fields, e.g. `state Running`, `priority 255`; its type alone when it has none. */
export function objectFields(o: ObjectView | null): Field[] {
  if (o === null) return [field('object', 'none', 'no object')];
  const fields = Object.entries(o).filter(([key]) => key !== 'type' && key !== 'addr');
  if (fields.length === 0) return [field('type', o.type, o.type)];
  return fields.map(([key, value]) => part(key, objectFieldText(key, value), undefined, ', '));
}

const threadList = (threads: readonly number[]) => `[${threads.map(hex).join(', ')}]`;

/** The scheduler's state as fields in seL4's names: `clock 1500, ksCurTime 1000, ..., ready queues 255: [0x80010000]`. */
export function schedulerFields(s: SchedulerView): Field[] {
  const queues = s.readyQueues.map((q) => `${q.priority}: ${threadList(q.threads)}`).join('; ') || 'empty';
  return [
    field('clock', s.clockTicks.toString()),
    part('ksCurTime', s.curTimeTicks.toString(), undefined, ', '),
    part('ksConsumed', s.consumedTicks.toString(), undefined, ', '),
    part('ksCurSC', s.currentSchedContext === null ? 'idle' : hex(s.currentSchedContext), undefined, ', '),
    part('ready queues', queues),
    part('release queue', threadList(s.releaseQueue)),
    part('timer deadline', s.timerDeadlineTicks === null ? 'none' : s.timerDeadlineTicks.toString()),
  ];
}

/** An IRQ line: `state Signal, pending false, claimed true`. */
export function irqFields(line: IrqView): Field[] {
  return [field('state', line.state), part('pending', String(line.pending), undefined, ', '), part('claimed', String(line.claimed), undefined, ', ')];
}

/** A place's one value, shown as it is. */
export const valueField = (value: string): Field => field('value', value, value);

/** A plain word, shown in hex. */
export const wordField = (word: Word): Field => valueField(hex(word));

/** A reply's message info: the label (an seL4 error code after an invocation), length, extraCaps, capsUnwrapped. */
export function messageInfoFields(word: Word): Field[] {
  const info = messageInfoFromWord(word);
  const error = errorName[info.label];
  return [
    field('label', String(info.label), `label ${info.label}${error ? ` (${error})` : ''}`),
    part('length', String(info.length), undefined, ', '),
    part('extraCaps', String(info.extraCaps), undefined, ', '),
    part('capsUnwrapped', String(info.capsUnwrapped), undefined, ', '),
  ];
}

/** What a register means to the user after a kernel entry, e.g. `a1 (message info)`. */
export function registerRole(register: number): string {
  if (register === Reg.a0) return 'badge';
  if (register === Reg.a1) return 'message info';
  const mr = (msgRegisters as readonly number[]).indexOf(register);
  return mr >= 0 ? `message register ${mr}` : '';
}

/** A register's word decoded by its role: the message info as its fields, anything else as one word. */
export function registerFields(register: number, word: Word): Field[] {
  return register === Reg.a1 ? messageInfoFields(word) : [wordField(word)];
}

/** What an IPC buffer word is (seL4_IPCBuffer's field), e.g. `msg[4]`, `caps_or_badges[0]`. */
export function ipcBufferWordRole(word: number): string {
  if (word === IPCBuffer.tag) return 'tag';
  if (word < IPCBuffer.userData) return `msg[${word - IPCBuffer.msg}]`;
  if (word === IPCBuffer.userData) return 'userData';
  if (word < IPCBuffer.receiveCNode) return `caps_or_badges[${word - IPCBuffer.capsOrBadges}]`;
  return ['receiveCNode', 'receiveIndex', 'receiveDepth'][word - IPCBuffer.receiveCNode] ?? '';
}

/** An IPC buffer word decoded by its role: the tag as a message info, anything else as one word. */
export function ipcBufferFields(word: number, value: Word): Field[] {
  return word === IPCBuffer.tag ? messageInfoFields(value) : [wordField(value)];
}

/** A layer's fields as one line, with where each field stands in it (for markers under a field). */
export function fieldsLine(fields: readonly Field[]): { readonly line: string; readonly at: ReadonlyMap<string, readonly [number, number]> } {
  let line = '';
  const at = new Map<string, readonly [number, number]>();
  for (const f of fields) {
    if (line !== '') line += f.before;
    at.set(f.name, [line.length, line.length + f.text.length]);
    line += f.text;
  }
  return { line, at };
}
