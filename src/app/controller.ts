/**
 * The kiosk application: owns the running pieces (camera, face and plate workers, vault, decision service) and the
 * recognition loop, and publishes one immutable snapshot that every screen renders.
 *
 * Flow per frame: camera → worker (detect, quality, embed, 1:N match) → pure decision policy over a window of
 * frames → when final: audit entry (encrypted) + signed yes/no upstream + the visitor's result. Frames are
 * transferred to the worker and dropped there; nothing here keeps an image. Labels stay in memory and reach a
 * screen only where the role allows (guard always, visitor only when an admin turned names on).
 * Admin operations live in ./admin-ops.ts and go through the same vault (their audit entries, and those of refused
 * guard logins, are ./change-audit.ts's); the watchlist service (./watchlist.ts)
 * follows the vault's change events, so an edit updates the live gallery and plate index for that person only.
 */
import { Camera, runFrameLoop } from '../capture/camera';
import { systemClock, type Clock } from '../shared/clock';
import { resolveFaceConfig, type FaceConfig } from '../config/face';
import { DecisionService, upstreamDecisionFor, type UpstreamStatus } from '../decisions';
import { FaceClient } from '../inference/client/face-client';
import { PlateClient } from '../inference/client/plate-client';
import { decideFace, observationFromAnalysis, revalidateGrant, type FaceObservation } from '../matching/face/decision-policy';
import type { OpenSetAssessment } from '../matching/face/open-set';
import { decidePlate, listedWithin, voteConsensus, withDenyListedInView, type FrameRead } from '../matching/plates';
import { KioskError, isKioskError } from '../shared/errors';
import type { PlateDebugCrop } from '../shared/plate-protocol';
import type { AuditEntry, DecisionResult, FaceDetection, Outcome } from '../shared/types';
import type { Vault, VaultState } from '../store';
import { Authority, type GuardProof, type Session } from './authority';
import { CAMERA_CAPTURE, loadKioskSettings, padPolicyOf, provenForMs, resolveKioskSettings, sessionIdleMs, upstreamUrl, type KioskSettings } from '../config/kiosk';
import { LivenessGate, type ChallengePrompt } from './liveness-gate';
import { Watchlist, type WatchlistSummary, type WatchSubject } from './watchlist';
import { BundlePuller, type PullStatus } from './bundle-pull';
import { DEFAULT_LEAVE_MS, DEFAULT_SAME_PLATE, beginPresence, observePresence, type Presence, type PresenceConfig, type PresenceKey, type Sighting } from '../matching/presence';
import { kioskReadiness, type Readiness } from './readiness';
import { markOnce, traced } from '../shared/startup-trace';
import { loginFailedReason, nextAuditGap, recordChange, type AuditGap, type LostAuditEntry } from './change-audit';

export type Phase = 'starting' | 'setup-needed' | 'locked' | 'running' | 'wiped' | 'error';

/** A decision as every screen may see it: no name, no score, no subject. */
export interface DecisionLogEntry {
  /** Running number on this page (links the entry to its identified twin). */
  n: number;
  /** Wall-clock time. */
  at: number;
  outcome: Outcome | 'override-grant' | 'override-deny';
  reason: string;
  mode: 'face' | 'plate' | 'manual';
  /** Whether a signed decision was queued for upstream. */
  sent: boolean;
}

/** The same decision with who it was about and who made it: memory only, given out to 'view-identities'. */
export interface IdentifiedDecision extends DecisionLogEntry {
  subjectId?: string;
  label?: string;
  score?: number;
  /** For overrides: the guard's display name, or 'admin'. */
  by?: string;
  /** Passive PAD live probability behind the outcome (guard screen only). */
  liveness?: number;
}

export interface PlateDebugEntry {
  at: number;
  text: string;
  confidence: number;
  candidates: string[];
  /** Crop pixels for the admin debug view: memory only, never stored or sent. */
  crops: PlateDebugCrop[];
}

/** The inference backend in use: its name (wasm, webgpu), ORT's thread count on wasm, and the models it runs. */
export interface BackendSummary {
  name: string;
  threads?: number;
  detail: string;
}

export interface AppSnapshot {
  phase: Phase;
  settings: KioskSettings;
  camera: { status: 'off' | 'starting' | 'live' | 'error'; error?: KioskError };
  /** Current visitor prompt and its tone. */
  prompt: { key: PromptKey; detail?: string; label?: string; challenge?: ChallengePrompt };
  /** Open-set threshold for the armed gallery (admin screen); null before a watchlist was loaded. */
  openSet: OpenSetAssessment | null;
  detections: { faces: FaceDetection[]; frameW: number; frameH: number; plateBox?: { x: number; y: number; width: number; height: number } | null };
  /** What runs the models, for the guard's status (worded there, in the screen's language). */
  backend: BackendSummary | null;
  modelError: KioskError | null;
  watchlist: { subjects: number; templates: number; plates: number; version: number; loadedAt: number | null; heldBack: number; damaged: boolean };
  vault: Readonly<VaultState> | null;
  upstream: UpstreamStatus | null;
  decisions: readonly DecisionLogEntry[];
  lastResult: DecisionLogEntry | null;
  plateDebug: readonly PlateDebugEntry[];
  error: KioskError | null;
  /** Who is logged in on this screen (see src/app/authority.ts). */
  session: Session;
  /** LAN pull of watchlist bundles: schedule, last check, last install, last refusal (admin and guard screens). */
  sync: PullStatus;
  /**
   * Stored settings that failed their check at the last unlock and run on their defaults (field paths, e.g.
   * `retentionHours`, `face.pad.liveThreshold`): the admin screen names them, the audit keeps them.
   */
  configRepairs: readonly string[];
  /**
   * Changes made but missing from the audit log because appending failed (a damaged audit key record, a full
   * disk): the admin screen names them until an entry can be written again. Null while the log keeps up.
   */
  auditGap: AuditGap | null;
}

export type PromptKey =
  | 'starting'
  | 'notSetUp'
  | 'locked'
  | 'lookAtCamera'
  | 'quality'
  | 'checking'
  | 'granted'
  | 'denied'
  | 'uncertain'
  | 'showPlate'
  | 'multipleFaces'
  | 'challenge'
  | 'seeGuard';

/** How long a result stays on the visitor screen before the next person (ms). */
const RESULT_HOLD_MS = 3_000;
const DECISION_LOG_MAX = 100;

export interface ControllerDeps {
  vault: Vault;
  video: HTMLVideoElement;
  faces?: FaceClient;
  plates?: PlateClient;
  /** The system clock unless a test drives one. */
  clock?: Clock;
}

/** The override window's key for an actor's denies (guard ids are `g-` and hex, or 'admin': it names no actor). */
const denyBucket = (actor: string): string => `deny:${actor}`;

export class KioskController {
  readonly vault: Vault;
  readonly camera: Camera;
  readonly faces: FaceClient;
  readonly plates: PlateClient;
  readonly clock: Clock;
  /** Who may do what here; every capability below asks it. */
  readonly authority: Authority;
  decisions: DecisionService | null = null;
  private snap: AppSnapshot;
  private listeners = new Set<(s: AppSnapshot) => void>();
  private loop: AbortController | null = null;
  private observations: FaceObservation[] = [];
  private readonly gate = new LivenessGate();
  /** The frames behind the next plate decision: each one's best read and its ranked alternatives (other plates). */
  private plateReads: { at: number; read: FrameRead; alternatives: readonly FrameRead[] }[] = [];
  private holdUntil = 0;
  /** The decrypted watchlist (labels, lists, plates here; face templates only in the face worker). */
  readonly watchlist: Watchlist;
  /** Pulls signed watchlist bundles from the receiver on the admin's schedule. */
  readonly puller: BundlePuller;
  private lastActivity = 0;
  /** Decisions with names and scores (memory only); the snapshot carries them stripped. */
  private identified: IdentifiedDecision[] = [];
  private decisionCount = 0;
  /** Who the last decision was about while they are still in view: no new decision for them (presence.ts). */
  private presence: Presence | null = null;
  /** Template of the frame a withheld grant's challenge is anchored on (the presence key once it is decided). */
  private gateAnchor: Float32Array | null = null;
  /** The admin console sets this while enrolling from the live camera: frames go there instead. */
  frameTap: ((frame: ImageBitmap) => Promise<void>) | null = null;

  constructor(deps: ControllerDeps) {
    this.vault = deps.vault;
    this.camera = new Camera(deps.video);
    this.faces = deps.faces ?? new FaceClient();
    this.plates = deps.plates ?? new PlateClient();
    this.clock = deps.clock ?? systemClock;
    this.watchlist = new Watchlist({
      vault: deps.vault,
      faces: this.faces,
      faceSettings: () => this.snap.settings.face,
      now: () => this.clock.wall(),
    });
    this.faces.gallerySource = () => this.watchlist.galleryEntries();
    this.puller = new BundlePuller({
      vault: deps.vault,
      clock: this.clock,
      installed: () => this.reloadWatchlist(),
      // Whichever decision service is open at the time of the pull (settings reopen it).
      sign: (since, key) =>
        this.decisions ? this.decisions.signPull(since, key) : Promise.reject(new KioskError('UPSTREAM_NOT_PAIRED')),
    });
    this.watchlist.subscribe((w) => this.onWatchlist(w));
    this.authority = new Authority({
      vault: deps.vault,
      clock: this.clock,
      idleMs: () => sessionIdleMs(this.snap.settings),
      provenForMs: () => provenForMs(this.snap.settings.role),
      // A refused guard login goes to the audit like the admin's changes (src/app/change-audit.ts); nothing typed.
      loginFailed: (f) => recordChange(this, { outcome: 'login-failed', reason: loginFailedReason(f) }),
    });
    this.snap = {
      phase: 'starting',
      settings: resolveKioskSettings(null),
      camera: { status: 'off' },
      prompt: { key: 'starting' },
      detections: { faces: [], frameW: 640, frameH: 480 },
      backend: null,
      modelError: null,
      watchlist: { subjects: 0, templates: 0, plates: 0, version: 0, loadedAt: null, heldBack: 0, damaged: false },
      vault: deps.vault.state,
      upstream: null,
      decisions: [],
      lastResult: null,
      plateDebug: [],
      error: null,
      session: { kind: 'none' },
      openSet: null,
      sync: this.puller.status,
      configRepairs: [],
      auditGap: null,
    };
    this.puller.subscribe((sync) => this.update({ sync }));
    this.authority.subscribe((session) => this.update({ session }));
    this.vault.subscribe((e) => {
      if (e.type === 'state') this.update({ vault: e.state });
      if (e.type === 'state' && e.state.status === 'wiped') void this.onWiped();
    });
    this.camera.onLost((err) => {
      this.loop?.abort();
      this.update({ camera: { status: 'error', error: err } });
      // An unplugged USB camera often comes back: retry quietly.
      setTimeout(() => void (this.camera.running ? undefined : this.startCamera()), 3_000);
    });
  }

  get snapshot(): AppSnapshot {
    return this.snap;
  }

  subscribe(fn: (s: AppSnapshot) => void): () => void {
    this.listeners.add(fn);
    fn(this.snap);
    return () => this.listeners.delete(fn);
  }

  /** Someone was in front of the camera or used a screen recently (the SW update waits for idle). */
  isIdle(idleMs = 30_000): boolean {
    return this.clock.monotonic() - this.lastActivity > idleMs && this.authority.session.kind === 'none';
  }

  /** Someone is at the kiosk (a face or plate seen). Not a session's activity: that is a touch or key, below. */
  touch(): void {
    this.lastActivity = this.clock.monotonic();
  }

  /** A touch or key press on the screen: keeps a guard or admin session alive. */
  interacted(): void {
    this.touch();
    this.authority.touch();
  }

  update(patch: Partial<AppSnapshot>): void {
    this.snap = { ...this.snap, ...patch };
    for (const l of this.listeners) l(this.snap);
    if (patch.phase !== undefined) this.wakeFrameLoop();
  }

  /**
   * Start-up: open the watchlist unattended if allowed, and the camera loop (which runs in every phase). Camera and
   * models warm up in parallel (issue 19, cold start: in series the preview stayed black while the models loaded):
   * the camera starts as soon as the stored settings say which camera, and frames are not analysed until the face
   * worker has its configuration (see onFrame), so the preview shows at once and nothing is decided early.
   */
  async start(): Promise<void> {
    let settingsKnown!: () => void;
    const known = new Promise<void>((r) => (settingsKnown = r));
    this.onSettingsKnown = settingsKnown;
    const camera = known.then(() => this.startCamera());
    // The face models load with the default settings while the vault opens; reloadWatchlist's configure() keeps
    // them when the stored settings are the same (the common case) and reloads only when they differ. A failure
    // here is not reported: the same load runs again in configure(), which reports it.
    void this.faces.init().catch(() => undefined);
    try {
      await this.resumeVault();
    } finally {
      settingsKnown();
      this.onSettingsKnown = null;
    }
    await camera;
  }

  /** Set while start() waits for the stored settings (the camera to open), cleared once they are known. */
  private onSettingsKnown: (() => void) | null = null;

  /** Unlock with the device key (unattended restart) and load settings + watchlist. */
  async resumeVault(): Promise<void> {
    const st = this.vault.state.status;
    if (st === 'uninitialised') {
      this.update({ phase: 'setup-needed', prompt: { key: 'notSetUp' } });
      return;
    }
    if (st === 'locked') {
      try {
        await traced('store-unlock', () => this.vault.unlockDevice());
      } catch (e) {
        // Unattended mode off (or device key gone): an admin must unlock with the passphrase.
        this.update({ phase: 'locked', prompt: { key: 'locked' }, error: isKioskError(e) ? e : null });
        return;
      }
    }
    await this.afterUnlock();
  }

  /** Called once the vault is unlocked (device key or passphrase). */
  async afterUnlock(): Promise<void> {
    const { settings, refused } = loadKioskSettings(await this.vault.settings.get());
    // A stored value that fails its check runs on its default (src/config/kiosk.ts); say which, never the value:
    // on the admin screen (snapshot) and in the audit. The stored record is left as it is for the admin to fix.
    const repairs = refused.map((e) => String(e.details?.['field']));
    for (const field of repairs) console.warn(`settings: stored ${field} refused (CONFIG_INVALID); its default applies`);
    this.update({ settings, configRepairs: repairs });
    await this.auditRepairs(repairs, settings.kioskId);
    this.onSettingsKnown?.();
    markOnce('settings');
    // The decision channel (signing key, outbox) opens while the watchlist waits for the face models: after them it
    // was ~40 ms of page-thread work between the models being ready and the first frame (issue 19).
    const decisions = this.openDecisions(settings);
    await Promise.all([traced('watchlist', () => this.reloadWatchlist()), decisions]);
    this.puller.schedule(settings.pullMinutes);
    this.update({ phase: 'running', prompt: { key: settings.mode === 'plate' ? 'showPlate' : 'lookAtCamera' } });
    markOnce('running');
  }

  /** One audit entry per repaired stored setting (mode 'system', the field as the reason). */
  private async auditRepairs(fields: readonly string[], kiosk: string): Promise<void> {
    for (const field of fields) {
      try {
        await this.vault.audit.append({ at: this.clock.wall(), outcome: 'config-repaired', subjectId: 'unknown', kiosk, mode: 'system', reason: field.slice(0, 200) });
      } catch (e) {
        this.update({ error: isKioskError(e) ? e : new KioskError('INTERNAL') });
        this.auditResult({ outcome: 'config-repaired', code: isKioskError(e) ? e.code : 'INTERNAL' });
        continue;
      }
      this.auditResult(null);
    }
  }

  /**
   * Hears how an audit append went (src/app/change-audit.ts): an entry lost adds to `snapshot.auditGap`, one
   * written clears it (the log works again).
   */
  auditResult(lost: LostAuditEntry | null): void {
    const gap = nextAuditGap(this.snap.auditGap, lost, this.clock.wall());
    if (gap !== this.snap.auditGap) this.update({ auditGap: gap });
  }

  private async openDecisions(settings: KioskSettings): Promise<void> {
    if (this.decisions) await this.decisions.stop();
    this.decisions = await DecisionService.open({
      kioskId: settings.kioskId,
      url: upstreamUrl(settings),
      outbox: this.vault.outbox,
      keys: this.vault.decisionKeys,
      ...(settings.door ? { door: settings.door } : {}),
      subjectRefs: settings.subjectRefs,
      now: () => this.clock.wall(),
      monotonic: () => this.clock.monotonic(),
    });
    this.decisions.subscribe((s) => this.update({ upstream: s }));
    this.update({ upstream: this.decisions.status });
  }

  /** Decrypt the watchlist again and re-arm the face worker (unlock, a face settings change, a bundle). */
  async reloadWatchlist(): Promise<void> {
    await this.watchlist.reload();
  }

  /**
   * The guard has read the receiver's last permanent rejection (shown on the guard screen until then): clear it.
   * Only staff who may override see and clear it; nothing is re-sent (the rejected decision was dropped).
   */
  acknowledgeRejection(): void {
    this.authority.require('override');
    this.decisions?.sender.clearRejection();
  }

  /** Resolves once every watchlist change committed so far decides the next frame (admin edits wait for it). */
  async watchlistSettled(): Promise<void> {
    await this.watchlist.settled();
  }

  private onWatchlist(w: WatchlistSummary): void {
    // A changed watchlist may change the answer (someone revoked while standing there is denied now).
    this.forgetPresence();
    const o = w.openSet;
    this.update({
      openSet: o,
      ...(o && !o.reachable
        ? { error: new KioskError('WATCHLIST_TOO_LARGE', { templates: w.templates, required: Number(o.required.toFixed(3)) }) }
        : {}),
      watchlist: { subjects: w.subjects, templates: w.templates, plates: w.plates, version: w.version, loadedAt: w.loadedAt, heldBack: w.heldBack, damaged: w.damaged },
    });
  }

  /** The watchlist without face templates, names included: the admin's. */
  listSubjects(): WatchSubject[] {
    this.authority.require('edit');
    return this.watchlist.list().sort((a, b) => a.label.localeCompare(b.label));
  }

  /** The decision list with names, scores and who overrode: for a guard or the admin only. */
  guardLog(): readonly IdentifiedDecision[] {
    this.authority.require('view-identities');
    return this.identified;
  }

  /**
   * "Show names" on an attended kiosk: its screen faces the visitor, and the names, scores and reasons of recent
   * decisions are the guard's to read, not the next visitor's who taps the button (attacker review, session 27). So
   * there it needs the same proof as a grant (`proof`; a wrong one ends the session, as for a grant); elsewhere none.
   */
  async confirmReveal(proof?: GuardProof): Promise<void> {
    this.authority.require('view-identities');
    if (this.snap.settings.role !== 'attended') return;
    const kind = this.authority.session.kind;
    if (!proof) throw new KioskError(kind === 'admin' ? 'ADMIN_CONFIRM_REQUIRED' : 'GUARD_CONFIRM_REQUIRED');
    await this.authority.confirm(proof);
  }

  /** Override grants the current guard (or admin) has left in this window (denies have a window of their own). */
  async overridesLeft(): Promise<{ left: number; limit: number; windowMinutes: number }> {
    this.authority.require('override');
    const s = this.snap.settings;
    const left = await this.vault.guards.overridesLeft(this.authority.actor!, s.overrideLimit, s.overrideWindowMinutes * 60_000);
    return { left, limit: s.overrideLimit, windowMinutes: s.overrideWindowMinutes };
  }

  labelOf(id: string | undefined): string | undefined {
    return this.watchlist.label(id);
  }

  /** Whether this kiosk is set up enough to decide, and to send (src/app/readiness.ts says what that means). */
  readiness(): Readiness {
    const w = this.snap.watchlist;
    return kioskReadiness({
      phase: this.snap.phase,
      mode: this.snap.settings.mode,
      templates: w.templates,
      plates: w.plates,
      pairedOrigin: this.decisions?.pairedWith?.origin,
      upstreamOrigin: new URL(upstreamUrl(this.snap.settings)).origin,
    });
  }

  /** The next frame may be decided on even if the last person is still there (the watchlist or settings changed). */
  forgetPresence(): void {
    this.presence = null;
  }

  private presenceConfig(sameFace: number, otherFace?: number): PresenceConfig {
    return {
      cooldownMs: this.snap.settings.presenceCooldownSeconds * 1000,
      leaveMs: DEFAULT_LEAVE_MS,
      sameFace,
      ...(otherFace === undefined ? {} : { otherFace }),
      samePlate: DEFAULT_SAME_PLATE,
    };
  }

  /**
   * Moves the presence on by one frame; true while the person decided last is still there (no new decision yet).
   * Called on every analysed frame, the result hold included, so "left the view" is measured from their last frame.
   */
  private stillPresent(seen: Sighting, at: number, sameFace: number, otherFace?: number): boolean {
    this.presence = observePresence(this.presence, seen, at, this.presenceConfig(sameFace, otherFace)).presence;
    return this.presence !== null;
  }

  async startCamera(deviceId?: string): Promise<void> {
    this.loop?.abort();
    this.update({ camera: { status: 'starting' } });
    const settings = this.snap.settings;
    const id = deviceId ?? settings.cameraDeviceId;
    try {
      await traced('camera-start', () => this.camera.start({
        ...CAMERA_CAPTURE,
        ...(id ? { deviceId: id } : { facingMode: settings.mode === 'plate' ? 'environment' : 'user' }),
      }));
    } catch (e) {
      this.update({ camera: { status: 'error', error: isKioskError(e) ? e : new KioskError('CAMERA_ABSENT') } });
      return;
    }
    this.update({ camera: { status: 'live' } });
    const ctl = new AbortController();
    this.loop = ctl;
    void runFrameLoop(
      ctl.signal,
      this.camera,
      (frame, at) => this.onFrame(ctl.signal, frame, at),
      (e) => this.onLoopError(ctl, e),
      () => this.clock.monotonic(),
      { wanted: () => this.wantsFrames(), changed: () => this.framesDemandChanged() },
    );
  }

  /**
   * Whether the next camera frame is grabbed. Not while the kiosk is starting: the preview is the video element
   * itself, onFrame would drop the frame anyway, and every grab takes page-thread time from the models' start-up
   * (measured: ~2.7 s of the page thread in the first 8 s of a cold start, docs/architecture.md "Session 10").
   */
  private wantsFrames(): boolean {
    markOnce('camera-first-frame');
    return this.frameTap !== null || this.snap.phase !== 'starting';
  }

  /** Pending while the frame loop skips frames; settled when the phase changes (wantsFrames may say yes now). */
  private demandChange: { promise: Promise<void>; resolve: () => void } | null = null;

  private framesDemandChanged(): Promise<void> {
    if (!this.demandChange) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.demandChange = { promise, resolve };
    }
    return this.demandChange.promise;
  }

  /**
   * The phase changed — the kiosk began running, say: the frame on screen is then analysed at once, not at the
   * camera's next presentation (the loop skipped it while starting, so it has not been analysed; issue 19).
   */
  private wakeFrameLoop(): void {
    this.demandChange?.resolve();
    this.demandChange = null;
  }

  private onLoopError(ctl: AbortController, e: unknown): void {
    if (isKioskError(e) && ['MODEL_INTEGRITY', 'MODEL_MISSING', 'MODEL_MANIFEST_INVALID'].includes(e.code)) {
      ctl.abort();
      this.update({ modelError: e });
    } else if (isKioskError(e) && e.code !== 'WORKER_ABORTED') {
      this.update({ error: e });
    }
  }

  /**
   * One frame through the recognition loop, exactly as the camera loop runs it (`at` on the monotonic clock; the
   * bitmap is transferred). For tests that feed real photos without a camera.
   */
  feedFrame(frame: ImageBitmap, at: number, signal: AbortSignal = new AbortController().signal): Promise<void> {
    return this.onFrame(signal, frame, at);
  }

  private async onFrame(signal: AbortSignal, frame: ImageBitmap, at: number): Promise<void> {
    if (this.frameTap) return this.frameTap(frame);
    // Cold start: the camera is already live while the models load; analysing now would load them twice (default
    // config, then the stored one) and could decide before the watchlist is in. The preview shows meanwhile (the
    // loop does not even grab such frames: wantsFrames; this covers a frame grabbed just before a restart).
    if (this.snap.phase === 'starting') return;
    if (this.snap.settings.mode === 'plate') return this.onPlateFrame(signal, frame, at);
    // Not set up (no watchlist for this mode yet): frames are shown, never decided on.
    const running = this.readiness().decide;
    const w = frame.width;
    const h = frame.height;
    const pad = padPolicyOf(this.snap.settings);
    const a = await this.faces.analyse(signal, frame, {
      // During a challenge every face is embedded (a turned head fails the quality gate but must stay the same person);
      // while a decided person may still be in view their good frames are embedded to tell them from the next one.
      embed: this.gate.running ? 'all' : running && (at >= this.holdUntil || this.presence) ? 'good' : 'none',
      liveness: pad !== 'off',
      // Eye state is read only during the active challenge: its model loads when the first challenge starts.
      eyes: this.gate.running,
      // Only the active challenge compares templates on this thread; a door frame gets the match alone.
      returnTemplate: pad === 'active',
    });
    if (!this.snap.backend && this.faces.info) {
      const b = this.faces.info.backend;
      const i = this.faces.info;
      this.update({
        backend: { name: b.backend, ...(b.backend === 'wasm' ? { threads: b.threads } : {}), detail: `${i.embedder} ${i.precision}` },
      });
    }
    if (running) markOnce('first-analysed');
    const faces = a.detections;
    if (faces.length > 0) this.touch();
    this.update({ detections: { faces, frameW: w, frameH: h } });
    if (!running) {
      if (this.snap.phase === 'running') this.setPrompt({ key: 'notSetUp' });
      return;
    }
    // PAD settings come from the same snapshot as the policy, so a change applies to both at once (the worker's copy
    // of the face config follows only after it re-initialises).
    const cfg = { ...this.faces.settings, pad: this.padSettings() };
    const templates = a.faces.flatMap((f) => (f.template ? [f.template] : []));
    const matches = a.faces.flatMap((f) => (f.match ? [{ subjectId: f.match.best?.subjectId ?? null, score: f.match.best?.score ?? -1 }] : []));
    const limits = cfg.thresholds[cfg.embedder];
    if (this.stillPresent({ kind: 'face', found: faces.length, templates, matches }, at, limits.reject, this.snap.openSet?.threshold ?? limits.accept)) {
      this.observations = [];
      return;
    }
    if (at < this.holdUntil) return;
    const thresholds = { ...cfg.thresholds[cfg.embedder], accept: this.snap.openSet?.threshold ?? cfg.thresholds[cfg.embedder].accept };
    if (this.gate.running) {
      // The deny bar at the embedder's own accept, as for the window below: the open-set threshold raises a grant's bar only.
      const g = this.gate.onFrame(a, at, cfg, pad !== 'off', thresholds, {
        subject: (id) => this.watchlist.subject(id),
        at: cfg.thresholds[cfg.embedder].accept,
      });
      if (g.kind === 'prompt') this.setPrompt({ key: 'challenge', detail: g.prompt.action, challenge: g.prompt });
      else await this.act(revalidateGrant(g.decision, g.decision.subjectId ? this.watchlist.subject(g.decision.subjectId) : undefined, this.clock.wall()), at, { kind: 'face', template: this.gateAnchor, subjectId: g.decision.subjectId ?? null }, g.seeGuard ? 'seeGuard' : undefined);
      return;
    }
    this.observations.push(observationFromAnalysis(a, at));
    const d = decideFace(this.observations, {
      thresholds,
      policy: cfg.policy,
      quality: cfg.quality,
      subject: (id) => this.watchlist.subject(id),
      clock: this.clock,
      ...(pad !== 'off' ? { pad: cfg.pad } : {}),
      // The deny list's veto at the embedder's own accept threshold, not the open-set one raised for grants.
      denyAt: cfg.thresholds[cfg.embedder].accept,
    });
    this.observations = this.observations.filter((o) => at - o.at <= cfg.policy.windowMs);
    if (d.final && d.outcome !== 'no-face') {
      if (d.outcome === 'grant' && pad === 'active') {
        // The challenge is anchored on this frame's template; without one (this frame failed quality) wait for the
        // next good frame — a grant never skips the challenge.
        const anchor = a.faces[0]?.template;
        if (!anchor) return;
        this.observations = [];
        this.gateAnchor = Float32Array.from(anchor);
        const p = this.gate.begin(d, anchor, at, cfg);
        this.update({ prompt: { key: 'challenge', detail: p.action, challenge: p } });
        return;
      }
      this.observations = [];
      await this.act(d, at, { kind: 'face', template: a.faces[0]?.template ? Float32Array.from(a.faces[0].template) : null, subjectId: d.subjectId ?? null });
      return;
    }
    if (faces.length === 0) this.setPrompt({ key: 'lookAtCamera' });
    else if (faces.length > 1) this.setPrompt({ key: 'multipleFaces' });
    else if (a.faces[0] && !a.faces[0].quality.ok) this.setPrompt({ key: 'quality', detail: a.faces[0].quality.reason ?? '' });
    else this.setPrompt({ key: 'checking' });
  }

  private padMemo: { from: KioskSettings; pad: FaceConfig['pad'] } | null = null;

  private padSettings(): FaceConfig['pad'] {
    const s = this.snap.settings;
    if (this.padMemo?.from !== s) this.padMemo = { from: s, pad: resolveFaceConfig(s.face).pad };
    return this.padMemo.pad;
  }

  private async onPlateFrame(signal: AbortSignal, frame: ImageBitmap, at: number): Promise<void> {
    const w = frame.width;
    const h = frame.height;
    const debug = this.vault.state.admin;
    const r = await this.plates.read(signal, frame, { region: this.snap.settings.plate.region ?? 'us', debug });
    if (!this.snap.backend && this.plates.info) this.update({ backend: { name: this.plates.info.backend, detail: this.plates.info.recognisers.join(' + ') } });
    this.update({ detections: { faces: [], frameW: w, frameH: h, plateBox: r.box } });
    if (debug) {
      const entry: PlateDebugEntry = {
        at: this.clock.wall(),
        text: r.text,
        confidence: r.confidence,
        candidates: r.candidates.map((c) => c.text),
        crops: r.crops ?? [],
      };
      this.update({ plateDebug: [entry, ...this.snap.plateDebug].slice(0, 12) });
    }
    if (!this.readiness().decide) {
      if (this.snap.phase === 'running') this.setPrompt({ key: 'notSetUp' });
      return;
    }
    const listed = (text: string) =>
      listedWithin(text, this.watchlist.plates, this.snap.settings.plate, { now: this.clock.wall() });
    // The read's listed matches are looked up only while a presence is held (they tell its car from another).
    const sighting: Sighting = { kind: 'plate', found: r.box ? 1 : 0, texts: r.text ? [r.text] : [], listed: r.text && this.presence ? [listed(r.text)] : [] };
    if (this.stillPresent(sighting, at, 1)) {
      this.plateReads = [];
      return;
    }
    if (at < this.holdUntil) return;
    if (r.text) {
      this.touch();
      const alternatives = r.candidates.map((c) => ({ text: c.text, confidence: c.confidence }));
      this.plateReads.push({ at, read: { text: r.text, confidence: r.confidence }, alternatives });
    }
    this.plateReads = this.plateReads.filter((p) => at - p.at <= 4_000).slice(-8);
    const consensus = voteConsensus(this.plateReads.map((p) => p.read));
    const plateCfg = this.snap.settings.plate;
    const enough = consensus.support >= (plateCfg.minSupport ?? 2);
    // Judged only once enough frames agree: until then nothing is decided, so the watchlist is not searched per frame.
    const wall = { now: this.clock.wall() };
    const d = enough
      ? withDenyListedInView(
          decidePlate(consensus, this.watchlist.plates, plateCfg, wall),
          this.plateReads.map((p) => [p.read, ...p.alternatives]),
          this.watchlist.plates,
          plateCfg,
          wall,
        )
      : null;
    if (d && d.outcome !== 'no-face') {
      this.plateReads = [];
      await this.act(d, at, { kind: 'plate', text: consensus.text, listed: listed(consensus.text) });
    } else {
      this.setPrompt({ key: r.text ? 'checking' : 'showPlate' });
    }
  }

  private setPrompt(p: AppSnapshot['prompt']): void {
    const cur = this.snap.prompt;
    if (cur.key === p.key && cur.detail === p.detail) return;
    this.update({ prompt: p });
  }

  /**
   * A final decision: log (memory + encrypted audit), send the signed yes/no, show the result. `about` is who it was
   * about: no new decision is made for them while they stay in view (src/matching/presence.ts).
   */
  private async act(d: DecisionResult, at: number, about: PresenceKey, prompt?: PromptKey): Promise<void> {
    markOnce('first-decision');
    this.holdUntil = at + RESULT_HOLD_MS;
    this.presence = beginPresence(about, at);
    this.gateAnchor = null;
    const label = this.labelOf(d.subjectId);
    const up = upstreamDecisionFor(d.outcome);
    const entry: IdentifiedDecision = {
      n: ++this.decisionCount,
      at: this.clock.wall(),
      outcome: d.outcome,
      reason: d.reason,
      mode: d.mode,
      ...(d.subjectId ? { subjectId: d.subjectId } : {}),
      ...(label ? { label } : {}),
      ...(d.score !== undefined ? { score: d.score } : {}),
      ...(d.liveness !== undefined ? { liveness: d.liveness } : {}),
      sent: up !== null && this.readiness().send,
    };
    this.pushDecision(entry);
    const key: PromptKey =
      prompt ?? (d.outcome === 'grant' ? 'granted' : d.outcome === 'uncertain' || d.outcome === 'low-quality' ? 'uncertain' : 'denied');
    this.update({ prompt: { key, ...(label && this.snap.settings.showNames && d.outcome === 'grant' ? { label } : {}) } });
    await this.record(entry, up);
  }

  /**
   * Manual override by the logged-in guard (or the admin): needs the 'override' capability, a reason, on a tablet
   * visitors use (attended or visitor role) for a guard's grant the guard's PIN or security key again (`proof`: GUARD_CONFIRM_REQUIRED without it; a wrong one
   * ends the session) and for the admin's the passphrase (ADMIN_CONFIRM_REQUIRED), and room in the actor's override window (OVERRIDE_RATE_LIMITED otherwise, persisted across
   * reloads). Recorded in the
   * encrypted audit with the actor's id and the reason; upstream gets only the signed yes/no. `sent` is false when the
   * kiosk is not set up or not paired: then nothing goes upstream (nothing is queued either, readiness.ts), so the
   * door did not open — the guard screen must say so rather than "sent".
   */
  async override(decision: 'grant' | 'deny', reason: string, proof?: GuardProof): Promise<{ sent: boolean }> {
    this.authority.require('override');
    // A deny stops what is pending at once, before anything is checked further or awaited: a deny refused (no reason
    // typed in the hurry, its window used up) or a slow write must not leave a challenge or a window of frames free to
    // grant whoever the guard meant to stop (attacker review, session 27).
    if (decision === 'deny') this.haltPending();
    const why = typeof reason === 'string' ? reason.trim() : '';
    if (why.length < 3 || why.length > 200) throw new KioskError('INPUT_INVALID', { field: 'reason', min: 3, max: 200 });
    const s = this.snap.settings;
    // On a tablet visitors use (attended: the guard panel beside the visitor view; visitor: a guard who logged in on
    // it) a grant needs the guard's PIN or key again, or the admin's passphrase, so an open session is not a door
    // anyone at the screen may open. A deny needs no proof (it opens nothing); a guard-role desk tablet faces no visitor.
    const kind = this.authority.session.kind;
    const actor = this.authority.actor;
    if (actor === null) throw new KioskError('GUARD_REQUIRED', { capability: 'override' });
    if (decision === 'grant' && s.role !== 'guard' && (kind === 'guard' || kind === 'admin')) {
      if (!proof) throw new KioskError(kind === 'admin' ? 'ADMIN_CONFIRM_REQUIRED' : 'GUARD_CONFIRM_REQUIRED');
      await this.authority.confirm(proof);
      // The session may have ended while the key prompt or the check ran (an idle-out, a second tap refused by the
      // browser ending it): the grant is then nobody's, and is not made.
      this.authority.require('override');
      if (this.authority.actor !== actor) throw new KioskError('GUARD_REQUIRED', { capability: 'override' });
    }
    const session = this.authority.session;
    // Grants and denies are counted apart: the window bounds what a guard (or whoever holds their session) can open,
    // and denies opened nothing — counted together, six denies tapped at an attended kiosk's shared screen left the
    // guard no grant for the window (attacker review, session 26). Denies keep a window of the same size, so the
    // screen cannot be used to flood the decision log and the audit either.
    const counted = await this.vault.guards.countOverride(decision === 'grant' ? actor : denyBucket(actor), s.overrideLimit, s.overrideWindowMinutes * 60_000);
    const outcome = decision === 'grant' ? 'override-grant' : 'override-deny';
    const entry: IdentifiedDecision = {
      n: ++this.decisionCount,
      at: this.clock.wall(),
      outcome,
      reason: why,
      mode: 'manual',
      sent: !this.readiness().missing.some((m) => m === 'setup' || m === 'pairing'),
      by: session.kind === 'guard' ? session.name : 'admin',
    };
    // Who opened the door is written before it opens: the receiver hears only "manual", so this entry is the one
    // record of which guard it was. Written after, a grant made while the log could not be written (full storage, a
    // damaged audit key) opened with no one's name on it and no gap shown (attacker review, session 33). A deny is
    // made whatever the log does (it opens nothing, and stopping someone must not wait on storage).
    if (decision === 'grant') {
      try {
        await this.vault.audit.append(this.auditEntryOf(entry, actor));
        if (this.snap.auditGap) this.auditResult(null);
      } catch (e) {
        this.auditResult({ outcome, code: isKioskError(e) ? e.code : 'INTERNAL' });
        // Nothing opened, so the grant is given back (best effort: the storage that failed the log may fail this too).
        await this.vault.guards.uncountOverride(actor, counted.at).catch(() => undefined);
        throw new KioskError('AUDIT_NOT_WRITTEN', { outcome }, { cause: e });
      }
    }
    this.pushDecision(entry);
    this.update({ prompt: { key: decision === 'grant' ? 'granted' : 'denied' } });
    if (decision === 'grant') this.haltPending();
    await this.record(entry, upstreamDecisionFor(outcome), actor, decision === 'grant');
    return { sent: entry.sent };
  }

  /**
   * The guard has decided about whoever is at the door: a challenge or a window of frames collected before the
   * override must not decide again after it (an attacker review found a guard's deny followed, 3 s later, by the
   * grant it was meant to stop). The person decided on is held as a presence, like any decision's, for the result's
   * hold.
   */
  private haltPending(): void {
    const now = this.clock.monotonic();
    this.holdUntil = now + RESULT_HOLD_MS;
    const plate = this.plateReads.at(-1)?.read.text;
    const about: PresenceKey = this.snap.settings.mode === 'plate' ? { kind: 'plate', text: plate ?? '' } : { kind: 'face', template: this.gateAnchor };
    this.gate.cancel();
    this.gateAnchor = null;
    this.observations = [];
    this.plateReads = [];
    this.presence = beginPresence(about, now);
  }

  private pushDecision(entry: IdentifiedDecision): void {
    this.identified = [entry, ...this.identified].slice(0, DECISION_LOG_MAX);
    const shown: DecisionLogEntry = { n: entry.n, at: entry.at, outcome: entry.outcome, reason: entry.reason, mode: entry.mode, sent: entry.sent };
    this.update({ decisions: [shown, ...this.snap.decisions].slice(0, DECISION_LOG_MAX), lastResult: shown });
  }

  private auditEntryOf(entry: IdentifiedDecision, actor?: string): Omit<AuditEntry, 'id'> {
    return {
      at: entry.at,
      outcome: entry.outcome,
      subjectId: entry.subjectId ?? 'unknown',
      kiosk: this.snap.settings.kioskId,
      mode: entry.mode,
      ...(entry.score !== undefined ? { score: entry.score } : {}),
      ...(entry.mode === 'manual' ? { reason: entry.reason } : {}),
      ...(actor ? { actor } : {}),
    };
  }

  /** Audits (unless `audited` already) and sends a decision; a lost audit entry is shown as a gap, not only an error. */
  private async record(entry: IdentifiedDecision, up: ReturnType<typeof upstreamDecisionFor>, actor?: string, audited = false): Promise<void> {
    if (!audited) {
      try {
        await this.vault.audit.append(this.auditEntryOf(entry, actor));
        // The log works (again): the admin screen's list of changes it missed is done.
        if (this.snap.auditGap) this.auditResult(null);
      } catch (e) {
        this.auditResult({ outcome: entry.outcome, code: isKioskError(e) ? e.code : 'INTERNAL' });
        this.update({ error: isKioskError(e) ? e : new KioskError('INTERNAL') });
      }
    }
    // An unpaired kiosk signs and queues nothing: a queued decision would be delivered, stale, at pairing.
    if (up && this.decisions && entry.sent) {
      try {
        await this.decisions.decide(up, { ...(entry.subjectId ? { subjectId: entry.subjectId } : {}), ...(entry.mode === 'manual' ? { manual: true } : {}) });
      } catch (e) {
        this.update({ error: isKioskError(e) ? e : new KioskError('INTERNAL') });
      }
    }
  }

  /** Switch between face and plate mode (the camera restarts with the mode's facing). */
  async setMode(mode: KioskSettings['mode']): Promise<void> {
    this.observations = [];
    this.presence = null;
    this.gate.cancel();
    this.plateReads = [];
    this.update({ settings: { ...this.snap.settings, mode }, detections: { faces: [], frameW: 640, frameH: 480 }, backend: null });
    await this.startCamera();
  }

  private async onWiped(): Promise<void> {
    this.watchlist.clear();
    this.puller.stop();
    this.identified = [];
    this.authority.logout();
    this.observations = [];
    this.presence = null;
    this.gate.cancel();
    await this.decisions?.stop();
    this.decisions = null;
    await this.faces.setGallery(undefined, []).catch(() => undefined);
    this.update({
      phase: 'wiped',
      prompt: { key: 'notSetUp' },
      decisions: [],
      lastResult: null,
      plateDebug: [],
      watchlist: { subjects: 0, templates: 0, plates: 0, version: 0, loadedAt: null, heldBack: 0, damaged: false },
      auditGap: null,
    });
  }

  stop(): void {
    this.puller.stop();
    this.loop?.abort();
    this.camera.stop();
  }
}
