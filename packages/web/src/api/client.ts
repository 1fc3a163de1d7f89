import type {
  ActiveFreezeListResponse,
  AddFreezeWindowBody,
  BuildResponse,
  ChannelResponse,
  CommandKind,
  ConsoleSessionView,
  ConsoleSignInResponse,
  DecisionListResponse,
  DsseEnvelopeView,
  EnvironmentDetailResponse,
  EnvironmentListResponse,
  ErrorBody,
  FreezeWindowResponse,
  PackListResponse,
  PackManifestResponse,
  PinResponse,
  ReleaseCommandBody,
  ReleaseListQuery,
  ReleaseListResponse,
  ReleaseResponse,
  ReleaseStatusResponse,
  ReleaseTimelineResponse,
  RevocationListResponse,
  RevokePackResponse,
  RollbackPreviewQuery,
  RollbackPreviewResponse,
  SetPinBody,
  StopTheLineBody,
  TargetListQuery,
  TargetListResponse,
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

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
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
}
