// @xianfeng/miniprogram-sdk: a typed client of the Xianfeng API for WeChat mini-programs.
import { Api } from './api';
import { OfflineQueue, QueueOptions } from './queue';
import { Subscriptions } from './subscribe';
import { Client, ClientOptions } from './transport';

export * from './contract';
export { Api } from './api';
export { OfflineQueue } from './queue';
export type { QueuedWrite, QueueResult, QueueOptions, SubmitOutcome } from './queue';
export { Subscriptions } from './subscribe';
export type { SubscribeOutcome } from './subscribe';
export { ApiError, Client, NetworkError, newRequestId } from './transport';
export type { Answer, CallOptions, ClientOptions, Wx, WxMethod } from './transport';

/** Everything a mini-program needs, over one transport. */
export interface Xianfeng {
  client: Client;
  api: Api;
  queue: OfflineQueue;
  subscriptions: Subscriptions;
}

/** Builds the client, the typed operations, the offline queue and the subscribe helper. */
export function createXianfeng(opts: ClientOptions & { queue?: QueueOptions }): Xianfeng {
  const client = new Client(opts);
  const api = new Api(client);
  return { client, api, queue: new OfflineQueue(client, opts.queue), subscriptions: new Subscriptions(api) };
}
