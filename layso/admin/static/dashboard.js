/* Lấy Số dashboard: today's figures, refreshed live from the supervisor socket channel, and
   the live supervision's alerts (GET /api/v1/alerts), which appear and clear by themselves. */
(function () {
  'use strict';
  var STATES = {closed: 'Đóng / Closed', open: 'Sẵn sàng / Open', calling: 'Đang gọi / Calling',
    serving: 'Đang phục vụ / Serving', paused: 'Tạm dừng / Paused'};
  var ALERT_POLL_MS = 15000;
  var csrf = null;
  var dayInput = document.getElementById('day');
  var counters = {};
  var shownAlerts = {};  // key → its element: a new key sounds once, a gone key is removed
  var F = window.LaysoFormat;

  function $(id) { return document.getElementById(id); }
  function fmt(v) {
    if (v === null || v === undefined) return '–';
    return typeof v === 'number' ? F.number(v, 2) : String(v);
  }
  function text(el, v) { el.textContent = fmt(v); }
  function cell(tr, v, cls) { var td = document.createElement('td'); td.textContent = fmt(v);
    if (cls) td.className = cls; tr.appendChild(td); return td; }
  // a name in both languages: the English under the Vietnamese (once when they are the same)
  function named(tr, vi, en) {
    var td = cell(tr, vi);
    if (en && en !== vi) {
      var e = document.createElement('span'); e.className = 'en'; e.lang = 'en'; e.textContent = en;
      td.appendChild(e);
    }
    return td;
  }

  function api(path, opts) {
    opts = opts || {};
    opts.credentials = 'same-origin';
    opts.headers = Object.assign({'Content-Type': 'application/json'}, opts.headers || {});
    if (opts.method && opts.method !== 'GET' && csrf) opts.headers['X-CSRF-Token'] = csrf;
    return fetch('/api/v1' + path, opts).then(function (r) {
      if (r.status === 401) { window.location.href = '/login?next=/admin/'; throw new Error('401'); }
      return r.status === 204 ? null : r.json().then(function (b) { if (!r.ok) throw b; return b; });
    });
  }

  function renderReport(rep) {
    if (!dayInput.value) dayInput.value = rep.day;
    text($('t-issued'), rep.totals.issued); text($('t-served'), rep.totals.served);
    text($('t-waiting'), rep.totals.waiting); text($('t-noshow'), rep.totals.no_show);
    text($('t-wait'), rep.wait_minutes.mean); text($('t-service'), rep.service_minutes.mean);
    text($('t-rating'), rep.ratings.mean);
    document.body.dataset.live = rep.live ? '1' : '0';
    var tb = document.querySelector('#services tbody'); tb.innerHTML = '';
    rep.services.forEach(function (s) {
      var tr = document.createElement('tr'); tr.dataset.code = s.code;
      if (s.over_target > 0) tr.className = 'over';
      named(tr, s.prefix + ' · ' + s.name.vi, s.name.en); cell(tr, s.issued, 'num'); cell(tr, s.waiting, 'num');
      cell(tr, s.served, 'num'); cell(tr, s.no_show, 'num'); cell(tr, s.transferred, 'num');
      cell(tr, s.wait_minutes.mean, 'num'); cell(tr, s.wait_minutes.p90, 'num');
      cell(tr, s.over_target, 'num'); tb.appendChild(tr);
    });
    var byNumber = {};
    rep.counters.forEach(function (c) { byNumber[c.number] = c; });
    tb = document.querySelector('#counters tbody'); tb.innerHTML = '';
    // the counters' state and current ticket are now's: a past day shows its figures only
    var rows = rep.live ? counters : byNumber;
    Object.keys(rows).sort(function (a, b) { return a - b; }).forEach(function (n) {
      var c = rows[n], f = byNumber[n] || {};
      var tr = document.createElement('tr'); tr.dataset.number = n;
      named(tr, c.name.vi, c.name.en);
      var st = cell(tr, '');
      if (rep.live) {
        var span = document.createElement('span');
        span.className = 'state ' + c.state; span.textContent = STATES[c.state] || c.state;
        st.appendChild(span);
        if (c.state === 'paused' && c.pause_reason) st.appendChild(document.createTextNode(' ' + c.pause_reason));
      } else {
        st.textContent = '–';
      }
      cell(tr, rep.live && c.current ? c.current.label : '');
      cell(tr, f.served || 0, 'num');
      cell(tr, f.service_minutes ? f.service_minutes.mean : null, 'num');
      cell(tr, f.mean_rating, 'num'); tb.appendChild(tr);
    });
    $('counters-note').hidden = rep.live;
    tb = document.querySelector('#officials tbody'); tb.innerHTML = '';
    rep.officials.forEach(function (o) {
      var tr = document.createElement('tr');
      cell(tr, o.name); cell(tr, o.served, 'num'); cell(tr, o.no_show, 'num');
      cell(tr, o.service_minutes.mean, 'num'); cell(tr, o.ratings, 'num'); cell(tr, o.mean_rating, 'num');
      tb.appendChild(tr);
    });
  }

  // -- the live supervision's alerts ----------------------------------------------------------

  var audio = null;
  /* A short two-tone beep through WebAudio (nothing to download). Browsers let a page make
     sound only after a click: the context is made on the first click anywhere (never before,
     so no autoplay warning), and until then the "turn the sound on" button shows. */
  function beep() {
    try {
      if (!audio || audio.state !== 'running') return;
      [[880, 0], [660, 0.18]].forEach(function (tone) {
        var osc = audio.createOscillator(), gain = audio.createGain();
        var at = audio.currentTime + tone[1];
        osc.frequency.value = tone[0];
        gain.gain.setValueAtTime(0.0001, at);
        gain.gain.exponentialRampToValueAtTime(0.25, at + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.16);
        osc.connect(gain); gain.connect(audio.destination);
        osc.start(at); osc.stop(at + 0.17);
      });
      document.body.dataset.beeps = String((parseInt(document.body.dataset.beeps, 10) || 0) + 1);
    } catch (e) { /* no sound is no reason to lose the alerts */ }
  }
  function soundShown() {
    var on = !!audio && audio.state === 'running';
    $('sound-on').hidden = on || !(window.AudioContext || window.webkitAudioContext);
    document.body.dataset.sound = on ? 'on' : 'off';
  }
  function unlockSound() {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return;
    try {
      if (!audio) { audio = new Ctx(); audio.onstatechange = soundShown; }
      if (audio.state === 'suspended' && audio.resume) audio.resume().then(soundShown, function () {});
    } catch (e) { /* ignored: see beep */ }
    soundShown();
  }
  soundShown();
  ['pointerdown', 'keydown'].forEach(function (t) { document.addEventListener(t, unlockSound); });

  function renderAlerts(items) {
    var box = $('alerts'), seen = {}, fresh = false;
    items.forEach(function (a) {
      seen[a.key] = true;
      var div = shownAlerts[a.key];
      if (!div) {
        div = document.createElement('div');
        div.dataset.key = a.key;
        div.dataset.kind = a.kind;
        div.setAttribute('role', 'alert');
        var vi = document.createElement('span'), en = document.createElement('span');
        vi.className = 'alert-vi'; en.className = 'en';
        div.appendChild(vi); div.appendChild(en);
        shownAlerts[a.key] = div;
        fresh = true;
      }
      div.className = 'alert ' + a.kind + (a.severity === 'bad' ? ' bad' : '');
      div.firstChild.textContent = a.message.vi;
      div.lastChild.textContent = a.message.en;
      box.appendChild(div);  // in the server's order, most serious first
    });
    Object.keys(shownAlerts).forEach(function (k) {
      if (!seen[k]) { shownAlerts[k].remove(); delete shownAlerts[k]; }
    });
    box.dataset.count = String(items.length);
    if (fresh) beep();
  }

  var alertsPending = null;
  function refreshAlerts() {
    if (alertsPending) return;
    alertsPending = setTimeout(function () {
      alertsPending = null;
      api('/alerts').then(function (res) { renderAlerts(res.items); }).catch(function () {});
    }, 200);
  }

  var pending = null;
  function refresh() {
    if (pending) return;
    pending = setTimeout(function () {
      pending = null;
      var q = dayInput.value ? '?day=' + dayInput.value : '';
      $('export').href = '/admin/export.csv' + q;
      Promise.all([api('/reports/day' + q), api('/counters')]).then(function (res) {
        counters = {};
        res[1].items.forEach(function (c) { counters[c.number] = c; });
        renderReport(res[0]);
      }).catch(function () {});
    }, 300);
  }

  api('/auth/me').then(function (me) { csrf = me.csrf_token; });
  api('/board').then(function (b) { $('notice-vi').value = b.notice.vi; $('notice-en').value = b.notice.en; });
  dayInput.addEventListener('change', refresh);
  $('logout').addEventListener('click', function () {
    api('/auth/logout', {method: 'POST'}).finally(function () { window.location.href = '/login?next=/admin/'; });
  });
  $('notice-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    api('/notice', {method: 'POST', body: JSON.stringify({vi: $('notice-vi').value, en: $('notice-en').value})})
      .then(function () { $('notice-result').textContent = 'Đã cập nhật / Updated'; })
      .catch(function (e) { $('notice-result').textContent = (e && e.error) ? e.error.message : 'Lỗi / Error'; });
  });
  refresh();
  refreshAlerts();
  setInterval(refresh, 30000);
  // waits grow and devices fall silent with no event at all: the alerts are also polled
  setInterval(refreshAlerts, ALERT_POLL_MS);
  if (window.io) {
    var sock = window.io({auth: {channel: 'supervisor'}, transports: ['websocket', 'polling']});
    sock.onAny(function () { refresh(); refreshAlerts(); });
  }
})();
