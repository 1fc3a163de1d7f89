/**
 * The HTTP status of every error code of Lockgate (the code list and sentences are core's
 * ERROR_CODES; this is how the API answers each one). The server's error handler answers with
 * it; clients read it to tell a refusal (4xx) from a failure (5xx) without a round trip.
 */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';

export const ERROR_STATUS = {
  // generic input / protocol
  BAD_REQUEST: 400,
  VALIDATION_FAILED: 400,
  BODY_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  ADDRESS_IN_USE: 500,
  INTERNAL: 500,
  METHOD_NOT_ALLOWED: 405,
  REQUEST_TIMEOUT: 408,
  HEADERS_TOO_LARGE: 431,
  // digests and keys
  DIGEST_INVALID: 400,
  KEY_INVALID: 400,
  KEY_NOT_FOUND: 404,
  // API tokens
  TOKEN_NOT_FOUND: 404,
  // packs
  PACK_ARCHIVE_INVALID: 422,
  PACK_ARCHIVE_TOO_LARGE: 413,
  PACK_MANIFEST_INVALID: 422,
  PACK_DIGEST_MISMATCH: 422,
  PACK_SIGNATURE_INVALID: 422,
  PACK_SIGNER_UNTRUSTED: 422,
  PACK_FILE_MISSING: 422,
  PACK_FILE_HASH_MISMATCH: 422,
  PACK_FILE_UNLISTED: 422,
  PACK_NOT_FOUND: 404,
  PACK_VERSION_CONFLICT: 409,
  PACK_NOT_ELIGIBLE: 422,
  // builds
  BUILD_GATE_FAILED: 422,
  BUILD_GATES_MISSING: 422,
  BUILD_INVALID: 400,
  BUILD_CONFLICT: 409,
  BUILD_NOT_FOUND: 404,
  PROVENANCE_INCOMPLETE: 422,
  // environments, channels, targets, plans
  ENVIRONMENT_NOT_FOUND: 404,
  CHANNEL_NOT_FOUND: 404,
  TARGET_NOT_FOUND: 404,
  REPORTS_BACKLOGGED: 429,
  SELECTOR_INVALID: 400,
  COHORT_INVALID: 400,
  PLAN_INVALID: 400,
  PLAN_NOT_FOUND: 404,
  VERSION_CONFLICT: 409,
  // releases
  RELEASE_NOT_FOUND: 404,
  RELEASE_NOT_ELIGIBLE: 422,
  RELEASE_STATE_INVALID: 409,
  RELEASE_CONFLICT: 409,
  RELEASE_BELOW_FLOOR: 422,
  PACK_REVOKED: 422,
  PACK_INCOMPATIBLE: 422,
  EVIDENCE_MISSING: 422,
  APPROVAL_SELF: 403,
  APPROVAL_DUPLICATE: 409,
  FREEZE_ACTIVE: 409,
  PIN_NOT_FOUND: 404,
  PIN_INVALID: 400,
  ROLLBACK_TARGET_MISSING: 409,
  ROLLBACK_TARGET_NOT_ALLOWED: 409,
  FLOOR_ABOVE_BASE: 409,
  ROLLBACK_AUTHORIZATION_NOT_FOUND: 404,
  // channel index
  INDEX_INVALID: 422,
  INDEX_SIGNATURE_INVALID: 422,
  INDEX_SIGNER_UNTRUSTED: 422,
  INDEX_EXPIRED: 422,
  INDEX_REPLAYED: 422,
  // webhooks
  WEBHOOK_NOT_FOUND: 404,
  // backup and restore
  BACKUP_INVALID: 422,
  BACKUP_PASSPHRASE_INVALID: 422,
  RESTORE_VERIFICATION_FAILED: 422,
  RESTORE_TARGET_NOT_EMPTY: 409,
  // transparency log and evidence
  LOG_ENTRY_NOT_FOUND: 404,
  LOG_SIZE_INVALID: 400,
  LOG_SPLIT_VIEW: 409,
  PROOF_INVALID: 422,
  CHECKPOINT_INVALID: 422,
  CHECKPOINT_SIGNATURE_INVALID: 422,
  CHECKPOINT_SIGNER_UNTRUSTED: 422,
  COSIGNATURE_INVALID: 422,
  WITNESS_QUORUM_NOT_MET: 422,
  ENVELOPE_INVALID: 422,
  RECORD_SIGNATURE_INVALID: 422,
  RECORD_NOT_INCLUDED: 422,
  RECORD_MISSING: 422,
  BUNDLE_INVALID: 422,
  REPLAY_MISMATCH: 422,
  ATTESTATION_INVALID: 422,
  RELEASE_NOT_SEALED: 409,
} as const satisfies Record<string, number>;

/** A code of the error list (the same list as core's `ErrorCode`; a server test holds them equal). */
export type ApiErrorCode = keyof typeof ERROR_STATUS;

/** The HTTP status answered for `code`. */
export function httpStatusOf(code: ApiErrorCode): number {
  return ERROR_STATUS[code];
}

/** Whether `code` is a code of the list (an answer from a newer server may carry one that is not). */
export function isApiErrorCode(code: string): code is ApiErrorCode {
  return Object.hasOwn(ERROR_STATUS, code);
}

/** The body of every error answer. */
export const ErrorSchema = Type.Object(
  {
    code: Type.String({ description: 'A stable code from the list of error codes.' }),
    message: Type.String(),
    details: Type.Optional(Type.Object({}, { additionalProperties: true })),
  },
  { $id: 'LockgateError', additionalProperties: false },
);

export type ErrorBody = Static<typeof ErrorSchema>;

/** Error responses every route may answer with, for the OpenAPI document. */
export const errorResponses = {
  '4xx': Type.Ref(ErrorSchema),
  '5xx': Type.Ref(ErrorSchema),
};
