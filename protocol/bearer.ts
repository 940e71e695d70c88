// How a scraper proves it may read /metrics and /sd: the same rule on the server and on an
// agent serving its own /metrics.
import { timingSafeEqual } from 'node:crypto';

export function bearer(header: string | undefined): string | undefined {
  const m = header && /^Bearer\s+(\S+)$/i.exec(header);
  return m ? m[1] : undefined;
}

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** `Authorization: Bearer T`, or the bare token Prometheus 2.x http_sd_configs sends unless
 * `type: Bearer` is spelled out. */
export function metricsAuthorized(header: string | undefined, token: string): boolean {
  const t = bearer(header) ?? (header && !/\s/.test(header) ? header : undefined);
  return t !== undefined && safeEqual(t, token);
}
