"use strict";
// Export / Erase contact (the owner's data-rights tools): export downloads everything held as
// JSON; erase asks first, as it cannot be undone. Uses the routes named on the form.
(() => {
  const form = document.getElementById("contact-rights");
  if (!form) return;
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const who = document.getElementById("rights-who").value.trim();
    if (!who) return;
    const action = ev.submitter && ev.submitter.value === "erase" ? "erase" : "export";
    if (action === "export") {
      const data = await api(form.dataset.export, { who });
      if (data.error) return;
      const blob = new Blob([JSON.stringify(data, null, 2)], { type: "application/json" });
      const a = Object.assign(document.createElement("a"), {
        href: URL.createObjectURL(blob), download: `contact-${who.replace(/[^\w.@+-]/g, "_")}.json`,
      });
      document.body.append(a); a.click(); a.remove(); URL.revokeObjectURL(a.href);
      return;
    }
    if (!confirm(`Erase everything held about ${who}? This cannot be undone; they will never be messaged again.`)) return;
    const done = await api(form.dataset.erase, { who, confirm: true });
    if (!done.error) toast(`Erased ${who}: ${Object.values(done.erased || {}).reduce((a, b) => a + b, 0)} rows`);
  });
})();
