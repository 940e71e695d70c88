// Which platform this agent runs on; `--platform` overrides it (simulated SmartOS nodes).
export function detectPlatform(): 'linux' | 'illumos' {
  return process.platform === 'sunos' ? 'illumos' : 'linux';
}
