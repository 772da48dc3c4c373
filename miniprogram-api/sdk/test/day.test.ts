// A member's day through the SDK against the real server: login, sign-up with a badge, a
// daily check-in made offline and replayed, a task accepted and checked in, a daily health
// report filled offline, a report whose answer was lost and whose retry answers the first
// report, and the subscribe prompt.
import * as assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createXianfeng, QueueResult, Xianfeng } from '../src/index';
import type { Membership, OkOf } from '../src/index';
import { Server, startServer } from './server';
import { WxShim } from './wx-shim';

interface Phone {
  shim: WxShim;
  xf: Xianfeng;
  /** Every wait the transport asked for between attempts (none really waits). */
  waits: number[];
  results: QueueResult[];
  /** The phone's clock for client_time. */
  clock: { now: Date };
}

function phone(server: Server, name: string): Phone {
  const shim = new WxShim(name);
  const waits: number[] = [];
  const results: QueueResult[] = [];
  const clock = { now: new Date() };
  const xf = createXianfeng({
    baseURL: server.baseURL,
    wx: shim.asWx(),
    sleep: async (ms) => {
      waits.push(ms);
    },
    queue: { now: () => clock.now, onResult: (r) => results.push(r) },
  });
  return { shim, xf, waits, results, clock };
}

/** Waits (100 ms steps, at most 10 s) until check answers something. */
async function eventually<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 100; i++) {
    const v = await check();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what}: not within 10 s`);
}

/** Keeps the phone offline a moment, so that arriving later differs from being made. */
function offlineFor200ms(): Promise<void> {
  return new Promise((r) => setTimeout(r, 200));
}

function sameInstant(a: string | null | undefined, b: string): boolean {
  return a !== null && a !== undefined && new Date(a).getTime() === new Date(b).getTime();
}

describe("a member's day through the SDK", () => {
  let server: Server;
  let sec: Phone;
  let member: Phone;
  let branchId = 0;
  let inviteCode = '';
  let memberId = 0;
  let taskId = 0;

  before(async () => {
    server = await startServer();
    sec = phone(server, 'sdk-secretary');
    member = phone(server, 'sdk-member');
    // The secretary claims the bootstrapped root and opens a branch, as scripts/demo.sh does.
    const claim = server.bootstrap('SDK测试区委');
    const root = await sec.xf.client.call<Membership>({
      method: 'POST',
      path: '/api/v1/orgs/claim',
      body: { code: claim, name: '王书记' },
    });
    const branch = await sec.xf.client.call<OkOf<'createChildOrg'>>({
      method: 'POST',
      path: '/api/v1/orgs/{id}/children',
      params: { id: root.data.org_id },
      body: { name: '第一党支部', kind: 'branch' },
    });
    branchId = branch.data.id;
    const invite = await sec.xf.client.call<OkOf<'getOrgInvite'>>({
      method: 'GET',
      path: '/api/v1/orgs/{id}/invite',
      params: { id: branchId },
    });
    inviteCode = invite.data.invite_code;
  });

  after(async () => {
    await server?.stop();
  });

  it('logs in with wx.login and keeps the token in wx storage', async () => {
    const res = await member.xf.client.login();
    assert.equal(res.new_user, true);
    memberId = res.user.id;
    assert.equal(member.shim.storage.get('xianfeng.token'), JSON.stringify(res.token));
    assert.equal(member.shim.loginCount, 1);
  });

  it('signs up with a badge, and the secretary approves and changes it through the PATCH override', async () => {
    const m = await member.xf.api.signup({ invite_code: inviteCode, name: '赵建国', badge: 'frontline' });
    assert.equal(m.status, 'pending');
    assert.equal(m.badge_label, '战斗员');
    await sec.xf.client.call({
      method: 'POST',
      path: '/api/v1/orgs/{id}/members/{user_id}/approve',
      params: { id: branchId, user_id: memberId },
    });
    const changed = await sec.xf.api.changeMember(branchId, memberId, { badge: 'information' });
    assert.equal(changed.badge, 'information');
    const sent = sec.shim.seen[sec.shim.seen.length - 1];
    assert.equal(sent.method, 'POST');
    assert.equal(sent.header['X-HTTP-Method-Override'], 'PATCH');
    const me = await member.xf.api.me();
    assert.deepEqual(
      me.memberships.map((x) => [x.org_id, x.status, x.badge_label]),
      [[branchId, 'approved', '信息员']],
    );
  });

  it('logs in again by itself once the session has ended', async () => {
    const token = JSON.parse(member.shim.storage.get('xianfeng.token') ?? '""') as string;
    const out = await fetch(server.baseURL + '/api/v1/auth/logout', {
      method: 'POST',
      headers: { Authorization: 'Bearer ' + token },
    });
    assert.equal(out.status, 204);
    const me = await member.xf.api.me();
    assert.equal(me.user.id, memberId);
    assert.equal(member.shim.loginCount, 2);
    assert.notEqual(member.shim.storage.get('xianfeng.token'), JSON.stringify(token));
  });

  it('keeps a daily check-in made offline and replays it once the network is back, with its client_time', async () => {
    await member.xf.queue.start();
    member.shim.setOnline(false);
    member.clock.now = new Date();
    const madeAt = member.clock.now.toISOString();
    const sentBefore = member.shim.seen.length;

    const outcome = await member.xf.queue.dailyCheckin({ lat: 36.07, lng: 120.38 });
    assert.ok('queued' in outcome, 'offline, the check-in waits in the queue');
    assert.equal(member.shim.seen.length, sentBefore, 'nothing is sent while wx reports no network');
    const stored = JSON.parse(member.shim.storage.get('xianfeng.outbox') ?? '[]') as Array<{ body: { client_time: string } }>;
    assert.equal(stored.length, 1, 'the queue is in wx storage');
    assert.equal(stored[0].body.client_time, madeAt);

    await offlineFor200ms();
    member.shim.setOnline(true); // wx.onNetworkStatusChange replays the queue
    const result = await eventually('the replayed check-in', async () => member.results[0]);
    assert.ok(result.ok);
    assert.equal(result.status, 201);
    const record = result.data as OkOf<'createCheckin'>;
    assert.ok(sameInstant(record.client_time, madeAt), `client_time ${record.client_time} is ${madeAt}`);
    assert.ok(new Date(record.server_time).getTime() >= new Date(madeAt).getTime() + 200, 'it arrived later');
    assert.deepEqual(member.xf.queue.pending(), []);

    // Sending the same request_id again (a replay after the app was killed mid-send) makes no second record.
    const again = await member.xf.api.dailyCheckin({ request_id: record.request_id, client_time: madeAt });
    assert.equal(again.id, record.id);
    const mine = await member.xf.api.myCheckins();
    assert.deepEqual(
      mine.items.map((c) => c.id),
      [record.id],
    );
  });

  it('keeps a write that got no answer first in line, and replays the queue in order', async () => {
    member.clock.now = new Date();
    member.shim.faults.push('lose-answer', 'lose-answer', 'lose-answer'); // every attempt of the transport
    const first = await member.xf.queue.dailyCheckin({});
    assert.ok('queued' in first, 'no answer: the write stays queued');
    assert.equal(member.xf.queue.pending()[0].attempts, 1);

    const before = member.results.length;
    const second = await member.xf.queue.dailyCheckin({});
    assert.ok('ok' in second && second.ok);
    assert.deepEqual(
      member.results.slice(before).map((r) => r.item.id),
      [first.item.id, second.item.id],
      'the older write is sent first',
    );
    const sent = member.shim.seen.filter((r) => (r.body as { request_id?: string } | undefined)?.request_id === first.item.id);
    assert.equal(sent.length, 4, 'three lost attempts and the replay, all with the same request_id');
    assert.deepEqual(member.xf.queue.pending(), []);
  });

  it('drops a queued write the server refuses for good, and reports it', async () => {
    member.clock.now = new Date(Date.now() - 3 * 24 * 3600_000); // beyond the offline window
    const outcome = await member.xf.queue.dailyCheckin({});
    assert.ok('ok' in outcome && !outcome.ok);
    assert.equal(outcome.error.status, 422);
    assert.equal(outcome.error.code, 'client_time_out_of_window');
    assert.deepEqual(member.xf.queue.pending(), []);
  });

  it('accepts a task and checks in at it offline; the check-in keeps its time', async () => {
    const due = new Date(Date.now() + 2 * 3600_000).toISOString();
    const task = await sec.xf.client.call<OkOf<'createTask'>>({
      method: 'POST',
      path: '/api/v1/orgs/{id}/tasks',
      params: { id: branchId },
      body: { title: '卡口值守', kind: 'duty', target: { user_ids: [memberId] }, due_at: due, request_id: 'sdk-task-1' },
    });
    taskId = task.data.id;
    const mine = await eventually('the assignment', async () => {
      const list = await member.xf.api.myTasks();
      return list.items.find((x) => x.task.id === taskId);
    });
    assert.equal(mine.assignment.status, 'assigned');

    const accepted = await member.xf.api.acceptTask(taskId);
    assert.equal(accepted.assignment.status, 'accepted');

    const later = new Date(Date.now() + 3 * 3600_000).toISOString();
    const moved = await sec.xf.api.rescheduleTask(taskId, { due_at: later });
    assert.ok(sameInstant(moved.due_at, later));

    member.shim.setOnline(false);
    member.clock.now = new Date();
    const madeAt = member.clock.now.toISOString();
    const before = member.results.length;
    const outcome = await member.xf.queue.taskCheckin(taskId, {});
    assert.ok('queued' in outcome);
    await offlineFor200ms();
    member.shim.setOnline(true);
    const result = await eventually('the replayed task check-in', async () => member.results[before]);
    assert.ok(result.ok);
    const checked = result.data as OkOf<'checkinTask'>;
    assert.equal(checked.assignment.status, 'checked_in');
    assert.ok(sameInstant(checked.assignment.checkin?.at, madeAt), `checkin.at ${checked.assignment.checkin?.at} is ${madeAt}`);
  });

  it('files a report whose answer was lost; the retry, with the same request_id, answers the first report', async () => {
    member.shim.faults.push('lose-answer');
    const sentBefore = member.shim.seen.length;
    const report = await member.xf.api.fileReport({ category: 'help_needed', urgency: 'normal', content: '独居老人需要送药' });
    const sends = member.shim.seen.slice(sentBefore).filter((r) => r.url.endsWith('/api/v1/reports'));
    assert.equal(sends.length, 2, 'sent, answer lost, sent again');
    const ids = sends.map((r) => (r.body as { request_id: string }).request_id);
    assert.equal(ids[0], ids[1]);
    assert.equal(sends[0].header['X-Request-ID'], sends[1].header['X-Request-ID']);
    const mine = await member.xf.api.myReports();
    assert.deepEqual(
      mine.items.map((r) => r.id),
      [report.id],
      'one report, not two',
    );
  });

  it('fills a daily health report offline; the entry keeps its time, and a fever files an urgent report', async () => {
    const form = await sec.xf.client.call<OkOf<'createForm'>>({
      method: 'POST',
      path: '/api/v1/orgs/{id}/forms',
      params: { id: branchId },
      body: {
        title: '每日健康打卡',
        mode: 'daily',
        target: { user_ids: [memberId] },
        fields: [{ key: 'temperature', label: '体温', type: 'temperature', required: true, alert: { op: 'gte', value: 37.3 } }],
      },
    });
    assert.equal(form.status, 201);

    member.shim.setOnline(false);
    member.clock.now = new Date();
    const madeAt = member.clock.now.toISOString();
    const before = member.results.length;
    const outcome = await member.xf.queue.formEntry(form.data.id, { answers: { temperature: 37.8 } });
    assert.ok('queued' in outcome, 'offline, the entry waits in the queue');
    await offlineFor200ms();
    member.shim.setOnline(true);
    const result = await eventually('the replayed entry', async () => member.results[before]);
    assert.ok(result.ok, JSON.stringify(result));
    const entry = result.data as OkOf<'submitFormEntry'>;
    assert.ok(sameInstant(entry.client_time, madeAt), `client_time ${entry.client_time} is ${madeAt}`);
    assert.equal(entry.alert, true);
    assert.ok(entry.report_id, 'a fever files a report');
    const report = await sec.xf.client.call<OkOf<'getReport'>>({
      method: 'GET',
      path: '/api/v1/reports/{id}',
      params: { id: entry.report_id as number },
    });
    assert.equal(report.data.report.urgency, 'urgent');
    assert.equal(report.data.report.category, 'screening_alert');
  });

  it('waits as long as Retry-After says after a 503, then gets the answer', async () => {
    member.shim.faults.push({ status: 503, retryAfter: '2' });
    const waitsBefore = member.waits.length;
    const me = await member.xf.api.me();
    assert.equal(me.user.id, memberId);
    assert.deepEqual(member.waits.slice(waitsBefore), [2000]);
  });

  it('asks for subscribe messages with the templates of GET /me/subscriptions and reports the accepted ones', async () => {
    const ledger = await member.xf.subscriptions.load();
    const tpl = (kind: string) => ledger.items.find((s) => s.kind === kind);
    const assigned = tpl('task_assigned');
    const reminder = tpl('task_reminder');
    assert.ok(assigned && reminder, 'the mock configures a template per kind');
    const countBefore = assigned.count;
    member.shim.subscribeAnswer = (id) => (id === assigned.template_id ? 'accept' : 'reject');

    const out = await member.xf.subscriptions.ask(['task_assigned', 'task_reminder']);
    assert.deepEqual(member.shim.prompts, [[assigned.template_id, reminder.template_id]]);
    assert.deepEqual(out.accepted, [assigned.template_id]);
    assert.equal(out.ledger.items.find((s) => s.kind === 'task_assigned')?.count, countBefore + 1);
    assert.equal(out.ledger.items.find((s) => s.kind === 'task_reminder')?.count, reminder.count);
  });

  it('sends X-Request-ID on every call', () => {
    for (const p of [member, sec]) {
      for (const r of p.shim.seen) assert.match(r.header['X-Request-ID'] ?? '', /^[0-9a-f-]{36}$/, r.url);
    }
  });
});
