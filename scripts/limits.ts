// Limits shared by agent and server: the server answers 429 before sending, the agent
// enforces them again because it is the one holding the tracer processes.
export const TRACE_LIMITS = {
  /** tracers running at once on one node */
  perNode: 4,
  /** tracers running at once on one zone */
  perZone: 2,
  /** seconds a tracer may take beyond its duration (attaching probes, final print) before SIGINT */
  startupGraceS: 15,
  /** seconds between SIGINT and SIGKILL */
  killGraceS: 3,
  /** stdout bytes one interval may produce before the tracer is stopped */
  maxIntervalBytes: 32 * 1024 * 1024,
};
