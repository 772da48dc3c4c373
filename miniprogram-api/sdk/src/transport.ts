// The wx.request transport: login, the session token in wx storage, one re-login on 401,
// an X-Request-ID on every call, and bounded retries that send the same body (and so the
// same request_id) again after a network error or a 503 with Retry-After.
import type { ApiPath, ErrorBody, LoginResponse } from './contract';

/**
 * The wx functions the SDK calls, typed by WeChat's official typings
 * (miniprogram-api-typings): a call the platform does not allow does not compile.
 */
export type Wx = Pick<
  WechatMiniprogram.Wx,
  | 'request'
  | 'login'
  | 'getStorageSync'
  | 'setStorageSync'
  | 'removeStorageSync'
  | 'onNetworkStatusChange'
  | 'getNetworkType'
  | 'requestSubscribeMessage'
>;

/** The methods wx.request can send (it has no PATCH). */
export type WxMethod = NonNullable<WechatMiniprogram.RequestOption['method']>;

/** Settings of a Client. */
export interface ClientOptions {
  /** The API's origin, e.g. `https://xf.example.cn` (a request legal domain of the mini-program). */
  baseURL: string;
  /** The wx object; the global `wx` when left out. */
  wx?: Wx;
  /** Prefix of the storage keys the SDK writes; `xianfeng.` by default. */
  storagePrefix?: string;
  /** Attempts per call, the first included, for retryable failures; 3 by default. */
  maxAttempts?: number;
  /** Wait before the second attempt when the server names none; doubles after; 500 ms by default. */
  baseDelayMs?: number;
  /** Upper bound of any wait between attempts, Retry-After included; 10 s by default. */
  maxDelayMs?: number;
  /** wx.request timeout; 15 s by default. */
  timeoutMs?: number;
  /** Waits between attempts (replaceable in tests). */
  sleep?: (ms: number) => Promise<void>;
  /** Makes request ids (X-Request-ID and body request_id). */
  newId?: () => string;
}

/** What one call answers when it succeeds. */
export interface Answer<T> {
  status: number;
  data: T;
  /** The X-Request-ID of the answer (the one the SDK sent). */
  requestId: string;
}

/** An answer with an error status: `code` for programs, `message` for the member. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly fields: Record<string, string>;
  readonly requestId: string;
  readonly retryAfterSeconds: number | null;

  constructor(status: number, body: unknown, requestId: string, retryAfterSeconds: number | null) {
    const err = (body as Partial<ErrorBody> | null)?.error;
    super(err?.message ?? `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.code = err?.code ?? 'http_' + status;
    this.fields = err?.fields ?? {};
    this.requestId = requestId;
    this.retryAfterSeconds = retryAfterSeconds;
  }

  /** True when sending the same request later cannot change the answer (a 4xx other than 401, 408 and 429). */
  get definitive(): boolean {
    return this.status >= 400 && this.status < 500 && this.status !== 401 && this.status !== 408 && this.status !== 429;
  }
}

/** wx.request failed without an answer (no network, timeout, DNS, TLS); every attempt failed. */
export class NetworkError extends Error {
  readonly errMsg: string;
  readonly requestId: string;

  constructor(errMsg: string, requestId: string) {
    super(errMsg);
    this.name = 'NetworkError';
    this.errMsg = errMsg;
    this.requestId = requestId;
  }
}

/** One call through the Client. */
export interface CallOptions {
  method: WxMethod;
  path: ApiPath;
  /** Values for `{name}` in the path. */
  params?: Record<string, string | number>;
  query?: Record<string, string | number | boolean | undefined>;
  body?: object;
  /** Send the session token (and log in first when there is none); true by default. */
  auth?: boolean;
  /** Send as POST with `X-HTTP-Method-Override: PATCH` (the contract's two ...ByPost operations). */
  overridePatch?: boolean;
  /**
   * May the call be sent again after a network error or a 503 with Retry-After? By default
   * GET and HEAD, and any call whose body carries a `request_id` (the server answers a repeat
   * with the first result).
   */
  retry?: boolean;
}

interface RawAnswer {
  status: number;
  data: unknown;
  header: Record<string, string>;
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A random RFC 4122 version 4 id (the mini-program has no crypto.randomUUID). */
export function newRequestId(): string {
  const hex = '0123456789abcdef';
  let out = '';
  for (let i = 0; i < 36; i++) {
    if (i === 8 || i === 13 || i === 18 || i === 23) out += '-';
    else if (i === 14) out += '4';
    else if (i === 19) out += hex[8 + Math.floor(Math.random() * 4)];
    else out += hex[Math.floor(Math.random() * 16)];
  }
  return out;
}

function headerValue(header: Record<string, string> | undefined, name: string): string | undefined {
  if (!header) return undefined;
  const lower = name.toLowerCase();
  for (const key of Object.keys(header)) {
    if (key.toLowerCase() === lower) return header[key];
  }
  return undefined;
}

function retryAfter(header: Record<string, string>): number | null {
  const v = headerValue(header, 'Retry-After');
  if (v === undefined || !/^\d+$/.test(v.trim())) return null;
  return Number(v.trim());
}

function globalWx(): Wx {
  if (typeof wx === 'undefined') throw new Error('xianfeng sdk: no global wx; pass options.wx');
  return wx;
}

/** The transport every helper goes through. */
export class Client {
  readonly wx: Wx;
  readonly newId: () => string;
  private readonly baseURL: string;
  private readonly tokenKey: string;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly timeoutMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private loggingIn: Promise<LoginResponse> | null = null;
  readonly storagePrefix: string;

  constructor(opts: ClientOptions) {
    this.wx = opts.wx ?? globalWx();
    this.baseURL = opts.baseURL.replace(/\/+$/, '');
    this.storagePrefix = opts.storagePrefix ?? 'xianfeng.';
    this.tokenKey = this.storagePrefix + 'token';
    this.maxAttempts = Math.max(1, opts.maxAttempts ?? 3);
    this.baseDelayMs = opts.baseDelayMs ?? 500;
    this.maxDelayMs = opts.maxDelayMs ?? 10_000;
    this.timeoutMs = opts.timeoutMs ?? 15_000;
    this.sleep = opts.sleep ?? defaultSleep;
    this.newId = opts.newId ?? newRequestId;
  }

  /** The stored session token, or '' when signed out. */
  token(): string {
    const t: unknown = this.wx.getStorageSync(this.tokenKey);
    return typeof t === 'string' ? t : '';
  }

  /** Forgets the session token on this phone (the server session stays until logout). */
  clearToken(): void {
    this.wx.removeStorageSync(this.tokenKey);
  }

  /**
   * Signs in: wx.login, then POST /api/v1/auth/login with its code; stores the token.
   * Concurrent callers share one login.
   */
  login(): Promise<LoginResponse> {
    if (!this.loggingIn) {
      const done = () => {
        this.loggingIn = null;
      };
      this.loggingIn = this.doLogin();
      this.loggingIn.then(done, done);
    }
    return this.loggingIn;
  }

  private async doLogin(): Promise<LoginResponse> {
    const code = await new Promise<string>((resolve, reject) => {
      this.wx.login({
        success: (res) => resolve(res.code),
        fail: (err) => reject(new NetworkError(err.errMsg, '')),
      });
    });
    // A login code works once: no retry with the same code.
    const res = await this.call<LoginResponse>({
      method: 'POST',
      path: '/api/v1/auth/login',
      body: { code },
      auth: false,
      retry: false,
    });
    this.wx.setStorageSync(this.tokenKey, res.data.token);
    return res.data;
  }

  /** Sends one call of the contract; throws ApiError on an error status and NetworkError when no answer came. */
  async call<T>(opts: CallOptions): Promise<Answer<T>> {
    const auth = opts.auth ?? true;
    if (auth && !this.token()) await this.login();
    let answer = await this.withRetries(opts, auth);
    if (answer.status === 401 && auth) {
      // The session ended (logout elsewhere, expiry): sign in again, once.
      this.clearToken();
      await this.login();
      answer = await this.withRetries(opts, auth);
    }
    if (answer.status >= 200 && answer.status < 300) return answer as Answer<T>;
    throw new ApiError(answer.status, answer.data, answer.requestId, answer.retryAfter);
  }

  private async withRetries(
    opts: CallOptions,
    auth: boolean,
  ): Promise<RawAnswer & { requestId: string; retryAfter: number | null }> {
    const requestId = this.newId();
    const body = opts.body as Record<string, unknown> | undefined;
    const retryable =
      opts.retry ??
      (opts.method === 'GET' || opts.method === 'HEAD' || (body !== undefined && typeof body.request_id === 'string'));
    const attempts = retryable ? this.maxAttempts : 1;
    for (let attempt = 1; ; attempt++) {
      let raw: RawAnswer;
      try {
        raw = await this.send(opts, auth, requestId);
      } catch (err) {
        if (!(err instanceof NetworkError) || attempt >= attempts) throw err;
        await this.sleep(Math.min(this.baseDelayMs * 2 ** (attempt - 1), this.maxDelayMs));
        continue;
      }
      const ra = retryAfter(raw.header);
      if (raw.status === 503 && ra !== null && attempt < attempts) {
        await this.sleep(Math.min(ra * 1000, this.maxDelayMs));
        continue;
      }
      return { ...raw, requestId: headerValue(raw.header, 'X-Request-ID') ?? requestId, retryAfter: ra };
    }
  }

  private url(opts: CallOptions): string {
    let path: string = opts.path;
    for (const [name, value] of Object.entries(opts.params ?? {})) {
      path = path.replace('{' + name + '}', encodeURIComponent(String(value)));
    }
    if (path.includes('{')) throw new Error(`xianfeng sdk: missing a path parameter in ${path}`);
    const q = Object.entries(opts.query ?? {})
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => encodeURIComponent(k) + '=' + encodeURIComponent(String(v)))
      .join('&');
    return this.baseURL + path + (q ? '?' + q : '');
  }

  private send(opts: CallOptions, auth: boolean, requestId: string): Promise<RawAnswer> {
    const header: Record<string, string> = { 'X-Request-ID': requestId };
    if (opts.body !== undefined) header['Content-Type'] = 'application/json';
    if (auth) header.Authorization = 'Bearer ' + this.token();
    let method = opts.method;
    if (opts.overridePatch) {
      method = 'POST';
      header['X-HTTP-Method-Override'] = 'PATCH';
    }
    return new Promise<RawAnswer>((resolve, reject) => {
      this.wx.request({
        url: this.url(opts),
        method,
        header,
        data: opts.body,
        dataType: 'json',
        timeout: this.timeoutMs,
        success: (res) =>
          resolve({ status: res.statusCode, data: res.data, header: res.header as Record<string, string> }),
        fail: (err) => reject(new NetworkError(err.errMsg, requestId)),
      });
    });
  }
}
