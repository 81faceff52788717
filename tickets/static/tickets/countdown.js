// SLA countdowns (tickets/_sla_countdown.html): every second, each countdown is redrawn from the browser's
// clock against its data-due and data-warn instants. Those instants were computed by the server in business
// time, so the wall-clock time left to them is exact; when a clock changes (a reply, a pause, a recorded
// breach) the live client swaps in fresh markup with new instants.
// The level only ever moves forward here (ok -> warning -> breached): a browser clock running a little slow
// must not take back a breach the server has already recorded.
(function () {
  "use strict";
  const RANK = { ok: 0, warning: 1, breached: 2 };
  const LABELS = { ok: "OK", warning: "Warning", breached: "Breached" };

  // The same reading as policies.countdowns.countdown_span, so the first redraw changes nothing.
  function span(seconds) {
    seconds = Math.max(0, seconds);
    const days = Math.floor(seconds / 86400);
    const hours = Math.floor((seconds % 86400) / 3600);
    const minutes = Math.floor((seconds % 3600) / 60);
    const secs = seconds % 60;
    const two = function (n) { return String(n).padStart(2, "0"); };
    if (days) return days + "d " + two(hours) + "h";
    if (hours) return hours + "h " + two(minutes) + "m";
    if (minutes) return minutes + "m " + two(secs) + "s";
    return secs + "s";
  }

  // The level last seen for each announced target ("Ticket #12, first response"), whoever drew it: this
  // script, or the server when the live client swapped in a row that had already moved on.
  const heard = new Map();

  function announce(el, level, text) {
    const key = el.dataset.announce;
    if (!key) return;
    const before = heard.get(key);
    heard.set(key, level);
    // Nothing on the first sight of a target (the page just loaded), nor when it starts over (a new cycle).
    if (before === undefined || !(RANK[level] > RANK[before])) return;
    const region = document.getElementById("sla-announcer");
    if (region) region.textContent = key + ": " + text;
  }

  function redraw(el, now) {
    const due = Date.parse(el.dataset.due);
    if (isNaN(due)) return;
    const warn = el.dataset.warn ? Date.parse(el.dataset.warn) : due;
    let level = now >= due ? "breached" : now >= warn ? "warning" : "ok";
    const shown = el.dataset.level;
    if (shown in RANK && RANK[shown] > RANK[level]) level = shown;
    const text = level === "breached"
      ? LABELS.breached + " · " + span(Math.floor((now - due) / 1000)) + " ago"
      // Rounded up, so a countdown never reads "0s left" before it has breached.
      : LABELS[level] + " · " + span(Math.ceil((due - now) / 1000)) + " left";
    const textEl = el.querySelector(".sla-text");
    if (textEl && textEl.textContent !== text) textEl.textContent = text;
    if (level !== shown) el.dataset.level = level;
    announce(el, level, text);
  }

  function redrawAll() {
    const now = Date.now();
    // A fresh query each second picks up rows and panels the live client or htmx swapped in since.
    document.querySelectorAll(".sla-countdown[data-due]").forEach(function (el) { redraw(el, now); });
  }

  redrawAll();
  setInterval(redrawAll, 1000);
  // Redraw swapped-in markup at once rather than up to a second later.
  document.addEventListener("helpdesk:swapped", redrawAll);
  document.body.addEventListener("htmx:afterSettle", redrawAll);
})();
