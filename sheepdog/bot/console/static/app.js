// Sheepdog console: leads most urgent first, one thread per lead, live over Server-Sent Events.
// Phone first: below 801 px the list and the thread are two screens (body.reading shows the thread).
"use strict";
const $ = (sel, el = document) => el.querySelector(sel);
const state = { leads: [], current: null, me: null, top: null };
const actorInput = $("#actor");

function el(tag, attrs = {}, ...kids) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== null && v !== undefined) node.setAttribute(k, v);
  }
  for (const kid of kids.flat(Infinity)) if (kid !== null && kid !== undefined) node.append(kid.nodeType ? kid : document.createTextNode(String(kid)));
  return node;
}

async function api(path, body) {
  const opts = body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json", "X-Sheepdog-Actor": actor() }, body: JSON.stringify(body),
  };
  const res = await fetch(path, opts);
  const data = await res.json().catch(() => ({}));
  if (!res.ok) toast(data.error || data.message || `HTTP ${res.status}`);
  return data;
}

function actor() { return actorInput.value.trim() || (state.me && state.me.owner) || "Owner"; }
function toast(text) {
  const t = el("div", { class: "toast", role: "status" }, text);
  document.body.append(t); setTimeout(() => t.remove(), 3500);
}

const LEVELS = [["urgent", "Urgent"], ["waiting", "Waiting for you"], ["auto_sent", "Sent on its own"], ["open", "Open"], ["closed", "Closed"]];

function reasonLine(att) {
  if (!att) return null;
  const cut = att.reason.indexOf(": ");
  const head = cut > 0 ? att.reason.slice(0, cut + 1) : att.reason;
  const rest = cut > 0 ? att.reason.slice(cut + 1) : "";
  return el("div", { class: `reason lvl-${att.level}`, "data-reason": "" }, el("b", {}, head), rest);
}

async function loadLeads() {
  const data = await api("/api/leads");
  state.leads = data.leads || [];
  const box = $("#leads"); box.replaceChildren();
  if (!state.leads.length) box.append(el("p", { class: "empty", style: "padding:1rem" }, "No leads yet. Post the web form and one appears here."));
  const tz = state.me && state.me.timezone ? `times in ${state.me.timezone}` : "";
  for (const [level, label] of LEVELS) {
    const rows = state.leads.filter(l => (l.attention ? l.attention.level : "open") === level);
    if (!rows.length) continue;
    box.append(el("h3", { class: `lvl-${level}` }, `${label} · ${rows.length}`));
    for (const l of rows) {
      const sub = [l.channel, l.stage.replace("_", " "), l.owner ? "✋ " + l.owner : null].filter(Boolean).join(" · ");
      box.append(el("button", { class: `lead lvl-${level}` + (l.id === state.current ? " sel" : ""), "data-lead": l.id, "data-level": level, onclick: () => openLead(l.id) },
        el("div", { class: "line1" },
          el("span", { class: "who" }, l.grade ? el("span", { class: `grade g-${l.grade}` }, l.grade) : null, l.name),
          el("span", { class: "when", title: tz }, l.when || "")),
        el("div", { class: "sub" }, sub),
        reasonLine(l.attention)));
    }
  }
}

function fieldList(fields) {
  return el("dl", { class: "fields" }, fields.map(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
}

function renderCard(c, current = false) {
  const node = el("article", { class: `card ${c.kind}${current ? " current" : ""}`, "data-card": c.key, "data-state": c.extra.state || "" },
    el("h4", {}, c.title));
  if (c.kind === "brief") {
    node.append(el("div", { class: "text" }, c.text), fieldList(c.fields));
    if (c.extra.reasons && c.extra.reasons.length) node.append(el("ul", { class: "reasons" }, c.extra.reasons.map(r => el("li", {}, r))));
  } else {
    if (c.extra.subject && c.kind !== "note") node.append(el("div", { class: "status" }, "Subject: " + c.extra.subject));
    node.append(el("div", { class: "text" }, c.text));
    if (c.fields.length) node.append(fieldList(c.fields));
    for (const a of c.extra.attachments || []) node.append(el("div", { class: "status" }, `📎 ${a.filename || a.content_type} ${a.url || ""}`));
  }
  if (c.flags.length) node.append(el("ul", { class: "flags" }, c.flags.map(f => el("li", {}, f))));
  if (c.status) node.append(el("div", { class: "status", "data-status": "" }, c.status));
  if (c.kind === "inbound" && c.extra.message_id && state.me) {
    const sel = el("select", { "aria-label": "correct the category", onchange: async (e) => {
      if (!e.target.value) return;
      const r = await api(`/api/messages/${c.extra.message_id}/triage`, { category: e.target.value });
      if (r.ok) toast(r.message);
    } }, el("option", { value: "" }, "This was…"), state.me.categories.map(x => el("option", { value: x }, x.replace("_", " "))));
    node.append(el("div", { class: "status" }, sel));
  }
  if (c.buttons.length) {
    node.append(el("div", { class: "buttons" }, c.buttons.map(b =>
      el("button", { class: `act ${b.style}`, "data-action": b.action, onclick: () => act(c, b, node) }, b.label))));
  }
  return node;
}

async function act(card, button, node) {
  const id = button.value;
  if (button.action === "edit") {
    const area = el("textarea", { rows: 6, "aria-label": "edit the draft" }); area.value = card.text;
    const save = el("button", { class: "act primary", onclick: async () => {
      const r = await api(`/api/drafts/${id}/edit`, { text: area.value }); if (r.ok) refreshThread();
    } }, "Save and send");
    node.querySelector(".buttons").replaceWith(el("div", {}, area, el("div", { class: "buttons" }, save,
      el("button", { class: "act", onclick: refreshThread }, "Cancel"))));
    area.focus(); return;
  }
  const path = ["pause", "resume"].includes(button.action) ? `/api/leads/${id}/${button.action}` : `/api/drafts/${id}/${button.action}`;
  const r = await api(path, {});
  if (r.ok) { toast(r.message); refreshThread(); }
}

function composer(leadId) {
  const area = el("textarea", { rows: 3, id: "compose", placeholder: "Write to the customer… (or tick 'internal note')" });
  const noteBox = el("input", { type: "checkbox", id: "as-note" });
  const send = el("button", { class: "act primary", id: "send", onclick: async () => {
    const text = area.value.trim(); if (!text) return;
    const r = await api(`/api/leads/${leadId}/${noteBox.checked ? "note" : "reply"}`, { text });
    if (r.ok) { area.value = ""; toast(r.message); refreshThread(); }
  } }, "Send");
  return el("div", { class: "composer" }, area, el("div", { class: "row" }, send, el("label", {}, noteBox, " internal note (never sent)")));
}

function toolbar(lead, visit) {
  const b = (label, action, body) => el("button", { class: "act", onclick: async () => {
    const r = await api(`/api/leads/${lead.id}/${action}`, body ? body() : {}); if (r.ok) { toast(r.message); refreshThread(); }
  } }, label);
  const bar = el("div", { class: "toolbar" },
    lead.owner === actor() ? b("Release", "unclaim") : b("✋ Claim", "claim"),
    el("button", { class: "act", "data-action": "visit", onclick: () => {
      const open = $("#visit-form");
      if (open) { $("#visit-at").focus(); return; }
      bar.after(visitForm(lead, visit || {})); $("#visit-at").focus();
    } }, "Visit scheduled…"),
    b("Quoted", "stage", () => ({ stage: "quoted" })),
    b("Won…", "won", () => ({ amount: prompt("Value won (optional)") || "" })),
    b("Lost…", "lost", () => ({ reason: prompt("Why was it lost?") || "" })));
  return bar;
}

// Visit scheduled asks when (the phone's own date-and-time picker), in the business's zone: the
// reminders to the customer are timed back from it. A time already gone is refused by the server
// and said here; nothing is recorded then.
function visitForm(lead, visit) {
  const input = el("input", { type: "datetime-local", id: "visit-at", required: "", value: visit.prefill || null });
  const said = el("p", { class: "error", role: "alert", id: "visit-error" });
  const why = visit.source === "asked" ? (visit.prefill ? " Prefilled with the time the customer asked for."
      : visit.day ? ` The customer asked for ${visit.day}: pick the time.` : "")
    : visit.source === "booked" ? " This is the visit booked now: change it to move the visit." : "";
  const form = el("form", { class: "visit-form", id: "visit-form", onsubmit: async (e) => {
    e.preventDefault(); said.textContent = "";
    if (!input.value) { said.textContent = "Pick the day and the time of the visit."; input.focus(); return; }
    const r = await api(`/api/leads/${lead.id}/visit`, { at: input.value });
    if (r.ok) { form.remove(); toast(r.message); refreshThread(); }
    else said.textContent = r.error || r.message || "Not recorded.";
  } },
    el("label", { for: "visit-at" }, "When is the visit?"), input,
    el("div", { class: "status" }, `${visit.tz || "The business's"} time.${why} The customer is reminded before it.`), said,
    el("div", { class: "buttons" }, el("button", { class: "act primary", type: "submit", id: "visit-save" }, "Save visit"),
      el("button", { class: "act", type: "button", onclick: () => form.remove() }, "Cancel")));
  return form;
}

async function openLead(id, push = true) {
  if (state.current !== id) state.top = null;
  state.current = id;
  document.querySelectorAll(".lead").forEach(n => n.classList.toggle("sel", Number(n.dataset.lead) === id));
  document.body.classList.add("reading");
  if (push && location.hash !== `#lead-${id}`) history.pushState({ lead: id }, "", `#lead-${id}`);
  await refreshThread();
  $("#thread").scrollTop = 0;
}

function closeLead() {
  document.body.classList.remove("reading", "has-bar");
  if (location.hash) history.pushState({}, "", location.pathname + location.search);
}

// The thread: the reply waiting for approval first (with the message it answers), then what
// can be done with the lead, then everything earlier in the order it happened.
function threadNodes(data) {
  const cards = data.cards;
  // The draft on top stays on top once decided, so Approve changes that card where it is.
  const pending = cards.find(c => c.kind === "draft" && c.extra.state === "pending");
  const kept = state.top && cards.find(c => c.key === state.top);
  const waiting = pending || kept || null;
  state.top = waiting ? waiting.key : null;
  const asked = waiting ? [...cards].reverse().find(c => c.kind === "inbound" && c.at <= waiting.at) : null;
  const head = el("div", { class: "head" },
    el("button", { class: "back", "aria-label": "back to the leads", onclick: closeLead }, "‹ Leads"),
    el("div", { style: "min-width:0;flex:1" }, el("h2", {}, data.lead.name), reasonLine(data.lead.attention)));
  const top = waiting ? [renderCard(waiting, waiting === pending), asked ? renderCard(asked) : null] : [];
  const rest = cards.filter(c => c !== waiting && c !== asked).map(c => renderCard(c));
  document.body.classList.toggle("has-bar", Boolean(pending));
  return [head, ...top, toolbar(data.lead, data.visit), waiting ? el("div", { class: "earlier" }, "Earlier") : null, ...rest, composer(data.lead.id)].filter(Boolean);
}

async function refreshThread() {
  if (!state.current) return;
  const data = await api(`/api/leads/${state.current}`);
  if (!data.cards) return;
  const box = $("#thread");
  const typing = $("#compose") ? $("#compose").value : "";
  const editing = box.querySelector("textarea[aria-label='edit the draft']");
  if (editing || $("#visit-form")) return; // never yank a draft or a visit time out from under someone typing it
  box.replaceChildren(...threadNodes(data));
  if (typing) $("#compose").value = typing;
}

async function loadMail() {
  const data = await api("/api/mail");
  const box = $("#mail"); box.replaceChildren();
  if (!data.mail || !data.mail.length) box.append(el("p", { class: "empty" }, "Nothing sent yet. Approved replies land here (the demo's local SMTP sink)."));
  for (const m of data.mail || []) {
    box.append(el("div", { class: "mailitem" }, el("strong", {}, m.subject),
      el("div", { class: "status" }, `To ${m.to} · from ${m.from} · ${m.when}`),
      el("div", { class: "status" }, `Message-ID ${m.message_id}${m.in_reply_to ? " · In-Reply-To " + m.in_reply_to : ""}`),
      el("pre", {}, m.body)));
  }
}

// Jobs: the queue at a glance, failed jobs with Retry / Drop; a banner when nothing can send.
async function loadJobs() {
  const data = await api("/api/jobs");
  const h = data.health || {};
  const alert = $("#jobs-alert");
  alert.hidden = !h.problem; alert.textContent = h.problem ? "⚠ " + h.problem : "";
  if ($("#jobs").hidden) return;
  const box = $("#jobs"); box.replaceChildren();
  const workers = h.workers === null || h.workers === undefined ? "" : ` · ${h.workers} worker(s) alive`;
  box.append(el("p", { class: "status", "data-health": "" },
    `Queue (${h.backend}): ${h.queued} queued · ${h.scheduled} scheduled · ${h.running} running · ${h.failed} failed${workers}`));
  if (!(data.failed || []).length) box.append(el("p", { class: "empty" }, "No failed jobs."));
  for (const f of data.failed || []) {
    const when = f.failed_when || "";
    const act = async (action) => {
      const r = await api(`/api/jobs/${encodeURIComponent(f.id)}/${action}`, {});
      if (r.ok) { toast(r.message); loadJobs(); }
    };
    box.append(el("div", { class: "mailitem", "data-job": f.id },
      el("strong", {}, `${f.job}(${f.args.join(", ")})`), el("div", { class: "status" }, `failed ${when}`),
      el("pre", {}, f.error),
      el("div", { class: "buttons" },
        el("button", { class: "act primary", onclick: () => act("retry") }, "Retry"),
        el("button", { class: "act danger", onclick: () => act("drop") }, "Drop"))));
  }
}

function showTab(which) {
  if (which !== "leads") document.body.classList.add("reading");
  else if (!state.current || !location.hash) document.body.classList.remove("reading");
  for (const t of ["leads", "numbers", "mail", "jobs"]) $(`#tab-${t}`).classList.toggle("active", which === t);
  $("#thread").hidden = which !== "leads"; $("#mail").hidden = which !== "mail"; $("#jobs").hidden = which !== "jobs";
  $("#numbers").hidden = which !== "numbers";
  if (which === "mail") loadMail();
  if (which === "jobs") loadJobs();
  if (which === "numbers") loadNumbers();
}

// Events come in bursts (one action logs several rows, for several leads). Every lead a burst
// touched is remembered, not only the last one's, so the open thread never misses its own update;
// one refresh follows 150 ms after the first event of a burst (a steady stream cannot postpone it).
const changed = new Set();
let pending = null;
function flushChanges() {
  pending = null;
  const leads = new Set(changed); changed.clear();
  loadLeads();
  if (state.current !== null && leads.has(state.current)) refreshThread();
  if (!$("#mail").hidden) loadMail();
  if (!$("#numbers").hidden) loadNumbers();
}
function live() {
  const src = new EventSource("/api/stream");
  src.onopen = () => $("#live").classList.add("on");
  src.onerror = () => $("#live").classList.remove("on");
  src.onmessage = (e) => {
    let ev;
    try { ev = JSON.parse(e.data); } catch { return; }
    if (ev.lead_id !== null && ev.lead_id !== undefined) changed.add(Number(ev.lead_id));
    if (pending === null) pending = setTimeout(flushChanges, 150);
  };
}

async function main() {
  state.me = await api("/api/me");
  $("#business").textContent = state.me.business || "";
  actorInput.value = localStorage.getItem("sheepdog-actor") || state.me.owner || "";
  actorInput.addEventListener("change", () => localStorage.setItem("sheepdog-actor", actorInput.value.trim()));
  $("#tab-leads").onclick = () => showTab("leads");
  $("#tab-mail").onclick = () => showTab("mail");
  $("#tab-jobs").onclick = () => showTab("jobs");
  $("#tab-numbers").onclick = () => showTab("numbers");
  $("#tab-mail").hidden = !state.me.demo_mail;  // only the demo's sink has mail to show here
  await loadLeads();
  loadJobs(); setInterval(loadJobs, 15000);
  const first = new URLSearchParams(location.search).get("lead") || (location.hash.match(/^#lead-(\d+)$/) || [])[1];
  if (first) openLead(Number(first), false);
  window.addEventListener("popstate", () => {
    const m = location.hash.match(/^#lead-(\d+)$/);
    if (m) openLead(Number(m[1]), false);
    else document.body.classList.remove("reading", "has-bar");
  });
  live();
}
main();
