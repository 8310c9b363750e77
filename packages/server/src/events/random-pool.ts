import { randomBytes } from 'node:crypto';

/**
 * Cryptographically random bytes drawn from OpenSSL 64 KiB at a time and handed out once each.
 * Each draw from OpenSSL's generator costs a system call, which under load costs more than the
 * AES-GCM encryption of a record: events take their salts, id bits and nonces from here.
 */
export class RandomPool {
  private pool: Uint8Array = new Uint8Array(0);
  private at = 0;

  /** @param chunk bytes drawn at once */
  constructor(private readonly chunk = 64 * 1024) {}

  /** `n` fresh random bytes (a view; never handed out again). */
  take(n: number): Uint8Array {
    if (n > this.chunk) return new Uint8Array(randomBytes(n));
    if (this.at + n > this.pool.length) {
      this.pool = new Uint8Array(randomBytes(this.chunk));
      this.at = 0;
    }
    const out = this.pool.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }
}
