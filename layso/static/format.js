/* Lấy Số: numbers as Vietnamese writes them (4,8 · 1.250), the one helper every staff page
   uses, so a figure reads the same on the dashboard, the reports and the counter. */
(function (global) {
  'use strict';
  var cache = {};
  function formatter(digits) {
    var key = String(digits);
    if (!cache[key]) {
      cache[key] = new Intl.NumberFormat('vi-VN', {minimumFractionDigits: 0,
                                                   maximumFractionDigits: digits});
    }
    return cache[key];
  }
  /* `v` with at most `digits` decimals (default 1), '–' for nothing. */
  function number(v, digits) {
    if (v === null || v === undefined || v === '' || isNaN(Number(v))) return '–';
    return formatter(digits === undefined ? 1 : digits).format(Number(v));
  }
  /* `v` with exactly `digits` decimals (a mean rating: 4,0 not 4). */
  function fixed(v, digits) {
    if (v === null || v === undefined || isNaN(Number(v))) return '–';
    return new Intl.NumberFormat('vi-VN', {minimumFractionDigits: digits,
                                           maximumFractionDigits: digits}).format(Number(v));
  }
  global.LaysoFormat = {number: number, fixed: fixed};
})(window);
