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
