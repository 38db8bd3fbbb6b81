// wscap HTML report: draws the embedded data (no libraries, no network).
(function () {
  "use strict";
  var t0 = performance.now();
  var D = JSON.parse(document.getElementById("data").textContent);
  var parseMs = performance.now() - t0;
  var conns = D.conns, anoms = D.anoms;
  var CL = "#2f6fdf", SV = "#e8851a", AN = "#d62728";
  var selected = -1;
  var lanesChart = null, rttChart = null;

  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }
  function fmtInt(n) { return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ","); }
  function fmtBytes(n) {
    if (n < 1024) return n + " B";
    var u = ["KiB", "MiB", "GiB", "TiB"], i = -1;
    do { n /= 1024; i++; } while (n >= 1024 && i < u.length - 1);
    return n.toFixed(n < 10 ? 1 : 0) + " " + u[i];
  }
  function fmtSec(s) {
    if (s === 0) return "0 s";
    if (Math.abs(s) < 1e-3) return (s * 1e6).toFixed(0) + " µs";
    if (Math.abs(s) < 1) return (s * 1e3).toFixed(s < 0.01 ? 2 : 1) + " ms";
    if (Math.abs(s) < 120) return s.toFixed(s < 10 ? 3 : 1) + " s";
    return (s / 60).toFixed(1) + " min";
  }
  function plural(n, w) { return fmtInt(n) + " " + w + (n === 1 ? "" : "s"); }
  function connName(c) { return "#" + c.id + (c.st ? "/" + c.st : ""); }
  function niceStep(span, n) {
    var raw = span / Math.max(1, n), p = Math.pow(10, Math.floor(Math.log10(raw))), f = raw / p;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
  }

  // A canvas sized to its box, in CSS pixels.
  function setup(canvas, height) {
    var w = canvas.parentNode.clientWidth || 800, r = window.devicePixelRatio || 1;
    canvas.style.height = height + "px";
    canvas.width = Math.round(w * r);
    canvas.height = Math.round(height * r);
    var g = canvas.getContext("2d");
    g.setTransform(r, 0, 0, r, 0, 0);
    g.font = "11px system-ui, sans-serif";
    return { g: g, w: w, h: height };
  }
  function timeAxis(g, x0, x1, y, dur, h) {
    g.fillStyle = "#6b6b70"; g.strokeStyle = "#e4e4e8"; g.textAlign = "center"; g.textBaseline = "top";
    var step = niceStep(dur || 1, Math.max(2, (x1 - x0) / 90));
    for (var t = 0; t <= dur + 1e-12; t += step) {
      var x = x0 + (x1 - x0) * (dur ? t / dur : 0);
      g.beginPath(); g.moveTo(x + 0.5, y - h); g.lineTo(x + 0.5, y); g.stroke();
      g.fillText(fmtSec(+t.toPrecision(12)), Math.min(Math.max(x, x0 + 14), x1 - 22), y + 3);
      if (!dur) break;
    }
  }
  function tip(ev, text) {
    var t = $("tip");
    if (!text) { t.hidden = true; return; }
    t.textContent = text; t.hidden = false;
    var x = ev.clientX + 12, y = ev.clientY + 12;
    if (x + t.offsetWidth > window.innerWidth) x = ev.clientX - t.offsetWidth - 8;
    t.style.left = x + "px"; t.style.top = y + "px";
  }

  // ---- header
  function header() {
    $("title").textContent = D.title || "capture";
    var m = [];
    if (D.start) m.push("capture from " + D.start + ", " + fmtSec(D.duration));
    if (D.filter) m.push("display filter: " + D.filter);
    m.push("made by wscap " + (D.version || "") + " on " + D.generated);
    $("meta").textContent = m.join(" · ");
    var T = D.totals, box = $("totals");
    function n(id, v, label, title) {
      var s = el("span", "n"); s.id = id; s.dataset.n = v;
      s.appendChild(el("b", null, fmtInt(v))); s.appendChild(document.createTextNode(" " + label));
      if (title) s.title = title;
      box.appendChild(s);
    }
    n("n-conns", T.conns, "connections");
    n("n-msgs", T.messages, "messages", fmtBytes(T.bytes) + " of payload");
    n("n-frames", T.frames, "frames");
    n("n-anoms", T.anomalies, "anomalies", T.errors + " errors, " + T.warnings + " warnings, " + T.infos + " info");
    n("n-rtts", T.rtts, "ping→pong round trips");
    var L = D.limits, O = D.over, notes = $("notes");
    function note(s) { notes.appendChild(el("li", null, s)); }
    if (O.conns > 0) note(O.conns + " connections past the first " + fmtInt(L.conns) + " are counted in the totals only.");
    if (O.anomalies > 0) note("The list shows the first " + fmtInt(L.anomalies) + " of " + fmtInt(T.anomalies) + " anomalies.");
    var cut = 0, cutConns = 0;
    conns.forEach(function (c) { if (c.convMore) { cut += c.convMore; cutConns++; } });
    if (cut > 0) note("Conversations are cut: " + fmtInt(cut) + " events of " + cutConns + " connections not included (each connection keeps its first " +
      fmtInt(O.conv || L.convPerConn) + " events; at most " + fmtInt(L.convTotal) + " in all).");
    var longMsgs = 0;
    conns.forEach(function (c) { c.conv.forEach(function (it) { if (it.more) longMsgs++; }); });
    if (longMsgs > 0) note(fmtInt(longMsgs) + " payloads are shown up to " + L.preview + " bytes.");
    if (D.res > 0.001) note("Chart marks are grouped into time buckets of " + fmtSec(D.res) + ".");
    var rttCut = 0;
    conns.forEach(function (c) { if (c.rtts && c.rtts.kept < c.rtts.n) rttCut++; });
    if (rttCut > 0) note(rttCut + " connections had more than " + L.rttPerConn + " round trips: the chart and the medians use their first " + L.rttPerConn + ".");
    $("foot").textContent = "wscap " + (D.version || "") + " · limits: " + fmtInt(L.conns) + " connections, " + fmtInt(L.convPerConn) +
      " events per conversation and " + fmtInt(L.convTotal) + " in all, payloads " + L.preview + " bytes, " + fmtInt(L.anomalies) + " anomalies listed.";
  }

  // ---- overview: swim lanes
  function lanes() {
    var canvas = $("lanes");
    // Pack connections into lanes: a lane holds connections that do not
    // overlap in time.
    var order = conns.slice().sort(function (a, b) { return a.t0 - b.t0 || a.i - b.i; });
    var ends = [], laneOf = new Array(conns.length);
    var gap = D.duration * 0.004;
    order.forEach(function (c) {
      var l = 0;
      while (l < ends.length && ends[l] + gap >= c.t0) l++;
      ends[l] = c.t1; laneOf[c.i] = l;
    });
    var nl = Math.max(1, ends.length);
    var lh = Math.max(2, Math.min(18, Math.floor(560 / nl)));
    var top = 6, left = 8, bottom = 22;
    var ch = setup(canvas, top + nl * lh + bottom), g = ch.g, w = ch.w - left - 8;
    var dur = D.duration || 1e-6;
    function X(t) { return left + w * t / dur; }
    timeAxis(g, left, left + w, top + nl * lh, D.duration, nl * lh);
    var anomByConn = {};
    anoms.forEach(function (a) { if (a.c >= 0) (anomByConn[a.c] = anomByConn[a.c] || []).push(a); });
    conns.forEach(function (c) {
      var y = top + laneOf[c.i] * lh, x0 = X(c.t0), x1 = Math.max(X(c.t1), x0 + 1.5);
      g.fillStyle = c.i === selected ? "#c9d7f5" : c.anoms ? "#f6d4d4" : "#e6e6ea";
      g.fillRect(x0, y + 0.5, x1 - x0, lh - 1);
      var bw = Math.max(1, w * D.res / dur), half = (lh - 1) / 2;
      c.cells.forEach(function (cell) {
        var x = X(cell[0] * D.res);
        if (cell[1]) { g.fillStyle = CL; g.fillRect(x, y + 0.5, bw, half); }
        if (cell[2]) { g.fillStyle = SV; g.fillRect(x, y + 0.5 + half, bw, half); }
      });
      if (c.i === selected) { g.strokeStyle = "#1d1d1f"; g.strokeRect(x0 - 0.5, y, x1 - x0 + 1, lh); }
    });
    g.fillStyle = AN;
    conns.forEach(function (c) {
      (anomByConn[c.i] || []).forEach(function (a) {
        var x = X(a.t), y = top + laneOf[c.i] * lh, s = Math.max(3, Math.min(6, lh / 2));
        g.beginPath(); g.moveTo(x, y + lh / 2 - s); g.lineTo(x + s, y + lh / 2); g.lineTo(x, y + lh / 2 + s); g.lineTo(x - s, y + lh / 2); g.fill();
      });
    });
    function at(ev) {
      var r = canvas.getBoundingClientRect(), x = ev.clientX - r.left, y = ev.clientY - r.top;
      var l = Math.floor((y - top) / lh), t = (x - left) / w * dur, best = null, bd = Infinity;
      if (l < 0 || l >= nl) return null;
      conns.forEach(function (c) {
        if (laneOf[c.i] !== l) return;
        var d = t < c.t0 ? c.t0 - t : t > c.t1 ? t - c.t1 : 0;
        if (d < bd) { bd = d; best = c; }
      });
      return best && bd * w / dur < 6 ? best : null;
    }
    canvas.onmousemove = function (ev) {
      var c = at(ev);
      tip(ev, c && connName(c) + "  " + c.cl + " → " + c.sv + (c.path ? "  " + c.path : "") + "\n" + fmtSec(c.t0) + " – " + fmtSec(c.t1) +
        "  messages " + c.msgs[0] + " ⇢ / " + c.msgs[1] + " ⇠" + (c.anoms ? "  anomalies " + c.anoms : ""));
      canvas.style.cursor = c ? "pointer" : "";
    };
    canvas.onmouseleave = function () { tip(null, null); };
    canvas.onclick = function (ev) { var c = at(ev); if (c) select(c.i, true); };
  }

  // ---- message rate
  function rate() {
    var ch = setup($("rate"), 200), g = ch.g, left = 46, right = 8, top = 8, bottom = 22;
    var w = ch.w - left - right, h = ch.h - top - bottom, dur = D.duration || 1e-6;
    var nb = Math.max(1, Math.min(120, Math.floor(w / 4), Math.ceil(dur / D.res)));
    var bs = Math.max(D.res, dur / nb);
    nb = Math.max(1, Math.ceil(dur / bs + 1e-9));
    var c = new Float64Array(nb), s = new Float64Array(nb);
    D.rate.forEach(function (r) {
      var b = Math.min(nb - 1, Math.floor(r[0] * D.res / bs));
      c[b] += r[1]; s[b] += r[2];
    });
    var max = 0;
    for (var i = 0; i < nb; i++) { c[i] /= bs; s[i] /= bs; max = Math.max(max, c[i], s[i]); }
    max = max || 1;
    var step = niceStep(max, 4);
    g.textAlign = "right"; g.textBaseline = "middle"; g.strokeStyle = "#e4e4e8"; g.fillStyle = "#6b6b70";
    for (var v = 0; v <= max * 1.0001; v += step) {
      var y = top + h - h * v / max;
      g.beginPath(); g.moveTo(left, y + 0.5); g.lineTo(left + w, y + 0.5); g.stroke();
      g.fillText(v >= 1000 ? (v / 1000) + "k" : +v.toPrecision(6), left - 4, y);
    }
    g.save(); g.translate(10, top + h / 2); g.rotate(-Math.PI / 2); g.textAlign = "center"; g.fillText("messages/s", 0, 0); g.restore();
    timeAxis(g, left, left + w, top + h, D.duration, 0);
    [[c, CL], [s, SV]].forEach(function (p) {
      g.strokeStyle = p[1]; g.lineWidth = 1.5; g.beginPath();
      for (var i = 0; i < nb; i++) {
        var x = left + w * (i + 0.5) * bs / dur, y = top + h - h * p[0][i] / max;
        if (i) g.lineTo(x, y); else g.moveTo(x, y);
      }
      g.stroke();
    });
    g.lineWidth = 1;
    $("rate").onmousemove = function (ev) {
      var r = ev.target.getBoundingClientRect(), b = Math.floor(((ev.clientX - r.left - left) / w) * dur / bs);
      if (b < 0 || b >= nb) return tip(null, null);
      tip(ev, fmtSec(b * bs) + " – " + fmtSec((b + 1) * bs) + "\nclient → server " + c[b].toFixed(1) + "/s\nserver → client " + s[b].toFixed(1) + "/s");
    };
    $("rate").onmouseleave = function () { tip(null, null); };
  }

  // ---- message sizes (log2 buckets)
  function sizes() {
    var ch = setup($("sizes"), 200), g = ch.g, left = 46, right = 8, top = 8, bottom = 22;
    var w = ch.w - left - right, h = ch.h - top - bottom;
    var sc = D.sizes[0] || [], ss = D.sizes[1] || [], n = Math.max(sc.length, ss.length, 1), max = 1;
    for (var i = 0; i < n; i++) max = Math.max(max, sc[i] || 0, ss[i] || 0);
    var step = niceStep(max, 4);
    g.textAlign = "right"; g.textBaseline = "middle"; g.strokeStyle = "#e4e4e8"; g.fillStyle = "#6b6b70";
    for (var v = 0; v <= max * 1.0001; v += step) {
      var y = top + h - h * v / max;
      g.beginPath(); g.moveTo(left, y + 0.5); g.lineTo(left + w, y + 0.5); g.stroke();
      g.fillText(v >= 1000 ? (v / 1000) + "k" : v, left - 4, y);
    }
    g.save(); g.translate(10, top + h / 2); g.rotate(-Math.PI / 2); g.textAlign = "center"; g.fillText("messages", 0, 0); g.restore();
    function label(i) { return i === 0 ? "0" : fmtBytes(Math.pow(2, i - 1)).replace(" ", ""); }
    var bw = w / n;
    g.textAlign = "center"; g.textBaseline = "top";
    for (i = 0; i < n; i++) {
      var x = left + i * bw, hc = h * (sc[i] || 0) / max, hs = h * (ss[i] || 0) / max;
      g.fillStyle = CL; g.fillRect(x + bw * 0.1, top + h - hc, bw * 0.4, hc);
      g.fillStyle = SV; g.fillRect(x + bw * 0.5, top + h - hs, bw * 0.4, hs);
      if (n <= 12 || i % Math.ceil(n / 12) === 0) { g.fillStyle = "#6b6b70"; g.fillText(label(i), x + bw / 2, top + h + 3); }
    }
    $("sizes").onmousemove = function (ev) {
      var r = ev.target.getBoundingClientRect(), i = Math.floor((ev.clientX - r.left - left) / bw);
      if (i < 0 || i >= n) return tip(null, null);
      var range = i === 0 ? "0 bytes" : fmtBytes(Math.pow(2, i - 1)) + " – " + (i === 1 ? "1 B" : fmtBytes(Math.pow(2, i) - 1));
      tip(ev, range + "\nclient → server " + fmtInt(sc[i] || 0) + "\nserver → client " + fmtInt(ss[i] || 0));
    };
    $("sizes").onmouseleave = function () { tip(null, null); };
  }

  // ---- RTT over time, per connection
  function rtt() {
    var pts = [];
    conns.forEach(function (c) { (c.rtt || []).forEach(function (p) { pts.push([p[0], p[1], c.i]); }); });
    var canvas = $("rtt");
    var ch = setup(canvas, pts.length ? 220 : 40), g = ch.g;
    if (!pts.length) {
      g.fillStyle = "#6b6b70"; g.textBaseline = "middle";
      g.fillText("No ping was answered by a pong with the same payload.", 8, 20);
      return;
    }
    var left = 56, right = 8, top = 8, bottom = 22, w = ch.w - left - right, h = ch.h - top - bottom, dur = D.duration || 1e-6;
    // The scale ends above the 99th percentile; the few round trips past
    // three times it are drawn as triangles at the top.
    var sorted = pts.map(function (p) { return p[1]; }).sort(function (a, b) { return a - b; });
    var p99 = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))], top1 = sorted[sorted.length - 1];
    var max = (top1 > 3 * p99 ? p99 * 1.2 : top1 * 1.05) || 1;
    var step = niceStep(max, 4);
    g.textAlign = "right"; g.textBaseline = "middle"; g.strokeStyle = "#e4e4e8"; g.fillStyle = "#6b6b70";
    for (var v = 0; v <= max; v += step) {
      var y = top + h - h * v / max;
      g.beginPath(); g.moveTo(left, y + 0.5); g.lineTo(left + w, y + 0.5); g.stroke();
      g.fillText(+v.toPrecision(6) + " ms", left - 4, y);
    }
    timeAxis(g, left, left + w, top + h, D.duration, 0);
    function X(t) { return left + w * t / dur; }
    function Y(ms) { return top + h - h * Math.min(ms, max) / max; }
    function hue(i) { return "hsl(" + ((215 + i * 137.508) % 360) + ",65%,45%)"; }
    pts.forEach(function (p) {
      g.globalAlpha = selected < 0 || p[2] === selected ? 0.85 : 0.15;
      g.fillStyle = hue(p[2]); g.beginPath();
      if (p[1] > max) { var x = X(p[0]); g.moveTo(x - 3, top + 5); g.lineTo(x + 3, top + 5); g.lineTo(x, top); } else g.arc(X(p[0]), Y(p[1]), 2.5, 0, 7);
      g.fill();
    });
    g.globalAlpha = 1;
    if (selected >= 0 && conns[selected].rtt) {
      var r = conns[selected].rtt;
      g.strokeStyle = hue(selected); g.lineWidth = 1.5; g.beginPath();
      r.forEach(function (p, k) { if (k) g.lineTo(X(p[0]), Y(p[1])); else g.moveTo(X(p[0]), Y(p[1])); });
      g.stroke(); g.lineWidth = 1;
    }
    canvas.onmousemove = function (ev) {
      var b = canvas.getBoundingClientRect(), mx = ev.clientX - b.left, my = ev.clientY - b.top, best = null, bd = 64;
      pts.forEach(function (p) {
        var dx = X(p[0]) - mx, dy = Y(p[1]) - my, d = dx * dx + dy * dy;
        if (d < bd) { bd = d; best = p; }
      });
      tip(ev, best && connName(conns[best[2]]) + " at " + fmtSec(best[0]) + ": " + best[1] + " ms");
      canvas.style.cursor = best ? "pointer" : "";
      canvas._best = best;
    };
    canvas.onmouseleave = function () { tip(null, null); };
    canvas.onclick = function () { if (canvas._best) select(canvas._best[2], true); };
  }

  // ---- table of connections
  var cols = [
    ["Conn", function (c) { return c.id + (c.st ? c.st / 1e6 : 0); }, connName, true],
    ["Client", function (c) { return c.cl; }],
    ["Server", function (c) { return c.sv; }],
    ["Path", function (c) { return c.path || ""; }],
    ["Subprotocol", function (c) { return c.proto || ""; }],
    ["Extensions", function (c) { return c.ext || ""; }],
    ["TLS", function (c) { return c.tls || ""; }],
    ["Start", function (c) { return c.t0; }, function (c) { return c.t0.toFixed(3); }, true],
    ["Duration", function (c) { return c.t1 - c.t0; }, function (c) { return fmtSec(c.t1 - c.t0); }, true],
    ["C>S msgs", function (c) { return c.msgs[0]; }, null, true],
    ["S>C msgs", function (c) { return c.msgs[1]; }, null, true],
    ["Bytes", function (c) { return c.bytes[0] + c.bytes[1]; }, function (c) { return fmtBytes(c.bytes[0] + c.bytes[1]); }, true],
    ["RTT median", function (c) { return c.rtts ? c.rtts.med : -1; }, function (c) { return c.rtts ? c.rtts.med + " ms (" + c.rtts.n + ")" : ""; }, true],
    ["Close", function (c) { return closeText(c); }],
    ["End", function (c) { return endText(c); }],
    ["Anomalies", function (c) { return c.anoms; }, function (c) { return c.anoms ? String(c.anoms) : "-"; }, true]
  ];
  function closeText(c) {
    var s = [];
    if (c.close[0]) s.push("C:" + c.close[0]);
    if (c.close[1]) s.push("S:" + c.close[1]);
    return s.join(" / ") || (c.ended[0] || c.ended[1] ? "no close frame" : "open at end");
  }
  function endText(c) {
    var s = [];
    if (c.ended[0]) s.push("C:" + c.ended[0]);
    if (c.ended[1]) s.push("S:" + c.ended[1]);
    return s.join(" ");
  }
  var sortCol = 0, sortDir = 1, rows = [];
  function table() {
    var thead = $("conns").tHead, tr = el("tr");
    cols.forEach(function (col, k) {
      var th = el("th", col[3] ? "num" : "", col[0]);
      th.onclick = function () { sortDir = sortCol === k ? -sortDir : 1; sortCol = k; sortRows(); };
      tr.appendChild(th);
    });
    thead.appendChild(tr);
    var tbody = $("conns").tBodies[0];
    conns.forEach(function (c) {
      var r = el("tr", "conn");
      r.id = "row" + c.i; r.dataset.i = c.i; r.dataset.msgs = c.msgs[0] + c.msgs[1]; r.dataset.anoms = c.anoms;
      cols.forEach(function (col) {
        var v = col[2] ? col[2](c) : col[1](c);
        var td = el("td", col[3] ? "num" : "", String(v));
        if (col[0] === "Anomalies" && c.worst) td.className += " " + c.worst;
        r.appendChild(td);
      });
      r.onclick = function () { select(c.i, false); };
      rows.push(r);
      r._text = r.textContent.toLowerCase();
      tbody.appendChild(r);
    });
    $("filter").oninput = filterRows;
    sortRows();
    filterRows();
  }
  function sortRows() {
    var key = cols[sortCol][1], tbody = $("conns").tBodies[0];
    var ths = $("conns").tHead.rows[0].cells;
    for (var k = 0; k < ths.length; k++) ths[k].classList.remove("asc", "desc");
    ths[sortCol].classList.add(sortDir > 0 ? "asc" : "desc");
    rows.sort(function (a, b) {
      var x = key(conns[a.dataset.i]), y = key(conns[b.dataset.i]);
      return x < y ? -sortDir : x > y ? sortDir : a.dataset.i - b.dataset.i;
    });
    var f = document.createDocumentFragment();
    rows.forEach(function (r) { f.appendChild(r); });
    tbody.appendChild(f);
  }
  function filterRows() {
    var q = $("filter").value.trim().toLowerCase().split(/\s+/).filter(Boolean), n = 0;
    rows.forEach(function (r) {
      var ok = q.every(function (w) { return r._text.indexOf(w) >= 0; });
      r.hidden = !ok; if (ok) n++;
    });
    $("shown").textContent = n + " of " + rows.length + " shown";
  }

  // ---- conversation of one connection
  function hexDump(b64) {
    var s = atob(b64), out = [];
    for (var i = 0; i < s.length; i += 16) {
      var hex = "", asc = "";
      for (var j = i; j < i + 16; j++) {
        if (j < s.length) {
          var c = s.charCodeAt(j);
          hex += (c < 16 ? "0" : "") + c.toString(16) + " ";
          asc += c >= 32 && c < 127 ? s[j] : ".";
        } else hex += "   ";
        if (j === i + 7) hex += " ";
      }
      out.push(("000" + i.toString(16)).slice(-4) + "  " + hex + " " + asc);
    }
    return out.join("\n");
  }
  function convItem(c, it) {
    var d = el("div", "it " + (it.d || "")), who = it.d === "c" ? "client → server: " : it.d === "s" ? "server → client: " : "";
    d.id = "c" + c.i + "-" + it.seq;
    var head = el("div");
    head.appendChild(el("span", "h", "[" + it.t.toFixed(6) + " pkt " + it.pkt + "] "));
    head.appendChild(el("span", "who", who));
    d.appendChild(head);
    var text = "";
    switch (it.k) {
      case "h": text = "handshake: " + it.text; break;
      case "m":
        text = it.op + ", " + plural(it.len, "byte");
        if (it.frames) text += " [" + it.frames + " frames]";
        if (it.wire != null) text += " [compressed " + plural(it.wire, "byte") + "]";
        if (it.lost) text += " [lost " + plural(it.lost, "byte") + "]";
        if (it.cut) text += " [cut]";
        if (it.badutf8) text += " [invalid UTF-8]";
        if (it.err) text += " decode_error: " + it.err;
        break;
      case "f": text = it.op + (it.op === "close" ? " " + it.text : ", " + plural(it.len, "byte") + (it.text ? " " + it.text : "")); break;
      case "a": d.className += " a"; text = "anomaly [" + it.sev + "] " + it.code + (it.detail ? ": " + it.detail : ""); break;
      case "g": text = "capture gap: " + plural(it.bytes, "byte") + " lost"; break;
      case "e": text = "end" + (it.reason ? " (" + it.reason + ")" : "") + ": " + plural(it.frames, "frame") + ", " + plural(it.msgs, "message") + ", " + plural(it.bytes, "byte") + (it.undecoded ? ", " + it.undecoded + " undecoded" : ""); break;
    }
    head.appendChild(document.createTextNode(text));
    (it.app || []).forEach(function (l) { d.appendChild(el("div", "app", l)); });
    if (it.text != null && it.k === "m") d.appendChild(el("pre", null, it.text));
    else if (it.b64) d.appendChild(el("pre", null, hexDump(it.b64)));
    if (it.more) d.appendChild(el("div", "more", "… " + fmtInt(it.more) + " more bytes not in the report (payloads are cut at " + D.limits.preview + " bytes)"));
    return d;
  }
  function conversation() {
    var pick = $("pick");
    conns.forEach(function (c) {
      var o = el("option", null, connName(c) + " " + c.cl + " → " + c.sv + (c.path ? " " + c.path : ""));
      o.value = c.i; pick.appendChild(o);
    });
    pick.onchange = function () { select(+pick.value, false); };
  }
  function showConv(i) {
    var box = $("conv"), c = conns[i];
    box.textContent = "";
    if (!c) { $("convinfo").textContent = "no connection"; return; }
    $("pick").value = i;
    var info = c.cl + " → " + c.sv;
    if (c.path) info += " GET " + c.path;
    if (c.proto) info += " proto=" + c.proto;
    if (c.ext) info += " ext=" + c.ext;
    if (c.accept) info += " accept=" + c.accept;
    if (c.tls) info += " " + c.tls;
    if (c.mid) info += " (picked up mid-stream)";
    $("convinfo").textContent = info;
    var f = document.createDocumentFragment();
    c.conv.forEach(function (it) { f.appendChild(convItem(c, it)); });
    if (c.convMore) f.appendChild(el("div", "more", "… " + fmtInt(c.convMore) + " more events of this connection are not in the report"));
    box.appendChild(f);
  }

  function select(i, scroll) {
    selected = i;
    rows.forEach(function (r) { r.classList.toggle("sel", +r.dataset.i === i); });
    showConv(i);
    lanes(); rtt();
    if (scroll) $("s-conv").scrollIntoView();
  }

  // ---- anomalies
  function anomalies() {
    var ul = $("anoms");
    if (!anoms.length) { ul.appendChild(el("li", null, "none")); ul.firstChild.className = "none"; return; }
    anoms.forEach(function (a) {
      var li = el("li", "anom " + a.sev), c = a.c >= 0 ? conns[a.c] : null;
      var link = el("a", null, c ? connName(c) : "#" + a.id);
      link.href = "#c" + a.c + "-" + a.seq;
      link.onclick = function (ev) {
        ev.preventDefault();
        if (!c) return;
        select(c.i, false);
        var target = document.getElementById("c" + c.i + "-" + a.seq) || document.getElementById("row" + c.i);
        if (target) {
          target.scrollIntoView({ block: "center" });
          target.classList.add("hl");
        }
      };
      li.appendChild(link);
      li.appendChild(document.createTextNode(" " + fmtSec(a.t) + " pkt " + a.pkt + " "));
      li.appendChild(el("span", "sev", "[" + a.sev + "]"));
      li.appendChild(document.createTextNode(" " + a.code + (a.detail ? ": " + a.detail : "") + (a.ref ? " (" + a.ref + ")" : "")));
      ul.appendChild(li);
    });
  }

  var steps = [];
  function step(name, f) { var t = performance.now(); f(); steps.push(name + ":" + Math.round(performance.now() - t)); }
  step("parse", function () {});
  step("header", header);
  step("rate", rate);
  step("sizes", sizes);
  step("table", table);
  step("conversation", conversation);
  step("anomalies", anomalies);
  // The conversation shown first is that of the first anomaly's
  // connection (else the first connection); the charts highlight no
  // connection until one is chosen. The URL's fragment may set the view:
  // #filter=WORDS&sort=COLUMN&desc=1&conn=ID.
  var hash = {};
  // A part that is not percent-encoded (100%, typed by hand) is taken as
  // it is: decodeURIComponent would throw and stop the page.
  function unescapePart(s) { try { return decodeURIComponent(s); } catch (e) { return s; } }
  location.hash.slice(1).split("&").forEach(function (kv) {
    var i = kv.indexOf("=");
    if (i > 0) hash[unescapePart(kv.slice(0, i))] = unescapePart(kv.slice(i + 1).replace(/\+/g, " "));
  });
  step("charts", function () { lanes(); rtt(); });
  step("conversation1", function () { showConv(anoms.length && anoms[0].c >= 0 ? anoms[0].c : 0); });
  step("hash", function () {
    if (hash.filter) { $("filter").value = hash.filter; filterRows(); }
    if (hash.sort) {
      cols.forEach(function (col, k) { if (col[0].toLowerCase() === hash.sort.toLowerCase()) sortCol = k; });
      sortDir = hash.desc === "1" ? -1 : 1;
      sortRows();
    }
    if (hash.conn) conns.forEach(function (c) { if (connName(c) === "#" + hash.conn) select(c.i, false); });
  });
  step("layout", function () { return document.body.offsetHeight; });
  document.body.dataset.steps = steps.join(" ");
  var resize = null;
  window.addEventListener("resize", function () {
    clearTimeout(resize);
    resize = setTimeout(function () { lanes(); rate(); sizes(); rtt(); }, 100);
  });
  document.body.dataset.parseMs = Math.round(parseMs);
  document.body.dataset.renderMs = Math.round(performance.now() - t0);
  // Since the navigation started: loading the page, parsing, drawing.
  document.body.dataset.loadMs = Math.round(performance.now());
  document.body.dataset.rendered = "1";
})();
