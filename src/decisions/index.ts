/**
 * Public surface of the decisions module: the signed yes/no decision, its outbox delivery and pairing.
 *
 * The composition root opens one DecisionService with the store's OutboxBackend and DecisionKeyStore; the UI reads
 * `status`/`subscribe` for the guard screen and calls `pair()` from the admin screen. Nothing here may import
 * capture, inference, matching internals or UI: a decision is built from an outcome word, never from a face.
 */
export { DecisionService, type DecisionServiceOptions, type DecideOptions } from './service';
export {
  DecisionSender,
  type SenderOptions,
  type UpstreamStatus,
  type UpstreamProblem,
  type StatusListener,
} from './sender';
export {
  type DecisionPayload,
  type DecisionEnvelope,
  type UpstreamDecision,
  type PullCredentials,
  DECISION_VERSION,
  MAX_ENVELOPE_BYTES,
  canonicalPayload,
  checkEnvelopeText,
  checkPayloadText,
  pullStatement,
  serialiseEnvelope,
  upstreamDecisionFor,
} from './message';
export { fingerprint, type PublicJwk } from './signer';
