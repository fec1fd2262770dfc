/**
 * LAN pull of watchlist bundles: on the schedule the admin sets (`pullMinutes`, 0 = off), the kiosk asks the
 * receiver (GET /watchlist/bundle?since=<installed>&kiosk=<key id>) for anything newer than what it has installed
 * and installs it through the same path as an imported file (./bundle-apply.ts: pinned admin key, no rollback,
 * one transaction), then has the watchlist service reload it.
 *
 * Owns the timer and the status every screen shows: when the kiosk last checked, when it last installed a bundle
 * (and which version), and the last refusal (an older or foreign-signed bundle on the receiver is refused, kept off
 * the device, and named here until a later pull succeeds). Only one pull runs at a time; a failed pull is retried at
 * the next tick. Needs only the device unlock (the signature is the authority). It never sends anything but the
 * installed version, this kiosk's id and public key id, and the pull's signature by its decision key, and never
 * writes the vault except through installBundle. What
 * it installed goes to the `onInstalled` listeners (the sync service audits it); a listener that fails is logged
 * and never undoes or fails the install.
 */
import { KioskError, isKioskError } from '../shared/errors';
import type { Clock } from '../shared/clock';
import type { Vault } from '../store';
import { publicKeyId, pullBundle, type PullOptions, type PullSignature } from '../sync';
import { installBundle, syncKeys, type Applied } from './bundle-apply';

export interface PullStatus {
  /** Minutes between pulls; 0 = off. */
  everyMinutes: number;
  /** Wall time of the last completed check (whatever its outcome), null before the first. */
  checkedAt: number | null;
  /** Wall time the last bundle was installed by a pull, and its version. */
  syncedAt: number | null;
  syncedVersion: number | null;
  /** Why the last check did not install anything it was offered (cleared by the next good check). */
  error: KioskError | null;
  running: boolean;
}

export interface PullerDeps {
  vault: Vault;
  clock: Clock;
  /**
   * Signs each pull with the kiosk's decision key (the decision service's signPull); the receiver serves bundles only
   * to a paired, unrevoked kiosk. Rejects with UPSTREAM_NOT_PAIRED while there is no decision service.
   */
  sign: (since: number, receivingKeyHex: string | undefined) => Promise<PullSignature>;
  /** Called after a bundle was installed (the watchlist service reloads). */
  installed: () => Promise<void>;
  /** The transport (tests give the real one a different upstream origin). */
  pull?: (opts: PullOptions) => Promise<Uint8Array<ArrayBuffer> | undefined>;
  upstreamOrigin?: string;
}

export const PULL_MINUTES_MAX = 1440;

export class BundlePuller {
  private readonly deps: PullerDeps;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private inFlight: Promise<PullStatus> | null = null;
  private statusValue: PullStatus = { everyMinutes: 0, checkedAt: null, syncedAt: null, syncedVersion: null, error: null, running: false };
  private listeners = new Set<(s: PullStatus) => void>();
  private installListeners = new Set<(a: Applied) => Promise<void> | void>();

  constructor(deps: PullerDeps) {
    this.deps = deps;
  }

  get status(): PullStatus {
    return this.statusValue;
  }

  subscribe(fn: (s: PullStatus) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /**
   * Told of every bundle a pull installed, right after the vault committed it (before the watchlist reloads). The
   * install stands whatever a listener does: its failure is logged, not reported as the pull's.
   */
  onInstalled(fn: (a: Applied) => Promise<void> | void): () => void {
    this.installListeners.add(fn);
    return () => this.installListeners.delete(fn);
  }

  /** (Re)arm the schedule: the first pull now, then every `minutes`; 0 stops it. */
  schedule(minutes: number): void {
    this.stopTimer();
    this.set({ everyMinutes: minutes });
    if (minutes > 0) this.tick(0);
  }

  stop(): void {
    this.stopTimer();
    this.set({ everyMinutes: 0 });
  }

  /**
   * The kiosk was just paired with the receiver. A last pull the receiver refused because this kiosk was not paired
   * (or was unpaired) is no longer what the screens should say: with a schedule, pull again now (its result replaces
   * the words); without one, drop the stale error (the admin's next "pull now" tells the truth). Found by hand: the
   * card said "not paired" right under a successful pairing until the next pull.
   */
  receiverPaired(): void {
    const e = this.statusValue.error;
    const stale = e?.code === 'UPSTREAM_NOT_PAIRED' || (e?.code === 'UPSTREAM_REJECTED' && e.details?.['reason'] === 'kiosk_revoked');
    if (!stale) return;
    if (this.statusValue.everyMinutes > 0) void this.pullNow();
    else this.set({ error: null });
  }

  /** One pull now (the admin's "pull now", and every tick). Concurrent calls share the running one. */
  pullNow(): Promise<PullStatus> {
    this.inFlight ??= this.run().finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  private tick(delayMs: number): void {
    this.timer = setTimeout(() => {
      void this.pullNow().then(() => {
        if (this.statusValue.everyMinutes > 0) this.tick(this.statusValue.everyMinutes * 60_000);
      });
    }, delayMs);
  }

  private stopTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private async run(): Promise<PullStatus> {
    this.set({ running: true });
    const { vault, clock } = this.deps;
    try {
      if (vault.state.status !== 'unlocked') throw new KioskError('STORE_LOCKED');
      const keys = await syncKeys(vault);
      const installedVersion = await vault.watchlistVersion();
      const bytes = await (this.deps.pull ?? pullBundle)({
        installedVersion,
        sign: this.deps.sign,
        ...(keys.kiosk ? { kioskKeyId: await publicKeyId(keys.kiosk.publicKey) } : {}),
        ...(this.deps.upstreamOrigin ? { upstreamOrigin: this.deps.upstreamOrigin } : {}),
      });
      if (bytes) {
        const applied = await installBundle(vault, bytes, { now: clock.wall() });
        for (const fn of this.installListeners) {
          try {
            await fn(applied);
          } catch (e) {
            console.warn(`bundle pull: v${applied.version} installed; a listener failed (${isKioskError(e) ? e.code : 'INTERNAL'})`);
          }
        }
        await this.deps.installed();
        this.set({ syncedAt: clock.wall(), syncedVersion: applied.version });
      }
      this.set({ checkedAt: clock.wall(), error: null, running: false });
    } catch (e) {
      this.set({ checkedAt: clock.wall(), error: isKioskError(e) ? e : new KioskError('INTERNAL'), running: false });
    }
    return this.statusValue;
  }

  private set(patch: Partial<PullStatus>): void {
    this.statusValue = { ...this.statusValue, ...patch };
    for (const fn of this.listeners) fn(this.statusValue);
  }
}
