/* The citizen's phone page: the ticket's public view, live on the `ticket` socket channel. */
(function (global) {
  "use strict";
  var doc = global.document;
  var token = doc.body.getAttribute("data-token");
  // the language the citizen chose at the kiosk leads; the other follows, smaller
  var english = doc.body.getAttribute("data-lang") === "en";
  var STATES = {
    waiting: ["Đang chờ", "Waiting"], called: ["Đang được mời", "Called"],
    serving: ["Đang được phục vụ", "Being served"], done: ["Đã hoàn thành", "Completed"],
    no_show: ["Vắng mặt", "No-show"], cancelled: ["Đã hủy", "Cancelled"],
    expired: ["Hết ngày làm việc", "Day ended"]
  };
  var NOTES = {
    waiting: ["Vui lòng chờ đến lượt được gọi. Trang này tự cập nhật.",
              "Please wait until your number is called. This page updates by itself."],
    called: ["Mời bạn đến quầy ngay.", "Please go to the counter now."],
    serving: ["Bạn đang được phục vụ.", "You are being served."],
    done: ["Cảm ơn bạn đã sử dụng dịch vụ.", "Thank you for your visit."],
    no_show: ["Số của bạn đã được gọi nhưng bạn vắng mặt. Vui lòng liên hệ bàn hướng dẫn.",
              "Your number was called while you were away. Please see the help desk."],
    cancelled: ["Số thứ tự này đã bị hủy. Vui lòng liên hệ bàn hướng dẫn.",
                "This number was cancelled. Please see the help desk."],
    expired: ["Ngày làm việc đã kết thúc trước khi số này được phục vụ. Vui lòng lấy số mới.",
              "The working day ended before this number was served. Please take a new number."]
  };
  // what a finished visit leaves the citizen to do (the public view has the outcome, never
  // the dossier's code: that is on the paper receipt the official gave)
  var OUTCOME_NOTES = {
    received: ["Hồ sơ của bạn đã được tiếp nhận. Vui lòng giữ giấy biên nhận để nhận kết quả theo lịch hẹn.",
               "Your dossier was received. Please keep the receipt to collect the result on the date given."],
    needs_more_documents: ["Vui lòng bổ sung giấy tờ theo hướng dẫn của cán bộ rồi lấy số mới.",
                           "Please complete your documents as the official explained, then take a new number."]
  };
  var last = {state: null, calledAt: null, recalls: null};
  var debug = global.laysoPhone = {updates: 0};
  var lastBuzz = 0;

  function $(id) { return doc.getElementById(id); }
  function part(lang, cls, text) {
    var s = doc.createElement("span");
    s.className = lang + " " + cls;
    s.lang = lang;
    s.textContent = text;
    return s;
  }
  function pair(target, vi, en) {
    target.textContent = "";
    target.appendChild(part(english ? "en" : "vi", "lead", english ? en : vi));
    target.appendChild(doc.createTextNode(" "));
    target.appendChild(part(english ? "vi" : "en", "second", english ? vi : en));
  }

  function render(t) {
    debug.updates += 1;
    debug.ticket = t;
    doc.body.setAttribute("data-state", t.state);
    $("label").textContent = t.label;
    pair($("service"), t.service.name.vi, t.service.name.en);
    var st = STATES[t.state] || [t.state, t.state];
    pair($("state"), st[0], st[1]);
    var note = (t.state === "done" && OUTCOME_NOTES[t.outcome]) || NOTES[t.state] || NOTES.waiting;
    pair($("note"), note[0], note[1]);
    $("ahead").textContent = t.ahead == null ? "–" : String(t.ahead);
    $("eta").classList.toggle("is-closed", t.open_counters === 0);
    if (t.open_counters === 0) {
      pair($("eta"), "Quầy chưa mở", "Counters not open");
    } else if (!t.eta_minutes) pair($("eta"), "Sắp đến lượt", "Almost your turn");
    else pair($("eta"), "khoảng " + t.eta_minutes + " phút", "about " + t.eta_minutes + " min");
    // moved to another service, or back in the queue after a call: a citizen who sees the
    // service's name change, or "Waiting" again, is told why; a page opened after the move
    // learns it from the view's `moved`
    var moved = $("moved");
    if (t.state !== "waiting") {
      moved.hidden = true;
    } else if ((last.service && last.service !== t.service.code) ||
               (t.moved && !(last.state && last.state !== "waiting"))) {
      var from = t.moved && t.moved.from ? t.moved.from.name : null;
      pair(moved, "Số của bạn đã được chuyển " + (from ? "từ lĩnh vực " + from.vi + " " : "") +
           "sang lĩnh vực " + t.service.name.vi + ". Vui lòng tiếp tục chờ.",
           "Your number was moved " + (from ? "from " + from.en + " " : "") + "to " +
           t.service.name.en + ". Please keep waiting.");
      moved.hidden = false;
    } else if (last.state && last.state !== "waiting") {
      pair(moved, "Số của bạn đã được đưa trở lại hàng chờ. Vui lòng chờ được gọi lại.",
           "Your number is back in the queue. Please wait to be called again.");
      moved.hidden = false;
    }
    var c = $("counter");
    c.hidden = !t.counter || (t.state !== "called" && t.state !== "serving");
    if (t.counter) pair(c, "Quầy " + t.counter.number, "Counter " + t.counter.number);
    doc.title = t.label + " · " + st[english ? 1 : 0];
    var fresh = t.state === "called" &&
      (last.state !== "called" || last.calledAt !== t.called_at || last.recalls !== t.recalls);
    if (fresh) called(t.label, t.counter);
    if (t.state !== "called") $("called").hidden = true;
    last = {state: t.state, calledAt: t.called_at, recalls: t.recalls, service: t.service.code};
  }

  function called(label, counter) {
    $("called-label").textContent = label;
    if (counter) {
      pair($("called-counter"), "Quầy số " + counter.number, "Counter " + counter.number);
    }
    $("called").hidden = false;
    doc.body.setAttribute("data-called", "1");
    if (Date.now() - lastBuzz < 3000) return;  // the call and its update arrive together
    lastBuzz = Date.now();
    // a browser lets a page vibrate only after the citizen touched it (else it logs a refusal)
    var touched = !global.navigator.userActivation || global.navigator.userActivation.hasBeenActive;
    if (global.navigator.vibrate && touched) {
      try { global.navigator.vibrate([400, 200, 400, 200, 600]); } catch (e) { /* not allowed */ }
    }
  }
  $("called-ok").addEventListener("click", function () { $("called").hidden = true; });

  // no such ticket (a mistyped or old link): say so, and nothing about waiting
  var gone = false;
  function missing() {
    gone = true;
    $("missing").hidden = false;
    $("missing-help").hidden = false;
    $("card").hidden = true;
    $("note").hidden = true;
    doc.body.setAttribute("data-state", "missing");
    doc.title = english ? "Ticket not found · Không tìm thấy số thứ tự"
                        : "Không tìm thấy số thứ tự · Ticket not found";
    debug.missing = true;
  }

  function load() {
    if (gone) return Promise.resolve();
    return global.fetch("/api/v1/tickets/" + encodeURIComponent(token), {cache: "no-store"})
      .then(function (r) {
        if (r.status === 404) { missing(); return; }
        if (r.ok) return r.json().then(render);
      }, function () { /* offline: the socket or the next poll will bring it */ });
  }

  function connect() {
    if (!global.io || gone) return;
    var socket = global.io({transports: ["websocket", "polling"],
                            auth: {channel: "ticket", ticket: token}});
    debug.socket = socket;
    socket.on("connect", function () { $("offline").hidden = true; });
    socket.on("disconnect", function () { $("offline").hidden = false; });
    socket.on("ticket.updated", function (m) { if (m && m.ticket) render(m.ticket); });
    socket.on("ticket.called", function (m) {
      // the call itself; the public view follows as ticket.updated
      if (m && m.ticket && m.counter) called(m.ticket.label, m.counter);
    });
  }

  load().then(connect);
  global.setInterval(load, 30000);  // a safety net if a socket message was lost
})(window);
