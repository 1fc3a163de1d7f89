/** The shapes the CLI reads from the server API (see the server's OpenAPI document). */

export interface PackSummary {
  digest: string;
  name: string;
  version: string;
  sequence: number;
  size: number;
  buildId: string;
  createdAt: string;
  pushedAt: string;
}

export interface GateRecord {
  name: string;
  status: string;
  details?: string;
}

export interface BuildView {
  id: string;
  status: string;
  gates: GateRecord[];
  packDigest: string | null;
  source?: { repo?: string; commit?: string };
  reportedAt?: string;
}

export interface TrustedKeyView {
  keyId: string;
  name?: string | null;
  publicKeyPem: string;
  addedAt: string;
}
