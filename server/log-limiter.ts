// Log lines about what agents send are rate-limited per kind: a rogue agent sending 10,000 bad
// frames gets 10,000 counts in /metrics but one line a minute per reason, saying how many
// were not logged. (The counters are what to alert on; the log is for reading.)
const EVERY_MS = 60_000;

export class LogLimiter {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly log: { warn(o: object, m: string): void },
    private readonly everyMs = EVERY_MS,
    private readonly maxKeys = 1000,
  ) {}

  warn(key: string, o: object, message: string, now = Date.now()): boolean {
    const seen = this.last.get(key);
    if (seen && now - seen.at < this.everyMs) {
      seen.suppressed++;
      return false;
    }
    if (!seen && this.last.size >= this.maxKeys) this.last.clear();
    const suppressed = seen?.suppressed ?? 0;
    this.last.set(key, { at: now, suppressed: 0 });
    this.log.warn(suppressed ? { ...o, suppressed } : o, suppressed ? `${message} (and ${suppressed} more like it not logged in the last minute)` : message);
    return true;
  }
}
