import type { StoredWebhook } from '../../src/features/webhooks/webhook-store.ts';

/** A stored webhook subscription named `name` (all events, JSON), made at `createdAt`. */
export function storedWebhook(
  name: string,
  createdAt: string,
  overrides: Partial<StoredWebhook> = {},
): StoredWebhook {
  return {
    id: `whk_${name}`,
    name,
    url: `http://127.0.0.1:9/${name}`,
    format: 'json',
    events: ['*'],
    secret: 'whsec_0123456789abcdef',
    createdAt,
    createdBy: 'admin',
    ...overrides,
  };
}
