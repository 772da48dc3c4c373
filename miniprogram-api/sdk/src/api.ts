// Typed helpers for the calls a member's and a secretary's phone make most; every other
// operation is one Client.call away, typed with OkOf/BodyOf/QueryOf.
import type { ApiPath, BodyOf, OkOf, QueryOf } from './contract';
import { CallOptions, Client } from './transport';

type WithoutRequestId<B> = Omit<B, 'request_id'> & { request_id?: string };

/** The typed operations, over one Client. */
export class Api {
  constructor(readonly client: Client) {}

  private async data<T>(p: Promise<{ data: T }>): Promise<T> {
    return (await p).data;
  }

  /** A GET of the contract, answering the body. */
  private get<T>(path: ApiPath, query?: object): Promise<T> {
    return this.data(this.client.call<T>({ method: 'GET', path, query: query as CallOptions['query'] }));
  }

  /** A POST that carries a request_id (made here when left out), so retries answer the first result. */
  private idempotent<T>(path: ApiPath, body: { request_id?: string }, params?: Record<string, number>): Promise<T> {
    const full = { ...body, request_id: body.request_id ?? this.client.newId() };
    return this.data(this.client.call<T>({ method: 'POST', path, params, body: full }));
  }

  /** GET /api/v1/me: the user (phone masked) and every membership. */
  me(): Promise<OkOf<'getMe'>> {
    return this.get<OkOf<'getMe'>>('/api/v1/me');
  }

  /** POST /api/v1/members/signup: apply to an org with its invite code and a badge. */
  signup(body: BodyOf<'signupMember'>): Promise<OkOf<'signupMember'>> {
    return this.data(
      this.client.call<OkOf<'signupMember'>>({ method: 'POST', path: '/api/v1/members/signup', body }),
    );
  }

  /** GET /api/v1/me/badge: the member's badge with a short-lived verification token. */
  myBadge(query: QueryOf<'getMyBadge'> = {}): Promise<OkOf<'getMyBadge'>> {
    return this.get<OkOf<'getMyBadge'>>('/api/v1/me/badge', query);
  }

  /**
   * POST /api/v1/checkins, online. For a check-in that must survive a lost network use
   * OfflineQueue.dailyCheckin, which keeps client_time.
   */
  dailyCheckin(body: WithoutRequestId<BodyOf<'createCheckin'>>): Promise<OkOf<'createCheckin'>> {
    return this.idempotent<OkOf<'createCheckin'>>('/api/v1/checkins', body);
  }

  /** GET /api/v1/me/checkins. */
  myCheckins(query: QueryOf<'listMyCheckins'> = {}): Promise<OkOf<'listMyCheckins'>> {
    return this.get<OkOf<'listMyCheckins'>>('/api/v1/me/checkins', query);
  }

  /** GET /api/v1/me/tasks: the member's assignments with their tasks. */
  myTasks(query: QueryOf<'listMyTasks'> = {}): Promise<OkOf<'listMyTasks'>> {
    return this.get<OkOf<'listMyTasks'>>('/api/v1/me/tasks', query);
  }

  /** POST /api/v1/tasks/{id}/accept. */
  acceptTask(id: number): Promise<OkOf<'acceptTask'>> {
    return this.data(
      this.client.call<OkOf<'acceptTask'>>({ method: 'POST', path: '/api/v1/tasks/{id}/accept', params: { id } }),
    );
  }

  /** POST /api/v1/tasks/{id}/checkin, online; OfflineQueue.taskCheckin queues it. */
  taskCheckin(id: number, body: WithoutRequestId<BodyOf<'checkinTask'>>): Promise<OkOf<'checkinTask'>> {
    return this.idempotent<OkOf<'checkinTask'>>('/api/v1/tasks/{id}/checkin', body, { id });
  }

  /** POST /api/v1/tasks/{id}/complete. */
  completeTask(id: number, body: WithoutRequestId<BodyOf<'completeTask'>> = {}): Promise<OkOf<'completeTask'>> {
    return this.idempotent<OkOf<'completeTask'>>('/api/v1/tasks/{id}/complete', body, { id });
  }

  /**
   * POST /api/v1/reports: file a report upward. The request_id (made here when left out)
   * is sent unchanged on every retry, so a retry answers the report filed the first time.
   */
  fileReport(body: WithoutRequestId<BodyOf<'createReport'>>): Promise<OkOf<'createReport'>> {
    return this.idempotent<OkOf<'createReport'>>('/api/v1/reports', body);
  }

  /** GET /api/v1/me/reports. */
  myReports(query: QueryOf<'listMyReports'> = {}): Promise<OkOf<'listMyReports'>> {
    return this.get<OkOf<'listMyReports'>>('/api/v1/me/reports', query);
  }

  /** GET /api/v1/me/subscriptions: the templates to ask for and the banked consents. */
  mySubscriptions(): Promise<OkOf<'listMySubscriptions'>> {
    return this.get<OkOf<'listMySubscriptions'>>('/api/v1/me/subscriptions');
  }

  /** POST /api/v1/me/subscriptions: report the accepted template ids (not idempotent: never retried). */
  addSubscriptions(body: BodyOf<'addMySubscriptions'>): Promise<OkOf<'addMySubscriptions'>> {
    return this.data(
      this.client.call<OkOf<'addMySubscriptions'>>({
        method: 'POST',
        path: '/api/v1/me/subscriptions',
        body,
        retry: false,
      }),
    );
  }

  /** Secretary: change a member's badge or role (PATCH, sent as POST + X-HTTP-Method-Override). */
  changeMember(orgId: number, userId: number, body: BodyOf<'changeMemberByPost'>): Promise<OkOf<'changeMemberByPost'>> {
    return this.data(
      this.client.call<OkOf<'changeMemberByPost'>>({
        method: 'POST',
        overridePatch: true,
        path: '/api/v1/orgs/{id}/members/{user_id}',
        params: { id: orgId, user_id: userId },
        body,
      }),
    );
  }

  /** Secretary: move a task's due time (PATCH, sent as POST + X-HTTP-Method-Override). */
  rescheduleTask(id: number, body: BodyOf<'rescheduleTaskByPost'>): Promise<OkOf<'rescheduleTaskByPost'>> {
    return this.data(
      this.client.call<OkOf<'rescheduleTaskByPost'>>({
        method: 'POST',
        overridePatch: true,
        path: '/api/v1/tasks/{id}',
        params: { id },
        body,
      }),
    );
  }
  /**
   * The web console's scan-to-login: the text of a console login QR code (from wx.scanCode)
   * starts with this, and the ticket follows.
   */
  static readonly consoleQRPrefix = 'xianfeng-console-login:';

  /** The ticket of a console login QR code's text, or null for any other code. */
  static ticketOfScan(scanned: string): string | null {
    if (!scanned.startsWith(Api.consoleQRPrefix)) return null;
    const ticket = scanned.slice(Api.consoleQRPrefix.length);
    return ticket === '' ? null : ticket;
  }

  /** GET /api/v1/console/tickets/{ticket}: where and when the computer asked to log in, to ask "log in on this computer?". */
  consoleTicket(ticket: string): Promise<OkOf<'getConsoleTicket'>> {
    return this.data(
      this.client.call<OkOf<'getConsoleTicket'>>({ method: 'GET', path: '/api/v1/console/tickets/{ticket}', params: { ticket } }),
    );
  }

  /** Secretary: POST /api/v1/console/tickets/{ticket}/confirm, log the waiting computer in (once, within 2 minutes). */
  confirmConsoleLogin(ticket: string): Promise<OkOf<'confirmConsoleTicket'>> {
    return this.data(
      this.client.call<OkOf<'confirmConsoleTicket'>>({
        method: 'POST',
        path: '/api/v1/console/tickets/{ticket}/confirm',
        params: { ticket },
        retry: false,
      }),
    );
  }
}
