// A stand-in for the few wx.* functions the SDK uses, over Node's HTTP and an in-memory
// storage, with a switch for the network and one-shot faults.
import * as http from 'node:http';
import type { Wx } from '../src/transport';

/** A request the shim saw (sent to the server or not). */
export interface SeenRequest {
  method: string;
  url: string;
  header: Record<string, string>;
  body: unknown;
}

/**
 * A one-shot fault for the next request: `lose-answer` sends it to the server and then
 * reports a network failure (the server acted, the phone never heard); `503` answers
 * 503 with Retry-After without reaching the server.
 */
export type Fault = 'lose-answer' | { status: 503; retryAfter: string };

type Callbacks = {
  success?: (res: never) => void;
  fail?: (err: { errMsg: string }) => void;
  complete?: (res: { errMsg: string }) => void;
};

function fail(opts: Callbacks, errMsg: string): void {
  setImmediate(() => {
    opts.fail?.({ errMsg });
    opts.complete?.({ errMsg });
  });
}

function succeed(opts: Callbacks, res: object): void {
  setImmediate(() => {
    (opts.success as ((r: object) => void) | undefined)?.(res);
    opts.complete?.(res as { errMsg: string });
  });
}

/** One phone: its storage, its network, its WeChat identity. */
export class WxShim {
  readonly storage = new Map<string, string>();
  readonly seen: SeenRequest[] = [];
  readonly faults: Fault[] = [];
  /** Asked subscribe templates, per prompt. */
  readonly prompts: string[][] = [];
  /** What the member answers in the subscribe prompt, per template id. */
  subscribeAnswer: (tmplId: string) => 'accept' | 'reject' = () => 'accept';
  private online = true;
  private listeners: Array<(res: { isConnected: boolean; networkType: 'wifi' | 'none' }) => void> = [];
  private logins = 0;

  /** `name` makes the mock login code `mock:<name>`, so every login is the same WeChat user. */
  constructor(private readonly name: string) {}

  /** How many times wx.login ran. */
  get loginCount(): number {
    return this.logins;
  }

  /** Turns the network off or on, telling onNetworkStatusChange listeners as WeChat does. */
  setOnline(online: boolean): void {
    this.online = online;
    for (const l of this.listeners) l({ isConnected: online, networkType: online ? 'wifi' : 'none' });
  }

  /** The wx object for the SDK; only the functions the SDK's Wx type names. */
  asWx(): Wx {
    const shim: Record<string, unknown> = {
      login: (opts: Callbacks) => {
        this.logins++;
        if (!this.online) return fail(opts, 'login:fail network');
        succeed(opts, { code: 'mock:' + this.name, errMsg: 'login:ok' });
      },
      getStorageSync: (key: string) => {
        const v = this.storage.get(key);
        return v === undefined ? '' : JSON.parse(v);
      },
      setStorageSync: (key: string, value: unknown) => {
        this.storage.set(key, JSON.stringify(value));
      },
      removeStorageSync: (key: string) => {
        this.storage.delete(key);
      },
      onNetworkStatusChange: (listener: (typeof this.listeners)[number]) => {
        this.listeners.push(listener);
      },
      getNetworkType: (opts: Callbacks) =>
        succeed(opts, { networkType: this.online ? 'wifi' : 'none', errMsg: 'getNetworkType:ok' }),
      requestSubscribeMessage: (opts: Callbacks & { tmplIds: string[] }) => {
        this.prompts.push([...opts.tmplIds]);
        const res: Record<string, string> = { errMsg: 'requestSubscribeMessage:ok' };
        for (const id of opts.tmplIds) res[id] = this.subscribeAnswer(id);
        succeed(opts, res);
      },
      request: (opts: Callbacks & { url: string; method?: string; header?: Record<string, string>; data?: unknown }) =>
        this.request(opts),
    };
    return shim as unknown as Wx;
  }

  private request(opts: Callbacks & { url: string; method?: string; header?: Record<string, string>; data?: unknown }) {
    const method = opts.method ?? 'GET';
    const header = { ...(opts.header ?? {}) };
    this.seen.push({ method, url: opts.url, header, body: opts.data });
    if (!this.online) return fail(opts, 'request:fail -101 net::ERR_INTERNET_DISCONNECTED');
    const fault = this.faults.shift();
    if (fault && fault !== 'lose-answer') {
      return succeed(opts, {
        statusCode: fault.status,
        header: { 'Retry-After': fault.retryAfter, 'Content-Type': 'application/json' },
        data: { error: { code: 'unavailable', message: '服务暂时不可用' } },
        cookies: [],
        errMsg: 'request:ok',
      });
    }
    const payload = opts.data === undefined ? undefined : Buffer.from(JSON.stringify(opts.data));
    if (payload) header['Content-Length'] = String(payload.length);
    const req = http.request(opts.url, { method, headers: header }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        if (fault === 'lose-answer') return fail(opts, 'request:fail timeout');
        const text = Buffer.concat(chunks).toString('utf8');
        let data: unknown = text;
        try {
          data = text ? JSON.parse(text) : '';
        } catch {
          // wx.request hands back the text when it is not JSON.
        }
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') headers[k] = v;
        succeed(opts, { statusCode: res.statusCode ?? 0, header: headers, data, cookies: [], errMsg: 'request:ok' });
      });
    });
    req.on('error', (err) => fail(opts, 'request:fail ' + err.message));
    if (payload) req.write(payload);
    req.end();
  }
}
