// Collects a Linux sampler's points: a value that did not parse is counted through the
// context (naming file and field) and left out, never exported as 0.
import type { Point } from '../../protocol/messages.js';
import type { FamilyName } from '../../protocol/families.js';
import type { SampleContext } from '../platform/types.js';

export class Points {
  readonly list: Point[] = [];
  constructor(private readonly ctx: SampleContext) {}

  /** `where`: the file and field the value came from, for the unparsed count. */
  add(f: FamilyName, l: Record<string, string>, v: number | undefined, where: string): void {
    if (v === undefined) return; // field absent: nothing to say, nothing wrong
    if (Number.isFinite(v)) this.list.push({ f, l, v });
    else this.ctx.unparsed(where);
  }
}
