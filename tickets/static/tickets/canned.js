// Canned responses (saved replies): typing "/" and a name in the reply box (textarea#id_text) opens a listbox of
// the saved replies that match, fetched from the picker URL of .canned-field ([data-canned-url], ?q=<name>).
// Up / Down move, Enter or Tab insert, Escape closes; a click inserts too. Inserting fetches the reply with its
// variables filled in for this ticket ({"text", "unknown"}) and puts it in place of the "/name" typed.
//
// The focus stays in the textarea the whole time: the current option is its aria-activedescendant, so a screen
// reader reads it while the agent goes on typing. htmx replaces the reply box after each send, so everything
// binds once, on document, and finds the box's elements again on each event.
(function () {
  "use strict";
  // A "/" at the start of a line or after a space, then the name typed so far, up to the caret.
  const TOKEN = /(^|\s)\/([A-Za-z0-9_-]{0,60})$/;
  const DEBOUNCE_MS = 100;
  // How long a blur waits before closing: a tap on an option may move the focus for a moment.
  const BLUR_MS = 150;

  let timer = null;
  let sequence = 0; // answers to older queries are dropped
  let current = null; // { textarea, token: { start, end, query } } while the picker is open or loading
  let dismissedAt = -1; // the "/" the agent closed with Escape: typing on after it does not reopen the picker
  let announced = "";
  let inserting = false;

  function isReplyText(el) {
    return el instanceof HTMLTextAreaElement && el.id === "id_text" && el.closest(".canned-field") !== null;
  }

  function pickerOf(textarea) {
    return textarea.closest(".canned-field").querySelector(".canned-picker");
  }

  function say(text) {
    const status = document.getElementById("canned-status");
    if (status && text !== announced) {
      status.textContent = text;
      announced = text;
    }
  }

  function notice(text) {
    const el = document.getElementById("canned-notice");
    if (el) el.textContent = text;
  }

  function enhance(textarea) {
    if (!isReplyText(textarea) || textarea.dataset.canned === "on") return;
    textarea.dataset.canned = "on";
    textarea.setAttribute("aria-autocomplete", "list");
    const described = (textarea.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
    if (!described.includes("canned-hint")) described.push("canned-hint");
    textarea.setAttribute("aria-describedby", described.join(" "));
  }

  function tokenAt(textarea) {
    if (textarea.selectionStart !== textarea.selectionEnd) return null;
    const before = textarea.value.slice(0, textarea.selectionStart);
    const match = TOKEN.exec(before);
    if (!match) return null;
    const query = match[2];
    return { start: before.length - query.length - 1, end: before.length, query: query };
  }

  function options(textarea) {
    return Array.from(pickerOf(textarea).querySelectorAll('[role="option"]'));
  }

  function activeIndex(textarea) {
    return options(textarea).findIndex(function (option) {
      return option.getAttribute("aria-selected") === "true";
    });
  }

  function setActive(textarea, index) {
    const all = options(textarea);
    if (!all.length) return;
    const wanted = (index + all.length) % all.length;
    all.forEach(function (option, i) {
      option.setAttribute("aria-selected", i === wanted ? "true" : "false");
      option.classList.toggle("is-active", i === wanted);
    });
    textarea.setAttribute("aria-activedescendant", all[wanted].id);
    all[wanted].scrollIntoView({ block: "nearest" });
  }

  function isOpen(textarea) {
    const picker = pickerOf(textarea);
    return current !== null && current.textarea === textarea && !picker.hidden;
  }

  function close(textarea) {
    clearTimeout(timer);
    sequence += 1;
    current = null;
    if (!textarea || !textarea.isConnected) return;
    const picker = pickerOf(textarea);
    picker.hidden = true;
    picker.textContent = "";
    textarea.removeAttribute("aria-activedescendant");
    textarea.removeAttribute("aria-controls");
  }

  function show(textarea, html) {
    const picker = pickerOf(textarea);
    picker.innerHTML = html; // the server's own template, every value escaped
    picker.hidden = false;
    const count = options(textarea).length;
    if (count) {
      textarea.setAttribute("aria-controls", "canned-listbox");
      setActive(textarea, 0);
      say(count + (count === 1 ? " saved reply" : " saved replies") +
        ": up and down arrows to choose, Enter to insert, Escape to close.");
    } else {
      textarea.removeAttribute("aria-activedescendant");
      textarea.removeAttribute("aria-controls");
      say("No saved reply matches.");
    }
  }

  function load(textarea, token) {
    const field = textarea.closest(".canned-field");
    current = { textarea: textarea, token: token };
    clearTimeout(timer);
    const mine = ++sequence;
    timer = setTimeout(function () {
      const url = field.dataset.cannedUrl + "?q=" + encodeURIComponent(token.query);
      fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (response) {
          if (!response.ok) throw new Error("picker: " + response.status);
          return response.text();
        })
        .then(function (html) {
          if (mine !== sequence || !textarea.isConnected || document.activeElement !== textarea) return;
          show(textarea, html);
        })
        .catch(function () {
          if (mine === sequence) close(textarea);
        });
    }, DEBOUNCE_MS);
  }

  function follow(textarea) {
    // Where the caret is now decides: in a "/name" the picker follows it, anywhere else it closes.
    if (inserting) return;
    const token = tokenAt(textarea);
    if (!token) {
      dismissedAt = -1;
      if (current) close(textarea);
      return;
    }
    if (token.start === dismissedAt) return;
    if (current && current.textarea === textarea && current.token.start === token.start &&
        current.token.query === token.query) {
      current.token = token;
      return;
    }
    load(textarea, token);
  }

  function insert(textarea, option) {
    const token = tokenAt(textarea) || (current && current.token);
    close(textarea);
    if (!token) return;
    const typed = textarea.value.slice(token.start, token.end);
    const name = option.dataset.name;
    fetch(option.dataset.insertUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("insert: " + response.status);
        return response.json();
      })
      .then(function (data) {
        if (!textarea.isConnected) return;
        let start = token.start;
        let end = token.end;
        if (textarea.value.slice(start, end) !== typed) {
          // The text changed while the reply was on its way: replace the "/name" where it is now, if it is.
          const at = textarea.value.lastIndexOf(typed);
          start = at >= 0 ? at : textarea.selectionStart;
          end = at >= 0 ? at + typed.length : textarea.selectionEnd;
        }
        textarea.focus();
        textarea.setRangeText(data.text, start, end, "end");
        inserting = true;
        try {
          // As if typed: the typing warning and anything else listening to the box hear of it.
          textarea.dispatchEvent(new Event("input", { bubbles: true }));
        } finally {
          inserting = false;
        }
        if (data.unknown && data.unknown.length) {
          notice("Check before sending: " + data.unknown.join(", ") +
            (data.unknown.length === 1 ? " is not a variable and was" : " are not variables and were") +
            " left as typed.");
        } else {
          notice("");
        }
        say("Inserted /" + name + ".");
      })
      .catch(function () {
        notice("The saved reply /" + name + " could not be inserted. Try again.");
      });
  }

  document.addEventListener("input", function (event) {
    if (isReplyText(event.target)) {
      enhance(event.target);
      follow(event.target);
    }
  });

  document.addEventListener("keydown", function (event) {
    const textarea = event.target;
    if (!isReplyText(textarea) || event.isComposing || !current || current.textarea !== textarea) return;
    if (event.key === "Escape") {
      event.preventDefault();
      dismissedAt = current ? current.token.start : -1;
      close(textarea);
      say("Saved replies closed.");
      return;
    }
    const all = isOpen(textarea) ? options(textarea) : [];
    if (!all.length || event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      setActive(textarea, activeIndex(textarea) + (event.key === "ArrowDown" ? 1 : -1));
    } else if ((event.key === "Enter" && !event.shiftKey) || (event.key === "Tab" && !event.shiftKey)) {
      event.preventDefault();
      insert(textarea, all[Math.max(activeIndex(textarea), 0)]);
    }
  });

  document.addEventListener("keyup", function (event) {
    // The caret moved without typing (arrows, Home, End): the picker follows it.
    if (isReplyText(event.target) && ["ArrowLeft", "ArrowRight", "Home", "End"].includes(event.key)) {
      follow(event.target);
    }
  });

  document.addEventListener("click", function (event) {
    if (isReplyText(event.target)) {
      follow(event.target);
      return;
    }
    const option = event.target instanceof Element ? event.target.closest(".canned-picker [role='option']") : null;
    if (!option) return;
    const textarea = option.closest(".canned-field").querySelector("textarea");
    if (isReplyText(textarea)) insert(textarea, option);
  });

  document.addEventListener("mousedown", function (event) {
    // A press on the picker keeps the focus in the textarea (and so the caret after the "/name").
    if (event.target instanceof Element && event.target.closest(".canned-picker")) event.preventDefault();
  });

  document.addEventListener("mouseover", function (event) {
    const option = event.target instanceof Element ? event.target.closest(".canned-picker [role='option']") : null;
    if (!option) return;
    const textarea = option.closest(".canned-field").querySelector("textarea");
    const index = options(textarea).indexOf(option);
    if (index >= 0 && index !== activeIndex(textarea)) setActive(textarea, index);
  });

  document.addEventListener("focusin", function (event) {
    if (isReplyText(event.target)) enhance(event.target);
  });

  document.addEventListener("focusout", function (event) {
    const textarea = event.target;
    if (!isReplyText(textarea)) return;
    setTimeout(function () {
      if (document.activeElement !== textarea && current && current.textarea === textarea) close(textarea);
    }, BLUR_MS);
  });

  // The reply box on the page now, and each one htmx swaps in after a send.
  enhance(document.getElementById("id_text"));
  document.addEventListener("htmx:load", function (event) {
    const root = event.detail && event.detail.elt;
    if (root && root.querySelector) enhance(root.id === "id_text" ? root : root.querySelector("#id_text"));
  });
})();
