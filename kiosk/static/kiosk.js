/* Lấy Số touch kiosk: service → (procedure) → priority → ticket on screen, print result.
   One Idempotency-Key per citizen flow and buttons disabled on the first tap, so a double
   tap or a retried request never issues two tickets. */
(function (global) {
  "use strict";
  var doc = global.document;
  var MODE = doc.body.getAttribute("data-mode");  // kiosk | reception
  var TOKEN_KEY = "layso.kiosk.token";
  var IDLE_FLOW_MS = 60000;
  var IDLE_TICKET_MS = 20000;
  var IDLE_TROUBLE_MS = 60000;
  var PRINT_WAIT_MS = 3000;
  var REFRESH_MS = 30000;
  var PAGE_SIZE = 6;  // the services a screen holds at both kiosk sizes

  var state = {
    token: null, csrf: null, lang: "vi", services: [], categories: [], full: {},
    service: null, procedure: null, key: null, busy: false, ticket: null, printer: "none", deviceId: null,
    day: null, tz: "Asia/Ho_Chi_Minh", skew: 0, resultService: null, citizenLimit: null,
    dossier: null, back: null, hasCamera: false
  };
  // the ID card read for this citizen's flow: its number (sent as citizen_id, never shown)
  // and whether to propose the elderly priority; forgotten when the flow ends
  var citizen = null;
  var idleTimer = null, countTimer = null;
  var debug = global.laysoKiosk = {state: state};

  function $(id) { return doc.getElementById(id); }
  function el(tag, cls, text) {
    var e = doc.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }
  function pair(vi, en) {
    var f = doc.createDocumentFragment();
    var a = el("span", "vi", vi), b = el("span", "en", en);
    a.lang = "vi";
    b.lang = "en";  // a screen reader speaks each part in its own language
    f.appendChild(a);
    f.appendChild(b);
    return f;
  }
  function tagLangs() {
    Array.prototype.forEach.call(doc.querySelectorAll(".vi, .en-only"), function (e) { e.lang = "vi"; });
    Array.prototype.forEach.call(doc.querySelectorAll(".en, .vi-only"), function (e) { e.lang = "en"; });
  }
  tagLangs();

  // -- lockdown: no selection, context menu, zoom or leaving the page -----------------------
  ["contextmenu", "selectstart", "dragstart", "gesturestart"].forEach(function (t) {
    doc.addEventListener(t, function (e) {
      if (!(e.target && e.target.tagName === "INPUT")) e.preventDefault();
    });
  });
  doc.addEventListener("touchmove", function (e) {
    if (e.touches && e.touches.length > 1) e.preventDefault();
  }, {passive: false});
  doc.addEventListener("wheel", function (e) { if (e.ctrlKey) e.preventDefault(); },
                       {passive: false});
  doc.addEventListener("keydown", function (e) {
    var k = e.key;
    if ((e.ctrlKey || e.metaKey) && ["+", "-", "=", "0", "p", "s", "o", "l"].indexOf(k) >= 0) {
      e.preventDefault();
    }
    if (e.altKey && (k === "ArrowLeft" || k === "ArrowRight")) e.preventDefault();
  });
  if (MODE === "kiosk") {
    global.history.pushState(null, "", global.location.href);
    global.addEventListener("popstate", function () {
      global.history.pushState(null, "", global.location.href);
    });
  }

  // -- API ------------------------------------------------------------------------------------
  function api(method, path, body, extra) {
    var headers = {"Accept": "application/json"};
    if (state.token) headers["Authorization"] = "Bearer " + state.token;
    if (state.csrf && method !== "GET") headers["X-CSRF-Token"] = state.csrf;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    Object.keys(extra || {}).forEach(function (k) { headers[k] = extra[k]; });
    return global.fetch("/api/v1" + path, {
      method: method, headers: headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store"
    }).then(function (r) {
      return r.text().then(function (t) {
        var data = null;
        try { data = t ? JSON.parse(t) : null; } catch (err) { data = null; }
        return {status: r.status, data: data};
      });
    });
  }
  function newKey() {
    var a = new Uint8Array(16);
    global.crypto.getRandomValues(a);
    return "kiosk-" + Array.prototype.map.call(a, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  // -- screens and idle -----------------------------------------------------------------------
  function show(id) {
    Array.prototype.forEach.call(doc.querySelectorAll(".k-screen"), function (s) {
      s.hidden = s.id !== id;
    });
    doc.body.setAttribute("data-screen", id);
    armIdle(id);
    // keyboard users (the reception desk) land on the screen's first choice
    var first = {"s-procedure": "#procedures .k-choice", "s-priority": "#no-priority",
                 "s-ticket": "#done", "s-error": "#error-ok"}[id];
    if (id === "s-priority" && doc.querySelector(".k-choice-prio.is-suggested")) {
      first = ".k-choice-prio.is-suggested";
    }
    var target = first && doc.querySelector(first);
    if (target) target.focus({preventScroll: true});
  }
  function armIdle(id) {
    global.clearTimeout(idleTimer);
    global.clearInterval(countTimer);
    $("done-count").textContent = "";
    if (MODE !== "kiosk" && id !== "s-ticket") return;
    var ms = {"s-procedure": IDLE_FLOW_MS, "s-priority": IDLE_FLOW_MS, "s-error": IDLE_FLOW_MS,
              "s-pickup": IDLE_FLOW_MS, "s-camera": IDLE_FLOW_MS,
              "s-ticket": state.trouble ? IDLE_TROUBLE_MS : IDLE_TICKET_MS}[id];
    if (!ms) return;
    var until = Date.now() + ms;
    idleTimer = global.setTimeout(home, ms);
    if (id === "s-ticket") {
      countTimer = global.setInterval(function () {
        $("done-count").textContent = "(" + Math.max(0, Math.ceil((until - Date.now()) / 1000)) + ")";
      }, 500);
    }
  }
  doc.addEventListener("pointerdown", function () {
    var id = doc.body.getAttribute("data-screen");
    if (id && id !== "s-home" && id !== "s-enrol") armIdle(id);
  }, true);

  function setLang(lang) {
    state.lang = lang;
    doc.body.classList.toggle("lang-en", lang === "en");
    doc.body.classList.toggle("lang-vi", lang !== "en");
    doc.documentElement.lang = lang;
  }
  $("lang").addEventListener("click", function () {
    setLang(state.lang === "en" ? "vi" : "en");
    // the other language's names are longer or shorter: the pages are made again
    if (doc.body.getAttribute("data-screen") === "s-home") renderServices();
  });

  function home() {
    state.service = null; state.procedure = null; state.key = null; state.busy = false;
    state.ticket = null; state.trouble = false; state.dossier = null; state.page = 0;
    forgetCard();
    if (global.LaysoCamera) global.LaysoCamera.stop();
    setLang("vi");
    show("s-home");
    renderServices();
    refresh();
  }

  // -- enrolment ------------------------------------------------------------------------------
  function enrol() {
    show("s-enrol");
    if (MODE === "reception") {
      $("enrol-form").hidden = true;
      $("enrol-help").hidden = true;
      $("reception-login").hidden = false;
    } else {
      $("enrol-token").focus();
    }
  }
  // a short code (digits, spaces or dashes) is exchanged for the token; a long one is a token
  var ENROL_CODE = /^[0-9][0-9 -]{5,14}$/;
  function enrolError(text) {
    var err = $("enrol-error");
    err.hidden = false;
    err.textContent = text;
  }
  function tryToken(token) {
    state.token = token;
    return api("GET", "/auth/me").then(function (r) {
      if (r.status === 200 && r.data.role === "kiosk") {
        state.deviceId = r.data.id;
        global.localStorage.setItem(TOKEN_KEY, token);
        $("enrol-token").value = "";
        $("enrol-error").hidden = true;
        start();
        return;
      }
      state.token = null;
      enrolError(r.status === 200
        ? "Mã này không phải của máy lấy số. / This code is not a kiosk's."
        : "Mã thiết bị không đúng hoặc đã bị thu hồi. / Unknown or revoked token.");
    });
  }
  $("enrol-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var text = $("enrol-token").value.trim();
    if (!text) return;
    $("enrol-submit").disabled = true;
    var done = function () { $("enrol-submit").disabled = false; };
    var offline = function () {
      state.token = null;
      enrolError("Không kết nối được máy chủ. / Cannot reach the server.");
    };
    if (!ENROL_CODE.test(text)) {
      tryToken(text).then(done, function () { offline(); done(); });
      return;
    }
    state.token = null;
    api("POST", "/devices/enrol", {code: text.replace(/[ -]/g, "")}).then(function (r) {
      if (r.status === 200 && r.data && r.data.token) return tryToken(r.data.token).then(done);
      done();
      enrolError(r.status === 429
        ? "Nhập sai quá nhiều lần. Vui lòng chờ một phút. / Too many attempts: wait a minute."
        : "Mã kích hoạt không đúng, đã dùng hoặc đã hết hạn (15 phút). / Unknown, used or expired code.");
    }, function () { offline(); done(); });
  });

  // -- data -----------------------------------------------------------------------------------
  function refresh() {
    return Promise.all([api("GET", "/services"), api("GET", "/health")]).then(function (rs) {
      if (rs[0].status === 200) {
        state.services = rs[0].data.items;
        state.loaded = true;
        if (doc.body.getAttribute("data-screen") === "s-home") renderServices();
      }
      if (rs[1].status === 200 || rs[1].status === 503) {
        state.printer = ownPrinter(rs[1].data);
        if (MODE === "reception") printerChoices(rs[1].data.printers || []);
        $("printer-warn").hidden = !isTrouble(state.printer);
      }
    }, function () { /* the next refresh tries again */ });
  }
  // This kiosk's printer: its own (health lists it under its device id), else the center's;
  // another kiosk's trouble is not this kiosk's to show.
  function ownPrinter(health) {
    var list = health.printers;
    if (!list) return health.printer;
    var mine = null, center = null;
    list.forEach(function (p) {
      if (state.deviceId != null && p.device === state.deviceId) mine = p;
      if (p.device === null) center = p;
    });
    return (mine || center || {state: "none"}).state;
  }
  debug.ownPrinter = ownPrinter;
  // The reception desk reprints on any printer: the ticket's own (first option), the center's,
  // or any kiosk's.
  function printerChoices(list) {
    state.printers = list;
    var sel = $("reprint-on"), was = sel.value;
    sel.textContent = "";
    var first = doc.createElement("option");
    first.value = ""; first.textContent = "Máy in của vé / The ticket's printer";
    sel.appendChild(first);
    list.forEach(function (p) {
      var o = doc.createElement("option");
      if (p.device === null) {  // the center's printer, the help desk's usually
        o.value = "center";
        o.textContent = "Máy in của Trung tâm / The center's printer" + (isTrouble(p.state) ? " ⚠" : "");
        sel.appendChild(o);
        return;
      }
      o.value = String(p.device);
      o.textContent = (p.name || ("#" + p.device)) + (isTrouble(p.state) ? " ⚠" : "");
      sel.appendChild(o);
    });
    sel.value = was;
    if (sel.value !== was) sel.value = "";
  }
  function isTrouble(p) { return p === "paper_out" || p === "cover_open" || p === "offline"; }
  function hours(s) {
    return (s.opens_at || "00:00") + "–" + (s.closes_at || "24:00");
  }
  // "not issuing numbers now", with the hours only when it has some ("00:00–24:00" beside
  // "not issuing now" read as a contradiction: a service retired meanwhile has no hours)
  function closedText(s) {
    // no counter serves it yet: a number nobody could call is not issued, and the hours are
    // not the reason
    if (s.served === false) {
      return ["Lĩnh vực này chưa có quầy tiếp nhận. Vui lòng hỏi bàn hướng dẫn.",
              "No counter takes this service yet. Please ask at the help desk."];
    }
    var timed = s.opens_at || s.closes_at;
    return ["Lĩnh vực này hiện đã ngừng cấp số." + (timed ? " Giờ cấp số: " + hours(s) : ""),
            "This service is not issuing numbers now." + (timed ? " Hours: " + hours(s) : "")];
  }

  function resultService() {
    if (!state.resultService) return null;
    for (var i = 0; i < state.services.length; i++) {
      if (state.services[i].code === state.resultService && state.services[i].open) {
        return state.services[i];
      }
    }
    return null;
  }

  function renderServices() {
    $("pickup").hidden = !resultService();
    // the camera buttons only on a kiosk that has a camera (the USB scanner needs no button)
    $("camera-card").hidden = !state.hasCamera;
    $("camera-receipt").hidden = !state.hasCamera;
    var box = $("services");
    // the cards are rebuilt on every queue update: the reception desk's keyboard focus stays
    // on the card it was on (else Enter after a live update would do nothing)
    var active = doc.activeElement;
    var focused = active && box.contains(active) ? active.getAttribute("data-service") : null;
    box.textContent = "";
    // an empty list after a successful read: the center has no service yet (not an error)
    $("services-empty").hidden = state.services.length > 0 || state.loaded;
    $("not-ready").hidden = !(state.loaded && state.services.length === 0);
    box.setAttribute("data-count", String(state.services.length));
    // more services than a screen holds: pages turned with buttons (a kiosk cannot scroll),
    // as many cards on each as fit (at most PAGE_SIZE; long names take more room)
    var starts = paginate(box);
    var pages = starts.length;
    state.page = Math.max(0, Math.min(state.page || 0, pages - 1));
    showPage(box, starts, state.page);
    if (focused) {
      var again = box.querySelector('[data-service="' + focused + '"]');
      if (again && !again.disabled) again.focus();
    }
  }

  function serviceCard(s) {
    var b = el("button", "k-card k-service");
    b.type = "button";
    b.setAttribute("role", "listitem");
    b.setAttribute("data-service", s.code);
    var prefix = el("span", "k-prefix", s.prefix);
    var name = el("span", "k-card-name");
    name.appendChild(pair(s.name.vi, s.name.en));
    var meta = el("span", "k-card-meta");
    var full = state.full[s.code];
    if (!s.open) {
      b.disabled = true;
      b.classList.add("is-closed");
      meta.appendChild(pair(closedText(s)[0], closedText(s)[1]));
    } else if (full) {
      b.disabled = true;
      b.classList.add("is-full");
      meta.appendChild(pair("Đã hết số thứ tự trong ngày cho lĩnh vực này",
                            "No more numbers today for this service"));
    } else {
      meta.appendChild(pair("Đang chờ: " + s.waiting + " người", "Waiting: " + s.waiting));
    }
    b.appendChild(prefix);
    b.appendChild(name);
    b.appendChild(meta);
    b.addEventListener("click", function () { chooseService(s); });
    return b;
  }

  // the first service of each page, [0, …]
  function showPage(box, starts, page) {
    var pages = starts.length;
    var end = page + 1 < pages ? starts[page + 1] : state.services.length;
    box.textContent = "";
    state.services.slice(starts[page], end).forEach(function (s) { box.appendChild(serviceCard(s)); });
    $("pager").hidden = pages < 2;
    doc.body.classList.toggle("has-pages", pages > 1);
    $("page-prev").disabled = page === 0;
    $("page-next").disabled = page === pages - 1;
    var of = $("page-of");
    of.textContent = "";
    of.appendChild(pair("Trang " + (page + 1) + "/" + pages, "Page " + (page + 1) + " of " + pages));
    state.pageStarts = starts;
  }
  function fits() {
    var root = doc.documentElement;
    return root.scrollHeight <= global.innerHeight + 1 && root.scrollWidth <= global.innerWidth + 1;
  }
  function paginate(box) {
    var n = state.services.length;
    var plain = [];
    for (var i = 0; i < n; i += PAGE_SIZE) plain.push(i);
    if (!plain.length) plain.push(0);
    // measured only on the home screen as it shows (a hidden screen has no size)
    if (doc.body.getAttribute("data-screen") !== "s-home" || $("s-home").hidden) return plain;
    var starts = [], at = 0;
    while (at < n) {
      var take = Math.min(PAGE_SIZE, n - at);
      var trial = starts.concat([at]);
      // with the pager shown whenever this is not the only page
      while (take > 1) {
        showPage(box, trial.concat(at + take < n || at > 0 ? [at + take] : []), trial.length - 1);
        if (at + take >= n && at === 0) { $("pager").hidden = true;
          doc.body.classList.remove("has-pages"); }
        if (fits()) break;
        take -= 1;
      }
      starts.push(at);
      at += take;
    }
    return starts.length ? starts : plain;
  }

  // a citizen who turns the page and walks away: the next one starts on the first page
  var pageTimer = null;
  function turnPage(by) {
    state.page = (state.page || 0) + by;
    renderServices();
    global.clearTimeout(pageTimer);
    if (state.page > 0) {
      pageTimer = global.setTimeout(function () {
        if (doc.body.getAttribute("data-screen") === "s-home") home();
      }, IDLE_FLOW_MS);
    }
    var first = doc.querySelector("#services .k-service");
    var focused = doc.activeElement;
    if (focused && focused.disabled && first) first.focus({preventScroll: true});
  }
  $("page-prev").addEventListener("click", function () { turnPage(-1); });
  $("page-next").addEventListener("click", function () { turnPage(1); });

  function crumb(target, s) {
    target.textContent = "";
    target.appendChild(el("span", "k-crumb-prefix", s.prefix));
    target.appendChild(pair(s.name.vi, s.name.en));
  }

  function chooseService(s) {
    if (state.busy) return;
    state.service = s;
    state.procedure = null;
    state.key = newKey();  // one key for this citizen's whole flow
    if (s.procedures && s.procedures.length) {
      crumb($("proc-service"), s);
      var box = $("procedures");
      box.textContent = "";
      s.procedures.forEach(function (p) {
        var b = el("button", "k-card k-choice");
        b.type = "button";
        b.appendChild(pair(p.name.vi, p.name.en));
        b.addEventListener("click", function () { state.procedure = p.code; priorityStep(); });
        box.appendChild(b);
      });
      var other = el("button", "k-card k-choice k-choice-other");
      other.type = "button";
      other.appendChild(pair("Thủ tục khác / chưa rõ", "Another procedure / not sure"));
      other.addEventListener("click", function () { state.procedure = null; priorityStep(); });
      box.appendChild(other);
      show("s-procedure");
      return;
    }
    priorityStep();
  }

  function priorityStep() {
    crumb($("prio-service"), state.service);
    if (state.dossier) {
      $("prio-service").insertBefore(pair("Nhận kết quả ·", "Collect a result ·"),
                                     $("prio-service").firstChild);
    }
    var box = $("categories");
    box.textContent = "";
    state.categories.forEach(function (c) {
      var b = el("button", "k-card k-choice k-choice-prio");
      b.type = "button";
      b.setAttribute("data-priority", c.code);
      b.appendChild(pair(c.name.vi, c.name.en));
      if (c.code === "elderly" && citizen && citizen.elderly) {
        // a proposal from the card's date of birth; the citizen still chooses (or not)
        b.classList.add("is-suggested");
        b.appendChild(el("span", "k-suggest-tag")).appendChild(
          pair("Đề xuất cho bạn", "Suggested for you"));
      }
      b.addEventListener("click", function () { issue(c.code, c); });
      box.appendChild(b);
    });
    show("s-priority");
  }
  $("no-priority").addEventListener("click", function () { issue(null, null); });
  Array.prototype.forEach.call(doc.querySelectorAll("[data-back]"), function (b) {
    b.addEventListener("click", function () {
      var id = doc.body.getAttribute("data-screen");
      if (id === "s-priority" && state.dossier) {
        state.dossier = null;
        openPickup();
      } else if (id === "s-priority" && state.service && state.service.procedures.length) {
        show("s-procedure");
      } else {
        // back to the services with the card the citizen scanned still read (they chose the
        // wrong service, not to leave); idle, the home screen forgets it as before
        var kept = citizen;
        home();
        if (kept) cardKept(kept);
      }
    });
  });

  // -- issuing --------------------------------------------------------------------------------
  function setButtons(disabled) {
    Array.prototype.forEach.call(doc.querySelectorAll(".k-main button"), function (b) {
      if (disabled) b.setAttribute("data-busy", "1"); else b.removeAttribute("data-busy");
      b.disabled = disabled || b.classList.contains("is-closed") || b.classList.contains("is-full");
    });
  }

  function issue(priority, category) {
    if (state.busy) return;  // the second tap of a double tap
    state.busy = true;
    setButtons(true);
    var body = {service: state.service.code, lang: state.lang};
    if (priority) body.priority = priority;
    if (state.procedure) body.procedure = state.procedure;
    // the card's number goes only where a limit needs it: counted, never kept
    if (citizen && state.citizenLimit) body.citizen_id = citizen.id;
    if (state.dossier) body.dossier = state.dossier;
    var tries = 0;
    var shown = global.setTimeout(function () { show("s-issuing"); }, 400);
    function attempt() {
      tries += 1;
      return api("POST", "/tickets", body, {"Idempotency-Key": state.key}).then(function (r) {
        global.clearTimeout(shown);
        setButtons(false);
        if (r.status === 201) return confirmTicket(r.data, category);
        state.busy = false;
        if (r.status === 401 && MODE === "kiosk") {
          global.localStorage.removeItem(TOKEN_KEY);
          state.token = null;
          return enrol();
        }
        var code = r.data && r.data.error ? r.data.error.code : "";
        if (code === "daily_cap_reached") {
          state.full[state.service.code] = true;
          return failure("Đã hết số thứ tự trong ngày cho lĩnh vực này.",
                         "No more numbers today for this service.");
        }
        if (code === "citizen_limit") {
          var n = r.data.error.details && r.data.error.details.limit;
          // one number a day (the usual limit): no "1" in the sentence, which reads oddly
          var many = n > 1;
          return failure((many ? "Hôm nay bạn đã lấy đủ " + n + " số thứ tự cho lĩnh vực này. "
                               : "Hôm nay bạn đã lấy số thứ tự cho lĩnh vực này. ") +
                         "Vui lòng chờ đến lượt với số đã lấy, hoặc liên hệ bàn hướng dẫn.",
                         (many ? "You already took today's " + n + " numbers for this service. "
                               : "You already took a number for this service today. ") +
                         "Please wait for your turn with the number you have, " +
                         "or ask at the help desk.");
        }
        if (code === "invalid_dossier") {
          return failure("Mã hồ sơ không hợp lệ. Vui lòng liên hệ bàn hướng dẫn.",
                         "The dossier code is not valid. Please ask at the help desk.");
        }
        if (code === "service_closed" || code === "service_unserved") {
          refresh();
          var closed = closedText(code === "service_unserved"
                                  ? Object.assign({}, state.service, {served: false})
                                  : state.service);
          return failure(closed[0], closed[1]);
        }
        if (r.status === 503) {
          // the server's disk is full or its database does not answer: nothing the citizen
          // can fix at the kiosk; the help desk can issue a number by hand meanwhile
          return failure("Hệ thống tạm thời gặp sự cố. Vui lòng liên hệ bàn hướng dẫn.",
                         "The system is temporarily unavailable. Please see the help desk.");
        }
        if (r.status === 429) {
          return failure("Máy đang bận, vui lòng thử lại sau ít phút.",
                         "The kiosk is busy, please try again in a minute.");
        }
        return failure("Không lấy được số. Vui lòng liên hệ bàn hướng dẫn.",
                       "Could not issue a number. Please see the help desk.");
      }, function () {
        // the same Idempotency-Key makes a retry safe: at most one ticket is issued
        if (tries < 3) {
          return new Promise(function (ok) { global.setTimeout(ok, 600); }).then(attempt);
        }
        global.clearTimeout(shown);
        setButtons(false);
        state.busy = false;
        return failure("Không kết nối được máy chủ. Vui lòng liên hệ bàn hướng dẫn.",
                       "Cannot reach the server. Please see the help desk.");
      });
    }
    return attempt();
  }

  function failure(vi, en) {
    $("error-vi").textContent = vi;
    $("error-en").textContent = en;
    show("s-error");
  }
  $("error-ok").addEventListener("click", home);

  function confirmTicket(t, category) {
    forgetCard();  // the card's number served this ticket; the next citizen starts afresh
    state.dossier = null;
    state.ticket = t;
    state.trouble = false;
    $("t-label").textContent = t.label;
    $("t-label").classList.toggle("is-long", t.label.length > 4);
    var svc = $("t-service");
    svc.textContent = "";
    svc.appendChild(pair(t.service.name.vi, t.service.name.en));
    var prio = $("t-prio");
    prio.hidden = !category;
    prio.textContent = "";
    if (category) prio.appendChild(pair("Ưu tiên: " + category.name.vi, "Priority: " + category.name.en));
    $("t-ahead").textContent = t.ahead == null ? "–" : String(t.ahead);
    var eta = $("t-eta");
    eta.textContent = "";
    eta.classList.toggle("is-closed", t.open_counters === 0);
    if (t.open_counters === 0) {
      // no counter open for this service yet (or none serves it): no "almost your turn"
      eta.appendChild(pair("Quầy chưa mở", "Counters not open"));
    } else if (!t.eta_minutes) {
      eta.appendChild(pair("Sắp đến lượt", "Almost your turn"));
    } else {
      eta.appendChild(pair("khoảng " + t.eta_minutes + " phút", "about " + t.eta_minutes + " min"));
    }
    var token = t.status_url.split("/").pop();
    $("t-qr").src = "/t/" + encodeURIComponent(token) + "/qr.svg";
    var printers = (state.printers || []).length > 0;
    $("reprint").hidden = MODE !== "reception" || !printers;
    $("reprint-on-label").hidden = MODE !== "reception" || !printers;
    printState(t.print.state);
    show("s-ticket");
    if (t.print.state === "queued") {
      if (isTrouble(state.printer)) printState("waiting_printer");  // known trouble: say it now
      followPrint(token, t);
    }
  }

  function printState(ps) {
    var trouble = ps === "waiting_printer" || ps === "failed";
    var was = state.trouble;
    state.trouble = trouble;
    $("print-status").setAttribute("data-state", trouble ? "trouble" : ps);
    doc.body.classList.toggle("printer-trouble", trouble);
    if (trouble && !was) armIdle("s-ticket");  // give time to take a photo
  }

  function followPrint(token, t) {
    var started = Date.now();
    function poll() {
      if (state.ticket !== t) return;
      api("GET", "/tickets/" + encodeURIComponent(token)).then(function (r) {
        if (state.ticket !== t) return;
        var ps = r.status === 200 ? r.data.print.state : "queued";
        if (ps !== "queued") {
          printState(ps);
          if (ps !== "printed") refresh();
          return;
        }
        if (Date.now() - started >= PRINT_WAIT_MS) {
          printState("waiting_printer");  // nothing after 3 s: never leave a citizen waiting
        }
        global.setTimeout(poll, Date.now() - started < PRINT_WAIT_MS ? 250 : 1500);
      }, function () { global.setTimeout(poll, 1000); });
    }
    global.setTimeout(poll, 150);
  }

  $("done").addEventListener("click", home);
  $("reprint").addEventListener("click", function () {
    var t = state.ticket;
    if (!t) return;
    $("reprint").disabled = true;
    var on = $("reprint-on").value;
    var where = on === "center" ? {center: true} : on ? {device: Number(on)} : {};
    api("POST", "/tickets/" + t.id + "/reprint", where).then(function (r) {
      $("reprint").disabled = false;
      if (r.status === 200) { printState("queued"); followPrint(t.status_url.split("/").pop(), t); }
    });
  });

  // -- scans: a chip ID card's QR, a result receipt's code ------------------------------------
  // A USB scanner is a keyboard: it types the code's text and Enter faster than any hand, into
  // whatever has focus. Keys that come this close together are a scan; the page's buttons
  // never see them. A human's Tab, Space or Enter (the reception desk) passes through.
  var SCAN_GAP_MS = 120;
  var scanBuf = "", scanAt = 0;
  doc.addEventListener("keydown", function (e) {
    var tag = e.target && e.target.tagName;
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") return;
    if (e.ctrlKey || e.altKey || e.metaKey) return;
    // when the key was typed, not when this handler ran: a busy page (a redraw after a live
    // update) ran it late, split a card's text in two and said the card could not be read
    var now = e.timeStamp || Date.now();
    if (now - scanAt > SCAN_GAP_MS) scanBuf = "";
    if (e.key === "Enter") {
      if (scanBuf.length >= 4) {
        e.preventDefault();
        e.stopPropagation();
        var text = scanBuf;
        scanBuf = "";
        onScan(text);
      }
      scanBuf = "";
      return;
    }
    if (e.key.length !== 1 || (!scanBuf && e.key === " ")) return;
    scanBuf += e.key;
    scanAt = now;
    e.preventDefault();  // no character of a scan presses a focused button
  }, true);
  doc.addEventListener("keyup", function (e) {
    if (scanBuf && e.key === " ") e.preventDefault();
  }, true);

  function today() {
    var now = new Date(Date.now() + state.skew);
    try {
      var parts = {};
      new Intl.DateTimeFormat("en-GB", {timeZone: state.tz, year: "numeric", month: "numeric",
                                        day: "numeric"}).formatToParts(now)
        .forEach(function (p) { parts[p.type] = p.value; });
      return {y: +parts.year, m: +parts.month, d: +parts.day};
    } catch (err) {
      return {y: now.getFullYear(), m: now.getMonth() + 1, d: now.getDate()};
    }
  }

  var cardTimer = null;
  function forgetCard() {
    global.clearTimeout(cardTimer);
    citizen = null;
    $("card-read").hidden = true;
    $("scan-hint").hidden = false;
    doc.body.removeAttribute("data-card");
  }

  function onScan(text) {
    var screen = doc.body.getAttribute("data-screen");
    if (state.busy || !screen || screen === "s-enrol" || screen === "s-issuing") return;
    var card = global.LaysoScan.parseCard(text, today());
    var code = card ? null : global.LaysoScan.dossierFromScan(text);
    text = null;
    if (screen === "s-ticket" || screen === "s-error" || screen === "s-camera") home();
    if (card) return cardRead(card);
    if (code && resultService()) return pickupScanned(code);
    if (doc.body.getAttribute("data-screen") === "s-pickup") {
      $("pickup-error").hidden = false;
      return;
    }
    failure("Không đọc được mã vừa quét. Vui lòng thử lại hoặc liên hệ bàn hướng dẫn.",
            "The code could not be read. Please try again or ask at the help desk.");
  }

  function cardRead(card) {
    // only the number (for the limit) and the proposal are kept; nothing is shown
    cardKept({id: card.id, elderly: global.LaysoScan.isElderly(card, today())});
  }
  function cardKept(kept) {
    citizen = kept;
    $("card-read").hidden = false;
    $("scan-hint").hidden = true;
    doc.body.setAttribute("data-card", citizen.elderly ? "elderly" : "read");
    // a citizen who scans and walks away: the next one must not take a number on that card
    global.clearTimeout(cardTimer);
    cardTimer = global.setTimeout(function () {
      if (doc.body.getAttribute("data-screen") === "s-home") forgetCard();
    }, IDLE_FLOW_MS);
    var screen = doc.body.getAttribute("data-screen");
    if (screen === "s-priority") priorityStep();
    else if (screen !== "s-home" && screen !== "s-procedure" && screen !== "s-pickup") {
      show("s-home");
    }
  }

  function openPickup() {
    if (state.busy || !resultService()) return;
    state.dossier = null;
    $("pickup-error").hidden = true;
    show("s-pickup");
  }
  $("pickup").addEventListener("click", openPickup);

  function pickupScanned(code) {
    state.service = resultService();
    state.procedure = null;
    state.dossier = code;
    state.key = newKey();
    priorityStep();
  }

  function openCamera() {
    var from = doc.body.getAttribute("data-screen");
    state.back = from;
    show("s-camera");
    global.LaysoCamera.start($("camera-video"), onScan).catch(function () {
      failure("Không mở được camera. Vui lòng dùng đầu đọc mã hoặc liên hệ bàn hướng dẫn.",
              "The camera could not be opened. Please use the code reader or ask at the help desk.");
    });
  }
  Array.prototype.forEach.call(doc.querySelectorAll("[data-camera]"), function (b) {
    b.addEventListener("click", openCamera);
  });
  $("camera-cancel").addEventListener("click", function () {
    global.LaysoCamera.stop();
    if (state.back === "s-pickup") openPickup(); else show("s-home");
  });
  debug.onScan = onScan;
  debug.card = function () { return citizen ? {read: true, elderly: citizen.elderly} : null; };
  debug.today = today;

  // -- start ----------------------------------------------------------------------------------
  function loadCenter() {
    api("GET", "/board").then(function (r) {
      if (r.status !== 200) return;
      $("center-vi").textContent = r.data.center.name.vi;
      $("center-en").textContent = r.data.center.name.en;
      state.day = r.data.day;
      state.tz = r.data.center.timezone || state.tz;
      // the age rule counts on the server's date, not a kiosk clock that may be off
      state.skew = Date.parse(r.data.now) - Date.now();
    });
    api("GET", "/center").then(function (r) {
      if (r.status !== 200) return;
      state.resultService = r.data.result_service || null;
      state.citizenLimit = r.data.citizen_daily_limit || null;
      if (doc.body.getAttribute("data-screen") === "s-home") renderServices();
    });
    api("GET", "/categories").then(function (r) {
      if (r.status === 200) state.categories = r.data.items;
    });
  }

  // A socket on the board channel, only to hear `config.changed` (new names, services,
  // categories) at once, and to learn that this kiosk was revoked: the server then closes it.
  var socket = null;
  function listen() {
    if (socket || typeof global.io !== "function") return;
    socket = global.io({transports: ["websocket"], reconnectionDelay: 1000,
                        reconnectionDelayMax: 10000,
                        auth: function (cb) { cb({channel: "board", token: state.token || undefined}); }});
    socket.on("config.changed", function () { loadCenter(); refresh(); });
    // a printer's status changed: read this kiosk's own again (another kiosk's is not shown)
    socket.on("printer.changed", function (ev) {
      var d = ev && ev.device ? ev.device.id : null;
      if (d === null || d === state.deviceId) refresh();
    });
    socket.on("disconnect", checkEnrolled);
    socket.on("connect_error", checkEnrolled);
  }
  function checkEnrolled() {
    if (MODE === "reception" || !state.token) return;
    api("GET", "/auth/me").then(function (r) {
      if (r.status !== 401) return;
      global.localStorage.removeItem(TOKEN_KEY);  // revoked: this kiosk must be enrolled again
      state.token = null;
      if (socket) { socket.close(); socket = null; }
      enrol();
    }, function () { /* the server is away: the socket retries */ });
  }
  debug.checkEnrolled = checkEnrolled;

  function start() {
    if (global.LaysoCamera) {
      global.LaysoCamera.detect().then(function (yes) {
        state.hasCamera = yes;
        if (doc.body.getAttribute("data-screen") === "s-home") renderServices();
      });
    }
    loadCenter();
    home();
    listen();
  }

  // The desk finds a number issued today that still waits or is at a counter, and opens its
  // ticket screen, where "Print on" and "Reprint" are (a citizen whose kiosk ran out of paper
  // comes to the desk with the number on a phone photo).
  function findMessage(vi, en) {
    var m = $("find-msg");
    m.textContent = "";
    m.appendChild(pair(vi, en));
    m.hidden = false;
  }
  $("find-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var label = $("find-label").value.replace(/\s+/g, "").toUpperCase();
    if (!/^[A-Z]{1,3}[0-9]{1,5}$/.test(label)) {
      return findMessage("Nhập số như trên vé, ví dụ A012.", "Type the number as on the ticket, e.g. A012.");
    }
    $("find-msg").hidden = true;
    Promise.all([api("GET", "/queue"), api("GET", "/counters")]).then(function (rs) {
      var found = null;
      if (rs[0].status === 200) {
        rs[0].data.items.forEach(function (t) { if (t.label === label) found = t; });
      }
      if (!found && rs[1].status === 200) {
        rs[1].data.items.forEach(function (c) {
          if (c.current && c.current.label === label) found = c.current;
        });
      }
      if (!found) {
        return findMessage("Không có số " + label + " đang chờ hoặc đang ở quầy hôm nay.",
                           "No number " + label + " is waiting or at a counter today.");
      }
      $("find-label").value = "";
      var category = null;
      (state.categories || []).forEach(function (c) { if (c.code === found.priority) category = c; });
      confirmTicket(found, category);
    }, function () {
      findMessage("Không kết nối được máy chủ.", "The server cannot be reached.");
    });
  });

  function boot() {
    if (MODE === "reception") {
      doc.body.classList.add("is-reception");
      $("reception-tag").hidden = false;
      $("find-form").hidden = false;
      api("GET", "/auth/me").then(function (r) {
        if (r.status === 200 && r.data.kind === "user" && r.data.csrf_token) {
          state.csrf = r.data.csrf_token;
          start();
        } else {
          enrol();
        }
      }, enrol);
      return;
    }
    state.token = global.localStorage.getItem(TOKEN_KEY);
    if (!state.token) return enrol();
    api("GET", "/auth/me").then(function (r) {
      if (r.status === 200 && r.data.role === "kiosk") { state.deviceId = r.data.id; return start(); }
      if (r.status === 401) {
        global.localStorage.removeItem(TOKEN_KEY);
        state.token = null;
        return enrol();
      }
      start();
    }, start);  // server unreachable now: show what we can, refresh retries
  }

  global.setInterval(function () {
    if (doc.body.getAttribute("data-screen") === "s-home") refresh();
  }, REFRESH_MS);
  // a new day clears the "no more numbers today" marks
  global.setInterval(function () {
    api("GET", "/board").then(function (r) {
      if (r.status === 200 && state.day && r.data.day !== state.day) state.full = {};
      if (r.status === 200) state.day = r.data.day;
    });
  }, 5 * 60000);
  debug.home = home;
  debug.printState = printState;
  boot();
})(window);
