import type {
  ApiErrorBody,
  BuildRecord,
  Channel,
  CommandBody,
  CommandKind,
  DecisionRecord,
  Environment,
  EnvironmentDetail,
  Items,
  PackManifestResponse,
  PackSummary,
  Pin,
  PinBody,
  Release,
  ReleaseListQuery,
  ReleaseStatusResponse,
  Revocation,
  Session,
  SignInResponse,
  Target,
  TargetListQuery,
} from './wire-types.ts';

/** A refused or failed request: the server's code and sentence, or NETWORK for no answer. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: Record<string, unknown> | undefined;

  constructor(status: number, body: ApiErrorBody) {
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
      const error = parsed as Partial<ApiErrorBody> | null;
      throw new ApiError(response.status, {
        code: typeof error?.code === 'string' ? error.code : `HTTP_${response.status}`,
        message: typeof error?.message === 'string' ? error.message : response.statusText,
        ...(error?.details === undefined ? {} : { details: error.details }),
      });
    }
    return parsed as T;
  }

  session(): Promise<Session> {
    return this.request('GET', '/session');
  }

  signIn(code: string): Promise<SignInResponse> {
    return this.request('POST', '/console/sign-in', { code });
  }

  releases(q: ReleaseListQuery = {}): Promise<Items<Release>> {
    return this.request('GET', `/releases${query(q)}`);
  }

  release(id: string): Promise<ReleaseStatusResponse> {
    return this.request('GET', `/releases/${seg(id)}`);
  }

  timeline(id: string): Promise<Items<DecisionRecord>> {
    return this.request('GET', `/releases/${seg(id)}/timeline`);
  }

  command(id: string, kind: CommandKind, body: CommandBody): Promise<{ release: Release }> {
    return this.request('POST', `/releases/${seg(id)}/${kind}`, body);
  }

  environments(): Promise<Items<Environment>> {
    return this.request('GET', '/environments');
  }

  environment(env: string): Promise<EnvironmentDetail> {
    return this.request('GET', `/environments/${seg(env)}`);
  }

  channel(env: string, channel: string): Promise<{ channel: Channel }> {
    return this.request('GET', `/environments/${seg(env)}/channels/${seg(channel)}`);
  }

  setPin(env: string, channel: string, cohort: string, body: PinBody): Promise<{ pin: Pin }> {
    return this.request(
      'PUT',
      `/environments/${seg(env)}/channels/${seg(channel)}/pins/${seg(cohort)}`,
      body,
    );
  }

  clearPin(env: string, channel: string, cohort: string, reason: string): Promise<{ pin: Pin }> {
    return this.request(
      'DELETE',
      `/environments/${seg(env)}/channels/${seg(channel)}/pins/${seg(cohort)}`,
      { reason },
    );
  }

  targets(q: TargetListQuery = {}): Promise<Items<Target>> {
    return this.request('GET', `/targets${query(q)}`);
  }

  packs(limit = 1000): Promise<Items<PackSummary>> {
    return this.request('GET', `/packs${query({ limit })}`);
  }

  manifest(ref: string): Promise<PackManifestResponse> {
    return this.request('GET', `/packs/${seg(ref)}/manifest`);
  }

  build(id: string): Promise<{ build: BuildRecord }> {
    return this.request('GET', `/builds/${seg(id)}`);
  }

  revocations(): Promise<Items<Revocation>> {
    return this.request('GET', '/revocations');
  }

  revoke(digest: string, reason: string): Promise<unknown> {
    return this.request('POST', `/packs/${seg(digest)}/revoke`, { reason });
  }

  decisions(after = 0, limit = 1000): Promise<Items<DecisionRecord>> {
    return this.request('GET', `/decisions${query({ after, limit })}`);
  }
}
