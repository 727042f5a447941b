"""Layout measurements taken inside the browser: overflow, buttons on screen, text sizes,
cut-off text and WCAG contrast, so every page's layout test asserts the same things."""

from __future__ import annotations

from typing import Any

# One script that returns every finding; the checks are done in the browser where the
# computed styles and boxes are.
_MEASURE = r"""
(opts) => {
  const W = innerWidth, H = innerHeight;
  const out = {scrollW: document.documentElement.scrollWidth,
               scrollH: document.documentElement.scrollHeight, W, H,
               offscreen: [], small: [], cut: [], lowContrast: [], smallTargets: []};
  function visible(e) {
    const s = getComputedStyle(e);
    if (s.visibility === "hidden" || s.display === "none" || +s.opacity === 0) return false;
    const r = e.getBoundingClientRect();
    return r.width > 0 && r.height > 0;
  }
  function shown(e) {
    for (let n = e; n && n !== document; n = n.parentElement) {
      const s = getComputedStyle(n);
      if (s.display === "none" || s.visibility === "hidden" || +s.opacity === 0) return false;
    }
    const r = e.getBoundingClientRect();
    return r.width > 0 && r.height > 0;
  }
  function rgb(c) {
    const m = c.match(/rgba?\(([^)]+)\)/);
    if (!m) return null;
    const p = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  }
  function lum(c) {
    const f = (v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    };
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
  }
  function blend(top, under) {
    const a = top[3];
    return [top[0] * a + under[0] * (1 - a), top[1] * a + under[1] * (1 - a),
            top[2] * a + under[2] * (1 - a), 1];
  }
  function background(e) {
    // the first opaque background up the tree; a gradient counts as its page colour
    const layers = [];
    for (let n = e; n; n = n.parentElement) {
      const s = getComputedStyle(n);
      const c = rgb(s.backgroundColor);
      if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
      else if (s.backgroundImage && s.backgroundImage !== "none" && opts.gradient) {
        layers.push(rgb(opts.gradient)); break;
      }
    }
    let bg = opts.base ? rgb(opts.base) : [255, 255, 255, 1];
    for (let i = layers.length - 1; i >= 0; i--) bg = blend(layers[i], bg);
    return bg;
  }
  function ownText(e) {
    let t = "";
    for (const c of e.childNodes) if (c.nodeType === 3) t += c.textContent;
    return t.trim();
  }
  function label(e) {
    return (e.id ? "#" + e.id : e.tagName.toLowerCase() + "." + [...e.classList].join(".")) +
      " «" + (e.innerText || e.value || "").trim().slice(0, 40).replace(/\s+/g, " ") + "»";
  }
  for (const e of document.querySelectorAll("body *")) {
    if (!shown(e)) continue;
    const r = e.getBoundingClientRect();
    const s = getComputedStyle(e);
    if (e.matches("button, a[href], input, select, textarea, [role=button]")) {
      if (r.left < -1 || r.top < -1 || r.right > W + 1 || r.bottom > H + 1)
        out.offscreen.push(label(e));
      if (opts.minTarget && (r.width < opts.minTarget || r.height < opts.minTarget))
        out.smallTargets.push(label(e) + " " + Math.round(r.width) + "×" + Math.round(r.height));
    }
    const text = ownText(e) || (e.tagName === "INPUT" ? (e.value || e.placeholder) : "");
    if (!text) continue;
    const size = parseFloat(s.fontSize);
    if (opts.minFont && size < opts.minFont - 0.01) out.small.push(label(e) + " " + size + "px");
    const over = e.scrollWidth > e.clientWidth + 1;
    if (over && (s.overflow !== "visible" || s.textOverflow === "ellipsis")) out.cut.push(label(e));
    if (r.right > W + 1 || r.bottom > H + 1 || r.left < -1) out.offscreen.push(label(e));
    const fg = rgb(s.color);
    if (!fg) continue;
    // WCAG 1.4.3 exempts inactive controls: a disabled button may be faint
    if (e.closest(':disabled, [aria-disabled=true]')) continue;
    const bg = background(e);
    const f = blend([fg[0], fg[1], fg[2], fg[3] * (+s.opacity || 1)], bg);
    let op = 1;
    for (let n = e.parentElement; n; n = n.parentElement) op *= +getComputedStyle(n).opacity;
    const fc = blend([f[0], f[1], f[2], op], bg);
    const l1 = lum(fc), l2 = lum(bg);
    const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    const large = size >= 24 || (size >= 18.66 && +s.fontWeight >= 700);
    if (ratio < (large ? 3 : 4.5))
      out.lowContrast.push(label(e) + " " + ratio.toFixed(2) + ":1");
  }
  out.cut = [...new Set(out.cut)];
  out.offscreen = [...new Set(out.offscreen)];
  return out;
}
"""


def measure(page: Any, *, min_font: float = 0, min_target: float = 0,
            gradient: str = "", base: str = "") -> dict[str, Any]:
    """Everything wrong with the page as it is now on screen."""
    return page.evaluate(_MEASURE, {"minFont": min_font, "minTarget": min_target,
                                    "gradient": gradient, "base": base})


def assert_fits(page: Any, where: str, *, min_font: float = 0, min_target: float = 0,
                gradient: str = "", cut: bool = True) -> dict[str, Any]:
    """No scrolling, every button and text on screen, readable sizes and AA contrast."""
    m = measure(page, min_font=min_font, min_target=min_target, gradient=gradient)
    problems = []
    if m["scrollH"] > m["H"] or m["scrollW"] > m["W"]:
        problems.append(f"page is {m['scrollW']}×{m['scrollH']} on a {m['W']}×{m['H']} screen")
    for key in ("offscreen", "small", "lowContrast", "smallTargets") + (("cut",) if cut else ()):
        if m[key]:
            problems.append(f"{key}: {m[key]}")
    assert not problems, f"{where}: " + "; ".join(problems)
    return m


def assert_langs(page: Any, where: str) -> None:
    """Every .vi part says lang=vi and every .en part lang=en (for a screen reader)."""
    wrong = page.evaluate("""() => {
      const bad = [];
      for (const e of document.querySelectorAll('.vi, .en')) {
        const want = e.classList.contains('vi') ? 'vi' : 'en';
        const got = e.closest('[lang]') ? e.closest('[lang]').getAttribute('lang') : '';
        if (got.split('-')[0] !== want) bad.push(want + ': ' + e.textContent.trim().slice(0, 30));
      }
      return bad;
    }""")
    assert not wrong, f"{where}: wrong lang on {wrong[:8]}"
