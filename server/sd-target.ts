// Where Prometheus may be sent to scrape a node directly. The agent says where its /metrics is,
// but an agent token may leak: a URL naming any host would let it point Prometheus at a cloud
// metadata address or an internal service (SSRF). Only http(s) on the address the agent
// connected from is listed, or a host an admin allowed with --sd-allow-hosts. Any other host
// (a name, 0.0.0.0's stand-in, a metadata address) is replaced by the agent's address: port and
// path stay, so `--metrics-listen 9101` on a node known by its host name still gets scraped.
/** A host as compared: lower case, IPv6 without brackets, IPv4-mapped IPv6 as IPv4. */
const bare = (h: string) => h.toLowerCase().replace(/^\[|\]$/g, '').replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');

/** The URL to list (with `rewritten` when its host was replaced), or why none (for the log). */
export function sdTarget(text: string, remote: string, allowHosts: readonly string[]): { url: URL; rewritten?: string } | string {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return `'${text.slice(0, 200)}' is not a URL`;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return `'${u.protocol}' is not http or https`;
  if (u.username || u.password) return 'a URL with credentials is not listed';
  const host = bare(u.hostname);
  const agent = bare(remote);
  if ((agent && host === agent) || allowHosts.some((h) => bare(h) === host)) return { url: u };
  if (!agent) return `host '${u.hostname}' is not allowed and the agent's address is unknown`;
  const was = u.hostname;
  u.hostname = agent.includes(':') ? `[${agent}]` : agent;
  return { url: u, rewritten: `host '${was}' is not the address the agent connected from: listed as ${u.host} (allow it with --sd-allow-hosts)` };
}
