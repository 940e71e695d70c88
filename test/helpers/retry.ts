// Tries again what a parallel test file can briefly get in the way of (a port it holds a
// moment, a shared directory its cleanup removes): only for the error that names that, and a
// few times, so a real failure still fails.

export async function retrying<T>(fn: () => Promise<T>, transient: (e: unknown) => boolean, opts: { tries?: number; delayMs?: number } = {}): Promise<T> {
  const { tries = 5, delayMs = 0 } = opts;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (!transient(e) || attempt >= tries) throw e;
      if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
    }
  }
}
