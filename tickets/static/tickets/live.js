// The live client: one websocket per page to /ws/agent/. Every frame carries its event id, so frames seen
// twice (an agent in two groups) are dropped, and after a reconnect the page asks for what it missed.
(function () {
  "use strict";
  const body = document.body;
  const stateEl = document.getElementById("live-state");
  const seen = new Set();
  let lastId = parseInt(body.dataset.lastEventId || "0", 10);
  let retry = 0;
  let socket = null;

  if (window.htmx) {
    // A 400 carries a form with its errors: show it instead of dropping it.
    htmx.config.responseHandling = [
      { code: "204", swap: false },
      { code: "[23]..", swap: true },
      { code: "400", swap: true, error: false },
      { code: "...", swap: false, error: true },
    ];
  }

  function setState(state, text) {
    if (!stateEl) return;
    stateEl.dataset.state = state;
    stateEl.textContent = text;
  }

  function connect() {
    if (!stateEl) return; // signed-out pages have no live feed
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(scheme + "://" + location.host + "/ws/agent/");
    socket.addEventListener("open", function () {
      retry = 0;
      setState("live", "Live");
      socket.send(JSON.stringify({ type: "resume", after: lastId }));
    });
    socket.addEventListener("message", function (msg) {
      const frame = JSON.parse(msg.data);
      // More was missed than the server replays: a fresh page is the honest catch-up.
      if (frame.type === "resumed" && frame.complete === false) { location.reload(); return; }
      if (frame.type !== "ticket.event") return;
      if (seen.has(frame.id)) return;
      seen.add(frame.id);
      if (frame.id > lastId) lastId = frame.id;
      handle(frame);
    });
    socket.addEventListener("close", function (event) {
      // 4401/4403: signed out or no longer allowed; reloading shows the sign-in page or what is left.
      if (event.code === 4401 || event.code === 4403) { setState("offline", "Signed out"); location.reload(); return; }
      setState("offline", "Reconnecting…");
      retry = Math.min(retry + 1, 6);
      setTimeout(connect, 250 * Math.pow(2, retry - 1));
    });
  }

  // Events that change how a row looks but are not new activity: the row is redrawn where it stands.
  const IN_PLACE_KINDS = new Set(["sla"]);
  const pending = new Map();
  // Several events about one ticket in a burst need one fetch, not one each. The fetch moves the row to
  // the top if any event of the burst was new activity.
  function once(key, move, fn) {
    const queued = pending.get(key);
    if (queued) { queued.move = queued.move || move; return; }
    const entry = { move: move };
    pending.set(key, entry);
    setTimeout(function () { pending.delete(key); fn(entry.move); }, 30);
  }

  function handle(frame) {
    const page = body.dataset.page;
    const move = !IN_PLACE_KINDS.has(frame.kind);
    if (page === "inbox") {
      once("row-" + frame.ticket.id, move, function (moveRow) { refreshRow(frame.ticket.id, moveRow); });
    }
    if (page === "ticket" && String(frame.ticket.id) === body.dataset.ticketId) once("thread", true, refreshTicket);
  }

  function swapped(element) {
    // countdown.js redraws the countdowns of what came in.
    document.dispatchEvent(new CustomEvent("helpdesk:swapped", { detail: { element: element } }));
  }

  async function fetchHtml(url) {
    const response = await fetch(url, { credentials: "same-origin", headers: { "HX-Request": "true" } });
    if (!response.ok) return null;
    const template = document.createElement("template");
    template.innerHTML = (await response.text()).trim();
    return template.content.firstElementChild;
  }

  async function refreshRow(ticketId, move) {
    const row = await fetchHtml(body.dataset.rowUrl.replace("/0/", "/" + ticketId + "/"));
    if (!row) return;
    const existing = document.getElementById(row.id);
    const rows = document.getElementById("inbox-rows");
    if (!move) {
      // Not new activity (an SLA clock changed): redraw the row where it is; a row not shown stays away.
      if (existing) { existing.replaceWith(row); swapped(row); }
      return;
    }
    if (existing) existing.remove();
    else if (body.dataset.firstPage !== "1") return; // a new ticket belongs on the first page only
    const empty = document.getElementById("inbox-empty");
    if (empty) empty.remove();
    // Newest activity first. Fetches may come back out of order, so place the row by its own activity time
    // rather than always on top: a slower answer about an older message must not jump above a newer one.
    const at = activity(row);
    const after = Array.from(rows.children).find(function (other) { return activity(other) <= at; });
    rows.insertBefore(row, after || null);
    row.classList.add("fresh");
    swapped(row);
  }

  function activity(row) {
    const time = row.querySelector("time[datetime]");
    const at = time ? Date.parse(time.getAttribute("datetime")) : NaN;
    return isNaN(at) ? -Infinity : at;
  }

  async function refreshTicket() {
    const live = await fetchHtml(body.dataset.liveUrl);
    const current = document.getElementById("ticket-live");
    if (live && current) {
      current.replaceWith(live);
      if (window.htmx) htmx.process(live);
      swapped(live);
    }
  }

  connect();
})();
