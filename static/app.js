// Progressive enhancement only: every page works without this file.
import { initAll } from "/static/govuk/govuk-frontend.min.js";

initAll();

document.addEventListener("htmx:load", (event) => {
  // Components swapped in by htmx need initialising too.
  if (event.target !== document.body) initAll({ scope: event.target });
});

// htmx 2 does not swap error responses by default; our forms answer 4xx with the page to show.
document.addEventListener("htmx:beforeSwap", (event) => {
  const status = event.detail.xhr.status;
  if (status === 400 || status === 422) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});

// A "me too" answer replaces the button that was pressed, which took the keyboard focus with it: move focus to
// the answer, so keyboard and screen reader users keep their place (WCAG 2.4.3).
document.addEventListener("htmx:afterSwap", (event) => {
  const result = event.detail.target.querySelector(".app-me-too-result");
  if (result && (document.activeElement === document.body || !document.activeElement)) {
    result.setAttribute("tabindex", "-1");
    result.focus();
  }
});

// ---- Triage keyboard shortcuts (issue 4) -------------------------------------------------------------------
// Progressive enhancement: every shortcut does what a link, button or field on the page already does.
// On pages with a "Keyboard shortcuts" panel ([data-triage-shortcuts]) a key activates the element marked
// data-shortcut="KEY": a link or button is clicked, a field is focused (its text selected, ready to type).
// Never while typing in a field, nor with Ctrl, Alt or Meta held (browser and screen reader keys stay theirs).
// In the queue, j and k move between the rows' links; Enter opens one. "?" opens or closes the panel.
(() => {
  const typing = (element) =>
    element instanceof HTMLElement &&
    (element.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(element.tagName));

  const moveInQueue = (step) => {
    const rows = [...document.querySelectorAll("[data-triage-row]")];
    if (!rows.length) return false;
    const current = rows.indexOf(document.activeElement);
    const next = current === -1 ? (step > 0 ? 0 : rows.length - 1) : current + step;
    if (next < 0 || next >= rows.length) return true;
    rows[next].focus();
    return true;
  };

  document.addEventListener("keydown", (event) => {
    const panel = document.querySelector("[data-triage-shortcuts]");
    if (!panel || event.defaultPrevented || event.ctrlKey || event.altKey || event.metaKey) return;
    if (event.key === "Escape" && typing(event.target)) {
      event.target.blur();
      return;
    }
    if (typing(event.target)) return;
    const key = event.key;
    if (key === "?") {
      panel.open = !panel.open;
      if (panel.open) panel.querySelector("summary").focus();
      event.preventDefault();
      return;
    }
    if ((key === "j" || key === "k") && document.querySelector("[data-triage-queue]")) {
      if (moveInQueue(key === "j" ? 1 : -1)) event.preventDefault();
      return;
    }
    const target = document.querySelector(`[data-shortcut="${CSS.escape(key)}"]`);
    if (!target) return;
    event.preventDefault();
    if (typing(target)) {
      target.scrollIntoView({ block: "center" });
      target.focus();
      if (typeof target.select === "function") target.select();
    } else {
      target.click();
    }
  });
})();
// ---- end of triage keyboard shortcuts ----------------------------------------------------------------------

// ---- Meetings: agenda drag and drop, focus after an agenda change, live-mode timer (issue 5) --------------
// Progressive enhancement only. Without JavaScript every item has "Move up" and "Move down" buttons (real
// forms), and live mode shows the time used when the page was loaded.
(() => {
  // Drag and drop: dropping an item posts the whole new order with the agenda's version (the hidden
  // #agenda-order form); the server refuses it with a clear message if someone else changed the agenda.
  let dragged = null;
  document.addEventListener("dragstart", (event) => {
    const item = event.target.closest?.("[data-agenda-sortable] > li[data-item-id]");
    if (!item) return;
    dragged = item;
    item.classList.add("app-agenda__item--dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", item.dataset.itemId);
  });
  // Move the dragged item before or after the item under the pointer (its upper or lower half).
  const placeAt = (event) => {
    const over = event.target.closest?.("[data-agenda-sortable] > li[data-item-id]");
    if (!over || over.parentElement !== dragged.parentElement) return false;
    if (over !== dragged) {
      const box = over.getBoundingClientRect();
      over.parentElement.insertBefore(dragged, event.clientY < box.top + box.height / 2 ? over : over.nextSibling);
    }
    return true;
  };
  document.addEventListener("dragover", (event) => {
    if (dragged && placeAt(event)) event.preventDefault();
  });
  document.addEventListener("drop", (event) => {
    if (dragged && placeAt(event)) event.preventDefault();
  });
  document.addEventListener("dragend", () => {
    if (!dragged) return;
    const list = dragged.parentElement;
    dragged.classList.remove("app-agenda__item--dragging");
    dragged = null;
    const form = document.getElementById("agenda-order");
    if (!form || !list) return;
    form.querySelectorAll("input[name='item']").forEach((input) => input.remove());
    list.querySelectorAll(":scope > li[data-item-id]").forEach((li) => {
      const input = document.createElement("input");
      input.type = "hidden";
      input.name = "item";
      input.value = li.dataset.itemId;
      form.append(input);
    });
    form.requestSubmit();
  });

  // After htmx replaced the agenda, put the keyboard focus back on the button that was pressed.
  document.addEventListener("htmx:afterSettle", (event) => {
    const target = event.detail.target;
    if (!target || target.id !== "agenda") return;
    const focus = document.querySelector("[data-agenda-focus]") ||
      document.querySelector("#agenda .govuk-error-message, #agenda .govuk-error-summary");
    if (focus) {
      if (!focus.matches("button, a, input")) focus.setAttribute("tabindex", "-1");
      focus.focus();
    }
  });
  // A stale agenda (409) answers with the latest agenda and the message: show it.
  document.addEventListener("htmx:beforeSwap", (event) => {
    if (event.detail.xhr.status === 409 && event.detail.target?.id === "agenda") {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // Live mode: the time used, updated every 15 seconds on screen; screen readers hear it only each minute
  // that passes the allotted time's quarter marks and when it runs over (never every second).
  const timer = document.getElementById("timer");
  if (timer && timer.dataset.started) {
    const started = Date.parse(timer.dataset.started);
    const allotted = Number(timer.dataset.allotted);
    const text = timer.querySelector("[data-timer-text]");
    const announce = timer.querySelector("[data-timer-announce]");
    let lastAnnounced = -1;
    const tick = () => {
      const used = Math.floor((Date.now() - started) / 60000);
      const over = used > allotted;
      if (text) text.textContent = `${used} of ${allotted} minutes used${over ? ": over time" : ""}`;
      timer.classList.toggle("app-timer--over", over);
      const marks = [Math.ceil(allotted / 2), allotted, allotted + 1];
      if (announce && used !== lastAnnounced && marks.includes(used)) {
        lastAnnounced = used;
        announce.textContent = used > allotted ? "This item is over its time." : `${used} of ${allotted} minutes used.`;
      }
    };
    tick();
    setInterval(tick, 15000);
  }
})();
// ---- end of meetings ----------------------------------------------------------------------------------------
