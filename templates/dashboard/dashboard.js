// Job page: load the statistics once, refresh the progress section every 5 seconds.
(function () {
  "use strict";

  async function fetchHtml(url) {
    const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } });
    if (!response.ok || response.redirected) throw new Error("HTTP " + response.status);
    return response.text();
  }

  // The fragment is the cached report, or the last one while the server brings it up to date
  // (data-pending): then it is fetched again until it is current.
  const statistics = document.getElementById("statistics");
  function loadStatistics() {
    fetchHtml(statistics.dataset.statisticsUrl)
      .then(function (html) {
        statistics.innerHTML = html;
        const age = document.getElementById("statistics-age");
        const pending = age && age.dataset.pending === "true";
        statistics.setAttribute("aria-busy", pending ? "true" : "false");
        if (pending) setTimeout(loadStatistics, 5000);
      })
      .catch(function (error) {
        const status = document.getElementById("statistics-status") ||
          document.getElementById("statistics-age");
        if (status) {
          status.textContent =
            "The statistics could not be loaded (" + error.message + "); reload to try again.";
        }
      });
  }
  if (statistics) loadStatistics();

  const live = document.getElementById("live");
  const status = document.getElementById("live-status");
  if (!live) return;
  async function refresh() {
    try {
      live.innerHTML = await fetchHtml(live.dataset.progressUrl);
      live.dataset.refreshed = String(Number(live.dataset.refreshed || "0") + 1);
      status.textContent = "Updated " + new Date().toLocaleTimeString() + "; updates every 5 seconds.";
    } catch (error) {
      status.textContent = "Could not update the progress (" + error.message + "); retrying.";
    }
  }
  setInterval(refresh, 5000);
})();
