// 先锋管理后台: the QR code login's polling and the confirmation of
// destructive forms. No library; the pages work without it except the
// login by scanning.
(function () {
  'use strict';

  document.querySelectorAll('form[data-confirm]').forEach(function (f) {
    f.addEventListener('submit', function (e) {
      if (!window.confirm(f.getAttribute('data-confirm'))) e.preventDefault();
    });
  });

  var box = document.getElementById('login');
  if (!box) return;
  var csrf = box.getAttribute('data-csrf');
  var img = document.getElementById('qr');
  var ticketEl = document.getElementById('ticket');
  var state = document.getElementById('state');
  var refresh = document.getElementById('refresh');
  var timer = null;

  function say(text) { state.textContent = text; }

  function expired() {
    clearTimeout(timer);
    img.hidden = true;
    say('二维码已过期，请刷新。');
    refresh.hidden = false;
  }

  function poll(ticket) {
    fetch('/console/login/tickets/' + encodeURIComponent(ticket), { credentials: 'same-origin', cache: 'no-store' })
      .then(function (r) { return r.json().then(function (body) { return { status: r.status, body: body }; }); })
      .then(function (res) {
        if (res.status !== 200) { expired(); return; }
        if (res.body.status === 'confirmed') { say('已确认，正在进入管理后台…'); window.location.assign('/console/'); return; }
        if (res.body.status === 'expired') { expired(); return; }
        timer = setTimeout(function () { poll(ticket); }, 1500);
      })
      .catch(function () { say('网络异常，正在重试…'); timer = setTimeout(function () { poll(ticket); }, 3000); });
  }

  function start() {
    refresh.hidden = true;
    say('正在获取二维码…');
    fetch('/console/login/tickets', { method: 'POST', credentials: 'same-origin', headers: { 'X-CSRF-Token': csrf } })
      .then(function (r) { return r.json().then(function (body) { return { status: r.status, body: body }; }); })
      .then(function (res) {
        if (res.status !== 201) {
          say((res.body && res.body.error && res.body.error.message) || '获取二维码失败，请稍后重试。');
          refresh.hidden = false;
          return;
        }
        img.src = res.body.qr_png;
        img.hidden = false;
        ticketEl.textContent = res.body.ticket;
        say('请用小程序扫码，并在手机上确认登录（2 分钟内有效）。');
        timer = setTimeout(function () { poll(res.body.ticket); }, 1500);
      })
      .catch(function () { say('网络异常，请刷新二维码。'); refresh.hidden = false; });
  }

  refresh.addEventListener('click', start);
  start();
})();
