// The flame graph's companions from the same folded stacks: top functions (self, total once per
// stack), the sandwich of one function, and the stacks of one process.
import { describe, expect, it } from 'vitest';
import { parseFolded, topFunctions, sandwich, roots, withRoot, toFoldedText } from '../../protocol/stacks.js';

const FOLDED = ['web;main;parse;lex 30', 'web;main;render;lex 5', 'web;main;render 10', 'db;main;rec;rec;leaf 20', 'bad line', 'x;y -3'].join('\n');

describe('flame graph functions', () => {
  const stacks = parseFolded(FOLDED);

  it('reads folded text, skipping what is not a stack with a positive count', () => {
    expect(stacks).toHaveLength(4);
    expect(toFoldedText(stacks.slice(0, 1))).toBe('web;main;parse;lex 30');
  });

  it('self is the leaf weight, total counts a stack once however deep the recursion; process roots are not functions', () => {
    const by = Object.fromEntries(topFunctions(stacks, true).map((r) => [r.name, r]));
    expect(by.lex).toEqual({ name: 'lex', self: 35, total: 35 });
    expect(by.main).toEqual({ name: 'main', self: 0, total: 65 });
    expect(by.render).toEqual({ name: 'render', self: 10, total: 15 });
    expect(by.rec).toEqual({ name: 'rec', self: 0, total: 20 });
    expect(by.web).toBeUndefined();
    expect(Object.fromEntries(topFunctions(stacks).map((r) => [r.name, r.total])).web).toBe(45);
  });

  it("a sandwich: the function's callers towards the root, its callees towards the leaves, each weighing what it weighs", () => {
    const s = sandwich(stacks, 'lex', true);
    expect(s.total).toBe(35);
    expect([...s.callees]).toEqual([['lex', 35]]);
    expect([...s.callers]).toEqual([['lex;parse;main;web', 30], ['lex;render;main;web', 5]]);
    const r = sandwich(stacks, 'rec', true);
    expect([...r.callees]).toEqual([['rec;rec;leaf', 20]]);
    expect([...r.callers]).toEqual([['rec;main;db', 20]]);
  });

  it('processes by weight, and the stacks of one', () => {
    expect(roots(stacks)).toEqual([{ name: 'web', value: 45 }, { name: 'db', value: 20 }]);
    expect(withRoot(stacks, 'db').map((s) => s.value)).toEqual([20]);
  });
});
