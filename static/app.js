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
