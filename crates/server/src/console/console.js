// tradetrail console: the one script. Progressive: every page works without it
// except the live tail, which needs it to read /live/stream (server-sent events).
"use strict";

(function () {
  function cell(tr, text) {
    var td = document.createElement("td");
    td.textContent = text == null ? "" : String(text);
    tr.appendChild(td);
    return td;
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  // The session's time zone, as the server draws the pages: "UTC", a fixed offset
  // ("+01:00") or an IANA name that follows daylight saving time.
  function tzName() {
    var m = document.querySelector('meta[name="tz"]');
    return m ? (m.getAttribute("content") || "UTC") : "UTC";
  }

  function offsetMinutes(text) {
    var m = /^([+-])(\d\d):(\d\d)$/.exec(text);
    if (!m) return null;
    var v = Number(m[2]) * 60 + Number(m[3]);
    return m[1] === "-" ? -v : v;
  }

  function utc(ns) {
    // ns since the epoch → "YYYY-MM-DD HH:MM:SS.mmm <zone>", as the server writes it
    // (milliseconds are enough here).
    var ms = Number(BigInt(ns) / 1000000n);
    var tz = tzName();
    var fixed = offsetMinutes(tz);
    if (tz === "UTC" || fixed !== null) {
      var shifted = ms + (fixed || 0) * 60000;
      return new Date(shifted).toISOString().replace("T", " ").replace("Z", " " + (tz === "UTC" ? "UTC" : "UTC" + tz));
    }
    var parts = new Intl.DateTimeFormat("en-CA", {
      timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit",
      minute: "2-digit", second: "2-digit", hourCycle: "h23", fractionalSecondDigits: 3,
      timeZoneName: "longOffset"
    }).formatToParts(new Date(ms));
    var get = function (t) {
      for (var i = 0; i < parts.length; i++) if (parts[i].type === t) return parts[i].value;
      return "";
    };
    var off = get("timeZoneName").replace("GMT", "") || "+00:00";
    return get("year") + "-" + get("month") + "-" + get("day") + " " + get("hour") + ":" +
      get("minute") + ":" + get("second") + "." + get("fractionalSecond") + " " + tz + " (" + off + ")";
  }

  // The time zone form: say which choice is this browser's, and come back to this page.
  function tzForm() {
    var sel = document.getElementById("tz");
    if (!sel) return;
    var name = "";
    try { name = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { name = ""; }
    var mine = -new Date().getTimezoneOffset();
    var marked = false;
    for (var i = 0; i < sel.options.length; i++) {
      var o = sel.options[i];
      if (o.value === name) { o.textContent += " (this browser)"; marked = true; }
    }
    for (var j = 0; j < sel.options.length && !marked; j++) {
      var p = sel.options[j];
      if (offsetMinutes(p.value) === mine) { p.textContent += " (this browser's offset now)"; marked = true; }
    }
    var back = document.querySelector('form.tz input[name="back"]');
    if (back) back.value = window.location.pathname + window.location.search;
  }

  function thousands(n) {
    return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  }

  function liveTail() {
    var table = document.getElementById("live");
    if (!table || typeof EventSource === "undefined") return;
    var tbody = table.tBodies[0];
    var status = document.getElementById("live-status");
    var pause = document.getElementById("pause");
    var paused = false, held = [], shown = 0;

    function show(rec) {
      var tr = document.createElement("tr");
      tr.className = "new";
      tr.setAttribute("data-seq", String(rec.seq));
      var a = document.createElement("a");
      a.href = "/record/" + rec.seq;
      a.textContent = thousands(rec.seq);
      cell(tr, "").appendChild(a);
      cell(tr, typeof rec.ts_event === "number" || typeof rec.ts_event === "string" ? utc(rec.ts_event) : "");
      cell(tr, rec.type);
      cell(tr, rec.source);
      cell(tr, rec.actor);
      cell(tr, rec.trader_id);
      cell(tr, rec.instrument_id);
      tbody.insertBefore(tr, tbody.firstChild);
      shown += 1;
      window.setTimeout(function () { tr.className = ""; }, 1500);
    }

    function report() {
      status.textContent = (paused ? "paused, " + thousands(held.length) + " waiting; " : "live; ") +
        thousands(shown) + " shown";
    }

    var src = new EventSource("/live/stream" + window.location.search);
    src.onopen = report;
    src.onmessage = function (ev) {
      var rec;
      try { rec = JSON.parse(ev.data); } catch (e) { return; }
      if (paused) held.push(rec); else show(rec);
      report();
    };
    src.onerror = function () {
      status.textContent = "disconnected; reconnecting (nothing is lost: it resumes after the last record)";
    };
    pause.addEventListener("click", function () {
      paused = !paused;
      pause.setAttribute("aria-pressed", paused ? "true" : "false");
      pause.textContent = paused ? "Resume" : "Pause";
      if (!paused) { held.forEach(show); held = []; }
      report();
    });
  }

  document.addEventListener("DOMContentLoaded", liveTail);
  document.addEventListener("DOMContentLoaded", tzForm);

  // The dashboard's slow sections (the funnel, positions and P&L): fetched once the
  // rest of the dashboard is shown, each put in its slot.
  function lazySections() {
    if (typeof fetch === "undefined") return;
    [["funnel-slot", "funnel-body"], ["positions-slot", "positions-body"]].forEach(function (ids) {
      var slot = document.getElementById(ids[0]);
      if (!slot) return;
      fetch(slot.getAttribute("data-src"), { credentials: "same-origin" })
        .then(function (r) { return r.text(); })
        .then(function (text) {
          var doc = new DOMParser().parseFromString(text, "text/html");
          var body = doc.getElementById(ids[1]);
          if (body) slot.replaceChildren(document.importNode(body, true));
        })
        .catch(function () {
          var p = slot.querySelector("p");
          if (p) p.appendChild(document.createTextNode(" Could not load it; follow the link."));
        });
    });
  }
  document.addEventListener("DOMContentLoaded", lazySections);
})();
