/* The counter terminal: one key per action, one action in flight at a time, live updates
   from the `counter` socket channel, the state always re-read from the API. */
(function () {
  'use strict';
  var L = window.Layso, el = L.el, bi = L.bi;
  var $ = function (id) { return document.getElementById(id); };

  // [code, Vietnamese, English] in the dialog's order: the server's one list (layso/queue/ops.py)
  var OUTCOMES = JSON.parse(document.body.dataset.outcomes);
  var STATES = {
    closed: ['Đang đóng', 'Closed'], open: ['Đang mở', 'Open'], calling: ['Đang gọi', 'Calling'],
    serving: ['Đang phục vụ', 'Serving'], paused: ['Tạm dừng', 'Paused'], none: ['', '']
  };
  // which actions are legal in which counter state (the server checks again)
  var LEGAL = {
    closed: ['btn-open'],
    open: ['btn-call-next', 'btn-pause', 'btn-close'],
    calling: ['btn-recall', 'btn-start', 'btn-no-show', 'btn-transfer'],
    serving: ['btn-complete', 'btn-transfer'],
    paused: ['btn-resume', 'btn-close']
  };
  var ACTION_IDS = ['btn-open', 'btn-call-next', 'btn-recall', 'btn-start', 'btn-complete',
                    'btn-no-show', 'btn-transfer', 'btn-pause', 'btn-resume', 'btn-close'];

  var S = {
    csrf: null, role: document.body.dataset.userRole, services: {}, serviceList: [],
    categories: {}, categoryList: [], number: null, counter: null, queue: [], absent: [], stats: null,
    skew: 0, inFlight: false, recallLimit: 3, messageTimer: null
  };

  function api(method, path, body, key) {
    return L.call(method, path, body, {csrf: S.csrf, key: key});
  }

  function serverNow() { return Date.now() + S.skew; }
  function minutesSince(iso) {
    if (!iso) return null;
    return Math.max(0, Math.floor((serverNow() - Date.parse(iso)) / 60000));
  }
  function fmtNumber(x, digits) { return window.LaysoFormat.fixed(x, digits); }
  function serviceName(code) {
    var s = S.services[code];
    return s ? s.name : {vi: code, en: code};
  }
  // a counter's services in one language, in its order
  function serviceNames(c, lang) {
    return c.services.map(function (code) { return serviceName(code)[lang]; }).join(', ');
  }

  // -- messages -------------------------------------------------------------------------------

  function message(kind, vi, en, sticky) {
    var m = $('message');
    m.className = 'msg' + (kind ? ' ' + kind : '');
    m.dataset.code = '';
    bi(m, vi, en);
    m.hidden = false;
    clearTimeout(S.messageTimer);
    if (!sticky) S.messageTimer = setTimeout(function () { m.hidden = true; }, 8000);
  }
  function failed(res) {
    if (res.status === 401) { goLogin(); return; }
    var d = L.describe(res.error);
    message('error', d.vi, d.en, true);
    $('message').dataset.code = res.error.code;
  }
  /* Back in touch with the server: a "cannot reach the server" left from the outage no longer
     holds (a refusal, like another official's counter, still does). */
  function clearOutage() {
    var m = $('message'), code = m.dataset.code || '';
    if (code === 'network' || code === 'storage_unavailable' || /^http_5/.test(code)) m.hidden = true;
  }
  var loggingOut = false;
  function goLogin() {
    // a refresh answered 401 because the official just logged out: that page goes to /login
    if (loggingOut) return;
    window.location.href = '/login?ended=1&next=' + encodeURIComponent('/counter/');
  }

  // -- loading --------------------------------------------------------------------------------

  async function boot() {
    var me = await api('GET', '/auth/me');
    if (me.status === 401) { goLogin(); return; }
    S.csrf = me.body && me.body.csrf_token;
    await Promise.all([loadCatalog(), loadStats()]);
    buildOutcomes();
    var wanted = parseInt(new URLSearchParams(location.search).get('counter'), 10);
    var held = S.stats && S.stats.counters.length ? S.stats.counters[0] : null;
    var kept = parseInt(sessionStorage.getItem('layso.counter'), 10);
    var n = wanted || held || kept || null;
    if (n) await choose(n, false); else await showPicker();
    connect();
    setInterval(renderTimes, 15000);
    setInterval(function () { refresh(true); }, 60000);  // a safety net if a socket event is lost
  }

  // the services and priority categories: at start, and again on `config.changed`
  async function loadCatalog() {
    var res = await Promise.all([api('GET', '/services'), api('GET', '/categories')]);
    if (res[0].body) {
      S.serviceList = res[0].body.items;
      S.services = {};
      S.serviceList.forEach(function (s) { S.services[s.code] = s; });
    }
    if (res[1].body) {
      S.categories = {};
      S.categoryList = res[1].body.items;
      res[1].body.items.forEach(function (c) { S.categories[c.code] = c.name; });
    }
  }

  async function loadStats() {
    var r = await api('GET', '/me/stats');
    if (r.body) {
      S.stats = r.body;
      S.recallLimit = r.body.recall_limit;
      S.skew = Date.parse(r.body.now) - Date.now();
      renderStats();
    }
    return r;
  }

  var refreshTimer = null;
  function scheduleRefresh(withStats) {
    if (withStats) scheduleRefresh.stats = true;
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(function () {
      var st = scheduleRefresh.stats; scheduleRefresh.stats = false;
      refresh(st);
    }, 120);
  }

  async function refresh(withStats) {
    if (S.number === null) return;
    var n = S.number;
    var calls = [api('GET', '/counters/' + n), api('GET', '/queue?counter=' + n),
                 api('GET', '/counters/' + n + '/absent')];
    if (withStats) calls.push(loadStats());
    var r = await Promise.all(calls);
    if (r[0].status === 401) { goLogin(); return; }
    if (n !== S.number) return;
    if (r[0].body && !r[0].error) S.counter = r[0].body;
    if (r[1].body && !r[1].error) S.queue = r[1].body.items;
    if (r[2].body && !r[2].error) S.absent = r[2].body.items;
    render();
  }

  // -- choosing a counter ---------------------------------------------------------------------

  async function showPicker() {
    $('desk').hidden = true;
    $('picker').hidden = false;
    $('btn-switch').hidden = true;
    $('picker-message').hidden = true;
    bi($('counter-name'), 'Chọn quầy', 'Choose a counter');
    $('counter-state').hidden = true;
    var r = await api('GET', '/counters');
    if (r.status === 401) { goLogin(); return; }
    var list = $('picker-list');
    list.textContent = '';
    (r.body ? r.body.items : []).forEach(function (c) {
      var b = el('button', 'pick');
      b.type = 'button';
      b.dataset.counter = c.number;
      b.appendChild(bi(el('span', 'pick-name'), c.name.vi, c.name.en));
      b.appendChild(bi(el('span', 'pick-services'), serviceNames(c, 'vi'), serviceNames(c, 'en')));
      var st = el('span', 'state-pill');
      st.dataset.state = c.state;
      bi(st, STATES[c.state][0], STATES[c.state][1]);
      b.appendChild(st);
      // choosing a closed counter opens it for calling: the card says so before the click
      if (c.state === 'closed') {
        b.appendChild(bi(el('span', 'pick-opens'), 'Chọn để mở quầy và bắt đầu gọi số',
                         'Choosing it opens it for calling'));
      }
      b.addEventListener('click', function () { choose(c.number, true); });
      list.appendChild(b);
    });
  }

  async function choose(n, openIt) {
    S.number = n;
    sessionStorage.setItem('layso.counter', String(n));
    $('picker').hidden = true;
    $('desk').hidden = false;
    $('btn-switch').hidden = false;
    await refresh(false);
    if (!S.counter || S.counter.number !== n) {
      S.number = null;
      sessionStorage.removeItem('layso.counter');
      await showPicker();
      return;
    }
    // opening is idempotent for the holder and refused to anyone else: ask, so an official
    // never works on a counter another official holds (a paused counter stays paused)
    if (!openIt || S.counter.state === 'paused') return;
    var was = S.counter.state;
    var res = await run($('btn-open'), 'POST', base() + '/open', null, function (r) {
      var name = r.body && r.body.name ? r.body.name : S.counter.name;
      if (was === 'closed') {
        message('ok', 'Đã mở ' + name.vi + ', sẵn sàng gọi số.', name.en + ' is open, ready to call.');
      }
    });
    if (res && res.error && res.status === 403) {
      S.number = null;
      S.counter = null;
      sessionStorage.removeItem('layso.counter');
      await showPicker();
      var d = L.describe(res.error);
      bi($('picker-message'), d.vi, d.en);
      $('picker-message').className = 'msg error';
      $('picker-message').hidden = false;
    }
  }

  // -- rendering ------------------------------------------------------------------------------

  function renderStats() {
    var s = S.stats;
    if (!s) return;
    $('stat-served').textContent = String(s.served);
    $('stat-mean').textContent = fmtNumber(s.mean_service_minutes, 1);
    $('stat-rating').textContent = s.mean_rating === null ? '–' : fmtNumber(s.mean_rating, 1) + '/5';
    bi($('stat-rating-n'), s.ratings + ' đánh giá', s.ratings + ' ratings');
  }

  function render() {
    var c = S.counter;
    if (!c) return;
    bi($('counter-name'), c.name.vi, c.name.en);
    var pill = $('counter-state');
    pill.hidden = false;
    pill.dataset.state = c.state;
    bi(pill, STATES[c.state][0], STATES[c.state][1]);
    document.title = c.name.vi + ' · ' + STATES[c.state][0] + ' · Lấy Số';
    renderCurrent();
    renderButtons();
    renderQueue();
    renderAbsent();
  }

  function renderCurrent() {
    var c = S.counter, t = c.current;
    var box = $('current');
    box.dataset.state = c.state;
    var stateNode = $('cur-state');
    var idle = $('cur-idle');
    if (!t) {
      box.classList.add('empty');
      $('cur-label').textContent = '—';
      $('cur-service').textContent = '';
      $('cur-tags').textContent = '';
      ['cur-procedure', 'cur-waited', 'cur-recalls'].forEach(function (id) {
        $(id).textContent = '—';
      });
      $('cur-dossier-box').hidden = true;
      if (c.state === 'closed') {
        bi(stateNode, 'Quầy đang đóng', 'The counter is closed');
        bi(idle, 'Bấm Mở quầy (phím O) để bắt đầu nhận công dân.',
           'Press Open counter (key O) to start receiving citizens.');
      } else if (c.state === 'paused') {
        bi(stateNode, 'Tạm dừng: ' + (c.pause_reason || ''),
           'Paused' + (c.pause_reason ? ': ' + (c.pause_reason_en || c.pause_reason) : ''));
        bi(idle, 'Bấm Tiếp tục (phím P) khi sẵn sàng.', 'Press Resume (key P) when ready.');
      } else {
        bi(stateNode, 'Sẵn sàng', 'Ready');
        var n = S.queue.length;
        bi(idle, n ? 'Có ' + n + ' công dân đang chờ. Bấm Space hoặc F1 để gọi số tiếp theo.'
                   : 'Chưa có công dân nào đang chờ (' + serviceNames(c, 'vi') + ').',
           n ? n + ' waiting. Press Space or F1 to call the next number.'
             : 'Nobody is waiting (' + serviceNames(c, 'en') + ').');
      }
      idle.hidden = false;
      return;
    }
    box.classList.remove('empty');
    idle.hidden = true;
    if (c.state === 'calling') {
      bi(stateNode, 'Đang gọi — chờ công dân đến quầy', 'Calling — waiting for the citizen');
    } else {
      bi(stateNode, 'Đang tiếp nhận', 'Serving');
    }
    $('cur-label').textContent = t.label;
    bi($('cur-service'), t.service.name.vi, t.service.name.en);
    var tags = $('cur-tags');
    tags.textContent = '';
    if (t.priority) {
      var cat = S.categories[t.priority] || {vi: t.priority, en: t.priority};
      tags.appendChild(bi(el('span', 'badge badge-prio'), 'Ưu tiên: ' + cat.vi,
                          'Priority: ' + (cat.en || cat.vi)));
    }
    var proc = '—';
    var svc = S.services[t.service.code];
    if (t.procedure) {
      proc = t.procedure;
      (svc ? svc.procedures : []).forEach(function (p) { if (p.code === t.procedure) proc = p.name.vi; });
    }
    $('cur-procedure').textContent = proc;
    $('cur-recalls').textContent = t.recalls + ' / ' + S.recallLimit;
    // a citizen collecting a result: which dossier to fetch, before they reach the counter
    $('cur-dossier-box').hidden = !t.dossier;
    $('cur-dossier').textContent = t.dossier || '—';
    renderTimes();
  }

  function renderTimes() {
    var c = S.counter;
    if (c && c.current) {
      $('cur-waited').textContent = minutesSince(c.current.issued_at) + ' phút';
      var started = c.current.started_at;
      $('cur-serving-box').hidden = !started;
      if (started) $('cur-serving').textContent = minutesSince(started) + ' phút';
    }
    renderQueue();
  }

  function renderButtons() {
    var legal = LEGAL[S.counter.state] || [];
    ACTION_IDS.forEach(function (id) {
      var b = $(id);
      b.hidden = legal.indexOf(id) < 0;
      b.disabled = S.inFlight;
    });
    var t = S.counter.current;
    var rc = $('recall-count');
    rc.textContent = t ? t.recalls + '/' + S.recallLimit : '';
    $('btn-recall').classList.toggle('at-limit', !!t && t.recalls >= S.recallLimit);
    $('btn-call-label').disabled = S.inFlight || S.counter.state !== 'open';
  }

  function renderQueue() {
    var body = $('queue-list');
    body.textContent = '';
    var canCall = S.counter && S.counter.state === 'open' && !S.inFlight;
    S.queue.forEach(function (t, i) {
      var tr = el('tr');
      tr.dataset.label = t.label;
      var waited = minutesSince(t.issued_at);
      var svc = S.services[t.service.code];
      var target = svc ? svc.target_wait_minutes : null;
      var over = target !== null && waited > target;
      if (over) tr.className = 'overdue';
      tr.appendChild(el('td', 'pos', String(i + 1)));
      var lab = el('td', 'lab');
      lab.appendChild(el('b', null, t.label));
      if (t.priority) {
        var cat = S.categories[t.priority] || {vi: t.priority, en: t.priority};
        var b = bi(el('span', 'badge badge-prio'), 'Ưu tiên', 'Priority');
        b.title = cat.vi + ' / ' + (cat.en || cat.vi);
        lab.appendChild(b);
      }
      if (t.dossier) {
        var d = el('span', 'q-dossier', t.dossier);
        d.title = 'Nhận kết quả hồ sơ ' + t.dossier + ' / collects the result of this dossier';
        lab.appendChild(d);
      }
      tr.appendChild(lab);
      // the service in Vietnamese (its English on hover): a second line for nine rows would
      // push the queue under the laptop's fold; the citizen's card above shows both
      var svcCell = el('td', 'svc', t.service.name.vi);
      svcCell.title = t.service.name.en;
      svcCell.lang = 'vi';
      tr.appendChild(svcCell);
      var wt = bi(el('td', 'num waited'), waited + ' phút', waited + ' min');
      if (over) {
        var late = bi(el('span', 'badge badge-warn'), 'quá hạn', 'late');
        late.title = 'Vượt thời gian chờ mục tiêu ' + target + ' phút / over the ' + target +
                     '-minute target';
        wt.appendChild(late);
      }
      tr.appendChild(wt);
      var act = el('td', 'act-cell');
      var btn = bi(el('button', 'btn btn-small call-one'), 'Gọi', 'Call');
      btn.type = 'button';
      btn.title = 'Gọi số ' + t.label + ' / Call ' + t.label;
      btn.disabled = !canCall;
      btn.addEventListener('click', function () { callChosen(t.id, btn); });
      // a citizen who did not say at the kiosk that they are elderly or disabled: the official
      // corrects it here (the queue then reorders by the center's priority rule)
      var pb = bi(el('button', 'btn btn-small set-prio'), 'Sửa ưu tiên', 'Priority');
      pb.type = 'button';
      pb.title = 'Đối tượng ưu tiên của số ' + t.label + ' / Priority of ' + t.label;
      pb.disabled = S.inFlight || !S.categoryList.length;
      pb.addEventListener('click', function () { openPriority(t); });
      act.appendChild(pb);
      act.appendChild(btn);
      tr.appendChild(act);
      body.appendChild(tr);
    });
    $('queue-count').textContent = String(S.queue.length);
    $('queue-empty').hidden = S.queue.length > 0;
  }

  function renderAbsent() {
    var list = $('absent-list');
    list.textContent = '';
    $('absent-count').textContent = String(S.absent.length);
    S.absent.forEach(function (t) {
      var li = el('li');
      li.dataset.label = t.label;
      li.appendChild(el('b', null, t.label));
      li.appendChild(el('span', 'svc', t.service.name.vi));
      var b = el('button', 'btn btn-small reactivate');
      b.type = 'button';
      bi(b, 'Khôi phục số', 'Reactivate');
      b.disabled = S.inFlight;
      b.addEventListener('click', function () {
        run(b, 'POST', '/tickets/' + t.id + '/reactivate', null, function (res) {
          message('ok', 'Đã khôi phục số ' + res.body.label + ': số được xếp lại vào hàng chờ.',
                  res.body.label + ' is waiting again.');
        });
      });
      li.appendChild(b);
      list.appendChild(li);
    });
  }

  // -- actions --------------------------------------------------------------------------------

  /* One user intent = one Idempotency-Key; retries inside L.call reuse it. */
  async function run(btn, method, path, body, onOk, onError) {
    if (S.inFlight) return;
    S.inFlight = true;
    if (btn) btn.classList.add('busy');
    if (S.counter) renderButtons();
    var res;
    try {
      res = await api(method, path, body, L.newKey());
    } finally {
      S.inFlight = false;
      if (btn) btn.classList.remove('busy');
    }
    if (res.error) {
      if (!(onError && onError(res))) failed(res);
    } else if (onOk) onOk(res);
    await refresh(true);
    return res;
  }

  function base() { return '/counters/' + S.number; }

  function doAction(id) {
    var b = $(id);
    if (!S.counter || b.hidden || b.disabled || S.inFlight) return;
    switch (id) {
      case 'btn-open':
      case 'btn-resume':
        return run(b, 'POST', base() + '/open', null, function () {
          message('ok', 'Quầy đã mở, sẵn sàng gọi số.', 'The counter is open.');
        });
      case 'btn-call-next':
        return run(b, 'POST', base() + '/call-next', null, function (res) {
          if (res.status === 204) {
            message('', 'Không có công dân nào đang chờ.', 'Nobody is waiting.');
          } else {
            message('ok', 'Đã gọi số ' + res.body.label + '.', 'Called ' + res.body.label + '.');
          }
        });
      case 'btn-recall':
        return run(b, 'POST', base() + '/recall', null, function (res) {
          message('ok', 'Đã gọi lại số ' + res.body.label + ' (lần ' + res.body.recalls + '/' +
                  S.recallLimit + ').', 'Called again.');
        });
      case 'btn-start':
        return run(b, 'POST', base() + '/start', null);
      case 'btn-no-show': return openNoShow();
      case 'btn-complete': return openComplete();
      case 'btn-transfer': return openTransfer();
      case 'btn-pause': return openPause();
      case 'btn-close':
        return run(b, 'POST', base() + '/close', null, function () {
          message('', 'Quầy đã đóng.', 'The counter is closed.');
        });
    }
  }

  function callChosen(ref, btn) {
    return run(btn, 'POST', base() + '/call', {ticket: ref}, function (res) {
      message('ok', 'Đã gọi số ' + res.body.label + '.', 'Called ' + res.body.label + '.');
    });
  }

  // -- dialogs --------------------------------------------------------------------------------

  function buildOutcomes() {
    var box = $('outcomes');
    box.textContent = '';
    OUTCOMES.forEach(function (o, i) {
      var lab = el('label', 'outcome');
      var input = el('input');
      input.type = 'radio'; input.name = 'outcome'; input.value = o[0];
      if (i === 0) input.checked = true;
      lab.appendChild(input);
      lab.appendChild(el('span', 'kbd', String(i + 1)));
      var txt = el('span', 'outcome-text');
      bi(txt, o[1], o[2]);
      lab.appendChild(txt);
      box.appendChild(lab);
    });
  }

  function openComplete() {
    var t = S.counter.current;
    $('complete-label').textContent = t.label;
    var sel = $('complete-procedure');
    sel.textContent = '';
    var none = el('option', null, '— Không ghi thủ tục / none —');
    none.value = '';
    sel.appendChild(none);
    var svc = S.services[t.service.code];
    (svc ? svc.procedures : []).forEach(function (p) {
      var o = el('option', null, p.name.vi);
      o.value = p.code;
      if (p.code === t.procedure) o.selected = true;
      sel.appendChild(o);
    });
    sel.parentElement.hidden = !(svc && svc.procedures.length);
    // a citizen who came for a result most likely leaves with it
    document.querySelector('#outcomes input[value=' + (t.dossier ? 'result_returned' : 'done') +
                           ']').checked = true;
    $('complete-dossier').value = t.dossier || '';
    $('complete-error').hidden = true;
    $('dlg-complete').showModal();
    $('complete-confirm').focus();
  }

  async function openTransfer() {
    var t = S.counter.current;
    // the waiting counts as they are now, not as they were when the page loaded
    var fresh = await api('GET', '/services');
    if (fresh.body && fresh.body.items) S.serviceList = fresh.body.items;
    $('transfer-label').textContent = t.label;
    var box = $('transfer-services');
    box.textContent = '';
    var first = true;
    S.serviceList.forEach(function (s) {
      // a service no counter takes is no place to send a citizen: nobody would call them
      if (s.code === t.service.code || s.served === false) return;
      var lab = el('label', 'svc-option');
      var input = el('input');
      input.type = 'radio'; input.name = 'service'; input.value = s.code;
      if (first) { input.checked = true; first = false; }
      lab.appendChild(input);
      lab.appendChild(el('span', 'svc-prefix', s.prefix));
      var txt = el('span');
      bi(txt, s.name.vi, s.name.en);
      lab.appendChild(txt);
      lab.appendChild(bi(el('span', 'svc-waiting'), s.waiting + ' chờ', s.waiting + ' waiting'));
      box.appendChild(lab);
    });
    document.querySelector('#transfer-form input[value=front]').checked = true;
    $('dlg-transfer').showModal();
    $('transfer-confirm').focus();
  }

  /* No-show is never one tap: the dialog says how often the citizen was called. */
  function openNoShow() {
    var t = S.counter.current;
    $('no-show-label').textContent = t.label;
    var calls = 1 + (t.recalls || 0);
    bi($('no-show-hint'), 'Số ' + t.label + ' đã được gọi ' + calls + ' lần' +
       (t.recalls ? '' : ' (chưa gọi lại lần nào)') + '. Có thể khôi phục nếu công dân quay lại.',
       'Called ' + calls + (calls > 1 ? ' times' : ' time') + '; it can be reactivated if the ' +
       'citizen comes back.');
    $('dlg-no-show').showModal();
    $('no-show-confirm').focus();
  }

  /* Leaving the counter (logging out, or switching to another counter) with it open asks
     first; then the counter's citizen (if any) goes back to the front of the queue and the
     counter closes, so nobody stays called forever and the board stops showing them. */
  function leavingHint(node) {
    var c = S.counter, t = c.current;
    if (t) {
      bi(node, 'Số ' + t.label + ' đang ' + (c.state === 'serving' ? 'được phục vụ' : 'được mời') +
         ' tại quầy này: số sẽ được đưa về đầu hàng chờ để quầy khác gọi.',
         t.label + ' is ' + (c.state === 'serving' ? 'being served' : 'called') +
         ' here: it goes back to the front of the queue for another counter.');
    } else {
      bi(node, 'Quầy sẽ được đóng.', 'The counter will be closed.');
    }
  }
  function counterWord(c) { return (c.name && c.name.vi) || ('Quầy ' + c.number); }
  function holdsOpenCounter() {
    return S.number !== null && S.counter && S.counter.state !== 'closed';
  }

  /* `which` is the dialog (`logout` or `switch`); with no open counter to leave, go on. */
  function askLeaving(which, goOn) {
    if (!holdsOpenCounter()) { goOn(); return; }
    $(which + '-counter').textContent = counterWord(S.counter);
    leavingHint($(which + '-hint'));
    $('dlg-' + which).showModal();
    $(which + '-confirm').focus();
  }
  function openLogout() { askLeaving('logout', logout); }
  function openSwitch() { askLeaving('switch', toPicker); }

  function toPicker() {
    S.number = null;
    S.counter = null;
    sessionStorage.removeItem('layso.counter');
    history.replaceState(null, '', '/counter/');
    showPicker();
  }

  /* POST release for the counter being left; true when it is left (or was not ours). */
  async function release(btn) {
    btn.disabled = true;
    var r = await api('POST', base() + '/release', null, L.newKey());
    btn.disabled = false;
    if (r.status === 401) { goLogin(); return false; }
    if (r.error && r.error.code !== 'not_your_counter') {
      var d = L.describe(r.error);
      message('error', d.vi, d.en, true);
      return false;
    }
    return true;
  }

  async function logout() {
    $('btn-logout').disabled = true;
    loggingOut = true;
    await api('POST', '/auth/logout', null);
    sessionStorage.removeItem('layso.counter');
    window.location.href = '/login';
  }

  var prioTicket = null;
  function openPriority(t) {
    prioTicket = t;
    $('priority-label').textContent = t.label;
    var box = $('priority-options');
    box.textContent = '';
    var choices = [{code: '', name: {vi: 'Không ưu tiên', en: 'No priority'}}].concat(S.categoryList);
    choices.forEach(function (c) {
      var lab = el('label', 'outcome');
      var input = el('input');
      input.type = 'radio'; input.name = 'priority'; input.value = c.code;
      input.checked = (t.priority || '') === c.code;
      lab.appendChild(input);
      var txt = el('span', 'outcome-text');
      bi(txt, c.name.vi, c.name.en);
      lab.appendChild(txt);
      box.appendChild(lab);
    });
    $('dlg-priority').showModal();
    $('priority-confirm').focus();
  }

  function openPause() {
    $('pause-reason').value = '';
    $('dlg-pause').showModal();
    $('pause-reason').focus();
  }

  function wireDialogs() {
    document.querySelectorAll('dialog [data-close]').forEach(function (b) {
      b.addEventListener('click', function () { b.closest('dialog').close(); });
    });
    $('complete-form').addEventListener('submit', function (ev) {
      ev.preventDefault();
      var outcome = document.querySelector('#outcomes input:checked').value;
      var proc = $('complete-procedure').value || null;
      var dossier = $('complete-dossier').value.trim();
      $('dlg-complete').close();
      var body = {outcome: outcome};
      if (proc) body.procedure = proc;
      if (dossier) body.dossier = dossier;
      run($('btn-complete'), 'POST', base() + '/complete', body, function (res) {
        message('ok', 'Đã hoàn thành số ' + res.body.label + '. Mời công dân đánh giá trên máy tính bảng.',
                res.body.label + ' completed; the citizen can now rate the service.');
      }, function (res) {
        // the server checks the code (layso.queue.citizens): ask again, with what was typed
        if (!res.error || res.error.code !== 'invalid_dossier') return false;
        $('dlg-complete').showModal();
        $('complete-dossier').value = dossier;
        bi($('complete-error'), 'Mã hồ sơ không hợp lệ: chỉ gồm chữ, số, dấu chấm và gạch nối (tối đa 40 ký tự).',
           'Not a dossier code: letters, digits, dots and dashes, at most 40.');
        $('complete-error').hidden = false;
        $('complete-dossier').focus();
        return true;
      });
    });
    $('complete-dossier').addEventListener('input', function () {
      $('complete-error').hidden = true;  // a new code: the last one's refusal no longer holds
    });
    // a barcode scanner ends its code with Enter: that confirms the code, not the dialog
    $('complete-dossier').addEventListener('keydown', function (ev) {
      if (ev.key === 'Enter') {
        ev.preventDefault();
        $('complete-confirm').focus();
      }
    });
    $('dlg-complete').addEventListener('keydown', function (ev) {
      var n = parseInt(ev.key, 10);
      if (n >= 1 && n <= OUTCOMES.length && ev.target.tagName !== 'SELECT' &&
          ev.target.tagName !== 'INPUT') {
        document.querySelectorAll('#outcomes input')[n - 1].checked = true;
        ev.preventDefault();
      }
    });
    $('transfer-form').addEventListener('submit', function (ev) {
      ev.preventDefault();
      var svc = document.querySelector('#transfer-services input:checked');
      var pos = document.querySelector('#transfer-form input[name=position]:checked').value;
      if (!svc) return;
      $('dlg-transfer').close();
      run($('btn-transfer'), 'POST', base() + '/transfer', {service: svc.value, position: pos},
          function (res) {
            var name = serviceName(svc.value);
            message('ok', 'Đã chuyển số ' + res.body.label + ' sang ' + name.vi +
                    (pos === 'front' ? ' (lên đầu hàng chờ).' : ' (cuối hàng chờ).'),
                    res.body.label + ' moved to ' + name.en + '.');
          });
    });
    document.querySelectorAll('#pause-chips .chip').forEach(function (c) {
      c.addEventListener('click', function () {
        $('pause-reason').value = c.dataset.reason;
        $('pause-reason').focus();
      });
    });
    $('no-show-form').addEventListener('submit', function (ev) {
      ev.preventDefault();
      $('dlg-no-show').close();
      run($('btn-no-show'), 'POST', base() + '/no-show', null, function (res) {
        message('ok', 'Số ' + res.body.label + ' được ghi vắng mặt. Có thể khôi phục nếu công dân quay lại.',
                res.body.label + ' marked absent; it can be reactivated.');
      });
    });
    $('logout-form').addEventListener('submit', async function (ev) {
      ev.preventDefault();
      $('dlg-logout').close();
      if (await release($('btn-logout'))) logout();
    });
    $('switch-form').addEventListener('submit', async function (ev) {
      ev.preventDefault();
      $('dlg-switch').close();
      if (await release($('btn-switch'))) toPicker();
    });
    $('priority-form').addEventListener('submit', function (ev) {
      ev.preventDefault();
      var t = prioTicket, picked = document.querySelector('#priority-options input:checked');
      $('dlg-priority').close();
      if (!t || !picked) return;
      var code = picked.value || null;
      run(null, 'POST', '/tickets/' + t.id + '/priority', {priority: code}, function (res) {
        var name = code ? S.categories[code] : null;
        message('ok', name ? 'Số ' + res.body.label + ' được ưu tiên: ' + name.vi + '.'
                           : 'Số ' + res.body.label + ' không còn ưu tiên.',
                name ? res.body.label + ' now has priority: ' + name.en + '.'
                     : res.body.label + ' has no priority now.');
      });
    });
    $('pause-form').addEventListener('submit', function (ev) {
      ev.preventDefault();
      var reason = $('pause-reason').value.trim();
      if (!reason) { $('pause-reason').focus(); return; }
      $('dlg-pause').close();
      run($('btn-pause'), 'POST', base() + '/pause', {reason: reason}, function () {
        message('', 'Quầy đang tạm dừng: ' + reason + '.', 'The counter is paused.');
      });
    });
  }

  // -- keys -----------------------------------------------------------------------------------

  var KEYS = {
    ' ': 'btn-call-next', F1: 'btn-call-next', o: 'btn-open', r: 'btn-recall', s: 'btn-start',
    c: 'btn-complete', v: 'btn-no-show', t: 'btn-transfer'
  };

  function onKey(ev) {
    if (ev.ctrlKey || ev.altKey || ev.metaKey) return;
    if (document.querySelector('dialog[open]')) return;
    var tag = ev.target && ev.target.tagName;
    // letters typed in a field are text, never commands
    if (tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' ||
        (ev.target && ev.target.isContentEditable)) return;
    var key = ev.key.length === 1 ? ev.key.toLowerCase() : ev.key;
    var id = KEYS[key];
    if (key === 'p') id = S.counter && S.counter.state === 'paused' ? 'btn-resume' : 'btn-pause';
    if (!id) return;
    ev.preventDefault();  // Space must not also press the focused button; F1 opens no help
    if (ev.repeat) return;  // a key held down is one intent
    doAction(id);
  }

  // -- live -----------------------------------------------------------------------------------

  function connect() {
    if (typeof io === 'undefined') return;
    var socket = io({auth: {channel: 'counter'}, transports: ['websocket', 'polling']});
    var seen = {epoch: null, seq: null};
    socket.on('connect', function () {
      $('conn-banner').hidden = true;
      clearOutage();
      refresh(true);
    });
    socket.on('disconnect', function () { $('conn-banner').hidden = false; });
    socket.on('connect_error', async function () {
      $('conn-banner').hidden = false;
      var me = await api('GET', '/auth/me');
      if (me.status === 401) goLogin();
    });
    socket.onAny(function (type, msg) {
      if (msg && msg.epoch) {
        // a gap (or a new day) means something was missed: ask for it, and re-read anyway
        if (type === 'tick') {
          if (seen.epoch !== msg.epoch || seen.seq !== msg.seq) {
            socket.emit('sync', {epoch: seen.epoch, seq: seen.seq});
            scheduleRefresh(true);
          }
          return;
        }
        if (typeof msg.seq === 'number') { seen.epoch = msg.epoch; seen.seq = msg.seq; }
      }
      if (type === 'config.changed') {
        // a service, counter or category was changed by an admin: re-read them, then redraw
        loadCatalog().then(function () { scheduleRefresh(true); });
      } else if (type === 'snapshot' || type === 'day.opened' || type === 'rating.recorded' ||
          type === 'ticket.completed' || type === 'ticket.no_show') {
        scheduleRefresh(true);
      } else if (type.indexOf('ticket.') === 0 || type === 'queue.changed' ||
                 type === 'counter.changed') {
        scheduleRefresh(false);
      }
    });
  }

  // -- start ----------------------------------------------------------------------------------

  ACTION_IDS.forEach(function (id) {
    $(id).addEventListener('click', function () { doAction(id); });
  });
  $('btn-switch').addEventListener('click', openSwitch);
  $('btn-logout').addEventListener('click', openLogout);
  $('call-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var v = $('call-label').value.trim().toUpperCase();
    if (!v) return;
    callChosen(v, $('btn-call-label')).then(function (res) {
      if (res && !res.error) { $('call-label').value = ''; $('call-label').blur(); }
    });
  });
  wireDialogs();
  document.addEventListener('keydown', onKey);
  boot();
})();
