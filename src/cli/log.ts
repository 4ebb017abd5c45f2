import { type Logger, pino } from 'pino';

/** What MESHWARDEN_LOG takes: pino's levels, most severe first. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * The process's root logger: JSON lines on stderr, level from MESHWARDEN_LOG (default warn; any
 * case). Each layer logs through its own child (`{ layer }`), made where it is handed over. A level
 * pino does not know (`warning`, `verbose`) would make pino throw its own error, with a stack, before
 * any command ran: the logger stays at warn instead, and `problem` says what to set, for the command
 * to refuse as a usage error.
 */
export function createRootLogger(env: NodeJS.ProcessEnv = process.env): { log: Logger; problem?: string } {
  const asked = env.MESHWARDEN_LOG?.trim().toLowerCase() ?? '';
  const level = asked === '' ? 'warn' : asked;
  const log = (at: string) => pino({ level: at }, pino.destination(2));
  if ((LOG_LEVELS as readonly string[]).includes(level)) return { log: log(level) };
  return {
    log: log('warn'),
    problem: `MESHWARDEN_LOG must be one of ${LOG_LEVELS.join(', ')}, not "${env.MESHWARDEN_LOG}"`,
  };
}
