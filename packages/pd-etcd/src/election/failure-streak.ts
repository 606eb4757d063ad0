/** While a failure repeats (etcd down), report it once and then every this many times. */
const REPORT_EVERY = 50;

/**
 * Counts consecutive failures of one background loop (watch, campaign,
 * keepalive) so that an etcd outage is reported once and then every 50th
 * retry, not 5 times a second.
 */
export class FailureStreak {
  #count = 0;

  /** Records a failure; true when this one should be reported. */
  failed(): boolean {
    return this.#count++ % REPORT_EVERY === 0;
  }

  /** Ends the streak: the next failure is reported again. */
  succeeded(): void {
    this.#count = 0;
  }
}
