// Folded stacks as data, for the flame graph's companions and the CLI: functions by self and total
// weight (Grafana's and Pyroscope's "top table"), the sandwich of one function (who calls it,
// what it calls, each merged over every place it appears), and stacks of one process. Pure.
import { bytewise } from './folded.js';

export interface Stack {
  /** root first */
  frames: string[];
  value: number;
}

export interface FunctionRow {
  name: string;
  /** weight of stacks whose leaf is this function */
  self: number;
  /** weight of stacks this function is on (once per stack, however deep the recursion) */
  total: number;
}

/** Folded text (`a;b;c 12` a line) to stacks; lines that are not `stack count` are skipped. */
export function parseFolded(text: string): Stack[] {
  const out: Stack[] = [];
  for (const line of text.split('\n')) {
    const t = line.trimEnd();
    const sp = t.lastIndexOf(' ');
    if (sp <= 0) continue;
    const value = Number(t.slice(sp + 1));
    if (!Number.isFinite(value) || value <= 0) continue;
    out.push({ frames: t.slice(0, sp).split(';').filter((f) => f !== ''), value });
  }
  return out;
}

export const toFoldedText = (stacks: readonly Stack[]): string => stacks.map((s) => `${s.frames.join(';')} ${s.value}`).join('\n');

/** The root frames (programs, when stacks are rooted at their process) by weight, largest first. */
export function roots(stacks: readonly Stack[]): { name: string; value: number }[] {
  const m = new Map<string, number>();
  for (const s of stacks) if (s.frames.length) m.set(s.frames[0], (m.get(s.frames[0]) ?? 0) + s.value);
  return [...m].map(([name, value]) => ({ name, value })).sort((a, b) => b.value - a.value || bytewise(a.name, b.name));
}

export const withRoot = (stacks: readonly Stack[], root: string): Stack[] => stacks.filter((s) => s.frames[0] === root);

/** Every function with its self and total weight; `skipRoot`: the first frame is a process, not a function. */
export function topFunctions(stacks: readonly Stack[], skipRoot = false): FunctionRow[] {
  const rows = new Map<string, FunctionRow>();
  const row = (name: string): FunctionRow => {
    let r = rows.get(name);
    if (!r) rows.set(name, (r = { name, self: 0, total: 0 }));
    return r;
  };
  for (const s of stacks) {
    const frames = skipRoot ? s.frames.slice(1) : s.frames;
    if (!frames.length) continue;
    for (const f of new Set(frames)) row(f).total += s.value;
    row(frames[frames.length - 1]).self += s.value;
  }
  return [...rows.values()];
}

/**
 * The sandwich of `fn`: callers (the stacks up to its first appearance, read from it towards the
 * root: drawn with it on top) and callees (from its first appearance to the leaf). Stacks
 * without it are left out; both sides weigh what `fn` weighs. `skipRoot`: a process root is
 * never taken for the function.
 */
export function sandwich(stacks: readonly Stack[], fn: string, skipRoot = false): { callers: Map<string, number>; callees: Map<string, number>; total: number } {
  const callers = new Map<string, number>();
  const callees = new Map<string, number>();
  let total = 0;
  const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
  for (const s of stacks) {
    const start = skipRoot ? 1 : 0;
    const i = s.frames.indexOf(fn, start);
    if (i < 0) continue;
    total += s.value;
    add(callees, s.frames.slice(i).join(';'), s.value);
    // the process root, when there is one, is the outermost caller: which program calls it
    add(callers, s.frames.slice(0, i + 1).reverse().join(';'), s.value);
  }
  return { callers, callees, total };
}
