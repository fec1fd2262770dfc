/**
 * The decision service: turns a kiosk outcome into a signed, sequenced, queued decision and owns the device key.
 *
 * On open it loads the signing record from the store (or makes a fresh ECDSA P-256 key, which the store seals and
 * gives back non-extractable; only that copy is kept) and starts
 * the sender, which replays anything queued. `decide()` reserves the next sequence number in the store first, then
 * builds and signs the payload, then queues it: a crash can skip a number, never reuse one, and the receiver only
 * requires "strictly greater". Subject references are off unless an admin turns them on; the subject id itself
 * never enters a payload. This module never sees an image, a template, a name or a score.
 */
import type { DecisionKeyRecord, DecisionKeyStore } from '../shared/decision-keys';
import { KioskError } from '../shared/errors';
import type { OutboxBackend } from '../shared/outbox';
import type { BackoffPolicy } from './delivery-policy';
import { randomBase64url } from './encoding';
import {
  type DecisionPayload,
  type PullCredentials,
  type UpstreamDecision,
  ID_PATTERN,
  MAX_ENVELOPE_BYTES,
  checkEnvelopeText,
  pullStatement,
  serialiseEnvelope,
} from './message';
import { pairWithReceiver } from './pairing';
import { DecisionSender, type StatusListener, type UpstreamStatus } from './sender';
import {
  type PublicJwk,
  exportPublicJwk,
  fingerprint,
  generateSigningKey,
  generateSubjectKey,
  jwkThumbprint,
  restampStale,
  signPayload,
  signText,
  subjectRef,
} from './signer';

export interface DecisionServiceOptions {
  kioskId: string;
  /** The receiver's decisions endpoint; pairing goes to `pair` next to it. */
  url: string;
  outbox: OutboxBackend;
  keys: DecisionKeyStore;
  /** Door/lane id sent with every decision unless `decide()` names another. */
  door?: string;
  /** Admin opt-in: add a pseudonymous subject reference to decisions about a known subject. Default false. */
  subjectRefs?: boolean;
  freshnessMs?: number;
  retentionMs?: number;
  requestTimeoutMs?: number;
  backoff?: BackoffPolicy;
  fetch?: typeof fetch;
  now?: () => number;
  /** Monotonic clock for the sender's freshness rule (src/decisions/sender.ts). */
  monotonic?: () => number;
  /** Web Lock names (tests running two "kiosks" in one page give each its own). */
  lockPrefix?: string;
}

export interface DecideOptions {
  door?: string;
  /** Used only when subject references are enabled; never sent as is. */
  subjectId?: string;
  /** A guard's or admin's override: signed as `manual: true`. */
  manual?: boolean;
}

function isUsableRecord(r: DecisionKeyRecord | undefined): r is DecisionKeyRecord {
  if (!r || r.v !== 1 || typeof r.kioskId !== 'string') return false;
  if (!Number.isSafeInteger(r.lastSeq) || r.lastSeq < 0) return false;
  const k = r.signingKey as Partial<CryptoKeyPair> | undefined;
  const priv = k?.privateKey;
  const pub = k?.publicKey;
  if (!(priv instanceof CryptoKey) || !(pub instanceof CryptoKey)) return false;
  const alg = priv.algorithm as EcKeyAlgorithm;
  return alg.name === 'ECDSA' && alg.namedCurve === 'P-256' && priv.usages.includes('sign');
}

/** Runs `fn` under an exclusive Web Lock when the runtime has Web Locks (browsers), directly otherwise (Node). */
async function withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const locks = (globalThis as { navigator?: Navigator }).navigator?.locks;
  if (!locks) return fn();
  return locks.request(name, fn);
}

export class DecisionService {
  readonly sender: DecisionSender;
  private record: DecisionKeyRecord;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly subjectRefsEnabled: boolean;

  private constructor(
    private readonly opts: DecisionServiceOptions,
    record: DecisionKeyRecord,
    readonly publicJwk: PublicJwk,
    readonly kid: string,
  ) {
    this.record = record;
    this.subjectRefsEnabled = opts.subjectRefs === true;
    this.sender = new DecisionSender({
      url: opts.url,
      outbox: opts.outbox,
      restamp: (body) => this.restamp(body),
      ...(opts.freshnessMs === undefined ? {} : { freshnessMs: opts.freshnessMs }),
      ...(opts.retentionMs === undefined ? {} : { retentionMs: opts.retentionMs }),
      ...(opts.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: opts.requestTimeoutMs }),
      ...(opts.backoff === undefined ? {} : { backoff: opts.backoff }),
      ...(opts.fetch === undefined ? {} : { fetch: opts.fetch }),
      ...(opts.now === undefined ? {} : { now: opts.now }),
      ...(opts.monotonic === undefined ? {} : { monotonic: opts.monotonic }),
      lockName: `${opts.lockPrefix ?? 'entrance-kiosk'}-outbox`,
    });
  }

  /** Loads or creates the device key and starts delivery (which replays the outbox). */
  static async open(opts: DecisionServiceOptions): Promise<DecisionService> {
    if (!ID_PATTERN.test(opts.kioskId)) throw new KioskError('CONFIG_INVALID', { field: 'kioskId' });
    if (opts.door !== undefined && !ID_PATTERN.test(opts.door))
      throw new KioskError('CONFIG_INVALID', { field: 'door' });
    const now = opts.now ?? Date.now;
    // New keys are made extractable so the vault can seal them; from then on only the copy the store gives back
    // (private halves non-extractable) is held, so a script in this page cannot read the key out later.
    const reloaded = async (saved: DecisionKeyRecord): Promise<DecisionKeyRecord> => {
      const back = await opts.keys.load();
      if (!isUsableRecord(back) || back.kioskId !== saved.kioskId || (saved.subjectKey && !back.subjectKey))
        throw new KioskError('INTERNAL', { reason: 'the decision key was not read back after saving' });
      return back;
    };
    const loadOrCreate = async (): Promise<DecisionKeyRecord> => {
      const stored = await opts.keys.load();
      if (!isUsableRecord(stored)) {
        // An unreadable record is replaced, not repaired: a new key needs a new pairing, which also resets the
        // receiver's sequence for this kiosk, so starting again at 1 is safe.
        const fresh: DecisionKeyRecord = {
          v: 1,
          kioskId: opts.kioskId,
          signingKey: await generateSigningKey(),
          lastSeq: 0,
          createdAt: now(),
        };
        await opts.keys.save(fresh);
        return reloaded(fresh);
      }
      if (stored.kioskId === opts.kioskId) return stored;
      const { pairedWith: _dropped, ...rest } = stored;
      const renamed = { ...rest, kioskId: opts.kioskId };
      await opts.keys.save(renamed);
      return renamed;
    };
    // Subject references on (the admin's setting): they need the device HMAC key, made here the first time.
    const withSubjectKey = async (): Promise<DecisionKeyRecord> => {
      const rec = await loadOrCreate();
      if (!opts.subjectRefs || rec.subjectKey) return rec;
      const next = { ...rec, subjectKey: await generateSubjectKey() };
      await opts.keys.save(next);
      return reloaded(next);
    };
    // Two tabs opening on a fresh device must not both generate (and race to save) a key.
    const record = await withLock(`${opts.lockPrefix ?? 'entrance-kiosk'}-keys`, withSubjectKey);
    const jwk = await exportPublicJwk(record.signingKey.publicKey);
    const service = new DecisionService(opts, record, jwk, await jwkThumbprint(jwk));
    void service.sender.start();
    return service;
  }

  get kioskId(): string {
    return this.opts.kioskId;
  }

  /** Short key fingerprint for the admin screen (the receiver logs the same at pairing). */
  get fingerprint(): string {
    return fingerprint(this.kid);
  }

  get pairedWith(): DecisionKeyRecord['pairedWith'] {
    return this.record.pairedWith;
  }

  get status(): UpstreamStatus {
    return this.sender.status;
  }

  subscribe(listener: StatusListener): () => void {
    return this.sender.subscribe(listener);
  }

  /** Signs and queues one decision; resolves once it is persisted (delivery continues in the background). */
  decide(decision: UpstreamDecision, options: DecideOptions = {}): Promise<{ seq: number; ts: number }> {
    const run = this.chain.then(() => this.decideNow(decision, options));
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Registers the public key with the receiver using the one-time code the receiver printed. */
  async pair(code: string): Promise<{ kid: string; fingerprint: string }> {
    const { kid } = await pairWithReceiver({
      decisionsUrl: this.opts.url,
      kiosk: this.opts.kioskId,
      keyPair: this.record.signingKey,
      code,
      ...(this.opts.fetch === undefined ? {} : { fetch: this.opts.fetch }),
    });
    await this.saveRecord({
      ...this.record,
      pairedWith: { origin: new URL(this.opts.url).origin, kid, at: (this.opts.now ?? Date.now)() },
    });
    void this.sender.flush();
    return { kid, fingerprint: fingerprint(kid) };
  }

  /**
   * Signs a watchlist bundle pull (the receiver serves bundles only to paired, unrevoked kiosks). The statement is
   * built here from typed values, never taken from a caller, so this key signs nothing but decisions and pulls.
   */
  async signPull(since: number, receivingKeyHex: string | undefined): Promise<PullCredentials> {
    if (!Number.isSafeInteger(since) || since < 0)
      throw new KioskError('INPUT_INVALID', { reason: 'installed-version' });
    if (receivingKeyHex !== undefined && !/^[0-9a-f]{64}$/.test(receivingKeyHex))
      throw new KioskError('INPUT_INVALID', { reason: 'receiving-key' });
    const ts = Math.round((this.opts.now ?? Date.now)());
    const kiosk = this.opts.kioskId;
    const sig = await signText(this.record.signingKey.privateKey, pullStatement(kiosk, since, receivingKeyHex, ts));
    return { kiosk, ts, sig };
  }

  /** New HMAC key: every earlier subject reference becomes unlinkable to later ones. */
  async rotateSubjectKey(): Promise<void> {
    const next = { ...this.record, subjectKey: await generateSubjectKey() };
    await this.saveRecord(next);
    // Hold the store's copy of the new key (non-extractable once sealed), not the extractable one just generated.
    const back = await this.opts.keys.load();
    if (back?.subjectKey && back.kioskId === next.kioskId) this.record = { ...next, subjectKey: back.subjectKey };
  }

  /** What `sub` would be for a subject (for an admin exporting the attendance mapping); undefined when off. */
  async subjectRefFor(subjectId: string): Promise<string | undefined> {
    if (!this.subjectRefsEnabled || !this.record.subjectKey) return undefined;
    return subjectRef(this.record.subjectKey, subjectId);
  }

  stop(): Promise<void> {
    return this.sender.stop();
  }

  private async decideNow(decision: UpstreamDecision, options: DecideOptions): Promise<{ seq: number; ts: number }> {
    const door = options.door ?? this.opts.door;
    if (door !== undefined && !ID_PATTERN.test(door)) throw new KioskError('CONFIG_INVALID', { field: 'door' });
    const seq = await this.reserveSeq();
    const ts = (this.opts.now ?? Date.now)();
    const payload: DecisionPayload = { v: 1, kiosk: this.opts.kioskId, seq, ts, decision, nonce: randomBase64url(16) };
    if (door !== undefined) payload.door = door;
    if (options.manual) payload.manual = true;
    if (options.subjectId !== undefined) {
      const sub = await this.subjectRefFor(options.subjectId);
      if (sub !== undefined) payload.sub = sub;
    }
    const body = serialiseEnvelope(await signPayload(this.record.signingKey.privateKey, payload));
    // The builder can only produce valid bodies; checking anyway keeps a future field from leaking past the schema.
    const checked = checkEnvelopeText(body);
    if (!checked.ok) throw new KioskError('INTERNAL', { reason: checked.reason, max: MAX_ENVELOPE_BYTES });
    await this.sender.enqueue({ seq, createdAt: ts, body });
    return { seq, ts };
  }

  /** Reserves the next sequence number in the store, under a Web Lock when there is one (another tab may decide). */
  private async reserveSeq(): Promise<number> {
    const reserve = async (): Promise<number> => {
      const stored = await this.opts.keys.load();
      const last = Math.max(this.record.lastSeq, isUsableRecord(stored) ? stored.lastSeq : 0);
      const seq = last + 1;
      await this.saveRecord({ ...this.record, lastSeq: seq });
      return seq;
    };
    return withLock(`${this.opts.lockPrefix ?? 'entrance-kiosk'}-seq`, reserve);
  }

  private async saveRecord(next: DecisionKeyRecord): Promise<void> {
    await this.opts.keys.save(next);
    this.record = next;
  }

  private async restamp(body: string): Promise<string> {
    const checked = checkEnvelopeText(body);
    if (!checked.ok) throw new KioskError('INTERNAL', { reason: checked.reason });
    return serialiseEnvelope(await restampStale(this.record.signingKey.privateKey, checked.value.envelope));
  }
}
