/* The feedback tablet facing the citizen: idle → rating (1–5, or the three official levels
   when the center's rating_scale is `three`, stored as 5, 4, 1) → reason at 3 or below →
   thank-you → idle. One rating per completed ticket, sent with the device token; the scale
   follows the center's settings (`config.changed`) without a reload. */
(function () {
  'use strict';
  var L = window.Layso, el = L.el, bi = L.bi;
  var $ = function (id) { return document.getElementById(id); };
  var TOKEN_KEY = 'layso.feedback.token';
  var IDLE_MS = (parseInt(document.body.dataset.idleSeconds, 10) || 30) * 1000;
  // the thank-you is read in a glance; the next citizen must not find it there
  var THANKS_MS = (parseInt(document.body.dataset.thanksSeconds, 10) || 8) * 1000;

  var SCORES = [
    [5, 'Rất hài lòng', 'Very satisfied', '#1f8a4c', 'M30 58 Q50 82 70 58'],
    [4, 'Hài lòng', 'Satisfied', '#62a83a', 'M32 62 Q50 74 68 62'],
    [3, 'Bình thường', 'Neutral', '#d6a500', 'M32 66 L68 66'],
    [2, 'Không hài lòng', 'Dissatisfied', '#e07a1f', 'M32 72 Q50 60 68 72'],
    [1, 'Rất không hài lòng', 'Very dissatisfied', '#c62828', 'M30 76 Q50 54 70 76']
  ];
  // the official three levels (Rất hài lòng / Hài lòng / Không hài lòng), stored as 5, 4, 1
  var LEVELS = [
    [5, 'Rất hài lòng', 'Very satisfied', '#1f8a4c', 'M30 58 Q50 82 70 58'],
    [4, 'Hài lòng', 'Satisfied', '#62a83a', 'M32 62 Q50 74 68 62'],
    [1, 'Không hài lòng', 'Unsatisfied', '#c62828', 'M30 76 Q50 54 70 76']
  ];
  var REASONS = [
    ['long_wait', 'Thời gian chờ lâu', 'Long wait'],
    ['attitude', 'Thái độ phục vụ chưa tốt', 'Attitude'],
    ['unclear_guidance', 'Hướng dẫn chưa rõ ràng', 'Unclear guidance'],
    ['documents_repeatedly', 'Phải bổ sung giấy tờ nhiều lần', 'Asked for documents repeatedly'],
    ['facilities', 'Cơ sở vật chất chưa tốt', 'Facilities'],
    ['other', 'Khác', 'Other']
  ];

  var S = {token: localStorage.getItem(TOKEN_KEY), me: null, counter: null, pending: null,
           score: null, reason: null, sending: false, timer: null, socket: null};

  /* The chosen language leads: while a citizen who pressed English at the kiosk rates, every
     bilingual line reads English first and Vietnamese second; the idle screen is the center's. */
  var lead = 'vi';
  function swapLines(root) {
    root.querySelectorAll('span.en').forEach(function (span) {
      var host = span.parentNode, own = null;
      host.childNodes.forEach(function (n) {
        if (n.nodeType === 3 && n.textContent.trim() && !own) own = n;
      });
      if (!own) return;
      if (!host.dataset.vi) { host.dataset.vi = own.textContent; host.dataset.en = span.textContent; }
      var english = lead === 'en';
      own.textContent = english ? host.dataset.en + ' ' : host.dataset.vi;
      span.textContent = english ? host.dataset.vi : host.dataset.en;
      host.lang = lead;
      span.lang = english ? 'vi' : 'en';
    });
    var ta = $('reason-comment');
    ta.placeholder = lead === 'en' ? 'More comments (optional) · Góp ý thêm (không bắt buộc)'
                                   : 'Góp ý thêm (không bắt buộc) · More comments (optional)';
  }
  function setLead(lang) {
    lang = lang === 'en' ? 'en' : 'vi';
    if (lang === lead) return;
    lead = lang;
    document.body.classList.toggle('lang-en', lang === 'en');
    ['screen-idle', 'screen-rate', 'screen-reason', 'screen-thanks', 'fb-head'].forEach(function (id) {
      swapLines($(id));
    });
    headCounter();
  }
  /* the counter's name in the header, in the language that leads ("Quầy 4" to a citizen
     rating in English read as an untranslated word) */
  function headCounter() {
    if (!S.me || !S.me.counter) return;
    var name = S.me.counter.name, node = $('fb-counter');
    node.textContent = lead === 'en' ? (name.en || name.vi) : name.vi;
    node.lang = lead === 'en' && name.en ? 'en' : 'vi';
  }
  /* bi() for lines the tablet writes while a citizen reads: in the citizen's language first */
  function say(node, vi, en) {
    bi(node, vi, en);
    delete node.dataset.vi;
    if (en) swapLines(node);
    return node;
  }
  window.laysoFeedback = {lead: function () { return lead; }};

  function show(name) {
    ['enrol', 'idle', 'rate', 'reason', 'thanks'].forEach(function (s) {
      $('screen-' + s).hidden = s !== name;
    });
    document.body.dataset.screen = name;
    clearTimeout(S.timer);
    // anything but idle falls back to idle when nobody touches the tablet for a while
    if (name !== 'idle' && name !== 'enrol') {
      S.timer = setTimeout(backToIdle, name === 'thanks' ? THANKS_MS : IDLE_MS);
    }
  }
  function touched() {
    var s = document.body.dataset.screen;
    if (s === 'rate' || s === 'reason') {
      clearTimeout(S.timer);
      S.timer = setTimeout(backToIdle, IDLE_MS);
    }
  }
  function backToIdle() { S.pending = null; setLead('vi'); renderIdle(); show('idle'); }

  function api(method, path, body, key) {
    return L.call(method, path, body, {token: S.token, key: key});
  }

  // -- enrolment ------------------------------------------------------------------------------
  // a short code (digits, spaces or dashes) is exchanged for the token; a long one is a token
  var ENROL_CODE = /^[0-9][0-9 -]{5,14}$/;

  async function verify(token) {
    var r = await L.call('GET', '/auth/me', null, {token: token});
    if (r.status === 200 && r.body.role === 'feedback' && r.body.counter) return r.body;
    if (r.status === 200) return {wrongKind: true};
    if (r.status === 0) return {offline: true};
    return null;
  }

  function enrolError(vi, en) {
    var e = $('enrol-error');
    bi(e, vi, en);
    e.hidden = false;
  }

  $('enrol-form').addEventListener('submit', async function (ev) {
    ev.preventDefault();
    var token = $('enrol-token').value.trim();
    if (!token) return;
    $('enrol-submit').disabled = true;
    if (ENROL_CODE.test(token)) {
      // the short one-time code: exchanged for this tablet's token
      var r = await L.call('POST', '/devices/enrol', {code: token.replace(/[ -]/g, '')}, {});
      if (r.status !== 200 || !r.body || !r.body.token) {
        $('enrol-submit').disabled = false;
        if (r.status === 0) enrolError('Không kết nối được máy chủ.', 'Cannot reach the server.');
        else if (r.status === 429) enrolError('Nhập sai quá nhiều lần. Vui lòng chờ một phút.', 'Too many attempts: wait a minute.');
        else enrolError('Mã kích hoạt không đúng, đã dùng hoặc đã hết hạn (15 phút).', 'Unknown, used or expired code.');
        return;
      }
      token = r.body.token;
    }
    var me = await verify(token);
    $('enrol-submit').disabled = false;
    if (!me || me.offline) {
      enrolError(me ? 'Không kết nối được máy chủ.' : 'Mã thiết bị không đúng hoặc đã bị thu hồi.',
                 me ? 'Cannot reach the server.' : 'Unknown or revoked device token.');
      return;
    }
    if (me.wrongKind) {
      enrolError('Mã này không phải của máy đánh giá.', 'This token is not a feedback device token.');
      return;
    }
    S.token = token;
    localStorage.setItem(TOKEN_KEY, token);
    start(me);
  });

  // -- idle -----------------------------------------------------------------------------------

  function renderIdle() {
    var me = S.me;
    if (!me) return;
    var c = me.counter;
    var st = S.counter ? S.counter.state : 'closed';
    var cur = S.counter && S.counter.current;
    var serving = !!cur && (st === 'calling' || st === 'serving');
    // the citizen called or served sits in front of the tablet: their language leads the
    // waiting screen too (it stays the center's between citizens and while one rates)
    if (document.body.dataset.screen === 'idle' || !document.body.dataset.screen) {
      setLead(serving ? cur.lang : 'vi');
    }
    headCounter();
    say($('idle-counter'), c.name.vi, c.name.en);
    var off = $('idle-officer');
    if (me.officer) say(off, 'Cán bộ tiếp nhận: ' + me.officer.name, 'Official: ' + me.officer.name);
    else off.textContent = '';
    var sv = $('idle-serving');
    sv.textContent = '';
    if (serving) {
      var vi = st === 'calling' ? 'Đang mời số' : 'Đang phục vụ số';
      var en = st === 'calling' ? 'Now calling' : 'Now serving';
      var english = lead === 'en';
      sv.lang = lead;
      sv.appendChild(document.createTextNode(english ? en + ' ' : vi));
      sv.appendChild(el('b', null, cur.label));
      var second = el('span', 'en', english ? vi : en);
      second.lang = english ? 'vi' : 'en';
      sv.appendChild(second);
    } else if (st === 'closed') {
      say(sv, 'Quầy đang đóng', 'The counter is closed');
    } else if (st === 'paused') {
      say(sv, 'Quầy tạm dừng' + (S.counter.pause_reason ? ': ' + S.counter.pause_reason : ''),
          'The counter is paused');
    } else {
      say(sv, 'Xin mời công dân tiếp theo', 'Next citizen, please');
    }
  }

  async function reloadMe() {
    var me = await verify(S.token);
    if (me && !me.offline && !me.wrongKind) { S.me = me; renderIdle(); }
  }

  // -- rating ---------------------------------------------------------------------------------

  function buildFaces(scale) {
    var box = $('faces');
    if (box.dataset.built === scale) return;
    box.textContent = '';
    box.dataset.scale = scale;
    box.dataset.built = scale;
    document.body.dataset.scale = scale;
    (scale === 'three' ? LEVELS : SCORES).forEach(function (s) {
      var b = el('button', 'face');
      b.type = 'button';
      b.dataset.score = s[0];
      b.innerHTML = '<svg viewBox="0 0 100 100" aria-hidden="true"><circle cx="50" cy="50" r="46" ' +
        'fill="' + s[3] + '"/><circle cx="35" cy="40" r="6" fill="#fff"/><circle cx="65" cy="40" ' +
        'r="6" fill="#fff"/><path d="' + s[4] + '" fill="none" stroke="#fff" stroke-width="7" ' +
        'stroke-linecap="round"/></svg>';
      var t = el('span');
      bi(t, s[1], s[2]);
      b.appendChild(t);
      b.addEventListener('click', function () { choose(s[0], b); });
      box.appendChild(b);
    });
    swapLines(box);  // a scale changed while a citizen rates keeps their language first
  }

  /* The center's scale (its public settings); five faces until it answers. */
  async function loadScale() {
    var r = await L.call('GET', '/center', null, {token: S.token});
    if (r.status === 200 && r.body && (r.body.rating_scale === 'three' || r.body.rating_scale === 'five')) {
      buildFaces(r.body.rating_scale);
    }
  }

  function buildReasons() {
    var rbox = $('reasons');
    REASONS.forEach(function (r) {
      var b = el('button', 'reason');
      b.type = 'button';
      b.dataset.reason = r[0];
      b.setAttribute('aria-pressed', 'false');
      bi(b, r[1], r[2]);
      b.addEventListener('click', function () {
        S.reason = r[0];
        rbox.querySelectorAll('.reason').forEach(function (x) {
          x.setAttribute('aria-pressed', x === b ? 'true' : 'false');
        });
        $('reason-send').disabled = false;
      });
      rbox.appendChild(b);
    });
  }

  function askRating(ticket, officer) {
    S.pending = {id: ticket.id, label: ticket.label, officer: officer, key: L.newKey()};
    setLead(ticket.lang);
    S.score = null; S.reason = null;
    $('rate-error').hidden = true;
    document.querySelectorAll('.face').forEach(function (b) {
      b.disabled = false; b.classList.remove('chosen');
    });
    $('rate-about').textContent = lead === 'en'
      ? 'Number ' + ticket.label + (officer ? ' · Official: ' + officer.name : '')
      : 'Số ' + ticket.label + (officer ? ' · Cán bộ tiếp nhận: ' + officer.name : '');
    show('rate');
  }

  function choose(score, btn) {
    if (!S.pending || S.sending) return;
    S.score = score;
    document.querySelectorAll('.face').forEach(function (b) { b.classList.toggle('chosen', b === btn); });
    if (score <= 3) {
      S.reason = null;
      $('reason-comment').value = '';
      $('reason-error').hidden = true;
      $('reason-send').disabled = true;
      document.querySelectorAll('.reason').forEach(function (x) {
        x.setAttribute('aria-pressed', 'false');
      });
      show('reason');
    } else {
      send('rate-error');
    }
  }

  /* The key is made when the rating screen opens: a second tap or a retry rates once. */
  async function send(errorId, withReason) {
    if (!S.pending || S.sending) return;
    S.sending = true;
    var body = {ticket: S.pending.id, score: S.score};
    if (withReason && S.reason) body.reason = S.reason;
    var onReason = document.body.dataset.screen === 'reason';
    var comment = onReason ? $('reason-comment').value.trim() : '';
    if (comment) body.comment = comment;
    setBusy(true);
    // the body can differ between tries (a reason added): a new body needs a new key
    var key = S.pending.key + ':' + S.score + ':' + (body.reason || '') + ':' + comment.length;
    var r = await api('POST', '/ratings', body, key.slice(0, 200));
    S.sending = false;
    setBusy(false);
    // rating_closed: the next citizen is being served, or the visit ended long ago; there is
    // nothing the citizen can do about it, so the tablet thanks them and moves on
    if (r.status === 201 || (r.error && (r.error.code === 'already_rated' ||
                                         r.error.code === 'rating_closed'))) {
      S.pending = null;
      show('thanks');
      return;
    }
    var d = L.describe(r.error);
    var e = $(errorId);
    say(e, d.vi, d.en);
    e.hidden = false;
  }

  function setBusy(on) {
    document.querySelectorAll('.face').forEach(function (b) { b.disabled = on; });
    $('reason-send').disabled = on || !S.reason;
    $('reason-skip').disabled = on;
  }

  $('reason-send').addEventListener('click', function () { send('reason-error', true); });
  $('reason-skip').addEventListener('click', function () { send('reason-error', false); });

  // -- live -----------------------------------------------------------------------------------

  function connect() {
    if (typeof io === 'undefined') return;
    var socket = io({auth: {channel: 'feedback', token: S.token},
                     transports: ['websocket', 'polling']});
    S.socket = socket;
    socket.on('counter.changed', function (msg) {
      S.counter = msg.counter;
      reloadMe();  // the official at the counter may have changed
      renderIdle();
    });
    socket.on('config.changed', function (msg) {
      if (!msg || msg.what === 'center') loadScale();
    });
    socket.on('connect', loadScale);  // a settings change missed while away
    socket.on('ticket.called', function (msg) {
      if (document.body.dataset.screen === 'thanks') backToIdle();
    });
    socket.on('ticket.completed', function (msg) {
      // after a reconnect the server sends a visit still waiting for its rating again
      if (S.pending && S.pending.id === msg.ticket.id) return;
      askRating(msg.ticket, msg.officer || (S.me && S.me.officer));
    });
    // a revoked tablet's socket is closed by the server (no reconnect follows): ask who we are
    socket.on('disconnect', function () { checkEnrolled(socket); });
    socket.on('connect_error', function () { checkEnrolled(socket); });
  }

  async function checkEnrolled(socket) {
    if (!S.token) return;
    var me = await L.call('GET', '/auth/me', null, {token: S.token});
    if (me.status === 401) {
      socket.disconnect();
      localStorage.removeItem(TOKEN_KEY);
      S.token = null;
      show('enrol');
      enrolError('Thiết bị đã bị thu hồi. Vui lòng nhập mã kích hoạt mới.',
                 'This tablet was revoked. Enter a new enrolment code.');
    } else if (me.status === 200 && !socket.connected && !socket.active) {
      // moved to another counter: the server closed the socket so it joins the new room
      reloadMe();
      socket.connect();
    }
  }

  function start(me) {
    S.me = me;
    renderIdle();
    show('idle');
    loadScale();
    connect();
  }

  async function boot() {
    if (!S.token) { show('enrol'); return; }
    var me = await verify(S.token);
    if (me && me.offline) {
      // the server is not up yet: keep the token and try again shortly
      setTimeout(boot, 3000);
      return;
    }
    if (!me || me.wrongKind) {
      localStorage.removeItem(TOKEN_KEY);
      S.token = null;
      show('enrol');
      return;
    }
    start(me);
  }

  buildFaces('five');
  buildReasons();
  ['screen-rate', 'screen-reason', 'screen-thanks', 'fb-head'].forEach(function (id) {
    swapLines($(id));
  });
  ['pointerdown', 'keydown'].forEach(function (t) { document.addEventListener(t, touched); });
  boot();
})();
