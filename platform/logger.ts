import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * An E.164 number (`+` and 8 to 15 digits, also inside `whatsapp:+…` or a URL-encoded `%2B…`): the
 * digits are masked except the last two, e.g. `+**********01`.
 */
const PHONE = /(\+|%2B)(\d{6,13})(\d{2})(?!\d)/gi;
/** An email address: the local part is masked except its first character, e.g. `b***@example.com`. */
const EMAIL = /([A-Za-z0-9])[A-Za-z0-9._%+-]*(@|%40)([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)/g;

/** Masks every phone number (E.164) and email address in a string. */
export function maskPii(s: string): string {
  if (s.length < 8) return s;
  return s
    .replace(EMAIL, (_m, first: string, at: string, domain: string) => `${first}***${at}${domain}`)
    .replace(PHONE, (_m, plus: string, mid: string, last: string) => `${plus}${'*'.repeat(mid.length)}${last}`);
}

/** A copy of `value` with `maskPii` applied to every string in it (objects, arrays, errors; depth 8). */
export function maskDeep(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return maskPii(value);
  if (value === null || typeof value !== 'object' || depth > 8) return value;
  if (value instanceof Error) return maskError(value, depth);
  if (Array.isArray(value)) return value.map((v) => maskDeep(v, depth + 1));
  if (value instanceof Date || Buffer.isBuffer(value) || ArrayBuffer.isView(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = maskDeep(v, depth + 1);
  return out;
}

/** The same error (prototype, so pino's serializer names its type) with its strings masked. */
function maskError(err: Error, depth: number): Error {
  const copy = Object.create(Object.getPrototypeOf(err) as object) as Error & { cause?: unknown };
  for (const [k, v] of Object.entries(err)) (copy as unknown as Record<string, unknown>)[k] = maskDeep(v, depth + 1);
  Object.defineProperty(copy, 'message', {
    value: maskPii(err.message),
    enumerable: false,
    writable: true,
    configurable: true,
  });
  Object.defineProperty(copy, 'stack', {
    value: err.stack ? maskPii(err.stack) : undefined,
    enumerable: false,
    writable: true,
    configurable: true,
  });
  if ((err as { cause?: unknown }).cause !== undefined) {
    Object.defineProperty(copy, 'cause', {
      value: maskDeep((err as { cause?: unknown }).cause, depth + 1),
      enumerable: false,
      writable: true,
      configurable: true,
    });
  }
  return copy;
}

/** The structured-logging calls a component makes: a pino Logger (createLogger) fits, a test passes a fake. */
export interface StructuredLogger {
  debug?(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface LoggerOptions {
  /** Default LOG_LEVEL, else 'info'. */
  level?: string;
  /** Where the JSON lines go. Default stderr (fd 2). */
  destination?: pino.DestinationStream;
}

/**
 * Structured JSON logs (pino) on stderr. Secrets never reach a log line: known secret-bearing keys
 * are redacted wherever they appear. Phone numbers and email addresses are masked in every string
 * of a line (its fields, nested objects, errors and the message).
 */
export function createLogger(name: string, levelOrOptions: string | LoggerOptions = {}): Logger {
  const opts = typeof levelOrOptions === 'string' ? { level: levelOrOptions } : levelOrOptions;
  const logger = pino(
    {
      name,
      level: opts.level ?? process.env.LOG_LEVEL ?? 'info',
      redact: {
        paths: [
          '*.authToken',
          '*.auth_token',
          '*.apiKey',
          '*.api_key',
          '*.secret',
          '*.password',
          '*.authorization',
          'authToken',
          'apiKey',
          'secret',
          'password',
          'authorization',
          'headers.authorization',
          'headers["x-api-key"]',
          'headers["x-twilio-signature"]',
          'headers["svix-signature"]',
          'TWILIO_AUTH_TOKEN',
          'RESEND_API_KEY',
          'RESEND_WEBHOOK_SECRET',
          'API_KEY',
          'ACK_LINK_SECRET',
          'AWS_SECRET_ACCESS_KEY',
          '*.TWILIO_AUTH_TOKEN',
          '*.RESEND_API_KEY',
          '*.RESEND_WEBHOOK_SECRET',
          '*.API_KEY',
          '*.ACK_LINK_SECRET',
          '*.AWS_SECRET_ACCESS_KEY',
        ],
        censor: '[redacted]',
      },
      formatters: {
        log: (obj) => maskDeep(obj) as Record<string, unknown>,
        bindings: (bindings) => maskDeep(bindings) as Record<string, unknown>,
      },
      hooks: {
        logMethod(args, method) {
          method.apply(this, args.map((a) => (typeof a === 'string' ? maskPii(a) : a)) as Parameters<typeof method>);
        },
      },
    },
    opts.destination ?? pino.destination(2),
  );
  // pino serializes a child's bindings once, past the formatters: mask them here (children inherit this)
  const child = logger.child as unknown as (
    this: Logger,
    bindings: pino.Bindings,
    options?: pino.ChildLoggerOptions,
  ) => Logger;
  logger.child = function (this: Logger, bindings: pino.Bindings, options?: pino.ChildLoggerOptions) {
    return child.call(this, maskDeep(bindings) as pino.Bindings, options);
  } as unknown as typeof logger.child;
  return logger;
}

/** A logger that writes nothing (tests, benchmarks). */
export const silentLogger: Logger = pino({ level: 'silent' });
