// The live client: one websocket per page to /ws/agent/. Every frame carries its event id, so frames seen
// twice (an agent in two groups) are dropped, and after a reconnect the page asks for what it missed.
// Notification frames (to this user alone) set the header's unread count and show a toast.
// A "ticket.left" frame (the ticket moved where this user cannot follow) drops its inbox row, and turns its
// page into a notice. Other scripts (presence.js) use the same socket through window.helpdeskLive, and hear
// every frame as a "helpdesk:frame" event on document ("helpdesk:live-open"/"-closed" as it comes and goes).
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
      document.dispatchEvent(new CustomEvent("helpdesk:live-open"));
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
      if (frame.type === "ticket.event" || frame.type === "ticket.left") {
        // A "ticket.left" about a lost grant is no event and has no id; one about a move shares its event's.
        if (frame.id !== undefined) {
          if (seen.has(frame.id)) return;
          seen.add(frame.id);
          if (frame.id > lastId) lastId = frame.id;
        }
        if (frame.type === "ticket.event") handle(frame);
        else left(frame.ticket.id);
      }
      document.dispatchEvent(new CustomEvent("helpdesk:frame", { detail: frame }));
    });
    socket.addEventListener("close", function (event) {
      document.dispatchEvent(new CustomEvent("helpdesk:live-closed"));
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

  // The ticket is no longer this user's to see: its row goes, and its page says so rather than go quiet.
  function left(ticketId) {
    const row = document.getElementById("ticket-row-" + ticketId);
    if (row) row.remove();
    if (body.dataset.page === "ticket" && String(ticketId) === body.dataset.ticketId) ticketGone();
  }

  function ticketGone() {
    if (document.getElementById("ticket-gone")) return;
    body.dataset.ticketGone = "true";
    const notice = document.createElement("div");
    notice.id = "ticket-gone";
    notice.className = "ticket-gone";
    notice.setAttribute("role", "alert");
    const text = document.createElement("p");
    // The same words whatever happened: the page must not tell where the ticket went.
    text.textContent = "You can no longer see this ticket: it was moved, or your access changed. " +
      "This page no longer updates.";
    const back = document.createElement("a");
    const brand = document.querySelector(".topbar .brand");
    back.href = brand ? brand.getAttribute("href") : "/";
    back.textContent = "Back to the inbox";
    notice.append(text, back);
    const main = document.getElementById("main") || body;
    main.prepend(notice);
  }

  function handle(frame) {
    const page = body.dataset.page;
    const move = !IN_PLACE_KINDS.has(frame.kind);
    if (page === "inbox") {
      once("row-" + frame.ticket.id, move, function (moveRow) { refreshRow(frame.ticket.id, moveRow); });
    }
    if (page === "ticket" && String(frame.ticket.id) === body.dataset.ticketId && !body.dataset.ticketGone) {
      once("thread", true, refreshTicket);
      if (frame.kind === "escalated") once("escalations", true, refreshEscalations);
    }
  }

  function swapped(element) {
    // countdown.js redraws the countdowns of what came in.
    document.dispatchEvent(new CustomEvent("helpdesk:swapped", { detail: { element: element } }));
  }

  // A partial's answer: its status and its first element (none for a 204 or an error).
  async function fetchPartial(url) {
    const response = await fetch(url, { credentials: "same-origin", headers: { "HX-Request": "true" } });
    if (!response.ok || response.status === 204) return { status: response.status, element: null };
    const template = document.createElement("template");
    template.innerHTML = (await response.text()).trim();
    return { status: response.status, element: template.content.firstElementChild };
  }

  async function fetchHtml(url) {
    return (await fetchPartial(url)).element;
  }

  // The row URL carries the page's view, filters and sort: the row answers 204 for a ticket not in them.
  function rowUrl(ticketId) {
    return body.dataset.rowUrl.replace("/0/", "/" + ticketId + "/");
  }

  async function refreshRow(ticketId, move) {
    const answer = await fetchPartial(rowUrl(ticketId));
    // 204: the ticket is not (or no longer) in this view; 404: no longer the user's to see. Either way, out.
    if (answer.status === 204 || answer.status === 404) { left(ticketId); return; }
    const row = answer.element;
    if (!row) return;
    const existing = document.getElementById(row.id);
    const rows = document.getElementById("inbox-rows");
    if (existing) {
      // The keyboard's current row stays current through a redraw.
      if (existing.classList.contains("is-current")) {
        row.classList.add("is-current");
        row.setAttribute("aria-current", "true");
      }
      if (!moves(existing, row, move)) {
        existing.replaceWith(row);
        if (move) row.classList.add("fresh");
        swapped(row);
        return;
      }
      existing.remove();
    } else if (!belongsHere(row, move)) {
      return;
    }
    const empty = document.getElementById("inbox-empty");
    if (empty) empty.remove();
    // Fetches may come back out of order, so the row is placed by its own rank rather than always on top: a
    // slower answer about an older message must not jump above a newer one.
    const after = Array.from(rows.querySelectorAll(":scope > .ticket-row")).find(function (other) {
      return !ranksAbove(other, row);
    });
    rows.insertBefore(row, after || null);
    if (move) row.classList.add("fresh");
    swapped(row);
  }

  // Rows carry data-sort-key, in descending order on the page, whatever the sort; without one, newest
  // activity first (time[datetime]).
  function ranksAbove(row, other) {
    if (row.dataset.sortKey !== undefined && other.dataset.sortKey !== undefined) {
      return row.dataset.sortKey > other.dataset.sortKey;
    }
    return activity(row) > activity(other);
  }

  // Does a redrawn row change places? With sort keys, when its key changed; without, on new activity.
  function moves(existing, row, move) {
    if (row.dataset.sortKey !== undefined) return existing.dataset.sortKey !== row.dataset.sortKey;
    return move;
  }

  // Does a row not shown belong on this page? Only the first page takes rows in; with sort keys, a row that
  // ranks above the page's last one, or any row when there is no next page (one that ranks below the last
  // belongs to a later page); without sort keys, new activity.
  function belongsHere(row, move) {
    if (body.dataset.firstPage !== "1") return false;
    if (row.dataset.sortKey === undefined) return move;
    const shown = document.querySelectorAll("#inbox-rows > .ticket-row");
    if (shown.length === 0 || !document.querySelector('.pager a[rel="next"]')) return true;
    return ranksAbove(row, shown[shown.length - 1]);
  }

  function activity(row) {
    const time = row.querySelector("time[datetime]");
    const at = time ? Date.parse(time.getAttribute("datetime")) : NaN;
    return isNaN(at) ? -Infinity : at;
  }

  async function refreshTicket() {
    const answer = await fetchPartial(body.dataset.liveUrl);
    if (answer.status === 404) { ticketGone(); return; }
    const live = answer.element;
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

  // For presence.js: the same socket, whatever reconnects it has been through.
  window.helpdeskLive = {
    isOpen: function () { return socket !== null && socket.readyState === WebSocket.OPEN; },
    send: function (message) {
      if (socket === null || socket.readyState !== WebSocket.OPEN) return false;
      socket.send(JSON.stringify(message));
      return true;
    },
    ticketGone: ticketGone,
  };

  connect();
})();
