import { type Logger, pino } from 'pino';

/**
 * The process's root logger: JSON lines on stderr, level from MESHWARDEN_LOG (default warn). Each
 * layer logs through its own child (`{ layer }`), made where it is handed over.
 */
export function createRootLogger(): Logger {
  return pino({ level: process.env.MESHWARDEN_LOG ?? 'warn' }, pino.destination(2));
}
