// Stable colours: a function keeps its colour across refreshes and traces because the colour
// comes from a hash of its name. Kernel frames (suffix `_[k]`, as FlameGraph annotates them)
// get a cool palette so they stand apart from the warm user frames.

export function hashName(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return h >>> 0;
}

export const isKernel = (name: string): boolean => name.endsWith('_[k]');

export function frameColor(name: string, faded = false): string {
  const h = hashName(name);
  const r1 = (h & 0xff) / 255;
  const r2 = ((h >>> 8) & 0xff) / 255;
  const kernel = isKernel(name);
  const hue = kernel ? 165 + r1 * 40 : r1 * 50; // teal..cyan for kernel, red..yellow-orange for user
  const sat = kernel ? 45 + r2 * 25 : 70 + r2 * 25;
  const light = kernel ? 55 + r2 * 10 : 55 + r2 * 10;
  if (faded) return `hsl(${hue.toFixed(0)},${(sat * 0.25).toFixed(0)}%,${Math.min(88, light + 22).toFixed(0)}%)`;
  return `hsl(${hue.toFixed(0)},${sat.toFixed(0)}%,${light.toFixed(0)}%)`;
}

export const MATCH_COLOR = '#d13fe0';

/** Differential colour: delta in [-1, 1], red = grew, blue = shrank, white = unchanged. */
export function diffColor(delta: number): string {
  const a = Math.min(1, Math.abs(delta));
  const k = Math.round(255 - a * 175);
  return delta >= 0 ? `rgb(255,${k},${k})` : `rgb(${k},${k},255)`;
}

/** A per-name colour cache, filled on first use. */
export class Palette {
  private normal: (string | undefined)[] = [];
  private faded: (string | undefined)[] = [];
  constructor(private names: readonly string[]) {}
  get(i: number, fade: boolean): string {
    const a = fade ? this.faded : this.normal;
    return (a[i] ??= frameColor(this.names[i], fade));
  }
}
