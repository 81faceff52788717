// The live client: one websocket per page to /ws/agent/. Every frame carries its event id, so frames seen
// twice (an agent in two groups) are dropped, and after a reconnect the page asks for what it missed.
// Notification frames (to this user alone) set the header's unread count and show a toast.
(function () {
  "use strict";
  const body = document.body;
  const stateEl = document.getElementById("live-state");
  const seen = new Set();
  // Notification ids are a sequence of their own: kept apart from the event ids the page resumes after.
  const seenNotifications = new Set();
  // Pages that show no ticket events (the notifications list) render no event id and ask for no replay.
  const resumes = body.dataset.lastEventId !== undefined;
  let lastId = parseInt(body.dataset.lastEventId || "0", 10);
  let retry = 0;
  let connected = false;
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
      if (resumes) socket.send(JSON.stringify({ type: "resume", after: lastId }));
      // Notifications are not replayed: after a reconnect, the count is read again instead.
      if (connected) refreshNotificationsLink();
      connected = true;
    });
    socket.addEventListener("message", function (msg) {
      const frame = JSON.parse(msg.data);
      // More was missed than the server replays: a fresh page is the honest catch-up.
      if (frame.type === "resumed" && frame.complete === false) { location.reload(); return; }
      if (frame.type === "notification") { notify(frame); return; }
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
  // (A note does not move the ticket's activity time either: the contact's conversation did not move.)
  const IN_PLACE_KINDS = new Set(["sla", "priority", "tags", "note", "escalated"]);
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
    if (page === "ticket" && String(frame.ticket.id) === body.dataset.ticketId) {
      once("thread", true, refreshTicket);
      if (frame.kind === "escalated") once("escalations", true, refreshEscalations);
    }
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

  async function refreshEscalations() {
    const section = await fetchHtml(body.dataset.escalationsUrl);
    const current = document.getElementById("ticket-escalations");
    if (section && current) current.replaceWith(section);
  }

  function notify(frame) {
    if (seenNotifications.has(frame.id)) return;
    seenNotifications.add(frame.id);
    const count = document.getElementById("notifications-count");
    if (count) { count.textContent = String(frame.unread); count.dataset.count = String(frame.unread); }
    const announcer = document.getElementById("notification-announcer");
    if (announcer) {
      // Emptied first, so that the same words twice are still said twice.
      announcer.textContent = "";
      setTimeout(function () { announcer.textContent = "New notification: " + frame.text; }, 50);
    }
    toast(frame);
  }

  const TOAST_SECONDS = 20;
  const MAX_TOASTS = 3;

  function toast(frame) {
    const box = document.getElementById("toasts");
    const link = document.getElementById("notifications-link");
    if (!box || !link) return;
    // Built from text nodes, never HTML: the text names policies and tickets that others typed.
    const item = document.createElement("div");
    item.className = "toast";
    item.setAttribute("role", "group");
    item.setAttribute("aria-label", "Notification");
    item.dataset.notificationId = String(frame.id);
    const label = document.createElement("strong");
    label.textContent = "Notification";
    const anchor = document.createElement("a");
    // Opening it marks it read and lands on the ticket.
    anchor.href = link.dataset.openUrl.replace("/0/", "/" + frame.id + "/");
    anchor.textContent = frame.text;
    const close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close";
    close.setAttribute("aria-label", "Dismiss notification");
    close.textContent = "×";
    close.addEventListener("click", function () { item.remove(); });
    item.append(label, anchor, close);
    box.prepend(item);
    while (box.children.length > MAX_TOASTS) box.lastElementChild.remove();
    // It goes away by itself, but not from under a pointer or the keyboard focus; the list keeps it.
    (function expire() {
      setTimeout(function () {
        if (item.matches(":hover") || item.contains(document.activeElement)) expire();
        else item.remove();
      }, TOAST_SECONDS * 1000);
    })();
  }

  async function refreshNotificationsLink() {
    const current = document.getElementById("notifications-link");
    if (!current) return;
    const fresh = await fetchHtml(current.dataset.badgeUrl);
    if (fresh && fresh.id === current.id) current.replaceWith(fresh);
  }

  connect();
})();
