/** The request is not authentic: missing/forged/altered/expired signature, wrong API key, bad link. */
export class SignatureError extends Error {
  constructor(readonly reason: string) {
    super(`verification failed: ${reason}`);
    this.name = 'SignatureError';
  }
}
