import { hostname } from 'node:os';
import { createRequire } from 'node:module';
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

export type LogFormat = 'auto' | 'json' | 'pretty';

/** Names this process in logs (bind lines, the minute summary): the pod's hostname and the pid. */
export const REPLICA = `${hostname()}/${process.pid}`;

// Binding tokens and credentials never reach the logs: pino removes these paths wherever a
// caller passes request headers, bodies or token records as log fields.
const REDACT = ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'headers.cookie', 'authorization', '*.authorization', 'token', '*.token', 'credential', '*.credential'];

export interface LoggerOptions {
  /** `auto` (the default): human-readable lines when stdout is a terminal, JSON lines otherwise. */
  format?: LogFormat;
  /** Where lines go; default stdout. */
  destination?: DestinationStream;
  /** For tests: whether the output counts as a terminal. */
  isTTY?: boolean;
}

type PrettyFactory = (options: Record<string, unknown>) => DestinationStream;

/**
 * pino-pretty is a development dependency: a production install has no pino-pretty, and then the
 * lines stay JSON. Undefined when it is not installed.
 */
export function loadPretty(): PrettyFactory | undefined {
  try {
    const mod = createRequire(import.meta.url)('pino-pretty') as PrettyFactory | { default: PrettyFactory };
    return typeof mod === 'function' ? mod : mod.default;
  } catch {
    return undefined;
  }
}

export function usePretty(format: LogFormat, isTTY: boolean): boolean {
  return format === 'pretty' || (format === 'auto' && isTTY);
}

export function createLogger(level = process.env.LOG_LEVEL ?? 'info', opts: LoggerOptions = {}, pretty: () => PrettyFactory | undefined = loadPretty): Logger {
  const options = { level, base: { service: 'fhir-subscription-gateway' }, redact: { paths: REDACT, censor: '[redacted]' } };
  const format = opts.format ?? 'auto';
  const factory = usePretty(format, opts.isTTY ?? process.stdout.isTTY === true) ? pretty() : undefined;
  if (factory) {
    const stream = factory({
      colorize: opts.destination === undefined && process.stdout.isTTY === true,
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'service',
      destination: opts.destination ?? 1,
      sync: true,
    });
    return pino(options, stream);
  }
  const logger = opts.destination ? pino(options, opts.destination) : pino(options);
  if (format === 'pretty') logger.warn('LOG_FORMAT is pretty but pino-pretty is not installed (it is a development dependency); logging JSON');
  return logger;
}
