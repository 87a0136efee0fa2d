/**
 * Errors of the EventBridge alarm function (handler.ts). A stream failure is the receiver's
 * StreamWriteError (producers/receiver/errors.ts), rethrown as it is.
 */

/**
 * An event that can never become an alarm record (not a CloudWatch alarm state change, or refused by the
 * stream whatever we retry): the function fails with it, so Lambda dead-letters the event with this message
 * (its reason) after its retries, and the intake function's alarms tell an operator. Never written.
 */
export class MalformedAlarmEventError extends Error {
  constructor(
    readonly reason: string,
    readonly path: string,
    readonly eventId: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(`malformed alarm event${eventId ? ` ${eventId}` : ''}${path ? ` at ${path}` : ''}: ${reason}`, options);
    this.name = 'MalformedAlarmEventError';
  }
}
