/* Lấy Số dashboard: today's figures, refreshed live from the supervisor socket channel. */
(function () {
  'use strict';
  var STATES = {closed: 'Đóng / Closed', open: 'Sẵn sàng / Open', calling: 'Đang gọi / Calling',
    serving: 'Đang phục vụ / Serving', paused: 'Tạm dừng / Paused'};
  var PRINTER = {paper_out: 'Máy in hết giấy / Printer out of paper',
    cover_open: 'Máy in mở nắp / Printer cover open', offline: 'Máy in không phản hồi / Printer offline',
    paper_near_end: 'Máy in sắp hết giấy / Printer paper low'};
  var csrf = null;
  var dayInput = document.getElementById('day');
  var counters = {};
  var printer = 'none';
  var printerNames = '';  // the kiosks whose printer is in that state (health's printers)

  function $(id) { return document.getElementById(id); }
  function fmt(v) { return v === null || v === undefined ? '–' : String(v); }
  function text(el, v) { el.textContent = fmt(v); }
  function cell(tr, v, cls) { var td = document.createElement('td'); td.textContent = fmt(v);
    if (cls) td.className = cls; tr.appendChild(td); return td; }

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
    var tb = document.querySelector('#services tbody'); tb.innerHTML = '';
    rep.services.forEach(function (s) {
      var tr = document.createElement('tr'); tr.dataset.code = s.code;
      if (s.over_target > 0) tr.className = 'over';
      cell(tr, s.prefix + ' · ' + s.name.vi); cell(tr, s.issued, 'num'); cell(tr, s.waiting, 'num');
      cell(tr, s.served, 'num'); cell(tr, s.wait_minutes.mean, 'num'); cell(tr, s.wait_minutes.p90, 'num');
      cell(tr, s.over_target, 'num'); tb.appendChild(tr);
    });
    var byNumber = {};
    rep.counters.forEach(function (c) { byNumber[c.number] = c; });
    tb = document.querySelector('#counters tbody'); tb.innerHTML = '';
    Object.keys(counters).sort(function (a, b) { return a - b; }).forEach(function (n) {
      var c = counters[n], f = byNumber[n] || {};
      var tr = document.createElement('tr'); tr.dataset.number = n;
      cell(tr, c.name.vi);
      var st = cell(tr, ''); var span = document.createElement('span');
      span.className = 'state ' + c.state; span.textContent = STATES[c.state] || c.state;
      st.appendChild(span);
      if (c.state === 'paused' && c.pause_reason) st.appendChild(document.createTextNode(' ' + c.pause_reason));
      cell(tr, c.current ? c.current.label : '');
      cell(tr, f.served || 0, 'num');
      cell(tr, f.service_minutes ? f.service_minutes.mean : null, 'num');
      cell(tr, f.mean_rating, 'num'); tb.appendChild(tr);
    });
    tb = document.querySelector('#officials tbody'); tb.innerHTML = '';
    rep.officials.forEach(function (o) {
      var tr = document.createElement('tr');
      cell(tr, o.name); cell(tr, o.served, 'num'); cell(tr, o.no_show, 'num');
      cell(tr, o.service_minutes.mean, 'num'); cell(tr, o.ratings, 'num'); cell(tr, o.mean_rating, 'num');
      tb.appendChild(tr);
    });
    renderAlerts();
  }

  function renderAlerts() {
    var box = $('alerts'); box.innerHTML = '';
    if (PRINTER[printer]) {
      var a = document.createElement('div'); a.className = 'alert' + (printer === 'paper_near_end' ? '' : ' bad');
      a.id = 'printer-alert'; a.textContent = PRINTER[printer] + printerNames; box.appendChild(a);
    }
  }

  var pending = null;
  function refresh() {
    if (pending) return;
    pending = setTimeout(function () {
      pending = null;
      var q = dayInput.value ? '?day=' + dayInput.value : '';
      $('export').href = '/admin/export.csv' + q;
      Promise.all([api('/reports/day' + q), api('/counters'), api('/health')]).then(function (res) {
        counters = {};
        res[1].items.forEach(function (c) { counters[c.number] = c; });
        printer = res[2].printer;
        var names = (res[2].printers || []).filter(function (p) { return p.state === printer; })
          .map(function (p) { return p.name || 'Máy in chung / Center printer'; });
        printerNames = names.length ? ' — ' + names.join(', ') : '';
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
  setInterval(refresh, 30000);
  if (window.io) {
    var sock = window.io({auth: {channel: 'supervisor'}, transports: ['websocket', 'polling']});
    sock.onAny(function (type, ev) {
      // one printer's news; the refresh below reads the worst of them all from health
      if (type === 'printer.changed' && ev && ev.printer && !ev.device) { printer = ev.printer; renderAlerts(); }
      refresh();
    });
  }
})();
