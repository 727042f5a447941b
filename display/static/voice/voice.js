/* Lấy Số board voice: plays call announcements from short clips, one at a time, offline.
 *
 *   var voice = LaysoVoice.create({baseUrl: "/display/voice", manifest: manifestJson,
 *                                  onBlocked: showTapPrompt, onUnblocked: hideTapPrompt});
 *   voice.announce(["chime", "vi/moi-cong-dan-co-so", "vi/letter-a", ...]);
 *   tapTarget.addEventListener("click", function () { voice.unlock(); });
 *
 * Plain ES2017, no build step. See docs/voice.md.
 */
(function (global) {
  "use strict";

  // 0.05 s of silence (8 kHz, 8-bit WAV): played inside the unlocking tap so the audio element
  // is allowed to play afterwards, whatever the next clip's loading time.
  var SILENCE = (function () {
    var n = 400;
    var bytes = [];
    function str(s) { for (var i = 0; i < s.length; i++) bytes.push(s.charCodeAt(i)); }
    function u32(v) { bytes.push(v & 255, (v >> 8) & 255, (v >> 16) & 255, (v >> 24) & 255); }
    function u16(v) { bytes.push(v & 255, (v >> 8) & 255); }
    str("RIFF"); u32(36 + n); str("WAVE"); str("fmt "); u32(16); u16(1); u16(1);
    u32(8000); u32(8000); u16(1); u16(8); str("data"); u32(n);
    for (var i = 0; i < n; i++) bytes.push(128);
    return "data:audio/wav;base64," + global.btoa(String.fromCharCode.apply(null, bytes));
  })();

  var log = [];

  function sleep(ms) {
    return new Promise(function (resolve) { setTimeout(resolve, ms); });
  }

  function create(options) {
    var opts = options || {};
    var baseUrl = (opts.baseUrl || "").replace(/\/+$/, "");
    // Accept the whole manifest.json or just its "clips" mapping; null means "try any name".
    var clips = opts.manifest ? (opts.manifest.clips || opts.manifest) : null;
    var gapMs = opts.gapMs == null ? 120 : opts.gapMs;
    var announcementGapMs = opts.announcementGapMs == null ? 600 : opts.announcementGapMs;
    var clipTimeoutMs = opts.clipTimeoutMs || 4000; // added to the clip's own length
    // Announcements that waited longer than this (e.g. while blocked) are dropped; 0 keeps all.
    var maxWaitMs = opts.maxWaitMs || 0;
    var onBlocked = opts.onBlocked || function () {};
    var onUnblocked = opts.onUnblocked || function () {};
    var urlFor = opts.urlFor || function (name) { return baseUrl + "/" + name; };

    var audio = opts.audio || new global.Audio();
    audio.preload = "auto";
    var cache = {}; // clip name → Promise of a playable URL (blob URL when fetch works)
    var queue = []; // FIFO of {clips, resolve}
    var busy = false;
    var blocked = false;

    function known(name) {
      return !clips || Object.prototype.hasOwnProperty.call(clips, name);
    }

    function load(name) {
      if (cache[name]) return cache[name];
      var url = urlFor(name, clips ? clips[name] : null);
      var promise;
      if (typeof global.fetch !== "function" || !global.URL || !global.URL.createObjectURL) {
        promise = Promise.resolve(url);
      } else {
        promise = global.fetch(url).then(function (response) {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.blob();
        }).then(function (blob) {
          return global.URL.createObjectURL(blob);
        });
        // A failed load is not cached: the server may be back for the next call.
        promise.catch(function () { if (cache[name] === promise) delete cache[name]; });
      }
      cache[name] = promise;
      return promise;
    }

    function preload(names) {
      (names || (clips ? Object.keys(clips) : [])).forEach(function (name) {
        if (known(name)) load(name).catch(function () {});
      });
    }

    // Resolves "ok" when the clip ended, "skip" when it is missing, broken or too slow,
    // "blocked" when the browser refuses to play without a user gesture.
    function playClip(name) {
      if (!known(name)) return Promise.resolve("skip");
      var lengthMs = clips && clips[name] && clips[name].ms ? clips[name].ms : 2500;
      return new Promise(function (resolve) {
        var done = false;
        var timer = setTimeout(function () { finish("skip"); }, lengthMs + clipTimeoutMs);
        function finish(result) {
          if (done) return;
          done = true;
          clearTimeout(timer);
          audio.onended = null;
          audio.onerror = null;
          if (result !== "ok") { try { audio.pause(); } catch (e) { /* already stopped */ } }
          resolve(result);
        }
        load(name).then(function (src) {
          if (done) return;
          audio.onended = function () { finish("ok"); };
          audio.onerror = function () { finish("skip"); };
          audio.src = src;
          var played;
          try { played = audio.play(); } catch (e) { finish("skip"); return; }
          if (!played || typeof played.then !== "function") { log.push(name); return; }
          played.then(function () {
            if (!done) log.push(name);
          }, function (err) {
            finish(err && err.name === "NotAllowedError" ? "blocked" : "skip");
          });
        }, function () { finish("skip"); });
      });
    }

    async function playAnnouncement(item) {
      for (var i = 0; i < item.clips.length; i++) {
        var result = await playClip(item.clips[i]);
        if (result === "blocked") return false;
        if (result === "ok" && i < item.clips.length - 1 && gapMs) await sleep(gapMs);
      }
      return true;
    }

    async function pump() {
      if (busy || blocked) return;
      busy = true;
      try {
        while (queue.length && !blocked) {
          var item = queue[0];
          if (maxWaitMs && Date.now() - item.at > maxWaitMs) {
            queue.shift();
            item.resolve(false);
            continue;
          }
          var finished = await playAnnouncement(item);
          if (!finished) {
            // Keep the whole announcement: after the tap it is heard from its start.
            if (!blocked) { blocked = true; onBlocked(); }
            break;
          }
          queue.shift();
          item.resolve(true);
          if (queue.length && announcementGapMs) await sleep(announcementGapMs);
        }
      } finally {
        busy = false;
      }
    }

    // Resolves true once played, false when dropped as too old.
    function announce(names) {
      return new Promise(function (resolve) {
        var list = (names || []).slice();
        queue.push({clips: list, resolve: resolve, at: Date.now()});
        preload(list);
        pump();
      });
    }

    function unlock() {
      // Must run inside the user's tap: play() here is what the browser counts as permission.
      if (!busy) {
        audio.src = SILENCE;
        try {
          var p = audio.play();
          if (p && p.catch) p.catch(function () {});
        } catch (e) { /* the next clip will tell */ }
      }
      if (blocked) {
        blocked = false;
        onUnblocked();
      }
      pump();
    }

    return {
      announce: announce,
      unlock: unlock,
      preload: preload,
      isBlocked: function () { return blocked; },
      pending: function () { return queue.length; },
      _log: log
    };
  }

  global.LaysoVoice = {create: create, _log: log};
})(window);
