/* What the kiosk reads from a scan: a chip ID card's QR (CCCD) or a result receipt's dossier
   code. The one parser of both (the server receives only the ID number, and the dossier code).

   The chip ID card's QR text is `|`-separated:
     ID number (12 digits) | old ID (9 digits, may be empty) | full name | date of birth
     DDMMYYYY | sex | address | issue date DDMMYYYY
   and fields may be missing; the newer card (thẻ căn cước, from July 2024) lists other things
   (family members' names and numbers) and may carry no date of birth at that place. Only the
   ID number and the date of birth are read; the name, the address and the rest are never
   looked at, kept or shown. Without a readable date of birth, the birth year comes from the
   ID number itself (its 4th digit is sex and century, its 5th–6th the year). */
(function (global) {
  "use strict";

  var ID_RE = /^[0-9]{12}$/;
  var DATE_RE = /^([0-9]{2})([0-9]{2})([0-9]{4})$/;
  //: the 4th digit of the ID number: the century of birth (even: a man, odd: a woman)
  var CENTURY = {0: 1900, 1: 1900, 2: 2000, 3: 2000, 4: 2100, 5: 2100, 6: 2200, 7: 2200,
                 8: 2300, 9: 2300};
  var ELDERLY_AGE = 60;  // Law on the Elderly 39/2009/QH12
  var MAX_AGE = 130;

  function clean(text) {
    // scanners end with CR/LF or a tab, some add a BOM or spaces around fields
    return String(text == null ? "" : text).replace(/^\ufeff/, "").replace(/[\r\n\t]+$/g, "")
      .trim();
  }

  function parseDate(field, today) {
    var m = DATE_RE.exec(String(field || "").trim());
    if (!m) return null;
    var d = +m[1], mo = +m[2], y = +m[3];
    if (mo < 1 || mo > 12 || d < 1) return null;
    var days = new Date(Date.UTC(y, mo, 0)).getUTCDate();  // the month's length (leap years)
    if (d > days) return null;
    var date = {y: y, m: mo, d: d};
    if (today && (after(date, today) || ageOn(date, today) > MAX_AGE)) return null;
    return date;
  }

  function after(a, b) {
    return a.y !== b.y ? a.y > b.y : a.m !== b.m ? a.m > b.m : a.d > b.d;
  }

  /* Whole years from `birth` to `today` ({y, m, d} each): a citizen born on 29 February is a
     year older on 1 March in a year that has no 29 February. */
  function ageOn(birth, today) {
    var age = today.y - birth.y;
    if (today.m < birth.m || (today.m === birth.m && today.d < birth.d)) age -= 1;
    return age;
  }

  function yearFromId(id) {
    var century = CENTURY[id.charAt(3)];
    return century + parseInt(id.substr(4, 2), 10);
  }

  /* The card's QR text → {id, birth: {y, m, d}|null, birthYear: number|null}, or null when
     it is not a chip ID card's QR (no 12-digit ID number among its first fields). */
  function parseCard(text, today) {
    var t = clean(text);
    if (t.indexOf("|") < 0 && !ID_RE.test(t)) return null;
    var fields = t.split("|").map(function (f) { return f.trim(); });
    var idAt = -1;
    for (var i = 0; i < Math.min(fields.length, 2); i++) {
      if (ID_RE.test(fields[i])) { idAt = i; break; }
    }
    if (idAt < 0) return null;
    var id = fields[idAt];
    var year = yearFromId(id);
    // a date of birth agrees with the birth year the number encodes: then the issue date (or
    // a relative's date on the newer card) is never taken for it. The layout's place first
    // (3 fields after the number), then any field, for the layouts that differ.
    var birth = null;
    [fields[idAt + 3]].concat(fields).forEach(function (f) {
      var d = birth ? null : parseDate(f, today);
      if (d && d.y === year) birth = d;
    });
    if (!birth && today && (year > today.y || today.y - year > MAX_AGE)) year = null;
    return {id: id, birth: birth, birthYear: year};
  }

  /* Whether to propose the elderly priority: 60 or older on `today`; with only the birth
     year known, only when that is certain whatever the birthday (the citizen may still
     choose the priority themselves). */
  function isElderly(card, today) {
    if (!card || !today) return false;
    if (card.birth) return ageOn(card.birth, today) >= ELDERLY_AGE;
    if (card.birthYear == null) return false;
    return ageOn({y: card.birthYear, m: 12, d: 31}, today) >= ELDERLY_AGE;
  }

  // a dossier code (DESIGN: 1–40 letters, digits, . and -), e.g. 000.00.17.H56-251202-0007
  var DOSSIER_RE = /^(?=.*[A-Za-z0-9])[A-Za-z0-9.-]{1,40}$/;
  // the one-stop system's layout (Circular 04/2025/TT-VPCP): agency code - YYMMDD - number
  var DOSSIER_IN_TEXT = /[A-Za-z0-9]+(?:\.[A-Za-z0-9]+)*-[0-9]{6}-[0-9]{3,}/;
  var DOSSIER_PARAMS = ["mahoso", "ma_ho_so", "hoso", "dossier", "code", "ma"];

  /* A receipt's scan → its dossier code (capital letters), or null. The receipt may carry the
     code alone, a link to the one-stop portal with the code as a parameter, or a line of
     text with the code in it. */
  function dossierFromScan(text) {
    var t = clean(text);
    if (!t || t.indexOf("|") >= 0) return null;  // a card, not a receipt
    if (DOSSIER_RE.test(t) && !ID_RE.test(t)) return t.toUpperCase();
    var q = t.indexOf("?");
    if (q >= 0) {
      var params = t.slice(q + 1).split("#")[0].split("&");
      for (var i = 0; i < params.length; i++) {
        var kv = params[i].split("=");
        var value = kv.length > 1 ? decodeURIComponent(kv[1].replace(/\+/g, " ")).trim() : "";
        if (DOSSIER_PARAMS.indexOf(kv[0].toLowerCase()) >= 0 && DOSSIER_RE.test(value)) {
          return value.toUpperCase();
        }
      }
    }
    var m = DOSSIER_IN_TEXT.exec(t);
    return m && m[0].length <= 40 ? m[0].toUpperCase() : null;
  }

  global.LaysoScan = {
    parseCard: parseCard, isElderly: isElderly, ageOn: ageOn, parseDate: parseDate,
    dossierFromScan: dossierFromScan, ELDERLY_AGE: ELDERLY_AGE
  };
})(window);
