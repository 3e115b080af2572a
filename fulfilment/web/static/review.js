// Keyboard review on the queue page: j/k move between orders, x ticks, a approves, r rejects (asking why),
// o opens the order. Keys typed into the form's fields are left alone.
(function () {
  const rows = Array.from(document.querySelectorAll("#held tr.order"));
  if (!rows.length) return;
  let at = 0;
  const show = (i) => {
    rows[at].classList.remove("current");
    at = Math.max(0, Math.min(rows.length - 1, i));
    rows[at].classList.add("current");
    rows[at].scrollIntoView({ block: "nearest" });
  };
  show(0);
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.target.closest("input, select, textarea")) return;
    const row = rows[at];
    if (event.key === "j") show(at + 1);
    else if (event.key === "k") show(at - 1);
    else if (event.key === "x") row.querySelector("input[type=checkbox]").click();
    else if (event.key === "o") window.location = row.querySelector("a").href;
    else if (event.key === "a") row.querySelector("button.approve").click();
    else if (event.key === "r") {
      const reason = window.prompt("Why is order " + row.dataset.order + " rejected?");
      if (!reason || !reason.trim()) return;
      document.getElementById("reason").value = reason;
      row.querySelector("button.reject").click();
    } else return;
    event.preventDefault();
  });
})();
