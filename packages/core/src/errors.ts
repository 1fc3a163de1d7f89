/**
 * The one error type of Lockgate. Every refusal carries a stable string `code`,
 * a human sentence and optional structured `details`. Core knows codes and what they mean, not
 * transports: the HTTP status of each code is in `@lockgate/api` (ERROR_STATUS), which the
 * server's error handler answers with.
 */
export const ERROR_CODES = {
  // generic input / protocol
  BAD_REQUEST: { summary: 'The request is malformed.' },
  VALIDATION_FAILED: { summary: 'The request body, query or parameters do not match the schema.' },
  BODY_TOO_LARGE: { summary: 'The request body exceeds the configured limit.' },
  UNSUPPORTED_MEDIA_TYPE: { summary: 'The request content type is not accepted here.' },
  UNAUTHORIZED: { summary: 'A valid bearer token is required.' },
  FORBIDDEN: { summary: 'The token may not perform this operation.' },
  NOT_FOUND: { summary: 'No such resource.' },
  CONFLICT: { summary: 'The request conflicts with the current state.' },
  ADDRESS_IN_USE: { summary: 'The server cannot listen: another process holds the address.' },
  INTERNAL: { summary: 'An unexpected error occurred.' },
  METHOD_NOT_ALLOWED: {
    summary: 'The resource does not answer this method; the Allow header lists those it does.',
  },
  REQUEST_TIMEOUT: { summary: 'The request did not arrive in time.' },
  HEADERS_TOO_LARGE: { summary: 'The request headers exceed the size limit.' },
  // digests and keys
  DIGEST_INVALID: { summary: 'A digest is not of the form sha256:<64 hex>.' },
  KEY_INVALID: { summary: 'A key is not a valid Ed25519 key in PEM form.' },
  KEY_NOT_FOUND: { summary: 'No trusted key has this id.' },
  // API tokens
  TOKEN_NOT_FOUND: { summary: 'No API token has this name.' },
  // packs
  PACK_ARCHIVE_INVALID: {
    summary: 'The pack file is not a readable tar archive of the expected layout.',
  },
  PACK_ARCHIVE_TOO_LARGE: {
    summary: 'The pack file or one of its entries exceeds the size bounds.',
  },
  PACK_MANIFEST_INVALID: {
    summary: 'The manifest does not parse or does not match lockgate.pack/v1.',
  },
  PACK_DIGEST_MISMATCH: { summary: 'The pack digest differs from the one expected.' },
  PACK_SIGNATURE_INVALID: { summary: 'A signature on the manifest does not verify.' },
  PACK_SIGNER_UNTRUSTED: { summary: 'No signature is by a trusted key.' },
  PACK_FILE_MISSING: { summary: 'A file listed in the manifest is not in the pack.' },
  PACK_FILE_HASH_MISMATCH: { summary: 'A file differs in size or hash from the manifest.' },
  PACK_FILE_UNLISTED: { summary: 'The pack holds a file the manifest does not list.' },
  PACK_NOT_FOUND: { summary: 'No pack has this digest or name@version.' },
  PACK_VERSION_CONFLICT: { summary: 'Another pack with this name and version is already stored.' },
  PACK_NOT_ELIGIBLE: { summary: 'The pack is not eligible for release.' },
  // builds
  BUILD_GATE_FAILED: { summary: 'A build gate did not pass, so the build produces no pack.' },
  BUILD_GATES_MISSING: { summary: 'A build lists no gates, so nothing shows it passed.' },
  BUILD_INVALID: { summary: 'The build record is malformed.' },
  BUILD_CONFLICT: { summary: 'A different build with this id was already reported.' },
  BUILD_NOT_FOUND: { summary: 'No build has this id.' },
  PROVENANCE_INCOMPLETE: { summary: 'The pack provenance lacks required references.' },
  // environments, channels, targets, plans
  ENVIRONMENT_NOT_FOUND: { summary: 'No environment has this name.' },
  CHANNEL_NOT_FOUND: { summary: 'No channel has this name in the environment.' },
  TARGET_NOT_FOUND: { summary: 'No target has this id.' },
  REPORTS_BACKLOGGED: {
    summary: 'The server is behind on writing reports; send this one again after Retry-After.',
  },
  SELECTOR_INVALID: { summary: 'A label selector is malformed.' },
  COHORT_INVALID: { summary: 'A cohort is malformed.' },
  PLAN_INVALID: { summary: 'A rollout plan is malformed.' },
  PLAN_NOT_FOUND: { summary: 'No plan has this name.' },
  VERSION_CONFLICT: {
    summary: 'The record changed since it was read; retry with the new version.',
  },
  // releases
  RELEASE_NOT_FOUND: { summary: 'No release has this id.' },
  RELEASE_NOT_ELIGIBLE: { summary: 'The pack may not be released into this channel.' },
  RELEASE_STATE_INVALID: { summary: 'The release is not in a state that allows this command.' },
  RELEASE_CONFLICT: { summary: 'Another release is active in this channel.' },
  RELEASE_BELOW_FLOOR: { summary: 'The pack sequence is below the channel downgrade floor.' },
  PACK_REVOKED: { summary: 'The pack is revoked.' },
  PACK_INCOMPATIBLE: { summary: 'The pack requirements do not match the channel constraints.' },
  EVIDENCE_MISSING: { summary: 'Required evidence for the pack is missing.' },
  APPROVAL_SELF: { summary: 'The requester of a release cannot approve it.' },
  APPROVAL_DUPLICATE: { summary: 'This principal already approved this stage.' },
  FREEZE_ACTIVE: { summary: 'A freeze window is in effect.' },
  PIN_NOT_FOUND: { summary: 'No pin is set on this scope.' },
  PIN_INVALID: { summary: 'A pin is malformed (reason, expiry or pack).' },
  ROLLBACK_TARGET_MISSING: { summary: 'There is no pin or last-known-good pack to roll back to.' },
  ROLLBACK_TARGET_NOT_ALLOWED: {
    summary:
      'No pack the channel allows (not revoked, at or above the floor or authorized) is left to roll back to.',
  },
  FLOOR_ABOVE_BASE: {
    summary:
      "The new floor is above the channel's base, whose targets would be left without a pack; confirm to do it anyway.",
  },
  ROLLBACK_AUTHORIZATION_NOT_FOUND: {
    summary: 'No unexpired rollback authorization has this id in the channel.',
  },
  // channel index
  INDEX_INVALID: { summary: 'The channel index does not parse or does not match its schema.' },
  INDEX_SIGNATURE_INVALID: { summary: 'The channel index signature does not verify.' },
  INDEX_SIGNER_UNTRUSTED: { summary: 'The channel index is not signed by a trusted server key.' },
  INDEX_EXPIRED: { summary: 'The channel index has expired.' },
  INDEX_REPLAYED: { summary: 'The channel index version is lower than one already seen.' },
  // webhooks
  WEBHOOK_NOT_FOUND: { summary: 'No webhook subscription has this name.' },
  // backup and restore
  BACKUP_INVALID: {
    summary:
      'The backup file is not a Lockgate backup, or a part of it does not match its checksum.',
  },
  BACKUP_PASSPHRASE_INVALID: {
    summary: 'The passphrase does not decrypt the private keys of the backup.',
  },
  RESTORE_VERIFICATION_FAILED: {
    summary: 'The restored data does not verify (decision log chain or blob checksums).',
  },
  RESTORE_TARGET_NOT_EMPTY: {
    summary: 'The data directory or database to restore into already holds data.',
  },
  // transparency log and evidence
  LOG_ENTRY_NOT_FOUND: { summary: 'The log has no entry with this seq.' },
  LOG_SIZE_INVALID: {
    summary: 'A tree size or leaf index is out of range for the log as it stands.',
  },
  LOG_SPLIT_VIEW: {
    summary:
      'A checkpoint is not consistent with one seen before: the log forked or was rewritten.',
  },
  PROOF_INVALID: { summary: 'A Merkle proof is malformed or does not verify.' },
  CHECKPOINT_INVALID: {
    summary: 'A checkpoint or signed note does not parse as its C2SP format.',
  },
  CHECKPOINT_SIGNATURE_INVALID: {
    summary: 'A signature on the checkpoint by a known key does not verify.',
  },
  CHECKPOINT_SIGNER_UNTRUSTED: {
    summary: 'The checkpoint carries no signature by the trusted log key.',
  },
  COSIGNATURE_INVALID: {
    summary: 'A witness cosignature is malformed, by an unknown witness, or does not verify.',
  },
  WITNESS_QUORUM_NOT_MET: {
    summary: 'Fewer trusted witnesses cosigned the checkpoint than required.',
  },
  ENVELOPE_INVALID: { summary: 'A DSSE envelope or in-toto statement is malformed.' },
  RECORD_SIGNATURE_INVALID: {
    summary: "A decision record's envelope signature does not verify with the log key.",
  },
  RECORD_NOT_INCLUDED: {
    summary: 'A decision record is not included in the tree the checkpoint commits to.',
  },
  RECORD_MISSING: { summary: 'A record is missing, duplicated or out of order.' },
  BUNDLE_INVALID: { summary: 'The evidence bundle is malformed.' },
  REPLAY_MISMATCH: {
    summary: 'A decision replayed on its recorded context gives another verdict than recorded.',
  },
  ATTESTATION_INVALID: {
    summary:
      "A stage attestation's list of targets is not in the bundle or is not the list its record names.",
  },
  RELEASE_NOT_SEALED: {
    summary: 'The release has not ended, so no seal closes its evidence yet.',
  },
} as const satisfies Record<string, { summary: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export class LockgateError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;

  constructor(
    code: ErrorCode,
    message: string,
    options: { details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LockgateError';
    this.code = code;
    this.details = options.details ?? {};
  }
}

export function isLockgateError(value: unknown): value is LockgateError {
  return value instanceof LockgateError;
}
