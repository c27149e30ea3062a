// The rating pages' behaviour. Served by prefarm itself (the CSP allows only 'self'); every page
// still works without it (plain form, native radios, links).
// - keyboard: the choice keys shown on each answer, Enter submits, S skips, U changes the last
//   judgment, ? opens the guidelines, Esc leaves a change unsaved;
// - time on task: reports idle time (tab hidden, or no input for longer than the page's
//   data-idle-after seconds) with the judgment, so the server can leave it out;
// - small screens: responses A and B become tabs and the instruction folds to its first lines.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  const form = document.getElementById("judgment-form");
  const toggle = document.getElementById("shortcuts-toggle");
  const status = document.getElementById("status");
  const submitButton = document.getElementById("submit-button");
  const skipButton = document.getElementById("skip-button");
  const undoLink = document.getElementById("undo-link");
  const keepLink = document.getElementById("keep-link");
  const guidelinesLink = document.getElementById("guidelines-link");
  const dialog = document.getElementById("guidelines-dialog");
  const STORAGE_KEY = "prefarm.shortcuts";

  function announce(text) {
    if (status) status.textContent = text;
  }

  // Touch devices get no keyboard hints (CSS hides them on coarse pointers too).
  window.addEventListener("touchstart", function () {
    document.documentElement.classList.add("touch");
  }, { once: true, passive: true });

  // Shortcuts on or off, remembered by the browser.
  let shortcutsOn = true;
  try { shortcutsOn = window.localStorage.getItem(STORAGE_KEY) !== "off"; } catch (e) { /* storage off */ }
  function applyShortcuts() {
    document.body.classList.toggle("no-shortcuts", !shortcutsOn);
    if (toggle) toggle.checked = shortcutsOn;
  }
  applyShortcuts();
  if (toggle) {
    toggle.addEventListener("change", function () {
      shortcutsOn = toggle.checked;
      try { window.localStorage.setItem(STORAGE_KEY, shortcutsOn ? "on" : "off"); } catch (e) { /* storage off */ }
      applyShortcuts();
      announce(shortcutsOn ? "Keyboard shortcuts on." : "Keyboard shortcuts off.");
    });
  }

  // The guidelines: a dialog on this page; the link opens the guidelines page without script.
  function openGuidelines() {
    if (!dialog || typeof dialog.showModal !== "function") {
      if (guidelinesLink) window.location.assign(guidelinesLink.href);
      return;
    }
    if (!dialog.open) dialog.showModal();
  }
  if (guidelinesLink && dialog) {
    guidelinesLink.addEventListener("click", function (event) {
      event.preventDefault();
      openGuidelines();
    });
  }

  // Idle time: hidden tab, or no input for longer than idleAfter seconds (the first idleAfter
  // seconds of a pause count as reading).
  const page = document.getElementById("rate-page");
  const idleAfter = page ? Number(page.dataset.idleAfter || "60") * 1000 : 60000;
  let idleMs = 0;
  let lastInput = performance.now();
  let hiddenSince = document.hidden ? performance.now() : null;
  function noteInput() {
    const now = performance.now();
    if (hiddenSince === null) idleMs += Math.max(0, now - lastInput - idleAfter);
    lastInput = now;
  }
  ["keydown", "pointerdown", "pointermove", "wheel", "scroll", "touchstart", "input"].forEach(function (name) {
    window.addEventListener(name, noteInput, { passive: true, capture: true });
  });
  document.addEventListener("visibilitychange", function () {
    const now = performance.now();
    if (document.hidden) {
      idleMs += Math.max(0, now - lastInput - idleAfter);
      hiddenSince = now;
    } else if (hiddenSince !== null) {
      idleMs += now - hiddenSince;
      hiddenSince = null;
      lastInput = now;
    }
  });

  // Small screens: A and B as tabs; the instruction folded to one line.
  const outputs = document.getElementById("outputs");
  const prompt = document.getElementById("prompt");
  const small = window.matchMedia("(max-width: 599px)");
  const tabs = outputs ? Array.from(outputs.querySelectorAll("[role=tab]")) : [];
  function selectTab(tab, focus) {
    tabs.forEach(function (other) {
      const selected = other === tab;
      other.setAttribute("aria-selected", selected ? "true" : "false");
      other.tabIndex = selected ? 0 : -1;
      document.getElementById(other.getAttribute("aria-controls")).classList.toggle("tab-hidden", !selected);
    });
    if (focus) tab.focus();
    const top = outputs.getBoundingClientRect().top;
    if (top < 0) window.scrollBy(0, top);
  }
  function layout() {
    if (!outputs) return;
    const tabbed = small.matches;
    outputs.classList.toggle("tabbed", tabbed);
    tabs.forEach(function (tab) {
      const panel = document.getElementById(tab.getAttribute("aria-controls"));
      if (tabbed) {
        panel.setAttribute("role", "tabpanel");
        panel.setAttribute("aria-labelledby", tab.id);
      } else {
        panel.removeAttribute("role");
        panel.setAttribute("aria-labelledby", panel.querySelector("h2").id);
        panel.classList.remove("tab-hidden");
      }
    });
    if (tabbed) selectTab(tabs.find(function (t) { return t.getAttribute("aria-selected") === "true"; }) || tabs[0], false);
  }
  tabs.forEach(function (tab, index) {
    tab.addEventListener("click", function () { selectTab(tab, false); });
    tab.addEventListener("keydown", function (event) {
      if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
      event.preventDefault();
      selectTab(tabs[(index + (event.key === "ArrowRight" ? 1 : tabs.length - 1)) % tabs.length], true);
    });
  });
  layout();
  small.addEventListener("change", layout);
  // The instruction: folded to its first lines on small screens, a button shows it all.
  const promptToggle = document.getElementById("prompt-toggle");
  function foldPrompt(folded) {
    prompt.classList.toggle("collapsed", folded);
    promptToggle.setAttribute("aria-expanded", folded ? "false" : "true");
    promptToggle.textContent = folded ? "Show all" : "Show less";
  }
  if (prompt && promptToggle) {
    promptToggle.addEventListener("click", function () {
      foldPrompt(!prompt.classList.contains("collapsed"));
    });
    const placePrompt = function () {
      promptToggle.hidden = !small.matches;
      foldPrompt(small.matches);
    };
    placePrompt();
    small.addEventListener("change", placePrompt);
  }

  if (form) {
    form.querySelectorAll("input[name=choice]").forEach(function (radio) {
      radio.addEventListener("change", function () {
        announce("Selected: " + radio.nextElementSibling.textContent + ".");
      });
    });
    let sent = false;
    form.addEventListener("submit", function () {
      noteInput();
      document.getElementById("idle-seconds").value = (idleMs / 1000).toFixed(1);
      if (sent) return;
      sent = true;
      // A second Enter while the next page loads must not post the same judgment again.
      window.setTimeout(function () {
        submitButton.disabled = true;
        if (skipButton) skipButton.disabled = true;
      }, 0);
    });
  }

  document.addEventListener("keydown", function (event) {
    if (!shortcutsOn || event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
    if (dialog && dialog.open) return; // the dialog's own keys: Esc closes it
    const target = event.target;
    const typing = target instanceof HTMLElement &&
      (target.matches("input[type=text], textarea, select") || target.isContentEditable);
    if (typing) return; // Enter in the reason field submits natively; letters are text
    if (target instanceof HTMLButtonElement || target instanceof HTMLAnchorElement) {
      if (event.key === "Enter" || event.key === " ") return; // let the focused control act
    }
    if (event.key === "?" && guidelinesLink) {
      event.preventDefault();
      openGuidelines();
      return;
    }
    if ((event.key === "u" || event.key === "U") && undoLink) {
      event.preventDefault();
      window.location.assign(undoLink.href);
      return;
    }
    if (event.key === "Escape" && keepLink) {
      event.preventDefault();
      window.location.assign(keepLink.href);
      return;
    }
    if (!form) return;
    const radio = form.querySelector('input[name=choice][data-key="' + event.key + '"]');
    if (radio) {
      radio.checked = true;
      radio.focus();
      radio.dispatchEvent(new Event("change", { bubbles: true }));
      event.preventDefault();
    } else if (event.key === "Enter") {
      event.preventDefault();
      form.requestSubmit(submitButton);
    } else if ((event.key === "s" || event.key === "S") && skipButton) {
      event.preventDefault();
      form.requestSubmit(skipButton);
    }
  });
})();
