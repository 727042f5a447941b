/* The kiosk's camera as a code reader: a chip ID card's QR or a receipt's QR or barcode.
   ZXing (npm @zxing/library, served from /static/layso/vendor, no network) decodes a frame
   every SCAN_MS; the first code read stops the camera and goes to `onText`. Nothing is
   recorded: frames live in one canvas, overwritten by the next. */
(function (global) {
  "use strict";
  var SCAN_MS = 200;
  var MAX_WIDTH = 800;  // enough for a card held 10–20 cm away; less work per frame
  var stream = null, timer = null, reader = null, canvas = null, video = null;

  function available() {
    return !!(global.ZXing && global.navigator.mediaDevices &&
              global.navigator.mediaDevices.getUserMedia);
  }

  function makeReader() {
    var Z = global.ZXing;
    var hints = new Map();
    hints.set(Z.DecodeHintType.POSSIBLE_FORMATS, [Z.BarcodeFormat.QR_CODE,
      Z.BarcodeFormat.CODE_128, Z.BarcodeFormat.CODE_39, Z.BarcodeFormat.DATA_MATRIX]);
    hints.set(Z.DecodeHintType.TRY_HARDER, true);
    var r = new Z.MultiFormatReader();
    r.setHints(hints);
    return r;
  }

  function decodeFrame() {
    var Z = global.ZXing;
    var w = video.videoWidth, h = video.videoHeight;
    if (!w || !h) return null;
    var scale = Math.min(1, MAX_WIDTH / w);
    var cw = Math.round(w * scale), ch = Math.round(h * scale);
    if (canvas.width !== cw) canvas.width = cw;
    if (canvas.height !== ch) canvas.height = ch;
    var ctx = canvas.getContext("2d", {willReadFrequently: true});
    ctx.drawImage(video, 0, 0, cw, ch);
    var rgba = ctx.getImageData(0, 0, cw, ch).data;
    var lum = new Uint8ClampedArray(cw * ch);
    for (var i = 0, j = 0; j < lum.length; i += 4, j++) {
      lum[j] = (rgba[i] * 77 + rgba[i + 1] * 150 + rgba[i + 2] * 29) >> 8;
    }
    var bitmap = new Z.BinaryBitmap(new Z.HybridBinarizer(new Z.RGBLuminanceSource(lum, cw, ch)));
    try {
      return reader.decode(bitmap).getText();
    } catch (e) {
      return null;  // no code in this frame (NotFound, Checksum, Format): try the next one
    } finally {
      reader.reset();
    }
  }

  /* Start reading into `videoEl`; resolves when the camera runs, rejects when it cannot. */
  function start(videoEl, onText) {
    stop();
    if (!available()) return Promise.reject(new Error("no camera or no decoder"));
    video = videoEl;
    canvas = canvas || global.document.createElement("canvas");
    reader = reader || makeReader();
    return global.navigator.mediaDevices.getUserMedia({
      audio: false, video: {facingMode: "environment", width: {ideal: 1280}, height: {ideal: 720}}
    }).then(function (s) {
      stream = s;
      video.srcObject = s;
      video.setAttribute("playsinline", "");
      video.muted = true;
      return video.play();
    }).then(function () {
      timer = global.setInterval(function () {
        var text = decodeFrame();
        if (text) { stop(); onText(text); }
      }, SCAN_MS);
    });
  }

  function stop() {
    if (timer) global.clearInterval(timer);
    timer = null;
    if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
    stream = null;
    if (video) video.srcObject = null;
    if (canvas) canvas.width = canvas.height = 0;  // the last frame goes too
  }

  /* Resolves true when the machine has a camera at all (asked once; no permission needed). */
  var present = null;
  function detect() {
    if (present) return present;
    present = !available() || !global.navigator.mediaDevices.enumerateDevices
      ? Promise.resolve(false)
      : global.navigator.mediaDevices.enumerateDevices().then(function (list) {
        return list.some(function (d) { return d.kind === "videoinput"; });
      }, function () { return false; });
    return present;
  }

  global.LaysoCamera = {available: available, detect: detect, start: start, stop: stop,
                        running: function () { return !!stream; }};
})(window);
