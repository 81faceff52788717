// Presence and typing on a ticket page, over live.js's websocket (window.helpdeskLive).
// The page says which ticket it shows ("watch", again after every reconnect); the server answers with who
// else has it open, and says when one of them types a reply. #presence lists the others by name;
// #typing-warning names whoever is typing, until 5 s after their last keystroke or until their reply arrives.
(function () {
  "use strict";
  const body = document.body;
  const live = window.helpdeskLive;
  const presence = document.getElementById("presence");
  const warning = document.getElementById("typing-warning");
  if (body.dataset.page !== "ticket" || !live || !presence) return;

  const ticketId = parseInt(body.dataset.ticketId, 10);
  const TYPING_EVERY_MS = 2000; // at most one "typing" message this often
  const TYPING_SHOWN_MS = 5000; // how long a warning outlives its last signal
  const typists = new Map(); // user id -> { name, timer }
  let sentTypingAt = 0;
  let gone = false;

  function watch() {
    if (!gone) live.send({ type: "watch", ticket: ticketId });
  }

  // The separator before the index-th of `count` names: "Ann", "Ann and Bob", "Ann, Bob and Cy".
  function separator(index, count) {
    return index === 0 ? "" : index === count - 1 ? " and " : ", ";
  }

  function showViewers(viewers) {
    presence.replaceChildren();
    if (viewers.length === 0) return;
    // Words, not a colored dot: who is here is said in text.
    const label = document.createElement("span");
    label.className = "presence-label";
    label.textContent = "Also viewing: ";
    presence.append(label);
    viewers.forEach(function (viewer, index) {
      presence.append(separator(index, viewers.length));
      const name = document.createElement("span");
      name.className = "presence-viewer";
      name.dataset.userId = String(viewer.id);
      name.textContent = viewer.name;
      presence.append(name);
    });
  }

  function showTypists() {
    if (!warning) return;
    const who = Array.from(typists.values(), function (typist) { return typist.name; });
    warning.hidden = who.length === 0;
    warning.textContent = who.length === 0 ? "" :
      who.map(function (name, i) { return separator(i, who.length) + name; }).join("") +
      (who.length === 1 ? " is" : " are") + " typing a reply…";
  }

  function typing(user) {
    const known = typists.get(user.id);
    if (known) clearTimeout(known.timer);
    const timer = setTimeout(function () { stopped(user.id); }, TYPING_SHOWN_MS);
    typists.set(user.id, { name: user.name, timer: timer });
    showTypists();
  }

  function stopped(userId) {
    const known = typists.get(userId);
    if (!known) return;
    clearTimeout(known.timer);
    typists.delete(userId);
    showTypists();
  }

  function clear() {
    showViewers([]);
    Array.from(typists.keys()).forEach(stopped);
  }

  document.addEventListener("helpdesk:live-open", watch);
  // What the others see of this page is gone with the socket: show nothing rather than a stale list.
  document.addEventListener("helpdesk:live-closed", clear);

  document.addEventListener("helpdesk:frame", function (event) {
    const frame = event.detail;
    if (frame.type === "presence" && frame.ticket === ticketId) {
      const others = frame.viewers.filter(function (viewer) { return viewer.id !== frame.you; });
      showViewers(others);
      // Someone who left is no longer typing here.
      const here = new Set(others.map(function (viewer) { return viewer.id; }));
      Array.from(typists.keys()).forEach(function (id) { if (!here.has(id)) stopped(id); });
    } else if (frame.type === "typing" && frame.ticket === ticketId) {
      typing(frame.user);
    } else if (frame.type === "ticket.event" && frame.ticket.id === ticketId && frame.kind === "message_out") {
      // Their reply is in the thread: the warning about it has done its work.
      if (frame.actor !== null) stopped(frame.actor);
    } else if (frame.type === "ticket.left" && frame.ticket.id === ticketId) {
      gone = true;
      clear();
    } else if (frame.type === "error" && frame.ticket === ticketId) {
      // The watch was refused: the ticket became invisible while this page was away.
      gone = true;
      clear();
      live.ticketGone();
    }
  });

  // The reply box is replaced by htmx after each reply: listen on the document, not on the box.
  document.addEventListener("input", function (event) {
    const box = event.target;
    if (gone || !(box instanceof HTMLTextAreaElement) || box.id !== "id_text") return;
    const now = Date.now();
    if (now - sentTypingAt < TYPING_EVERY_MS) return;
    if (live.send({ type: "typing", ticket: ticketId })) sentTypingAt = now;
  });

  // After a reply is sent, the next keystroke is news again (the reply ended the others' warning).
  document.addEventListener("submit", function (event) {
    if (event.target instanceof HTMLFormElement && event.target.id === "reply-form") sentTypingAt = 0;
  });

  if (live.isOpen()) watch();
})();
