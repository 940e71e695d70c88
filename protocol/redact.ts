// Credentials in process command lines: a zone's process listing is shown to viewers, and
// command lines carry secrets (`zonescope agent --token …`, `curl -H "Authorization: Bearer …"`,
// `DB_PASSWORD=… app`). Shared by the agent (which redacts before sending) and the server
// (which redacts again, for agents older than this).
export const REDACTED = '<redacted>';

/** a flag or variable name that says its value is a secret */
const SECRET_NAME = /(token|passw(or)?d|secret|credential|auth|(^|[_.-])(api)?key$|apikey|private[_-]?key)/i;

const FLAG = /^-{1,2}([A-Za-z][\w.-]*)$/;
const ASSIGN = /^(-{0,2}[A-Za-z_][\w.-]*)=(.+)$/;
const HEADER = /^(authorization|proxy-authorization|x-api-key|cookie):?$/i;
const SCHEME = /^(bearer|basic|token|digest|negotiate)$/i;
const ZS_TOKEN = /\bzs_(agent|viewer|operator|admin)_[A-Za-z0-9_-]+/g;

/** The command line with the values of credential-looking arguments replaced by <redacted>. */
export function redactArgs(args: string): string {
  const words = args.split(/(\s+)/); // keeps the separators, so spacing is unchanged
  let hideNext = 0;
  for (let i = 0; i < words.length; i += 2) {
    const w = words[i];
    if (!w) continue;
    if (hideNext > 0) {
      // "Authorization: Bearer X": the scheme may stay, the credential goes
      if (hideNext === 2 && SCHEME.test(w)) {
        hideNext = 1;
        continue;
      }
      words[i] = REDACTED;
      hideNext = 0;
      continue;
    }
    const header = /^(authorization|proxy-authorization|x-api-key|cookie):(.+)$/i.exec(w);
    if (header) {
      if (SCHEME.test(header[2])) hideNext = 1;
      else words[i] = `${header[1]}:${REDACTED}`;
      continue;
    }
    if (HEADER.test(w) && w.endsWith(':')) {
      hideNext = 2;
      continue;
    }
    const a = ASSIGN.exec(w);
    if (a && SECRET_NAME.test(a[1].replace(/^-+/, ''))) {
      words[i] = `${a[1]}=${REDACTED}`;
      continue;
    }
    const f = FLAG.exec(w);
    if (f && SECRET_NAME.test(f[1])) hideNext = 1;
  }
  return words.join('').replace(ZS_TOKEN, `zs_$1_${REDACTED}`);
}
