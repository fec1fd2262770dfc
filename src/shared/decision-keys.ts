/**
 * The persisted signing-state contract of the decision module (src/store implements it; src/decisions uses it).
 *
 * One record per kiosk: the ECDSA P-256 key pair that signs decisions (generated on the device, extractable only
 * for its first save, which seals it inside the vault; `load` gives it back with a non-extractable private half and
 * the service holds only that copy), the optional
 * HMAC key behind pseudonymous subject references, and the highest sequence number ever handed out. The sequence
 * is saved *before* a decision using it is signed, so a crash or reload can skip numbers but never reuse one.
 */

export interface DecisionKeyRecord {
  /** Format version of this record. */
  v: 1;
  /** Kiosk id the key was created for; a different configured id starts a new sequence space (re-pair). */
  kioskId: string;
  /** ECDSA P-256 / SHA-256; `privateKey.extractable === false` once loaded from the store. */
  signingKey: CryptoKeyPair;
  /** HMAC-SHA-256, non-extractable once loaded; present only after an admin opted in to subject references. */
  subjectKey?: CryptoKey;
  /** Highest sequence number ever reserved (0 before the first decision). */
  lastSeq: number;
  /** When the signing key was generated (ms since epoch). */
  createdAt: number;
  /** Set when a receiver accepted the public key: its endpoint origin, the key id (RFC 7638 thumbprint), when. */
  pairedWith?: { origin: string; kid: string; at: number };
}

export interface DecisionKeyStore {
  /** The stored record, or undefined on a fresh device. */
  load(): Promise<DecisionKeyRecord | undefined>;
  /** Replace the record atomically (all fields, CryptoKeys included). */
  save(record: DecisionKeyRecord): Promise<void>;
}
