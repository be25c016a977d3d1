// Jisr dashboard: polls /api/overview every 5 s; when what it shows changed, reloads the
// panels from the page itself (rendered and escaped on the server), so there is one
// renderer. Served from this listener only (CSP script-src 'self'); no other script.
"use strict";
(function () {
  let last = null;
  function signature(o) {
    return JSON.stringify([o.matrix, o.suspended, o.events.slice(0, 3),
      o.upstreams.map(function (u) { return [u.country, u.ready, u.jwks_fetches]; }),
      o.store.ok, o.replica_dropped, Math.floor(o.generated_at / 60)]);
  }
  async function poll() {
    try {
      const r = await fetch("/api/overview", { credentials: "same-origin", cache: "no-store" });
      if (r.status === 401) { window.location.assign("/login"); return; }
      if (!r.ok) return;
      const sig = signature(await r.json());
      if (last !== null && sig !== last) await reload();
      last = sig;
    } catch (e) { /* the next poll tries again */ }
  }
  async function reload() {
    const r = await fetch(window.location.href, { credentials: "same-origin", cache: "no-store" });
    if (!r.ok) return;
    const doc = new DOMParser().parseFromString(await r.text(), "text/html");
    const fresh = doc.getElementById("panels");
    const here = document.getElementById("panels");
    if (fresh && here) here.replaceWith(document.adoptNode(fresh));
  }
  poll();
  setInterval(poll, 5000);
})();
