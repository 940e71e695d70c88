// Limits shared by agent and server: the server answers 429 before sending, the agent
// enforces them again because it is the one holding the tracer processes.
export const TRACE_LIMITS = {
  /** tracers running at once on one node */
  perNode: 4,
  /** tracers running at once on one zone */
  perZone: 2,
  /** seconds a tracer may take to print anything (compiling, attaching probes: uprobes on a big
   * binary take seconds) before it is stopped as failed to start */
  startupGraceS: 30,
  /** seconds past its duration, counted from its first output, before it is sent SIGINT */
  endGraceS: 10,
  /** seconds between SIGINT and SIGKILL (up to 3 times as long while it is still printing) */
  killGraceS: 5,
  /** stdout bytes one interval may produce before the tracer is stopped */
  maxIntervalBytes: 32 * 1024 * 1024,
};
