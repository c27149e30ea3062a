// Job page: load the statistics once, refresh the progress section every 5 seconds.
(function () {
  "use strict";

  async function fetchHtml(url) {
    const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } });
    if (!response.ok || response.redirected) throw new Error("HTTP " + response.status);
    return response.text();
  }

  const statistics = document.getElementById("statistics");
  if (statistics) {
    fetchHtml(statistics.dataset.statisticsUrl)
      .then(function (html) {
        statistics.innerHTML = html;
        statistics.setAttribute("aria-busy", "false");
      })
      .catch(function (error) {
        document.getElementById("statistics-status").textContent =
          "The statistics could not be computed (" + error.message + "); reload to try again.";
      });
  }

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
