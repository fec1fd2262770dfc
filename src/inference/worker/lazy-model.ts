/**
 * A model a worker loads on first use instead of at start-up (issue 19, cold start): the face worker's passive PAD
 * and eye-state models are not needed for a first decision when PAD is off, and the eye model only once an active
 * challenge starts, so neither should delay the detector and embedder on a 2-core kiosk.
 *
 * Owns one memoised load: concurrent callers share it, a failed load is not remembered (the next use retries and
 * fails again if the model is still bad — fail closed, never "no score"), and release() frees what was loaded. It
 * never decides whether a model is needed: its caller asks for it exactly when a request needs its output.
 */
export class LazyModel<T extends { release(): Promise<void> }> {
  private pending: Promise<T> | null = null;

  constructor(private readonly load: () => Promise<T>) {}

  /** The model, loading it now if this is its first use. */
  get(): Promise<T> {
    if (!this.pending) {
      const p = this.load();
      this.pending = p;
      p.catch(() => {
        if (this.pending === p) this.pending = null;
      });
    }
    return this.pending;
  }

  /** Whether a load was started (and has not failed). */
  get started(): boolean {
    return this.pending !== null;
  }

  async release(): Promise<void> {
    const p = this.pending;
    this.pending = null;
    if (!p) return;
    const model = await p.catch(() => null);
    await model?.release();
  }
}
