/* Lấy Số waiting-room board: one socket on the `board` channel, redrawn from snapshots and
 * live events, announcing fresh calls through LaysoVoice. Plain ES2017, no build step.
 *
 * Sync rules (DESIGN.md, Socket.IO): events with seq <= ours are dropped; a gap, another epoch or
 * a tick ahead of us asks the server to `sync`; a snapshot redraws everything and is never
 * announced; a replayed call older than 30 s (server time) is shown but not spoken.
 */
(function (global) {
  "use strict";

  var FRESH_MS = 30000;          // announce a call only if it is younger than this
  var RECENT = 8;
  var FLASH_MS = 6000;
  var SYNC_THROTTLE_MS = 800;
  var doc = global.document;
  var params = new URLSearchParams(global.location.search);
  var pageBuild = doc.body.getAttribute("data-build");

  var state = {
    epoch: null, seq: 0, maxSeen: 0, offsetMs: 0, build: pageBuild,
    center: null, counters: {}, recent: [], waiting: {}, services: [], notice: {vi: "", en: ""},
    voice: {mode: "words", english: true}, lastSyncAt: 0, snapshots: 0
  };
  // What tests and operators can inspect: events applied, calls announced, sync requests.
  var debug = {applied: [], announced: [], syncs: 0, snapshots: 0, state: state};
  global.LaysoBoard = debug;

  function $(id) { return doc.getElementById(id); }
  function el(tag, cls, text) {
    var e = doc.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }
  function serverNow() { return Date.now() + state.offsetMs; }

  // -- orientation ---------------------------------------------------------------------------
  var forced = params.get("orientation");
  var portraitQuery = global.matchMedia ? global.matchMedia("(orientation: portrait)") : null;
  function applyOrientation() {
    var portrait = forced ? forced === "portrait" : !!(portraitQuery && portraitQuery.matches);
    doc.body.classList.toggle("portrait", portrait);
    doc.body.classList.toggle("landscape", !portrait);
    fitLabel();
    fitRecent();
  }
  if (portraitQuery && portraitQuery.addEventListener) {
    portraitQuery.addEventListener("change", applyOrientation);
  }
  global.addEventListener("resize", function () { fitLabel(); fitRecent(); });

  // -- clock ---------------------------------------------------------------------------------
  var WEEKDAYS_VI = ["Chủ nhật", "Thứ hai", "Thứ ba", "Thứ tư", "Thứ năm", "Thứ sáu", "Thứ bảy"];
  function clockParts(date, tz) {
    var out = {};
    try {
      new Intl.DateTimeFormat("en-GB", {
        timeZone: tz, hour: "2-digit", minute: "2-digit", day: "2-digit", month: "2-digit",
        year: "numeric", weekday: "short", hourCycle: "h23"
      }).formatToParts(date).forEach(function (p) { out[p.type] = p.value; });
    } catch (e) { return null; }
    return out;
  }
  function drawClock() {
    var tz = state.center ? state.center.timezone : "Asia/Ho_Chi_Minh";
    var p = clockParts(new Date(serverNow()), tz);
    if (!p) return;
    var wd = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"].indexOf(p.weekday);
    $("clock-time").textContent = p.hour + ":" + p.minute;
    $("clock-date").textContent = (wd >= 0 ? WEEKDAYS_VI[wd] + ", " : "") +
      p.day + "/" + p.month + "/" + p.year;
  }
  setInterval(drawClock, 1000);

  // -- drawing -------------------------------------------------------------------------------
  function counterName(c) {
    return c && c.name ? c.name : {vi: "Quầy " + (c && c.number), en: "Counter " + (c && c.number)};
  }

  function drawCenter() {
    if (!state.center) return;
    $("center-vi").textContent = state.center.name.vi;
    $("center-en").textContent = state.center.name.en;
    doc.title = "Bảng gọi số · " + state.center.name.vi;
  }

  var STATE_WORDS = {
    open: ["Sẵn sàng", "Ready"], paused: ["Tạm dừng", "Paused"],
    calling: ["Đang mời", "Calling"], serving: ["Đang phục vụ", "Serving"]
  };

  function drawCounters() {
    var list = $("counters");
    list.textContent = "";
    var numbers = Object.keys(state.counters).map(Number).sort(function (a, b) { return a - b; });
    var shown = 0;
    numbers.forEach(function (n) {
      var c = state.counters[n];
      if (!c || c.state === "closed") return;
      shown++;
      var li = el("li", "counter state-" + c.state);
      li.setAttribute("data-counter", String(c.number));
      var name = el("span", "counter-name");
      name.appendChild(el("span", "vi", counterName(c).vi));
      name.appendChild(el("span", "en", counterName(c).en));
      li.appendChild(name);
      var cur = c.current;
      var ticket = el("span", "counter-ticket" + (cur && cur.priority ? " prio" : ""),
                      cur && c.state !== "paused" ? cur.label : "");
      li.appendChild(ticket);
      var words = (STATE_WORDS[c.state] || ["", ""]).slice();
      // the reason the official typed for the room (the pause dialog says it is shown here)
      if (c.state === "paused" && c.pause_reason) {
        words[0] += ": " + c.pause_reason;
        if (c.pause_reason_en) words[1] += ": " + c.pause_reason_en;  // a reason of the chips
      }
      var st = el("span", "counter-state");
      st.appendChild(el("span", "vi", words[0]));
      st.appendChild(el("span", "en", words[1]));
      li.appendChild(st);
      list.appendChild(li);
    });
    list.classList.toggle("many", shown > 6);
    $("counters-empty").hidden = shown > 0;
  }

  function drawRecent() {
    var list = $("recent");
    list.textContent = "";
    state.recent.slice(0, RECENT).forEach(function (call, i) {
      var li = el("li", "recent-item" + (i === 0 ? " newest" : "") +
                  (call.ticket && call.ticket.priority ? " prio" : ""));
      li.appendChild(el("span", "recent-label", call.ticket ? call.ticket.label : ""));
      var where = el("span", "recent-counter");
      where.appendChild(el("span", "arrow", "→"));
      where.appendChild(doc.createTextNode(" " + counterName(call.counter).vi));
      li.appendChild(where);
      list.appendChild(li);
    });
    fitRecent();
  }

  // As many recent calls as the panel holds, whole rows only: a call half under the panel's
  // edge cannot be read, so the rows that do not fit are left out (the newest come first).
  function fitRecent() {
    var list = $("recent");
    if (!list) return;
    var items = list.children, panel = list.parentNode;
    panel.hidden = false;
    doc.body.classList.remove("no-recent");
    for (var i = 0; i < items.length; i++) items[i].hidden = false;
    var bottom = panel.getBoundingClientRect().bottom -
      parseFloat(global.getComputedStyle(panel).paddingBottom || "0");
    var fit = 0;
    for (var j = 0; j < items.length; j++) {
      if (items[j].getBoundingClientRect().bottom > bottom + 1) items[j].hidden = true;
      else fit++;
    }
    // not one call fits (a portrait board with many counters): the counters show the calls
    if (items.length && !fit) panel.hidden = true;
    doc.body.classList.toggle("no-recent", panel.hidden);
  }

  function drawWaiting() {
    var list = $("waiting");
    list.textContent = "";
    state.services.forEach(function (s) {
      var li = el("li", "service");
      li.appendChild(el("span", "service-count", String(state.waiting[s.code] || 0)));
      var name = el("span", "service-name");
      name.appendChild(el("span", "vi", s.prefix + " · " + s.name.vi));
      name.appendChild(el("span", "en", s.name.en));
      li.appendChild(name);
      list.appendChild(li);
    });
  }

  function drawNotice() {
    var text = [state.notice.vi, state.notice.en].filter(function (t) { return t; }).join("   ·   ");
    $("notice").hidden = !text;
    var span = $("notice-text");
    if (span.textContent !== text) {
      span.textContent = text;
      // speed stays readable whatever the length: about 120 px a second
      var px = Math.max(span.scrollWidth + global.innerWidth, 1);
      span.style.animationDuration = Math.max(px / 120, 12) + "s";
    }
  }

  // The big panel invites a citizen only while that citizen is still expected: the newest call
  // whose ticket its counter still holds (calling or serving). Once the counter completes it,
  // marks it absent or moves on, the panel goes to the newest call still live, or says to wait
  // (a finished call stayed there, inviting nobody, until the next one).
  function liveCall() {
    for (var i = 0; i < state.recent.length; i++) {
      var call = state.recent[i], c = call.counter && state.counters[call.counter.number];
      if (c && c.current && call.ticket && c.current.label === call.ticket.label &&
          (c.state === "calling" || c.state === "serving")) return call;
    }
    return null;
  }
  debug.liveCall = liveCall;

  var flashTimer = null;
  function drawCall(flash) {
    var call = liveCall();
    $("call-idle").hidden = !!call;
    $("call-live").hidden = !call;
    if (!call) return;
    var prio = !!(call.ticket && call.ticket.priority);
    $("call").classList.toggle("prio", prio);
    $("call-prio").hidden = !prio;
    $("call-recall").hidden = !call.recall;
    $("call-label").textContent = call.ticket ? call.ticket.label : "";
    var name = counterName(call.counter);
    $("call-counter-vi").textContent = name.vi.toLowerCase().indexOf("quầy") === 0
      ? name.vi.replace(/^Q/, "q") : name.vi;
    $("call-counter-en").textContent = name.en.replace(/^C/, "c");
    $("caption-vi").textContent = call.speech ? call.speech.vi : "";
    $("caption-en").textContent = call.speech && state.voice.english ? call.speech.en : "";
    fitLabel();
    if (flash) {
      var box = $("call");
      box.classList.remove("flash");
      void box.offsetWidth; // restart the animation
      box.classList.add("flash");
      clearTimeout(flashTimer);
      flashTimer = setTimeout(function () { box.classList.remove("flash"); }, FLASH_MS);
    }
  }

  // The newest label must fill its box without overflowing, whatever its length.
  function fitLabel() {
    var label = $("call-label");
    if (!label || $("call-live").hidden) return;
    label.style.fontSize = "";
    var guard = 0;
    while (label.scrollWidth > label.clientWidth + 1 && guard++ < 40) {
      var size = parseFloat(global.getComputedStyle(label).fontSize);
      label.style.fontSize = (size * 0.94) + "px";
    }
  }

  function drawAll() {
    drawCenter(); drawCounters(); drawRecent(); drawWaiting(); drawNotice(); drawCall(false);
    drawClock();
    fitRecent();  // after everything that shares the screen with it
  }

  // -- voice ---------------------------------------------------------------------------------
  var voice = null;
  var soundBar = $("sound-bar");
  function showTap(reason) {
    if (soundBar.hidden) {
      soundBar.hidden = false;
      fitLabel(); fitRecent();  // the board is shorter by the prompt's band
    }
    // operators (and tests) read why in the console; nothing else is logged per call
    console.warn("Lấy Số board: sound blocked until a tap (" + (reason || "voice") + ")");
  }
  function hideTap() {
    if (soundBar.hidden) return;
    soundBar.hidden = true;
    fitLabel(); fitRecent();
  }
  function unlockSound() {
    if (voice) voice.unlock();
    hideTap();
  }
  doc.addEventListener("click", unlockSound);
  doc.addEventListener("touchend", unlockSound);
  doc.addEventListener("keydown", unlockSound);

  function startVoice(manifest) {
    voice = global.LaysoVoice.create({
      baseUrl: "/display/voice", manifest: manifest, onBlocked: function () { showTap("voice"); },
      onUnblocked: hideTap,
      // a call that waited more than two minutes for a tap is no longer worth hearing
      maxWaitMs: 120000
    });
    voice.preload(["chime", "vi/moi-cong-dan-co-so", "vi/den-quay-so"]);
    probeAutoplay();
  }

  // Ask the browser up front, so the tap prompt shows before the first call, not during it.
  function probeAutoplay() {
    if (navigator.getAutoplayPolicy) {
      try {
        var policy = navigator.getAutoplayPolicy("mediaelement");
        if (policy === "disallowed") showTap("policy");
        if (policy) return;
      } catch (e) { /* fall back to a silent play */ }
    }
    var probe = new global.Audio();
    probe.muted = false;
    probe.src = "data:audio/wav;base64,UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQAAAAA=";
    var played;
    try { played = probe.play(); } catch (e) { return; }
    if (played && played.catch) {
      played.catch(function (err) {
        if (err && err.name === "NotAllowedError" && voice && !voice.isBlocked()) showTap("probe");
      });
    }
  }

  function announce(call) {
    var clips = call.clips || {};
    var list = (clips.vi || []).slice();
    if (state.voice.english && clips.en) list = list.concat(clips.en);
    debug.announced.push({seq: call.seq, label: call.ticket && call.ticket.label, clips: list});
    if (voice && list.length) voice.announce(list);
  }

  // -- applying events -----------------------------------------------------------------------
  function applySnapshot(s) {
    if (s.build && s.build !== pageBuild) { reload(); return; }
    state.epoch = s.epoch; state.seq = s.seq; state.maxSeen = s.seq;
    if (s.now) state.offsetMs = Date.parse(s.now) - Date.now();
    state.center = s.center;
    state.counters = {};
    (s.counters || []).forEach(function (c) { state.counters[c.number] = c; });
    state.recent = (s.recent || []).slice(0, RECENT);
    state.waiting = s.waiting || {};
    state.services = s.services || [];
    state.notice = s.notice || {vi: "", en: ""};
    state.voice = s.voice || state.voice;
    debug.snapshots++;
    console.info("Lấy Số board: snapshot " + s.epoch + ":" + s.seq);
    drawAll();
  }

  function sameTicket(a, b) {
    return !!(a.ticket && b.ticket && a.ticket.label === b.ticket.label);
  }

  function apply(msg) {
    debug.applied.push(msg.type + ":" + msg.seq);
    switch (msg.type) {
      case "ticket.called":  // a recall moves the ticket's tile to the front, never a second
        state.recent = [msg].concat(state.recent.filter(function (c) {
          return c.seq !== msg.seq && !sameTicket(c, msg);
        })).slice(0, RECENT);
        if (msg.counter && state.counters[msg.counter.number]) {
          var c = state.counters[msg.counter.number];
          c.current = msg.ticket; c.state = "calling";
        }
        drawRecent(); drawCounters(); drawCall(true);
        if (serverNow() - Date.parse(msg.at) <= FRESH_MS) announce(msg);
        break;
      case "ticket.released":  // its official left: the citizen waits again, the call is void
      case "ticket.transferred":  // it waits for another service: nobody goes to that counter
        state.recent = state.recent.filter(function (c) { return !sameTicket(c, msg); });
        drawRecent(); drawCall(false);
        break;
      case "counter.changed":
        state.counters[msg.counter.number] = msg.counter;
        drawCounters(); drawCall(false);
        break;
      case "queue.changed":
        state.waiting = msg.waiting || {};
        drawWaiting();
        break;
      case "notice.changed":
        state.notice = msg.notice || {vi: "", en: ""};
        drawNotice();
        break;
      case "config.changed":  // names, services, counters or voice changed: redraw them all
      case "settings.changed":
      case "services.changed":
      case "center.changed":
        requestSync(true);
        break;
      default:
        break;
    }
    fitRecent();
  }

  function reload() {
    // a short pause lets a restarting server finish starting before the page asks for itself
    setTimeout(function () { global.location.reload(); }, 1500);
  }

  var socket = global.io({
    transports: ["websocket"],
    reconnectionDelay: 500,
    reconnectionDelayMax: 5000,
    auth: function (cb) {
      var a = {channel: "board", build: pageBuild};
      if (state.epoch) { a.epoch = state.epoch; a.seq = state.seq; }
      cb(a);
    }
  });
  debug.socket = socket;

  var syncTimer = null;
  function requestSync(full) {
    var wait = state.lastSyncAt + SYNC_THROTTLE_MS - Date.now();
    if (wait > 0) {
      if (!syncTimer) syncTimer = setTimeout(function () { syncTimer = null; requestSync(full); }, wait);
      return;
    }
    state.lastSyncAt = Date.now();
    debug.syncs++;
    socket.emit("sync", full || !state.epoch ? {} : {epoch: state.epoch, seq: state.seq});
  }

  // the offline band takes room from the calls: what fits is measured again
  function offline(on) {
    if ($("offline").hidden === !on) return;
    $("offline").hidden = !on;
    doc.body.classList.toggle("is-offline", on);
    fitLabel();
    fitRecent();
  }
  socket.on("connect", function () { offline(false); });
  socket.on("disconnect", function () { offline(true); });
  socket.on("connect_error", function () { offline(true); });
  socket.on("snapshot", applySnapshot);
  socket.on("tick", function (t) {
    if (t.build && t.build !== pageBuild) { reload(); return; }
    if (t.epoch !== state.epoch || t.seq > state.seq) requestSync(false);
  });
  socket.onAny(function (name, msg) {
    if (name === "snapshot" || name === "tick" || !msg || typeof msg.seq !== "number") return;
    if (state.epoch === null) return; // the snapshot that follows the connect covers it
    if (msg.epoch !== state.epoch) { requestSync(false); return; }
    if (msg.seq <= state.seq) return; // seen already
    state.maxSeen = Math.max(state.maxSeen, msg.seq);
    if (msg.seq !== state.seq + 1) { requestSync(false); return; }
    state.seq = msg.seq;
    apply(msg);
    if (state.maxSeen > state.seq) requestSync(false);
  });

  applyOrientation();
  drawClock();
  fetch("/display/voice/manifest.json").then(function (r) { return r.json(); })
    .then(startVoice, function () { startVoice(null); });
})(window);
