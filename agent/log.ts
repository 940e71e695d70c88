// A line-per-event logger on stderr: readable in a terminal, greppable in a log file.
export interface Log {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const;
export type Level = keyof typeof LEVELS;

export function makeLog(name: string, level: Level = (process.env.ZONESCOPE_LOG as Level) || 'info'): Log {
  const min = LEVELS[level] ?? LEVELS.info;
  const line = (l: Level) => (msg: string) => {
    if (LEVELS[l] >= min) process.stderr.write(`${new Date().toISOString()} ${l.padEnd(5)} ${name}: ${msg}\n`);
  };
  return { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') };
}
