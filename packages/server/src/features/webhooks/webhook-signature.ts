/**
 * Webhook signatures: HMAC-SHA256 over `<timestamp>.<body>`, sent as
 * `Lockgate-Signature: t=<unix seconds>,v1=<hex>`.
 *
 * The timestamp is inside what is signed, so a receiver that refuses timestamps outside a
 * tolerance (default 300 s) and remembers the delivery ids it accepted within that tolerance
 * cannot be replayed: an old body cannot be given a new time without the secret. Several `v1=`
 * values may appear (a secret being rotated); one matching is enough. Comparison is constant
 * time.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'lockgate-signature';
export const EVENT_HEADER = 'lockgate-event';
export const DELIVERY_HEADER = 'lockgate-delivery';
export const DEFAULT_SIGNATURE_TOLERANCE_SECONDS = 300;

/** The hex HMAC-SHA256 of `<timestamp>.<body>` under the secret. */
export function webhookSignature(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex');
}

/** The signature header value for a body sent at `timestamp` (unix seconds). */
export function signatureHeader(secret: string, timestamp: number, body: string): string {
  return `t=${timestamp},v1=${webhookSignature(secret, timestamp, body)}`;
}

export type SignatureCheck =
  | { ok: true; timestamp: number }
  | { ok: false; problem: 'malformed' | 'too_old' | 'too_new' | 'mismatch' };

/**
 * Checks a signature header against the raw body as received, at `nowSeconds`: the header
 * parses, its timestamp is within `toleranceSeconds` of now (either way), and one v1 value is
 * the HMAC of `<t>.<body>`.
 */
export function verifyWebhookSignature(
  secret: string,
  header: string | undefined,
  body: string,
  nowSeconds: number,
  toleranceSeconds = DEFAULT_SIGNATURE_TOLERANCE_SECONDS,
): SignatureCheck {
  let timestamp: number | null = null;
  const candidates: string[] = [];
  for (const part of (header ?? '').split(',')) {
    const [key, value] = part.trim().split('=', 2);
    if (key === 't' && value !== undefined && /^\d{1,12}$/.test(value)) timestamp = Number(value);
    if (key === 'v1' && value !== undefined && /^[0-9a-f]{64}$/.test(value)) candidates.push(value);
  }
  if (timestamp === null || candidates.length === 0) return { ok: false, problem: 'malformed' };
  if (timestamp < nowSeconds - toleranceSeconds) return { ok: false, problem: 'too_old' };
  if (timestamp > nowSeconds + toleranceSeconds) return { ok: false, problem: 'too_new' };
  const expected = Buffer.from(webhookSignature(secret, timestamp, body), 'hex');
  const match = candidates.some((candidate) =>
    timingSafeEqual(Buffer.from(candidate, 'hex'), expected),
  );
  return match ? { ok: true, timestamp } : { ok: false, problem: 'mismatch' };
}
