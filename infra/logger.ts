import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Structured JSON logs (pino) on stderr. Secrets never reach a log line: known secret-bearing keys
 * are redacted wherever they appear.
 */
export function createLogger(name: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino(
    {
      name,
      level,
      redact: {
        paths: [
          '*.authToken', '*.auth_token', '*.apiKey', '*.api_key', '*.secret', '*.password', '*.authorization',
          'authToken', 'apiKey', 'secret', 'password', 'authorization',
          'headers.authorization', 'headers["x-api-key"]', 'headers["x-twilio-signature"]', 'headers["svix-signature"]',
          'TWILIO_AUTH_TOKEN', 'RESEND_API_KEY', 'RESEND_WEBHOOK_SECRET', 'API_KEY', 'ACK_LINK_SECRET', 'AWS_SECRET_ACCESS_KEY',
          '*.TWILIO_AUTH_TOKEN', '*.RESEND_API_KEY', '*.RESEND_WEBHOOK_SECRET', '*.API_KEY', '*.ACK_LINK_SECRET', '*.AWS_SECRET_ACCESS_KEY',
        ],
        censor: '[redacted]',
      },
    },
    pino.destination(2),
  );
}

/** A logger that writes nothing (tests, benchmarks). */
export const silentLogger: Logger = pino({ level: 'silent' });
