// The offline queue: writes a member makes without a network (daily check-ins, task
// check-ins, and any later form entry that carries request_id + client_time) wait in wx
// storage with the time they were made, and are sent in order when the network returns.
// An item leaves the queue only on a definitive answer: 2xx, or a 4xx that sending again
// cannot change.
import type { ApiPath, BodyOf, OkOf } from './contract';
import { ApiError, Client, NetworkError } from './transport';

/** A write waiting in the queue, as stored. */
export interface QueuedWrite {
  /** The body's request_id, which is also the item's identity. */
  id: string;
  path: ApiPath;
  params?: Record<string, string | number>;
  body: Record<string, unknown> & { request_id: string; client_time: string };
  /** How many times sending it got no definitive answer. */
  attempts: number;
}

/** The fate of one queued write. */
export type QueueResult =
  | { item: QueuedWrite; ok: true; status: number; data: unknown }
  | { item: QueuedWrite; ok: false; error: ApiError };

/** What submit answers: the result when the server gave a definitive answer now, else queued. */
export type SubmitOutcome = QueueResult | { item: QueuedWrite; queued: true };

/** Settings of an OfflineQueue. */
export interface QueueOptions {
  /** Storage key; `<client storage prefix>outbox` by default. */
  storageKey?: string;
  /** The phone's clock (replaceable in tests); stamps client_time. */
  now?: () => Date;
  /** Told of every definitive answer, including those of replays nobody awaits. */
  onResult?: (result: QueueResult) => void;
}

type Loose<B> = Omit<B, 'request_id' | 'client_time'> & { request_id?: string; client_time?: string | null };

/** A persisted, ordered queue of idempotent writes. */
export class OfflineQueue {
  private readonly key: string;
  private readonly now: () => Date;
  private readonly onResult?: (result: QueueResult) => void;
  private online = true;
  private flushing: Promise<QueueResult[]> | null = null;
  /** Results of submitted items not yet handed back to their submit call. */
  private readonly settled = new Map<string, QueueResult | null>();

  constructor(
    private readonly client: Client,
    opts: QueueOptions = {},
  ) {
    this.key = opts.storageKey ?? client.storagePrefix + 'outbox';
    this.now = opts.now ?? (() => new Date());
    this.onResult = opts.onResult;
  }

  /**
   * Follows the network: replays the queue whenever wx reports a connection, and once now.
   * Call it once, e.g. in App.onLaunch.
   */
  start(): Promise<QueueResult[]> {
    this.client.wx.onNetworkStatusChange((res) => {
      this.online = res.isConnected;
      if (res.isConnected) void this.flush();
    });
    return new Promise<void>((resolve) => {
      this.client.wx.getNetworkType({
        success: (res) => {
          this.online = res.networkType !== 'none';
          resolve();
        },
        fail: () => resolve(),
      });
    }).then(() => this.flush());
  }

  /** The writes still waiting, oldest first. */
  pending(): QueuedWrite[] {
    const v: unknown = this.client.wx.getStorageSync(this.key);
    return Array.isArray(v) ? (v as QueuedWrite[]) : [];
  }

  private save(items: QueuedWrite[]): void {
    this.client.wx.setStorageSync(this.key, items);
  }

  /** Queues the daily check-in made now (POST /api/v1/checkins) and sends what it can. */
  dailyCheckin(body: Loose<BodyOf<'createCheckin'>> = {}): Promise<SubmitOutcome> {
    return this.submit('/api/v1/checkins', body);
  }

  /** Queues a check-in at a task's post made now (POST /api/v1/tasks/{id}/checkin) and sends what it can. */
  taskCheckin(taskId: number, body: Loose<BodyOf<'checkinTask'>> = {}): Promise<SubmitOutcome> {
    return this.submit('/api/v1/tasks/{id}/checkin', body, { id: taskId });
  }

  /**
   * Queues an entry of a screening form or daily health report made now (POST
   * /api/v1/forms/{id}/entries: `answers` keyed by field, or `copy_last: true`) and sends what it can.
   */
  formEntry(formId: number, body: Loose<BodyOf<'submitFormEntry'>>): Promise<SubmitOutcome> {
    return this.submit('/api/v1/forms/{id}/entries', body, { id: formId });
  }

  /**
   * Queues any POST whose operation takes request_id and client_time, stamping both when
   * missing (client_time is the moment of this call), persists it, then sends the queue in order.
   */
  async submit(
    path: ApiPath,
    body: Record<string, unknown>,
    params?: Record<string, string | number>,
  ): Promise<SubmitOutcome> {
    const requestId = typeof body.request_id === 'string' && body.request_id ? body.request_id : this.client.newId();
    const clientTime =
      typeof body.client_time === 'string' && body.client_time ? body.client_time : this.now().toISOString();
    const item: QueuedWrite = {
      id: requestId,
      path,
      params,
      body: { ...body, request_id: requestId, client_time: clientTime },
      attempts: 0,
    };
    this.save([...this.pending(), item]);
    this.settled.set(item.id, null);
    await this.flush();
    const mine = this.settled.get(item.id);
    this.settled.delete(item.id);
    return mine ?? { item, queued: true };
  }

  /**
   * Sends the waiting writes in order, stopping at the first that gets no definitive answer
   * (no network, 5xx, 401 after a re-login, 408, 429), which stays first in line.
   */
  flush(): Promise<QueueResult[]> {
    if (this.flushing) return this.flushing.then(() => this.flush());
    const done = () => {
      this.flushing = null;
    };
    this.flushing = this.drain();
    this.flushing.then(done, done);
    return this.flushing;
  }

  private async drain(): Promise<QueueResult[]> {
    const results: QueueResult[] = [];
    while (this.online) {
      const head = this.pending()[0];
      if (!head) break;
      const result = await this.sendOne(head);
      if (!result) {
        this.update(head.id, (it) => ({ ...it, attempts: it.attempts + 1 }));
        break;
      }
      this.save(this.pending().filter((it) => it.id !== head.id));
      results.push(result);
      if (this.settled.has(head.id)) this.settled.set(head.id, result);
      this.onResult?.(result);
    }
    return results;
  }

  private update(id: string, f: (it: QueuedWrite) => QueuedWrite): void {
    this.save(this.pending().map((it) => (it.id === id ? f(it) : it)));
  }

  private async sendOne(item: QueuedWrite): Promise<QueueResult | null> {
    try {
      const res = await this.client.call<OkOf<'createCheckin'> | OkOf<'checkinTask'> | unknown>({
        method: 'POST',
        path: item.path,
        params: item.params,
        body: item.body,
      });
      return { item, ok: true, status: res.status, data: res.data };
    } catch (err) {
      if (err instanceof ApiError && err.definitive) return { item, ok: false, error: err };
      if (err instanceof ApiError || err instanceof NetworkError) return null;
      throw err;
    }
  }
}
