/* Shared by the counter terminal and the feedback tablet: API calls with idempotency and
   retries, and the plain-Vietnamese words for the API's error codes. */
(function (global) {
  'use strict';

  // crypto.randomUUID needs a secure context; a LAN address over http is not one
  function newKey() {
    var b = new Uint8Array(16);
    global.crypto.getRandomValues(b);
    return Array.prototype.map.call(b, function (x) { return ('0' + x.toString(16)).slice(-2); })
      .join('');
  }

  var RETRY_DELAYS = [400, 1200, 3000];

  function sleep(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }

  /* One call. `opts.key` (an Idempotency-Key) makes writes safe to retry: a lost answer is
     retried with the same key, so the server replays its first answer instead of acting twice. */
  async function call(method, path, body, opts) {
    opts = opts || {};
    var headers = {'Accept': 'application/json'};
    if (body !== undefined && body !== null) headers['Content-Type'] = 'application/json';
    if (opts.csrf) headers['X-CSRF-Token'] = opts.csrf;
    if (opts.token) headers['Authorization'] = 'Bearer ' + opts.token;
    if (opts.key) headers['Idempotency-Key'] = opts.key;
    var retries = (method === 'GET' || opts.key) ? RETRY_DELAYS.length : 0;
    for (var attempt = 0; ; attempt++) {
      var res;
      try {
        res = await fetch('/api/v1' + path, {
          method: method, headers: headers, credentials: 'same-origin',
          body: body === undefined || body === null ? undefined : JSON.stringify(body)});
      } catch (e) {
        if (attempt < retries) { await sleep(RETRY_DELAYS[attempt]); continue; }
        return {status: 0, body: null, error: {code: 'network', message: 'Cannot reach the server'}};
      }
      if ((res.status === 502 || res.status === 503 || res.status === 504) && attempt < retries) {
        await sleep(RETRY_DELAYS[attempt]);
        continue;
      }
      var data = null;
      if (res.status !== 204) {
        try { data = await res.json(); } catch (e) { data = null; }
      }
      var err = res.ok ? null : ((data && data.error) || {code: 'http_' + res.status,
                                                          message: res.statusText});
      return {status: res.status, body: data, error: err};
    }
  }

  var WORDS = {
    network: 'Không kết nối được máy chủ. Vui lòng thử lại.',
    unauthenticated: 'Phiên đăng nhập đã hết hạn. Vui lòng đăng nhập lại.',
    invalid_credentials: 'Mã thiết bị hoặc phiên đăng nhập không còn hợp lệ.',
    csrf_failed: 'Phiên làm việc đã thay đổi. Vui lòng tải lại trang.',
    forbidden: 'Bạn không có quyền thực hiện thao tác này.',
    not_your_counter: 'Quầy này đang do cán bộ khác phụ trách.',
    counter_busy: 'Quầy đang có công dân: hãy hoàn thành, chuyển hoặc đánh dấu vắng mặt trước.',
    counter_closed: 'Quầy đang đóng: hãy mở quầy trước.',
    counter_paused: 'Quầy đang tạm dừng: bấm Tiếp tục trước.',
    no_current_ticket: 'Quầy chưa có công dân nào.',
    recall_limit: 'Đã gọi lại đủ số lần cho phép: hãy đánh dấu vắng mặt.',
    illegal_transition: 'Thao tác không hợp lệ với trạng thái hiện tại của số này.',
    ticket_not_waiting: 'Số này không còn trong hàng chờ.',
    not_served_here: 'Quầy này không phục vụ lĩnh vực của số này.',
    unknown_ticket: 'Không tìm thấy số này trong ngày hôm nay.',
    ticket_expired: 'Số này thuộc ngày làm việc trước.',
    unknown_counter: 'Không có quầy này.',
    unknown_service: 'Không có lĩnh vực này.',
    invalid_reason: 'Vui lòng nhập lý do.',
    invalid_outcome: 'Vui lòng chọn kết quả giải quyết.',
    unknown_procedure: 'Thủ tục không thuộc lĩnh vực của số này.',
    already_rated: 'Số này đã được đánh giá.',
    not_completed: 'Lượt phục vụ này chưa hoàn thành.',
    other_counter: 'Số này được phục vụ ở quầy khác.',
    rate_limited: 'Thao tác quá nhanh. Vui lòng chờ một phút.',
    idempotency_key_reused: 'Thao tác bị trùng. Vui lòng thử lại.',
    invalid_dossier: 'Mã hồ sơ không hợp lệ.',
    unknown_priority: 'Không có đối tượng ưu tiên này.',
    citizen_limit: 'Công dân đã lấy đủ số thứ tự hôm nay cho lĩnh vực này.',
    storage_unavailable: 'Máy chủ tạm thời không lưu được dữ liệu. Vui lòng thử lại sau ít phút; ' +
                         'nếu vẫn lỗi, báo quản trị viên.'
  };
  // a proxy's or server's 5xx page has no error body: one plain sentence, not "SERVICE UNAVAILABLE"
  var SERVER_DOWN = {vi: 'Máy chủ tạm thời không phản hồi. Vui lòng thử lại sau ít phút.',
                     en: 'The server is not answering for now; try again in a moment.'};

  /* `{vi, en}` for an error: our Vietnamese words, the server's English message second. */
  function describe(error) {
    var code = (error && error.code) || 'unknown';
    if (/^http_5\d\d$/.test(code)) return {vi: SERVER_DOWN.vi, en: SERVER_DOWN.en};
    var vi = WORDS[code] || 'Không thực hiện được thao tác.';
    var en = (error && error.message) || 'The action failed.';
    return {vi: vi, en: en};
  }

  function el(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined && text !== null) n.textContent = text;
    return n;
  }

  /* "Vietnamese<span class=en>English</span>" without innerHTML. */
  function bi(node, vi, en) {
    node.textContent = vi;
    if (en) {
      var s = el('span', 'en', en);
      s.lang = 'en';  // a screen reader speaks it in English
      node.appendChild(s);
    }
    return node;
  }

  global.Layso = {newKey: newKey, call: call, describe: describe, el: el, bi: bi, WORDS: WORDS};
})(window);
