/**
 * The one error type of Lockgate. Every refusal carries a stable string `code`,
 * a human sentence and optional structured `details`.
 */
export const ERROR_CODES = {
  // generic input / protocol
  BAD_REQUEST: { status: 400, summary: 'The request is malformed.' },
  VALIDATION_FAILED: {
    status: 400,
    summary: 'The request body, query or parameters do not match the schema.',
  },
  BODY_TOO_LARGE: { status: 413, summary: 'The request body exceeds the configured limit.' },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    summary: 'The request content type is not accepted here.',
  },
  UNAUTHORIZED: { status: 401, summary: 'A valid bearer token is required.' },
  FORBIDDEN: { status: 403, summary: 'The token may not perform this operation.' },
  NOT_FOUND: { status: 404, summary: 'No such resource.' },
  CONFLICT: { status: 409, summary: 'The request conflicts with the current state.' },
  ADDRESS_IN_USE: {
    status: 500,
    summary: 'The server cannot listen: another process holds the address.',
  },
  INTERNAL: { status: 500, summary: 'An unexpected error occurred.' },
  METHOD_NOT_ALLOWED: {
    status: 405,
    summary: 'The resource does not answer this method; the Allow header lists those it does.',
  },
  REQUEST_TIMEOUT: { status: 408, summary: 'The request did not arrive in time.' },
  HEADERS_TOO_LARGE: { status: 431, summary: 'The request headers exceed the size limit.' },
  // digests and keys
  DIGEST_INVALID: { status: 400, summary: 'A digest is not of the form sha256:<64 hex>.' },
  KEY_INVALID: { status: 400, summary: 'A key is not a valid Ed25519 key in PEM form.' },
  KEY_NOT_FOUND: { status: 404, summary: 'No trusted key has this id.' },
  // API tokens
  TOKEN_NOT_FOUND: { status: 404, summary: 'No API token has this name.' },
  // packs
  PACK_ARCHIVE_INVALID: {
    status: 422,
    summary: 'The pack file is not a readable tar archive of the expected layout.',
  },
  PACK_ARCHIVE_TOO_LARGE: {
    status: 413,
    summary: 'The pack file or one of its entries exceeds the size bounds.',
  },
  PACK_MANIFEST_INVALID: {
    status: 422,
    summary: 'The manifest does not parse or does not match lockgate.pack/v1.',
  },
  PACK_DIGEST_MISMATCH: { status: 422, summary: 'The pack digest differs from the one expected.' },
  PACK_SIGNATURE_INVALID: { status: 422, summary: 'A signature on the manifest does not verify.' },
  PACK_SIGNER_UNTRUSTED: { status: 422, summary: 'No signature is by a trusted key.' },
  PACK_FILE_MISSING: { status: 422, summary: 'A file listed in the manifest is not in the pack.' },
  PACK_FILE_HASH_MISMATCH: {
    status: 422,
    summary: 'A file differs in size or hash from the manifest.',
  },
  PACK_FILE_UNLISTED: { status: 422, summary: 'The pack holds a file the manifest does not list.' },
  PACK_NOT_FOUND: { status: 404, summary: 'No pack has this digest or name@version.' },
  PACK_VERSION_CONFLICT: {
    status: 409,
    summary: 'Another pack with this name and version is already stored.',
  },
  PACK_NOT_ELIGIBLE: { status: 422, summary: 'The pack is not eligible for release.' },
  // builds
  BUILD_GATE_FAILED: {
    status: 422,
    summary: 'A build gate did not pass, so the build produces no pack.',
  },
  BUILD_GATES_MISSING: {
    status: 422,
    summary: 'A build lists no gates, so nothing shows it passed.',
  },
  BUILD_INVALID: { status: 400, summary: 'The build record is malformed.' },
  BUILD_CONFLICT: { status: 409, summary: 'A different build with this id was already reported.' },
  BUILD_NOT_FOUND: { status: 404, summary: 'No build has this id.' },
  PROVENANCE_INCOMPLETE: { status: 422, summary: 'The pack provenance lacks required references.' },
  // environments, channels, targets, plans
  ENVIRONMENT_NOT_FOUND: { status: 404, summary: 'No environment has this name.' },
  CHANNEL_NOT_FOUND: { status: 404, summary: 'No channel has this name in the environment.' },
  TARGET_NOT_FOUND: { status: 404, summary: 'No target has this id.' },
  SELECTOR_INVALID: { status: 400, summary: 'A label selector is malformed.' },
  COHORT_INVALID: { status: 400, summary: 'A cohort is malformed.' },
  PLAN_INVALID: { status: 400, summary: 'A rollout plan is malformed.' },
  PLAN_NOT_FOUND: { status: 404, summary: 'No plan has this name.' },
  VERSION_CONFLICT: {
    status: 409,
    summary: 'The record changed since it was read; retry with the new version.',
  },
  // releases
  RELEASE_NOT_FOUND: { status: 404, summary: 'No release has this id.' },
  RELEASE_NOT_ELIGIBLE: { status: 422, summary: 'The pack may not be released into this channel.' },
  RELEASE_STATE_INVALID: {
    status: 409,
    summary: 'The release is not in a state that allows this command.',
  },
  RELEASE_CONFLICT: { status: 409, summary: 'Another release is active in this channel.' },
  RELEASE_BELOW_FLOOR: {
    status: 422,
    summary: 'The pack sequence is below the channel downgrade floor.',
  },
  PACK_REVOKED: { status: 422, summary: 'The pack is revoked.' },
  PACK_INCOMPATIBLE: {
    status: 422,
    summary: 'The pack requirements do not match the channel constraints.',
  },
  EVIDENCE_MISSING: { status: 422, summary: 'Required evidence for the pack is missing.' },
  APPROVAL_SELF: { status: 403, summary: 'The requester of a release cannot approve it.' },
  APPROVAL_DUPLICATE: { status: 409, summary: 'This principal already approved this stage.' },
  FREEZE_ACTIVE: { status: 409, summary: 'A freeze window is in effect.' },
  PIN_NOT_FOUND: { status: 404, summary: 'No pin is set on this scope.' },
  PIN_INVALID: { status: 400, summary: 'A pin is malformed (reason, expiry or pack).' },
  ROLLBACK_TARGET_MISSING: {
    status: 409,
    summary: 'There is no pin or last-known-good pack to roll back to.',
  },
  ROLLBACK_TARGET_NOT_ALLOWED: {
    status: 409,
    summary:
      'No pack the channel allows (not revoked, at or above the floor or authorized) is left to roll back to.',
  },
  FLOOR_ABOVE_BASE: {
    status: 409,
    summary:
      "The new floor is above the channel's base, whose targets would be left without a pack; confirm to do it anyway.",
  },
  ROLLBACK_AUTHORIZATION_NOT_FOUND: {
    status: 404,
    summary: 'No unexpired rollback authorization has this id in the channel.',
  },
  // channel index
  INDEX_INVALID: {
    status: 422,
    summary: 'The channel index does not parse or does not match its schema.',
  },
  INDEX_SIGNATURE_INVALID: { status: 422, summary: 'The channel index signature does not verify.' },
  INDEX_SIGNER_UNTRUSTED: {
    status: 422,
    summary: 'The channel index is not signed by a trusted server key.',
  },
  INDEX_EXPIRED: { status: 422, summary: 'The channel index has expired.' },
  INDEX_REPLAYED: {
    status: 422,
    summary: 'The channel index version is lower than one already seen.',
  },
  // transparency log and evidence
  LOG_ENTRY_NOT_FOUND: { status: 404, summary: 'The log has no entry with this seq.' },
  LOG_SIZE_INVALID: {
    status: 400,
    summary: 'A tree size or leaf index is out of range for the log as it stands.',
  },
  LOG_SPLIT_VIEW: {
    status: 409,
    summary:
      'A checkpoint is not consistent with one seen before: the log forked or was rewritten.',
  },
  PROOF_INVALID: { status: 422, summary: 'A Merkle proof is malformed or does not verify.' },
  CHECKPOINT_INVALID: {
    status: 422,
    summary: 'A checkpoint or signed note does not parse as its C2SP format.',
  },
  CHECKPOINT_SIGNATURE_INVALID: {
    status: 422,
    summary: 'A signature on the checkpoint by a known key does not verify.',
  },
  CHECKPOINT_SIGNER_UNTRUSTED: {
    status: 422,
    summary: 'The checkpoint carries no signature by the trusted log key.',
  },
  COSIGNATURE_INVALID: {
    status: 422,
    summary: 'A witness cosignature is malformed, by an unknown witness, or does not verify.',
  },
  WITNESS_QUORUM_NOT_MET: {
    status: 422,
    summary: 'Fewer trusted witnesses cosigned the checkpoint than required.',
  },
  ENVELOPE_INVALID: { status: 422, summary: 'A DSSE envelope or in-toto statement is malformed.' },
  RECORD_SIGNATURE_INVALID: {
    status: 422,
    summary: "A decision record's envelope signature does not verify with the log key.",
  },
  RECORD_NOT_INCLUDED: {
    status: 422,
    summary: 'A decision record is not included in the tree the checkpoint commits to.',
  },
  RECORD_MISSING: { status: 422, summary: 'A record is missing, duplicated or out of order.' },
  BUNDLE_INVALID: { status: 422, summary: 'The evidence bundle is malformed.' },
  REPLAY_MISMATCH: {
    status: 422,
    summary: 'A decision replayed on its recorded context gives another verdict than recorded.',
  },
  RELEASE_NOT_SEALED: {
    status: 409,
    summary: 'The release has not ended, so no seal closes its evidence yet.',
  },
} as const satisfies Record<string, { status: number; summary: string }>;

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

export function httpStatusOf(code: ErrorCode): number {
  return ERROR_CODES[code].status;
}
