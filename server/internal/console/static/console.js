// 先锋管理后台: the QR code login's polling, the confirmation of
// destructive forms and the form editor's 添加字段. No library; the pages
// work without it except the login by scanning.
(function () {
  'use strict';

  document.querySelectorAll('form[data-confirm]').forEach(function (f) {
    f.addEventListener('submit', function (e) {
      if (!window.confirm(f.getAttribute('data-confirm'))) e.preventDefault();
    });
  });

  // The form editor's 添加字段 adds one empty row from the page's
  // <template> (its inputs numbered after the last row's), up to the
  // server's limit (data-max). Without the script the button submits the
  // editor, and the server sends it back as filled in with more rows.
  var add = document.getElementById('add-field');
  var rows = document.getElementById('field-rows');
  var blank = document.getElementById('field-row');
  if (add && rows && blank) {
    add.addEventListener('click', function (e) {
      e.preventDefault();
      var n = rows.querySelectorAll('tr').length;
      var max = parseInt(add.getAttribute('data-max'), 10);
      if (n >= max) return;
      rows.insertAdjacentHTML('beforeend', blank.innerHTML.replace(/__i__/g, String(n)).replace(/__n__/g, String(n + 1)));
      document.getElementById('label' + n).focus();
      if (n + 1 >= max) {
        add.hidden = true;
        document.getElementById('fields-full').hidden = false;
      }
    });
  }

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
