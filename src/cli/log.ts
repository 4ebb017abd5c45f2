import { type Logger, pino } from 'pino';

/** The CLI's root logger: JSON lines on stderr, level from MESHWARDEN_LOG (default warn). */
export function createRootLogger(): Logger {
  return pino({ level: process.env.MESHWARDEN_LOG ?? 'warn', base: { layer: 'cli' } }, pino.destination(2));
}
