/* Lấy Số administration pages: each page lists its resource from the API and edits it through
   one form; a 409/422 is shown next to the field it names. Supervisors read, admins edit. */
(function () {
  'use strict';
  var PAGE = document.body.dataset.page;
  var CAN_EDIT = document.body.dataset.canEdit === '1';
  var SETUP = /[?&]setup=1/.test(window.location.search);
  var STEPS = ['settings', 'services', 'counters', 'users', 'devices'];
  var csrf = null;
  var $ = function (id) { return document.getElementById(id); };

  // each refusal in both languages: the API's own message is for developers ("name is
  // required"), so it is the English line only of a code this table does not know
  var WORDS = {
    duplicate_code: ['Mã này đã được dùng.', 'This code is already in use.'],
    duplicate_prefix: ['Ký hiệu này đã được lĩnh vực khác dùng.', 'Another service already uses this prefix.'],
    duplicate_number: ['Số quầy này đã có.', 'There is already a counter with this number.'],
    duplicate_username: ['Tên đăng nhập này đã có.', 'This username is already taken.'],
    service_in_use: ['Lĩnh vực đã có số trong ngày hôm nay: chỉ đổi ký hiệu sau ngày làm việc.',
                     'This service has issued numbers today: change its prefix after the working day.'],
    counter_busy: ['Quầy đang hoạt động: hãy đóng quầy trước khi ngừng dùng.', 'The counter is in use: close it first.'],
    last_admin: ['Trung tâm cần ít nhất một quản trị viên đang hoạt động.', 'The center needs at least one active administrator.'],
    missing_field: ['Vui lòng nhập mục này.', 'Please fill in this field.'],
    invalid_prefix: ['Ký hiệu là 1–3 chữ cái in hoa.', 'The prefix is 1–3 capital letters.'],
    invalid_code: ['Mã gồm chữ, số và . _ - (tối đa 40 ký tự).', 'A code has letters, digits and . _ - (40 at most).'],
    invalid_hours: ['Giờ không hợp lệ.', 'These hours are not valid.'],
    invalid_name: ['Vui lòng nhập tên.', 'Please enter a name.'],
    weak_password: ['Mật khẩu cần 8–200 ký tự.', 'A password has 8–200 characters.'],
    invalid_policy: ['Quy tắc ưu tiên không hợp lệ.', 'This priority rule is not valid.'],
    invalid_timezone: ['Múi giờ không hợp lệ.', 'This time zone is not valid.'],
    invalid_printer: ['Địa chỉ máy in không hợp lệ.', null],  // the API says what is wrong with it
    counter_required: ['Máy đánh giá phải gắn với một quầy.', 'A feedback tablet belongs to one counter.'],
    unknown_counter: ['Không có quầy này.', 'There is no such counter.'],
    unknown_service: ['Không có lĩnh vực này.', 'There is no such service.'],
    code_fixed: ['Mã không đổi được.', 'A code cannot be changed.'],
    forbidden: ['Chỉ quản trị viên được thay đổi.', 'Only an administrator can make changes.'],
    csrf_failed: ['Phiên làm việc đã thay đổi. Vui lòng tải lại trang.', 'Your session changed. Please reload the page.'],
    device_revoked: ['Thiết bị đã bị thu hồi.', 'This device was revoked.'],
    network: ['Không kết nối được máy chủ.', 'Cannot reach the server.']
  };
  // [vi, en] of a refusal; `vi` when the code is not in the table
  function words(err, vi) {
    var w = WORDS[err && err.code];
    return w ? [w[0], w[1] || (err && err.message)] : [vi, err && err.message];
  }
  var STATES = {closed: 'Đóng / Closed', open: 'Sẵn sàng / Open', calling: 'Đang gọi / Calling',
    serving: 'Đang phục vụ / Serving', paused: 'Tạm dừng / Paused'};
  var ROLES = {officer: 'Cán bộ, công chức / Official', supervisor: 'Lãnh đạo / Leader', admin: 'Quản trị viên / Admin'};
  var KINDS = {kiosk: 'Máy lấy số / Kiosk', feedback: 'Máy đánh giá / Feedback tablet', display: 'Bảng hiển thị / Board'};
  var KIND_PATH = {kiosk: '/kiosk/', feedback: '/counter/feedback', display: '/display/'};

  function el(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined && text !== null) n.textContent = String(text);
    return n;
  }
  function bi(node, vi, en) { node.textContent = vi; if (en) node.appendChild(el('span', 'en', en)); return node; }
  function cell(tr, v, cls) { var td = el('td', cls, v === null || v === undefined ? '–' : v); tr.appendChild(td); return td; }
  function fold(s) { return String(s || '').normalize('NFD').replace(/[\u0300-\u036f]/g, '').replace(/đ/g, 'd').replace(/Đ/g, 'D').toLowerCase(); }

  function api(method, path, body) {
    var headers = {'Accept': 'application/json'};
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (method !== 'GET' && csrf) headers['X-CSRF-Token'] = csrf;
    return fetch('/api/v1' + path, {method: method, headers: headers, credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body)}).then(function (r) {
      if (r.status === 401) { window.location.href = '/login?ended=1&next=' + encodeURIComponent(window.location.pathname + window.location.search); }
      return r.text().then(function (t) {
        var data = null; try { data = t ? JSON.parse(t) : null; } catch (e) { data = null; }
        if (!r.ok) { var err = (data && data.error) || {code: 'http_' + r.status, message: r.statusText}; err.status = r.status; throw err; }
        return data;
      });
    }, function () { throw {code: 'network', message: 'Cannot reach the server'}; });
  }

  // -- forms: values in and out, errors next to their field ----------------------------------
  function setVal(form, name, v) {
    var f = form.elements[name]; if (!f) return;
    if (f.type === 'checkbox') f.checked = !!v; else f.value = v === null || v === undefined ? '' : v;
  }
  function getVal(form, name) {
    var f = form.elements[name]; if (!f) return undefined;
    if (f.type === 'checkbox') return f.checked;
    if (f.type === 'number') return f.value === '' ? null : Number(f.value);
    if (f.type === 'time') return f.value === '' ? null : f.value;
    return f.value.trim();
  }
  function clearErrors(form) {
    Array.prototype.forEach.call(form.querySelectorAll('.field-error'), function (n) { n.remove(); });
    Array.prototype.forEach.call(form.querySelectorAll('.has-error'), function (n) { n.classList.remove('has-error'); });
    status(form, '');
  }
  function status(form, text, bad) {
    var s = form.querySelector('.form-status'); if (!s) return;
    s.textContent = text; s.classList.toggle('bad', !!bad);
  }
  function showError(form, err) {
    var field = err && err.details && err.details.field ? String(err.details.field) : null;
    var w = words(err, 'Không lưu được.');
    var msg = el('p', 'field-error'); msg.setAttribute('role', 'alert');
    bi(msg, w[0], w[1]);
    msg.dataset.code = err && err.code || '';
    var target = null;
    if (field) {
      var base = field.replace(/\[\d+\].*$/, '').split('.')[0];
      target = form.querySelector('[data-field="' + field + '"]') || form.querySelector('[data-field="' + base + '"]');
      var idx = /^procedures\[(\d+)\]/.exec(field);
      if (idx) { var row = form.querySelectorAll('#procs tr')[Number(idx[1])]; if (row) row.classList.add('has-error'); }
    }
    if (target) { target.classList.add('has-error'); target.appendChild(msg); }
    else { var foot = form.querySelector('.form-foot'); foot.parentNode.insertBefore(msg, foot); }
    status(form, 'Chưa lưu / Not saved', true);
  }
  function lockReadOnly() {
    if (CAN_EDIT) return;
    Array.prototype.forEach.call(document.querySelectorAll('[data-edit]'), function (b) { b.hidden = true; });
    // a form that only asks (the reports' period) is a supervisor's to use
    Array.prototype.forEach.call(document.querySelectorAll('form:not([data-query]) input, form:not([data-query]) select, form:not([data-query]) textarea'), function (f) { f.disabled = true; });
  }
  function actionButton(tr, vi, en, fn) {
    var td = tr.lastChild && tr.lastChild.classList.contains('actions') ? tr.lastChild : tr.appendChild(el('td', 'actions'));
    var b = bi(el('button', 'btn ghost small'), vi, en); b.type = 'button';
    b.addEventListener('click', fn); td.appendChild(b); return b;
  }
  function openEditor(title) {
    var ed = $('editor'); ed.hidden = false; bi($('editor-title'), title[0], title[1]);
    clearErrors(ed.querySelector('form'));
    ed.scrollIntoView({block: 'start'});
  }
  function closeEditor() { $('editor').hidden = true; }
  Array.prototype.forEach.call(document.querySelectorAll('[data-close]'), function (b) { b.addEventListener('click', closeEditor); });
  function filterRows(input, rows) {
    var q = fold(input.value);
    Array.prototype.forEach.call(rows, function (tr) { tr.hidden = q !== '' && fold(tr.dataset.search).indexOf(q) < 0; });
  }

  // -- setup guidance --------------------------------------------------------------------------
  function setupBar() {
    var i = STEPS.indexOf(PAGE);
    if (!SETUP || i < 0) return;
    var bar = el('div', 'setup-bar'); bar.id = 'setup-bar';
    bar.appendChild(bi(el('span'), 'Thiết lập ban đầu · bước ' + (i + 1) + '/5', 'First setup · step ' + (i + 1) + ' of 5'));
    var next = el('a', 'btn');
    if (i + 1 < STEPS.length) { next.href = '/admin/' + STEPS[i + 1] + '?setup=1'; bi(next, 'Bước tiếp theo →', 'Next step'); }
    else { next.href = '/admin/setup'; bi(next, 'Xem lại các bước', 'Review the steps'); }
    next.id = 'setup-next';
    bar.appendChild(next);
    var main = document.querySelector('.admin-main'); main.insertBefore(bar, main.firstChild);
  }

  // -- pages -----------------------------------------------------------------------------------
  var pages = {};

  pages.settings = function () {
    var form = $('center-form');
    function fill(c) {
      setVal(form, 'name.vi', c.name.vi); setVal(form, 'name.en', c.name.en);
      ['timezone', 'recall_limit', 'speech_mode', 'speak_english', 'default_service_minutes', 'rating_scale',
       'citizen_daily_limit', 'alert_queue_length', 'alert_pause_minutes',
       'alert_silent_minutes'].forEach(function (k) { setVal(form, k, c[k]); });
      var p = String(c.priority_policy || 'strict').split(':');
      setVal(form, 'policy_kind', p[0]); setVal(form, 'policy_n', p[1] || '');
      policyN();
      setVal(form, 'result_service', c.result_service || '');
    }
    // N belongs to the interleaving and ageing rules only: an empty box under "priority first"
    // asked for a number nothing uses
    function policyN() {
      var n = form.elements.policy_n;
      n.hidden = getVal(form, 'policy_kind') === 'strict';
      n.placeholder = getVal(form, 'policy_kind') === 'aging' ? 'N phút / minutes' : 'N số / numbers';
    }
    form.elements.policy_kind.addEventListener('change', policyN);
    policyN();  // right from the first paint, not only once the settings have arrived
    // the services a citizen may join to collect a result, then the settings
    api('GET', '/services').then(function (r) {
      var sel = form.elements.result_service;
      (r.items || []).forEach(function (s) {
        var o = el('option', null, s.prefix + ' · ' + s.name.vi + ' / ' + s.name.en); o.value = s.code;
        sel.appendChild(o);
      });
    }, function () {}).then(function () { return api('GET', '/center'); }).then(fill);
    form.addEventListener('submit', function (ev) {
      ev.preventDefault(); clearErrors(form);
      var kind = getVal(form, 'policy_kind'), n = getVal(form, 'policy_n');
      var body = {name: {vi: getVal(form, 'name.vi'), en: getVal(form, 'name.en') || getVal(form, 'name.vi')},
        timezone: getVal(form, 'timezone'), priority_policy: kind === 'strict' ? 'strict' : kind + ':' + (n === null ? '' : n),
        recall_limit: getVal(form, 'recall_limit'), speech_mode: getVal(form, 'speech_mode'),
        speak_english: getVal(form, 'speak_english'), default_service_minutes: getVal(form, 'default_service_minutes'),
        rating_scale: getVal(form, 'rating_scale'), citizen_daily_limit: getVal(form, 'citizen_daily_limit'),
        alert_queue_length: getVal(form, 'alert_queue_length'), alert_pause_minutes: getVal(form, 'alert_pause_minutes'),
        alert_silent_minutes: getVal(form, 'alert_silent_minutes'),
        result_service: getVal(form, 'result_service') || null};
      api('PATCH', '/center', body).then(function (c) {
        fill(c); $('head-center').textContent = c.name.vi; status(form, 'Đã lưu / Saved');
      }, function (e) { showError(form, e); });
    });
  };

  pages.services = function () {
    var form = $('service-form'), editing = null, items = [];
    function procRow(p) {
      var tr = el('tr');
      [['code', 40], ['vi', 300], ['en', 300]].forEach(function (f) {
        var td = el('td'), inp = el('input'); inp.maxLength = f[1]; inp.dataset.k = f[0];
        inp.value = f[0] === 'code' ? p.code || '' : (p.name && p.name[f[0]]) || '';
        if (f[0] === 'code' && p.code && p.saved) inp.readOnly = true;
        td.appendChild(inp); tr.appendChild(td);
      });
      var act = el('td'), cb = el('input'); cb.type = 'checkbox'; cb.checked = p.active !== false; cb.dataset.k = 'active';
      act.appendChild(cb); tr.appendChild(act);
      var tools = el('td', 'tools');
      [['↑', -1], ['↓', 1]].forEach(function (m) {
        var b = el('button', 'btn ghost small', m[0]); b.type = 'button'; b.dataset.edit = '';
        b.setAttribute('aria-label', m[1] < 0 ? 'Lên / Up' : 'Xuống / Down');
        b.addEventListener('click', function () {
          var sib = m[1] < 0 ? tr.previousElementSibling : tr.nextElementSibling;
          if (sib) tr.parentNode.insertBefore(tr, m[1] < 0 ? sib : sib.nextSibling);
        });
        tools.appendChild(b);
      });
      tr.appendChild(tools);
      $('procs').appendChild(tr);
      return tr;
    }
    function procsOf() {
      return Array.prototype.map.call($('procs').querySelectorAll('tr'), function (tr) {
        var v = {}; Array.prototype.forEach.call(tr.querySelectorAll('input'), function (i) { v[i.dataset.k] = i.type === 'checkbox' ? i.checked : i.value.trim(); });
        return {code: v.code, name: {vi: v.vi, en: v.en || v.vi}, active: v.active};
      }).filter(function (p) { return p.code || p.name.vi; });
    }
    function edit(s) {
      editing = s;
      openEditor(s ? ['Sửa lĩnh vực ' + s.prefix + ' · ' + s.name.vi, 'Edit a service'] : ['Thêm lĩnh vực', 'Add a service']);
      form.reset();
      setVal(form, 'code', s ? s.code : ''); form.elements.code.readOnly = !!s;
      setVal(form, 'prefix', s ? s.prefix : ''); setVal(form, 'name.vi', s ? s.name.vi : ''); setVal(form, 'name.en', s ? s.name.en : '');
      setVal(form, 'target_wait_minutes', s ? s.target_wait_minutes : 30); setVal(form, 'opens_at', s ? s.opens_at : '');
      setVal(form, 'closes_at', s ? s.closes_at : ''); setVal(form, 'daily_cap', s ? s.daily_cap : '');
      setVal(form, 'start_number', s ? s.start_number : 1); setVal(form, 'position', s ? s.position : items.length);
      setVal(form, 'active', s ? s.active : true);
      $('procs').textContent = '';
      (s ? s.procedures : []).forEach(function (p) { procRow({code: p.code, name: p.name, active: p.active, saved: true}); });
      lockReadOnly();
      form.elements[s ? 'name.vi' : 'code'].focus();
    }
    function render() {
      var tb = document.querySelector('#list tbody'); tb.textContent = '';
      var retired = $('show-retired').checked;
      items.forEach(function (s) {
        if (!s.active && !retired) return;
        var tr = el('tr'); tr.dataset.code = s.code; if (!s.active) tr.className = 'retired';
        tr.dataset.search = [s.code, s.prefix, s.name.vi, s.name.en].concat(s.procedures.map(function (p) { return p.name.vi + ' ' + p.code; })).join(' ');
        cell(tr, s.prefix, 'prefix'); bi(cell(tr, ''), s.name.vi, s.name.en);
        cell(tr, s.procedures.filter(function (p) { return p.active; }).length, 'num');
        cell(tr, s.target_wait_minutes + ' ph', 'num');
        cell(tr, (s.opens_at || '00:00') + '–' + (s.closes_at || '24:00'));
        cell(tr, s.daily_cap === null || s.daily_cap === undefined ? 'không / none' : s.daily_cap, 'num');
        cell(tr, s.start_number, 'num');
        var unserved = s.active && s.served === false;
        bi(cell(tr, '', unserved ? 'unserved' : null), !s.active ? 'Đã ngừng' : unserved ? 'Chưa có quầy nhận' : 'Đang cấp số',
           !s.active ? 'Retired' : unserved ? 'No counter takes it' : 'In service');
        actionButton(tr, CAN_EDIT ? 'Sửa' : 'Xem', CAN_EDIT ? 'Edit' : 'View', function () { edit(s); });
        tb.appendChild(tr);
      });
      unservedNote(items.filter(function (s) { return s.active && s.served === false; }));
      $('empty').hidden = items.length > 0;
      filterRows($('filter'), tb.querySelectorAll('tr'));
    }
    // a service no counter takes issues no number at the kiosk: the admin is told which, and
    // where to give it a counter
    function unservedNote(list) {
      var note = $('unserved');
      if (!note) {
        note = el('p', 'unserved-note'); note.id = 'unserved'; note.setAttribute('role', 'note');
        $('list').parentNode.insertBefore(note, $('list'));
      }
      note.hidden = list.length === 0;
      note.textContent = '';
      if (!list.length) return;
      var names = function (k) { return list.map(function (s) { return s.prefix + ' · ' + s.name[k]; }).join(', '); };
      bi(note, 'Chưa quầy nào nhận ' + names('vi') + ': máy lấy số không cấp số cho lĩnh vực này. ',
         'No counter takes ' + names('en') + ': the kiosk issues no number for it.');
      var go = bi(el('a'), 'Giao cho một quầy', 'Give it a counter');
      go.href = '/admin/counters' + (SETUP ? '?setup=1' : '');
      note.appendChild(go);
    }
    function load() { return api('GET', '/services?all=1').then(function (b) { items = b.items; render(); }); }
    $('filter').addEventListener('input', function () { filterRows($('filter'), document.querySelectorAll('#list tbody tr')); });
    $('show-retired').addEventListener('change', render);
    $('add').addEventListener('click', function () { edit(null); });
    $('add-proc').addEventListener('click', function () { procRow({}).querySelector('input').focus(); });
    form.addEventListener('submit', function (ev) {
      ev.preventDefault(); clearErrors(form);
      var body = {prefix: getVal(form, 'prefix').toUpperCase(), name: {vi: getVal(form, 'name.vi'), en: getVal(form, 'name.en') || getVal(form, 'name.vi')},
        target_wait_minutes: getVal(form, 'target_wait_minutes'), opens_at: getVal(form, 'opens_at'), closes_at: getVal(form, 'closes_at'),
        daily_cap: getVal(form, 'daily_cap'), start_number: getVal(form, 'start_number'), position: getVal(form, 'position'),
        active: getVal(form, 'active'), procedures: procsOf()};
      if (!body.name.vi) body.name = null;
      var req = editing ? api('PATCH', '/services/' + encodeURIComponent(editing.code), body)
        : api('POST', '/services', Object.assign({code: getVal(form, 'code')}, body));
      req.then(function (s) { status(form, 'Đã lưu / Saved'); return load().then(function () { edit(s); status(form, 'Đã lưu / Saved'); }); },
        function (e) { showError(form, e); });
    });
    load();
  };

  pages.counters = function () {
    var form = $('counter-form'), editing = null, items = [], services = [], chosen = [];
    function svcName(code) { var s = services.filter(function (x) { return x.code === code; })[0]; return s ? s.prefix + ' · ' + s.name.vi : code; }
    function renderChosen() {
      var ol = $('chosen'); ol.textContent = '';
      chosen.forEach(function (code, i) {
        var li = el('li'); li.dataset.code = code; li.appendChild(el('span', null, svcName(code)));
        [['↑', -1], ['↓', 1], ['✕', 0]].forEach(function (m) {
          var b = el('button', 'btn ghost small', m[0]); b.type = 'button'; b.dataset.edit = '';
          b.setAttribute('aria-label', m[1] < 0 ? 'Lên / Up' : m[1] > 0 ? 'Xuống / Down' : 'Bỏ / Remove');
          b.addEventListener('click', function () {
            if (m[1] === 0) chosen.splice(i, 1);
            else if (chosen[i + m[1]] !== undefined) { var t = chosen[i]; chosen[i] = chosen[i + m[1]]; chosen[i + m[1]] = t; }
            renderChosen();
          });
          li.appendChild(b);
        });
        ol.appendChild(li);
      });
      renderPick();
      lockReadOnly();
    }
    function renderPick() {
      var q = fold($('svc-filter').value), sel = $('svc-pick'); sel.textContent = '';
      services.forEach(function (s) {
        if (!s.active || chosen.indexOf(s.code) >= 0) return;
        if (q && fold(s.prefix + ' ' + s.name.vi + ' ' + s.name.en + ' ' + s.code).indexOf(q) < 0) return;
        var o = el('option', null, s.prefix + ' · ' + s.name.vi); o.value = s.code; sel.appendChild(o);
      });
      // a new center's admin who skipped step 2 is told why the list is empty, and where to go
      $('svc-none').hidden = services.some(function (s) { return s.active; });
      $('svc-none').querySelector('a').href = '/admin/services' + (SETUP ? '?setup=1' : '');
    }
    function edit(c) {
      editing = c;
      openEditor(c ? ['Sửa ' + c.name.vi, 'Edit a counter'] : ['Thêm quầy', 'Add a counter']);
      form.reset();
      var next = items.reduce(function (m, x) { return Math.max(m, x.number); }, 0) + 1;
      setVal(form, 'number', c ? c.number : next); setVal(form, 'name.vi', c ? c.name.vi : '');
      setVal(form, 'name.en', c ? c.name.en : ''); setVal(form, 'mode', c ? c.mode || 'fifo' : 'fifo');
      setVal(form, 'active', c ? c.active : true);
      chosen = c ? c.services.slice() : []; renderChosen();
    }
    function render() {
      var tb = document.querySelector('#list tbody'); tb.textContent = '';
      items.forEach(function (c) {
        var tr = el('tr'); tr.dataset.number = c.number; if (!c.active) tr.className = 'retired';
        tr.dataset.search = [c.number, c.name.vi, c.name.en].concat(c.services.map(svcName)).join(' ');
        cell(tr, c.number, 'num'); bi(cell(tr, ''), c.name.vi, c.name.en);
        cell(tr, c.services.map(svcName).join(' → '));
        cell(tr, c.mode === 'ordered' ? 'Lĩnh vực đầu trước / First service first' : 'Đến trước gọi trước / Oldest first');
        cell(tr, c.active ? (STATES[c.state] || c.state) : 'Đã ngừng / Retired');
        actionButton(tr, CAN_EDIT ? 'Sửa' : 'Xem', CAN_EDIT ? 'Edit' : 'View', function () { edit(c); });
        tb.appendChild(tr);
      });
      $('empty').hidden = items.length > 0;
      filterRows($('filter'), tb.querySelectorAll('tr'));
    }
    function load() {
      return Promise.all([api('GET', '/counters?all=1'), api('GET', '/services?all=1')]).then(function (r) {
        items = r[0].items; services = r[1].items; render();
      });
    }
    $('filter').addEventListener('input', function () { filterRows($('filter'), document.querySelectorAll('#list tbody tr')); });
    $('svc-filter').addEventListener('input', renderPick);
    $('svc-add').addEventListener('click', function () { var v = $('svc-pick').value; if (v) { chosen.push(v); renderChosen(); } });
    $('add').addEventListener('click', function () { edit(null); });
    form.addEventListener('submit', function (ev) {
      ev.preventDefault(); clearErrors(form);
      var body = {number: getVal(form, 'number'), mode: getVal(form, 'mode'), services: chosen.slice(), active: getVal(form, 'active')};
      var vi = getVal(form, 'name.vi');
      if (vi) body.name = {vi: vi, en: getVal(form, 'name.en') || vi};
      if (editing && body.number === editing.number) delete body.number;
      var req = editing ? api('PATCH', '/counters/' + editing.number, body) : api('POST', '/counters', body);
      req.then(function (c) { return load().then(function () { edit(c); status(form, 'Đã lưu / Saved'); }); },
        function (e) { showError(form, e); });
    });
    load();
  };

  pages.categories = function () {
    var form = $('category-form'), editing = null, items = [];
    function edit(c) {
      editing = c; openEditor(c ? ['Sửa ' + c.name.vi, 'Edit a category'] : ['Thêm đối tượng ưu tiên', 'Add a category']);
      form.reset(); setVal(form, 'code', c ? c.code : ''); form.elements.code.readOnly = !!c;
      setVal(form, 'name.vi', c ? c.name.vi : ''); setVal(form, 'name.en', c ? c.name.en : '');
      setVal(form, 'position', c ? c.position : items.length); setVal(form, 'active', c ? c.active : true);
      lockReadOnly();
    }
    function load() {
      return api('GET', '/categories?all=1').then(function (b) {
        items = b.items; var tb = document.querySelector('#list tbody'); tb.textContent = '';
        items.forEach(function (c) {
          var tr = el('tr'); tr.dataset.code = c.code; if (!c.active) tr.className = 'retired';
          cell(tr, c.code); bi(cell(tr, ''), c.name.vi, c.name.en); cell(tr, c.position, 'num');
          bi(cell(tr, ''), c.active ? 'Đang dùng' : 'Đã ngừng', c.active ? 'In use' : 'Retired');
          actionButton(tr, CAN_EDIT ? 'Sửa' : 'Xem', CAN_EDIT ? 'Edit' : 'View', function () { edit(c); });
          tb.appendChild(tr);
        });
      });
    }
    $('add').addEventListener('click', function () { edit(null); });
    form.addEventListener('submit', function (ev) {
      ev.preventDefault(); clearErrors(form);
      var vi = getVal(form, 'name.vi');
      var body = {name: vi ? {vi: vi, en: getVal(form, 'name.en') || vi} : null, position: getVal(form, 'position'), active: getVal(form, 'active')};
      var req = editing ? api('PATCH', '/categories/' + encodeURIComponent(editing.code), body)
        : api('POST', '/categories', Object.assign({code: getVal(form, 'code')}, body));
      req.then(function (c) { return load().then(function () { edit(c); status(form, 'Đã lưu / Saved'); }); },
        function (e) { showError(form, e); });
    });
    load();
  };

  pages.users = function () {
    var form = $('user-form'), editing = null;
    function edit(u) {
      editing = u; openEditor(u ? ['Sửa tài khoản ' + u.username, 'Edit an account'] : ['Thêm tài khoản', 'Add an account']);
      form.reset(); setVal(form, 'username', u ? u.username : ''); form.elements.username.readOnly = !!u;
      setVal(form, 'name', u ? u.name : ''); setVal(form, 'role', u ? u.role : 'officer'); setVal(form, 'active', u ? u.active : true);
      lockReadOnly();
    }
    function load() {
      return api('GET', '/users').then(function (b) {
        var tb = document.querySelector('#list tbody'); tb.textContent = '';
        b.items.forEach(function (u) {
          var tr = el('tr'); tr.dataset.username = u.username; if (!u.active) tr.className = 'retired';
          tr.dataset.search = u.username + ' ' + u.name + ' ' + u.role;
          cell(tr, u.username); cell(tr, u.name); cell(tr, ROLES[u.role] || u.role);
          bi(cell(tr, ''), u.active ? 'Đang hoạt động' : 'Đã khoá', u.active ? 'Active' : 'Deactivated');
          actionButton(tr, CAN_EDIT ? 'Sửa' : 'Xem', CAN_EDIT ? 'Edit' : 'View', function () { edit(u); });
          tb.appendChild(tr);
        });
        filterRows($('filter'), tb.querySelectorAll('tr'));
      });
    }
    $('filter').addEventListener('input', function () { filterRows($('filter'), document.querySelectorAll('#list tbody tr')); });
    $('add').addEventListener('click', function () { edit(null); });
    form.addEventListener('submit', function (ev) {
      ev.preventDefault(); clearErrors(form);
      var body = {name: getVal(form, 'name'), role: getVal(form, 'role'), active: getVal(form, 'active')};
      var pw = form.elements.password.value; if (pw) body.password = pw;
      var req = editing ? api('PATCH', '/users/' + encodeURIComponent(editing.username), body)
        : api('POST', '/users', Object.assign({username: getVal(form, 'username')}, body));
      req.then(function (u) { return load().then(function () { edit(u); status(form, 'Đã lưu / Saved'); }); },
        function (e) { showError(form, e); });
    });
    load();
  };

  pages.devices = function () {
    var form = $('device-form'), editing = null, counters = [];
    // A second device added before the first was enrolled hid the first one's code: the codes
    // still valid stay listed under the newest (each works once, within 15 minutes)
    var shown = null, earlier = [];
    function hhmm(t) { var d = new Date(t); return ('0' + d.getHours()).slice(-2) + ':' + ('0' + d.getMinutes()).slice(-2); }
    function renderEarlier() {
      var now = Date.now(), list = $('enrolled-earlier'), box = $('enrolled-earlier-box');
      earlier = earlier.filter(function (x) { return x.until > now; });
      list.textContent = '';
      earlier.forEach(function (x) {
        var li = el('li'); li.dataset.device = String(x.id);
        li.appendChild(el('b', null, x.name));
        li.appendChild(el('span', 'code', x.code));
        li.appendChild(bi(el('span', 'until'), 'dùng được đến ' + hhmm(x.until), 'valid until ' + hhmm(x.until)));
        list.appendChild(li);
      });
      box.hidden = earlier.length === 0;
    }
    function showCode(d, code, token) {
      if (shown && shown.id !== d.id && !$('enrolled').hidden) earlier.unshift(shown);
      earlier = earlier.filter(function (x) { return x.id !== d.id; });  // a new code voids the old
      // the server says when the code expires (device_view's enrol_expires_at)
      shown = {id: d.id, name: d.name, code: code.replace(/^(\d{4})(\d{4})$/, '$1 $2'), until: Date.parse(d.enrol_expires_at)};
      $('enrolled').hidden = false; $('enrolled-name').textContent = d.name;
      $('enrolled-path').textContent = window.location.origin + KIND_PATH[d.kind];
      $('enrolled-code').textContent = shown.code;
      $('enrolled-token-box').hidden = !token; $('enrolled-token').textContent = token || '';
      renderEarlier();
      $('enrolled').scrollIntoView({block: 'start'});
    }
    $('enrolled-close').addEventListener('click', function () {
      $('enrolled').hidden = true; $('enrolled-token').textContent = ''; shown = null; earlier = [];
    });
    function fillCounters() {
      var sel = form.elements.counter; sel.textContent = '';
      var none = el('option', null, '— không / none —'); none.value = ''; sel.appendChild(none);
      counters.forEach(function (c) { var o = el('option', null, c.name.vi); o.value = c.number; sel.appendChild(o); });
    }
    function edit(d) {
      editing = d; openEditor(d ? ['Sửa thiết bị ' + d.name, 'Edit a device'] : ['Thêm thiết bị', 'Add a device']);
      form.reset(); fillCounters();
      setVal(form, 'name', d ? d.name : ''); setVal(form, 'kind', d ? d.kind : 'kiosk'); form.elements.kind.disabled = !!d;
      setVal(form, 'counter', d && d.counter ? d.counter : ''); setVal(form, 'printer', d ? d.printer : '');
      lockReadOnly();
    }
    function seen(t) { return t ? t.replace('T', ' ').slice(0, 16) : 'chưa / never'; }
    function load() {
      return Promise.all([api('GET', '/devices'), api('GET', '/counters')]).then(function (r) {
        counters = r[1].items; var tb = document.querySelector('#list tbody'); tb.textContent = '';
        r[0].items.forEach(function (d) {
          var tr = el('tr'); tr.dataset.id = d.id; if (!d.active) tr.className = 'retired';
          cell(tr, d.name); cell(tr, KINDS[d.kind] || d.kind); cell(tr, d.counter); cell(tr, d.printer);
          cell(tr, seen(d.last_seen_at));
          bi(cell(tr, ''), d.active ? (d.enrol_expires_at ? 'Chờ kích hoạt' : 'Đang dùng') : 'Đã thu hồi',
            d.active ? (d.enrol_expires_at ? 'Waiting for its code' : 'Active') : 'Revoked');
          actionButton(tr, CAN_EDIT ? 'Sửa' : 'Xem', CAN_EDIT ? 'Edit' : 'View', function () { edit(d); });
          if (CAN_EDIT && d.active) {
            actionButton(tr, 'Mã kích hoạt mới', 'New code', function () {
              api('POST', '/devices/' + d.id + '/enrol-code', {}).then(function (x) { showCode(x, x.enrol_code, null); load(); });
            }).dataset.action = 'code';
            actionButton(tr, 'Thu hồi', 'Revoke', function () {
              if (!window.confirm('Thu hồi ' + d.name + '? Thiết bị sẽ ngừng hoạt động ngay. / Revoke this device?')) return;
              api('POST', '/devices/' + d.id + '/revoke', {}).then(load);
            }).dataset.action = 'revoke';
          }
          tb.appendChild(tr);
        });
        $('empty').hidden = r[0].items.length > 0;
      });
    }
    $('add').addEventListener('click', function () { edit(null); });
    form.addEventListener('submit', function (ev) {
      ev.preventDefault(); clearErrors(form);
      var kind = editing ? editing.kind : getVal(form, 'kind');
      var body = {name: getVal(form, 'name') || null, counter: getVal(form, 'counter') ? Number(getVal(form, 'counter')) : null};
      if (kind === 'kiosk') body.printer = getVal(form, 'printer') || null;
      if (!editing) body.kind = kind;
      var req = editing ? api('PATCH', '/devices/' + editing.id, body) : api('POST', '/devices', body);
      req.then(function (d) {
        closeEditor(); if (d.enrol_code) showCode(d, d.enrol_code, d.token); load();
      }, function (e) { showError(form, e); });
    });
    load();
  };

  pages.audit = function () {
    function load() {
      var q = [];
      if ($('from').value) q.push('from=' + $('from').value);
      if ($('to').value) q.push('to=' + $('to').value);
      $('audit-error').hidden = true;
      api('GET', '/audit' + (q.length ? '?' + q.join('&') : '')).then(function (b) {
        var tb = document.querySelector('#list tbody'); tb.textContent = '';
        b.items.forEach(function (a) {
          var tr = el('tr'); var ch = JSON.stringify(a.changes || {});
          tr.dataset.search = [a.actor.name, a.action, a.target, ch].join(' ');
          cell(tr, a.at.replace('T', ' ').slice(0, 19)); cell(tr, a.actor.name); cell(tr, a.action); cell(tr, a.target);
          cell(tr, ch, 'changes'); tb.appendChild(tr);
        });
        $('empty').hidden = b.items.length > 0;
        filterRows($('filter'), tb.querySelectorAll('tr'));
      }, function (e) { var p = $('audit-error'); p.hidden = false; var w = words(e, 'Khoảng ngày không hợp lệ.'); bi(p, w[0], w[1]); });
    }
    $('from').addEventListener('change', load); $('to').addEventListener('change', load);
    $('filter').addEventListener('input', function () { filterRows($('filter'), document.querySelectorAll('#list tbody tr')); });
    load();
  };

  // the first-setup page's steps are written by the server (admin.setup_progress)

  // -- a list that could not be read --------------------------------------------------------------
  // A page whose data did not load said nothing: an empty table looked like an empty center.
  // Any API failure no form handled is told at the top of the page, in words, with a way on.
  WORDS.storage_unavailable = ['Máy chủ tạm thời không lưu, đọc được dữ liệu.', null];
  function loadFailed(err) {
    var code = err && err.code ? String(err.code) : '';
    var vi = words(err, /^http_5/.test(code) ? 'Máy chủ tạm thời không phản hồi.' : 'Không tải được dữ liệu.')[0];
    var bar = $('load-error');
    if (!bar) {
      bar = el('div', 'load-error'); bar.id = 'load-error'; bar.setAttribute('role', 'alert');
      var main = document.querySelector('.admin-main'); main.insertBefore(bar, main.firstChild);
    }
    bar.textContent = '';
    bar.appendChild(bi(el('span'), vi + ' Trang này có thể chưa đầy đủ.',
      'This page could not load everything' + (err && err.message ? ' (' + err.message + ')' : '') + '.'));
    var again = bi(el('button', 'btn'), 'Tải lại', 'Reload'); again.type = 'button';
    again.addEventListener('click', function () { window.location.reload(); });
    bar.appendChild(again);
  }
  window.addEventListener('unhandledrejection', function (ev) {
    var r = ev.reason;
    if (r && typeof r === 'object' && 'code' in r && r.status !== 401) { ev.preventDefault(); loadFailed(r); }
  });

  // -- start -----------------------------------------------------------------------------------
  var logout = $('logout');
  if (logout) {
    logout.addEventListener('click', function () {
      api('POST', '/auth/logout', {}).finally(function () { window.location.href = '/login?next=/admin/'; });
    });
  }
  api('GET', '/auth/me').then(function (me) {
    csrf = me.csrf_token;
    setupBar();
    if (pages[PAGE]) pages[PAGE]();
    lockReadOnly();
    document.body.dataset.ready = '1';
  }, function () {});
})();
