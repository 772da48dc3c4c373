// The subscribe-message dance: the templates come from GET /api/v1/me/subscriptions, the
// member is asked with wx.requestSubscribeMessage, and the accepted ones are reported with
// POST /api/v1/me/subscriptions (each adds one banked consent on the server).
import type { NotificationKind, SubscriptionList } from './contract';
import { Api } from './api';

/** What one prompt came to. */
export interface SubscribeOutcome {
  /** The template ids the member was asked about. */
  asked: string[];
  /** Those the member accepted (and that were reported to the server). */
  accepted: string[];
  /** The ledger as it now stands. */
  ledger: SubscriptionList;
}

/**
 * Asks for subscribe-message consent. WeChat lets wx.requestSubscribeMessage run only in a
 * tap handler, so load() the templates beforehand (on page show) and call ask() first
 * thing in the tap; ask() makes no network call before the prompt.
 */
export class Subscriptions {
  private ledger: SubscriptionList | null = null;

  constructor(private readonly api: Api) {}

  /** Fetches the templates and the banked consents. */
  async load(): Promise<SubscriptionList> {
    this.ledger = await this.api.mySubscriptions();
    return this.ledger;
  }

  /**
   * Prompts for the templates of the given kinds (all configured kinds when left out; at most
   * `max` distinct templates, 3 by default), then reports the accepted ones.
   */
  ask(kinds?: NotificationKind[], max = 3): Promise<SubscribeOutcome> {
    const ledger = this.ledger;
    if (!ledger) return Promise.reject(new Error('xianfeng sdk: call Subscriptions.load() before ask()'));
    const ids: string[] = [];
    for (const s of ledger.items) {
      if (kinds && !kinds.includes(s.kind)) continue;
      if (!ids.includes(s.template_id) && ids.length < max) ids.push(s.template_id);
    }
    if (ids.length === 0) return Promise.resolve({ asked: [], accepted: [], ledger });
    return new Promise<WechatMiniprogram.RequestSubscribeMessageSuccessCallbackResult>((resolve, reject) => {
      this.api.client.wx.requestSubscribeMessage({
        tmplIds: ids,
        success: resolve,
        fail: (err) => reject(new Error(err.errMsg)),
      });
    }).then(async (res) => {
      const accepted = ids.filter((id) => res[id] === 'accept');
      if (accepted.length === 0) return { asked: ids, accepted, ledger };
      this.ledger = await this.api.addSubscriptions({ accepted });
      return { asked: ids, accepted, ledger: this.ledger };
    });
  }
}
