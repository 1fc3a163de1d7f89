import type {
  ActiveFreezeListResponse,
  AddFreezeWindowBody,
  BuildResponse,
  ChannelResponse,
  CommandKind,
  ConsoleSessionView,
  ConsoleSignInResponse,
  CreateReleaseBody,
  CreateReplayBody,
  DecisionListResponse,
  DsseEnvelopeView,
  EnvironmentDetailResponse,
  EnvironmentListResponse,
  ErrorBody,
  FreezeWindowResponse,
  InclusionProofView,
  LogEntryView,
  LogKeyView,
  PackListResponse,
  PackManifestResponse,
  PinResponse,
  PlanListResponse,
  ReleaseCommandBody,
  ReleaseEvidenceView,
  ReleaseListQuery,
  ReleaseListResponse,
  ReleaseResponse,
  ReleaseStatusResponse,
  ReleaseTimelineResponse,
  ReplayListResponse,
  ReplayResponse,
  RevocationListResponse,
  RevokePackResponse,
  RollbackPreviewQuery,
  RollbackPreviewResponse,
  SetPinBody,
  StopTheLineBody,
  TargetListQuery,
  TargetListResponse,
  TrustedKeyListResponse,
} from '@lockgate/api';

/** A list query as the console writes it: limits as numbers (the wire carries them as text). */
type WithLimit<Q> = Omit<Q, 'limit'> & { limit?: number };

/** A refused or failed request: the server's code and sentence, or NETWORK for no answer. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: Record<string, unknown> | undefined;

  constructor(status: number, body: ErrorBody) {
    super(body.message);
    this.name = 'ApiError';
    this.status = status;
    this.code = body.code;
    this.details = body.details;
  }
}

const API = '/api/v1';

function query(params: object): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== '') search.set(key, String(value));
  }
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}

const seg = encodeURIComponent;

/** The one way the console talks to the server: JSON over fetch with the bearer token. */
export class ApiClient {
  readonly token: string;
  private readonly fetcher: typeof fetch;

  constructor(token: string, fetcher: typeof fetch = (...args) => fetch(...args)) {
    this.token = token;
    this.fetcher = fetcher;
  }

  private async send(method: string, path: string, body?: unknown): Promise<Response> {
    let response: Response;
    try {
      response = await this.fetcher(`${API}${path}`, {
        method,
        headers: {
          accept: 'application/json',
          ...(this.token === '' ? {} : { authorization: `Bearer ${this.token}` }),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch {
      throw new ApiError(0, { code: 'NETWORK', message: 'The server did not answer.' });
    }
    return response;
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await this.send(method, path, body);
    const text = await response.text();
    let parsed: unknown = null;
    try {
      parsed = text === '' ? null : JSON.parse(text);
    } catch {
      parsed = null;
    }
    if (!response.ok) {
      const error = parsed as Partial<ErrorBody> | null;
      throw new ApiError(response.status, {
        code: typeof error?.code === 'string' ? error.code : `HTTP_${response.status}`,
        message: typeof error?.message === 'string' ? error.message : response.statusText,
        ...(error?.details === undefined ? {} : { details: error.details }),
      });
    }
    return parsed as T;
  }

  session(): Promise<ConsoleSessionView> {
    return this.request('GET', '/session');
  }

  signIn(code: string): Promise<ConsoleSignInResponse> {
    return this.request('POST', '/console/sign-in', { code });
  }

  releases(q: WithLimit<ReleaseListQuery> = {}): Promise<ReleaseListResponse> {
    return this.request('GET', `/releases${query(q)}`);
  }

  release(id: string): Promise<ReleaseStatusResponse> {
    return this.request('GET', `/releases/${seg(id)}`);
  }

  timeline(id: string): Promise<ReleaseTimelineResponse> {
    return this.request('GET', `/releases/${seg(id)}/timeline`);
  }

  command(id: string, kind: CommandKind, body: ReleaseCommandBody): Promise<ReleaseResponse> {
    return this.request('POST', `/releases/${seg(id)}/${kind}`, body);
  }

  environments(): Promise<EnvironmentListResponse> {
    return this.request('GET', '/environments');
  }

  environment(env: string): Promise<EnvironmentDetailResponse> {
    return this.request('GET', `/environments/${seg(env)}`);
  }

  channel(env: string, channel: string): Promise<ChannelResponse> {
    return this.request('GET', `/environments/${seg(env)}/channels/${seg(channel)}`);
  }

  setPin(env: string, channel: string, cohort: string, body: SetPinBody): Promise<PinResponse> {
    return this.request(
      'PUT',
      `/environments/${seg(env)}/channels/${seg(channel)}/pins/${seg(cohort)}`,
      body,
    );
  }

  clearPin(env: string, channel: string, cohort: string, reason: string): Promise<PinResponse> {
    return this.request(
      'DELETE',
      `/environments/${seg(env)}/channels/${seg(channel)}/pins/${seg(cohort)}`,
      { reason },
    );
  }

  targets(q: WithLimit<TargetListQuery> = {}): Promise<TargetListResponse> {
    return this.request('GET', `/targets${query(q)}`);
  }

  packs(limit = 1000): Promise<PackListResponse> {
    return this.request('GET', `/packs${query({ limit })}`);
  }

  manifest(ref: string): Promise<PackManifestResponse> {
    return this.request('GET', `/packs/${seg(ref)}/manifest`);
  }

  build(id: string): Promise<BuildResponse> {
    return this.request('GET', `/builds/${seg(id)}`);
  }

  revocations(): Promise<RevocationListResponse> {
    return this.request('GET', '/revocations');
  }

  revoke(digest: string, reason: string): Promise<RevokePackResponse> {
    return this.request('POST', `/packs/${seg(digest)}/revoke`, { reason });
  }

  decisions(after = 0, limit = 1000): Promise<DecisionListResponse> {
    return this.request('GET', `/decisions${query({ after, limit })}`);
  }

  rollbackPreview(id: string, q: RollbackPreviewQuery = {}): Promise<RollbackPreviewResponse> {
    return this.request('GET', `/releases/${seg(id)}/rollback-preview${query(q)}`);
  }

  /** The channel's signed index (a DSSE envelope; its payload is base64 JSON). */
  channelIndex(env: string, channel: string): Promise<DsseEnvelopeView> {
    return this.request('GET', `/channels/${seg(env)}/${seg(channel)}/index`);
  }

  addFreezeWindow(env: string, body: AddFreezeWindowBody): Promise<FreezeWindowResponse> {
    return this.request('POST', `/environments/${seg(env)}/freeze-windows`, body);
  }

  removeFreezeWindow(env: string, id: string, reason: string): Promise<FreezeWindowResponse> {
    return this.request('DELETE', `/environments/${seg(env)}/freeze-windows/${seg(id)}`, {
      reason,
    });
  }

  /** Every freeze in effect now (windows, stop the line, error budget). */
  freezes(): Promise<ActiveFreezeListResponse> {
    return this.request('GET', '/freezes');
  }

  stopTheLine(body: StopTheLineBody): Promise<ActiveFreezeListResponse> {
    return this.request('POST', '/freezes', body);
  }

  liftFreezes(reason: string): Promise<ActiveFreezeListResponse> {
    return this.request('POST', '/freezes/lift', { reason });
  }

  createRelease(body: CreateReleaseBody): Promise<ReleaseResponse> {
    return this.request('POST', '/releases', body);
  }

  plans(): Promise<PlanListResponse> {
    return this.request('GET', '/plans');
  }

  /** A release's evidence timeline: each run checkpoint, sealed or pending. */
  evidence(id: string): Promise<ReleaseEvidenceView> {
    return this.request('GET', `/releases/${seg(id)}/evidence`);
  }

  /** The bytes of an ended release's evidence bundle (.tar.gz) and the name the server gives it. */
  async evidenceBundle(id: string): Promise<{ blob: Blob; filename: string }> {
    const response = await this.send('GET', `/releases/${seg(id)}/evidence/bundle`);
    if (!response.ok) {
      let error: Partial<ErrorBody> | null = null;
      try {
        error = (await response.json()) as Partial<ErrorBody>;
      } catch {
        error = null;
      }
      throw new ApiError(response.status, {
        code: typeof error?.code === 'string' ? error.code : `HTTP_${response.status}`,
        message: typeof error?.message === 'string' ? error.message : response.statusText,
      });
    }
    const named = /filename="([^"]+)"/.exec(response.headers.get('content-disposition') ?? '');
    return { blob: await response.blob(), filename: named?.[1] ?? `${id}.evidence.tar.gz` };
  }

  logKey(): Promise<LogKeyView> {
    return this.request('GET', '/log/key');
  }

  logEntry(seq: number): Promise<LogEntryView> {
    return this.request('GET', `/log/entries/${seq}`);
  }

  /** The audit path of record `seq` to the latest checkpoint. */
  inclusion(seq: number): Promise<InclusionProofView> {
    return this.request('GET', `/log/proofs/inclusion${query({ seq })}`);
  }

  trustedKeys(): Promise<TrustedKeyListResponse> {
    return this.request('GET', '/trust/keys');
  }

  replays(id: string, limit = 50): Promise<ReplayListResponse> {
    return this.request('GET', `/releases/${seg(id)}/replays${query({ limit })}`);
  }

  replay(id: string, body: CreateReplayBody): Promise<ReplayResponse> {
    return this.request('POST', `/releases/${seg(id)}/replays`, body);
  }
}
