/** The on-call file is unreadable or invalid; `problems` name the path of each bad field. */
export class OnCallConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
    options?: { cause?: unknown },
  ) {
    super(`${source}: invalid on-call configuration:\n  ${problems.join('\n  ')}`, options);
    this.name = 'OnCallConfigError';
  }
}

/** A provider refused or failed a page; `retryable` says whether trying again can help. */
export class ProviderError extends Error {
  constructor(
    readonly provider: 'twilio' | 'resend',
    readonly code: string,
    readonly status: number | undefined,
    readonly retryable: boolean,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${provider} ${status ?? ''} ${code}: ${message}`.replace(/\s+/g, ' '), options);
    this.name = 'ProviderError';
  }
}
