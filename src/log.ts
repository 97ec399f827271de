import { pino, type Logger } from 'pino';

export type { Logger };

// Bindings tokens and credentials never reach the logs: pino removes these paths wherever a
// caller passes request headers or bodies as log fields.
const REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
  'token',
  '*.token',
];

export function createLogger(level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { service: 'fhir-subscription-gateway' }, redact: { paths: REDACT, censor: '[redacted]' } });
}
