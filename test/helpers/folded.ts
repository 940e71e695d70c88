// Counting folded stacks (`a;b;c 12` a line), as the tests read /folded and exports.

/** Samples (the last field) of the lines, or of those that contain `only`. */
export function foldedSamples(text: string, only?: string): number {
  let n = 0;
  for (const l of text.split('\n')) if (l.trim() && (only === undefined || l.includes(only))) n += Number(l.slice(l.lastIndexOf(' ') + 1));
  return n;
}
