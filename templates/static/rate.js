// Keyboard shortcuts of the rating page: 1-4 choose, Enter submits, S skips.
// Served by prefarm itself; the page works without it (plain form, native radios).
(function () {
  "use strict";
  const form = document.getElementById("judgment-form");
  if (!form) return;
  const toggle = document.getElementById("shortcuts-toggle");
  const status = document.getElementById("status");
  const submitButton = document.getElementById("submit-button");
  const skipButton = document.getElementById("skip-button");
  const STORAGE_KEY = "prefarm.shortcuts";

  let stored = null;
  try { stored = window.localStorage.getItem(STORAGE_KEY); } catch (e) { /* storage off */ }
  toggle.checked = stored !== "off";
  document.body.classList.toggle("no-shortcuts", !toggle.checked);
  toggle.addEventListener("change", function () {
    try { window.localStorage.setItem(STORAGE_KEY, toggle.checked ? "on" : "off"); } catch (e) { /* storage off */ }
    document.body.classList.toggle("no-shortcuts", !toggle.checked);
    status.textContent = toggle.checked ? "Keyboard shortcuts on." : "Keyboard shortcuts off.";
  });

  form.querySelectorAll("input[name=choice]").forEach(function (radio) {
    radio.addEventListener("change", function () {
      status.textContent = "Selected: " + radio.nextElementSibling.textContent + ".";
    });
  });

  let sent = false;
  form.addEventListener("submit", function () {
    if (sent) return;
    sent = true;
    // A second Enter while the next page loads must not post the same judgment again.
    window.setTimeout(function () { submitButton.disabled = true; skipButton.disabled = true; }, 0);
  });

  document.addEventListener("keydown", function (event) {
    if (!toggle.checked || event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
    const target = event.target;
    const typing = target instanceof HTMLElement &&
      (target.matches("input[type=text], textarea, select") || target.isContentEditable);
    if (typing) return; // Enter in the reason field submits natively; letters are text
    if (target instanceof HTMLButtonElement || target instanceof HTMLAnchorElement) {
      if (event.key === "Enter" || event.key === " ") return; // let the focused control act
    }
    const radio = form.querySelector('input[name=choice][data-key="' + event.key + '"]');
    if (radio) {
      radio.checked = true;
      radio.focus();
      radio.dispatchEvent(new Event("change", { bubbles: true }));
      event.preventDefault();
    } else if (event.key === "Enter") {
      event.preventDefault();
      form.requestSubmit(submitButton);
    } else if (event.key === "s" || event.key === "S") {
      event.preventDefault();
      form.requestSubmit(skipButton);
    }
  });
})();
