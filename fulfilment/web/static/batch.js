// Live progress on the batch page: poll the batch's progress.json and update the numbers; reload once it ends
// so the downloads and failed orders appear.
(function () {
  const live = document.getElementById("live");
  if (!live || live.dataset.finished === "yes") return;
  const set = (id, value) => { const el = document.getElementById(id); if (el) el.textContent = value; };
  async function poll() {
    try {
      const response = await fetch(live.dataset.progress, { headers: { Accept: "application/json" } });
      if (response.ok) {
        const view = await response.json();
        set("status", view.status);
        document.getElementById("status").className = "pill " + view.status;
        set("done", view.done);
        set("total", view.total);
        set("elapsed", view.elapsed_s.toFixed(1));
        const bar = document.getElementById("bar");
        bar.max = view.total || 1;
        bar.value = view.done;
        for (const [key, n] of Object.entries(view.counts)) set("count-" + key, n);
        set("chunk-stages", Object.entries(view.chunk_stages).sort().map(([s, n]) => s + " " + n).join(" "));
        if (view.finished) { window.location.reload(); return; }
      }
    } catch (e) { /* the server may be restarting: try again */ }
    setTimeout(poll, 1000);
  }
  setTimeout(poll, 500);
})();
