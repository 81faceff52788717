// Keyboard shortcuts of the agent UI (issue 7). The list the agent reads is the dialog in base.html
// (#shortcuts-dialog): keep the two in step.
//   inbox:        j / k move the current row, Enter opens it
//   ticket page:  r reply, n note, a assign to me, e solve
//   everywhere:   ? this list; g then i the inbox, g then n the notifications
// A key typed into a field belongs to the field, and a key held with Ctrl, Alt or Meta belongs to the browser
// or the screen reader: neither is a shortcut.
(function () {
  "use strict";
  const body = document.body;
  const dialog = document.getElementById("shortcuts-dialog");
  const opener = document.getElementById("shortcuts-button");
  // How long "g" waits for its second key.
  const CHORD_MS = 1500;
  let chordUntil = 0;
  // The inbox's current row, by ticket id: live.js redraws rows, and the marker must survive a redraw.
  let currentId = null;
  // The element that had the focus when the dialog opened: it gets it back when the dialog closes.
  let returnFocus = null;

  function typing(target) {
    if (!(target instanceof Element)) return false;
    if (target.isContentEditable) return true;
    return target.closest("input, textarea, select, [contenteditable]:not([contenteditable='false'])") !== null;
  }

  // ---- the inbox: j / k / Enter -------------------------------------------------------------------------

  function rows() {
    return Array.from(document.querySelectorAll("#inbox-rows tr.ticket-row"));
  }

  function rowLink(row) {
    return row.querySelector("a[href]");
  }

  function currentRow() {
    // Where the focus is wins (an agent who tabbed into row 5 goes on from row 5), then the marker.
    const focused = document.activeElement && document.activeElement.closest
      ? document.activeElement.closest("#inbox-rows tr.ticket-row")
      : null;
    return focused || document.querySelector("#inbox-rows tr.ticket-row.is-current");
  }

  function mark(row, { focus }) {
    for (const other of document.querySelectorAll("#inbox-rows tr.is-current")) {
      if (other !== row) { other.classList.remove("is-current"); other.removeAttribute("aria-current"); }
    }
    row.classList.add("is-current");
    row.setAttribute("aria-current", "true");
    currentId = row.dataset.ticketId || null;
    if (!focus) return;
    row.scrollIntoView({ block: "nearest" });
    // The focus goes to the row's link, so a screen reader reads the row the agent moved to.
    const link = rowLink(row);
    if (link) link.focus({ preventScroll: true });
  }

  function move(step) {
    const all = rows();
    if (!all.length) return false;
    const at = all.indexOf(currentRow());
    let next;
    if (at === -1) next = step > 0 ? 0 : all.length - 1;
    else next = Math.min(all.length - 1, Math.max(0, at + step));
    mark(all[next], { focus: true });
    return true;
  }

  function openCurrent(target) {
    // Enter on a link or a button already does what that control does.
    if (target instanceof Element && target.closest("a[href], button, summary, [role='button']")) return false;
    const row = document.querySelector("#inbox-rows tr.ticket-row.is-current");
    const link = row && rowLink(row);
    if (!link) return false;
    link.click();
    return true;
  }

  // Rows redrawn live or swapped in by htmx may come back without the marker: put it back, and the focus too
  // if it was on the row. The whole of <main> is watched, since the list itself may be replaced.
  const main = document.getElementById("main");
  if (main && body.dataset.page === "inbox") {
    // The row (ticket id) that holds the focus. A focused element that is removed drops the focus without
    // the agent moving it: that is told apart (after the removal, the element is gone) from a move elsewhere.
    let focusedRowId = null;
    document.addEventListener("focusin", function (event) {
      const row = event.target instanceof Element ? event.target.closest("#inbox-rows tr.ticket-row") : null;
      focusedRowId = row ? row.dataset.ticketId || null : null;
    });
    document.addEventListener("focusout", function (event) {
      if (event.relatedTarget) return; // focusin says where it went
      const left = event.target;
      setTimeout(function () { if (left instanceof Node && left.isConnected) focusedRowId = null; }, 0);
    });
    new MutationObserver(function () {
      if (currentId === null) return;
      const row = document.getElementById("ticket-row-" + currentId);
      if (!row) return;
      // (live.js carries the marker over itself; rows swapped in by other means come without it.)
      if (!row.classList.contains("is-current")) mark(row, { focus: false });
      const lostFocus = focusedRowId === currentId
        && (document.activeElement === body || document.activeElement === null);
      if (lostFocus && !(dialog && dialog.open)) {
        const link = rowLink(row);
        if (link) link.focus({ preventScroll: true });
      }
    }).observe(main, { childList: true, subtree: true });
  }

  // ---- the ticket page: r / n / a / e -------------------------------------------------------------------

  function focusField(selector) {
    const field = document.querySelector(selector);
    if (!field || field.disabled) return false;
    field.focus();
    return true;
  }

  function press(selector) {
    const button = document.querySelector(selector);
    if (!button || button.disabled) return false;
    button.click();
    return true;
  }

  // ---- the list of shortcuts ------------------------------------------------------------------------------

  function openDialog() {
    if (!dialog || dialog.open) return false;
    returnFocus = document.activeElement;
    dialog.showModal();
    return true;
  }

  if (dialog) {
    // Escape closes a modal <dialog> by itself; the focus goes back to where it was, whatever closed it.
    dialog.addEventListener("close", function () {
      const back = returnFocus;
      returnFocus = null;
      if (back && back !== body && back.isConnected && typeof back.focus === "function") back.focus();
    });
    for (const closer of dialog.querySelectorAll("[data-close-dialog]")) {
      closer.addEventListener("click", function () { dialog.close(); });
    }
    // A click on the backdrop (outside the box) closes it too.
    dialog.addEventListener("click", function (event) {
      if (event.target === dialog) {
        const box = dialog.getBoundingClientRect();
        const inside = event.clientX >= box.left && event.clientX <= box.right
          && event.clientY >= box.top && event.clientY <= box.bottom;
        if (!inside) dialog.close();
      }
    });
  }
  if (opener && dialog) {
    opener.hidden = false; // without this script there are no shortcuts to list
    opener.addEventListener("click", openDialog);
  }

  function go(url) {
    if (!url) return false;
    window.location.assign(url);
    return true;
  }

  // ---- the keys -----------------------------------------------------------------------------------------

  function shortcut(event) {
    const page = body.dataset.page;
    const key = event.key;
    if (Date.now() < chordUntil) {
      chordUntil = 0;
      if (key === "i") return go(dialog && dialog.dataset.inboxUrl);
      if (key === "n") return go(dialog && dialog.dataset.notificationsUrl);
      // Any other key ends the chord and is read on its own below.
    }
    if (key === "?") return openDialog();
    if (key === "g") { chordUntil = Date.now() + CHORD_MS; return true; }
    if (page === "inbox") {
      if (key === "j") return move(1);
      if (key === "k") return move(-1);
      if (key === "Enter") return openCurrent(event.target);
    }
    if (page === "ticket") {
      if (key === "r") return focusField("#id_text");
      if (key === "n") return focusField("#note-text");
      if (key === "a") return press("button#assign-to-me");
      if (key === "e") return press("button#solve-ticket");
    }
    return false;
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.isComposing) return;
    if (event.ctrlKey || event.altKey || event.metaKey) return;
    if (typing(event.target)) return;
    // While the list is open, its keys are the dialog's own (Tab, Escape).
    if (dialog && dialog.open) return;
    // Handled keys are kept from the page: "r" must not type an "r" into the reply box it focused.
    if (shortcut(event)) event.preventDefault();
  });
})();
