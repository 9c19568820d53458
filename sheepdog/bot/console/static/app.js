// Sheepdog console: leads by stage, one thread per lead, live over Server-Sent Events.
"use strict";
const $ = (sel, el = document) => el.querySelector(sel);
const state = { leads: [], current: null, me: null };
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

async function loadLeads() {
  const data = await api("/api/leads");
  state.leads = data.leads || [];
  const box = $("#leads"); box.replaceChildren();
  if (!state.leads.length) box.append(el("p", { class: "empty", style: "padding:1rem" }, "No leads yet. Post the web form and one appears here."));
  for (const stage of data.stages || []) {
    const rows = state.leads.filter(l => l.stage === stage);
    if (!rows.length) continue;
    box.append(el("h3", {}, `${stage.replace("_", " ")} · ${rows.length}`));
    for (const l of rows) {
      box.append(el("button", { class: "lead" + (l.id === state.current ? " sel" : ""), "data-lead": l.id, onclick: () => openLead(l.id) },
        el("div", { class: "who" }, l.grade ? el("span", { class: `grade g-${l.grade}` }, l.grade) : null, l.name),
        el("div", { class: "sub" }, `${l.channel} · ${(l.category || "").replace("_", " ")}${l.owner ? " · " + l.owner : ""}`),
        l.needs_attention ? el("div", { class: "attn" }, "⚑ " + l.needs_attention) : null));
    }
  }
}

function fieldList(fields) {
  return el("dl", { class: "fields" }, fields.map(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
}

function renderCard(c) {
  const node = el("article", { class: `card ${c.kind}`, "data-card": c.key, "data-state": c.extra.state || "" },
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

function toolbar(lead) {
  const b = (label, action, body) => el("button", { class: "act", onclick: async () => {
    const r = await api(`/api/leads/${lead.id}/${action}`, body ? body() : {}); if (r.ok) { toast(r.message); refreshThread(); }
  } }, label);
  return el("div", { class: "toolbar" },
    lead.owner === actor() ? b("Release", "unclaim") : b("✋ Claim", "claim"),
    b("Visit scheduled", "stage", () => ({ stage: "visit_scheduled" })),
    b("Quoted", "stage", () => ({ stage: "quoted" })),
    b("Won…", "won", () => ({ amount: prompt("Value won (optional)") || "" })),
    b("Lost…", "lost", () => ({ reason: prompt("Why was it lost?") || "" })));
}

async function openLead(id) {
  state.current = id;
  document.querySelectorAll(".lead").forEach(n => n.classList.toggle("sel", Number(n.dataset.lead) === id));
  await refreshThread();
}

async function refreshThread() {
  if (!state.current) return;
  const data = await api(`/api/leads/${state.current}`);
  if (!data.cards) return;
  const box = $("#thread");
  const typing = $("#compose") ? $("#compose").value : "";
  const editing = box.querySelector("textarea[aria-label='edit the draft']");
  if (editing) return; // never yank a draft out from under someone editing it
  box.replaceChildren(toolbar(data.lead), ...data.cards.map(renderCard), composer(data.lead.id));
  if (typing) $("#compose").value = typing;
}

async function loadMail() {
  const data = await api("/api/mail");
  const box = $("#mail"); box.replaceChildren();
  if (!data.mail || !data.mail.length) box.append(el("p", { class: "empty" }, "Nothing sent yet. Approved replies land here (the demo's local SMTP sink)."));
  for (const m of data.mail || []) {
    box.append(el("div", { class: "mailitem" }, el("strong", {}, m.subject),
      el("div", { class: "status" }, `To ${m.to} · from ${m.from} · ${new Date(m.at).toLocaleString()}`),
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
    const when = f.failed_at ? new Date(f.failed_at).toLocaleString() : "";
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
  for (const t of ["leads", "mail", "jobs"]) $(`#tab-${t}`).classList.toggle("active", which === t);
  $("#thread").hidden = which !== "leads"; $("#mail").hidden = which !== "mail"; $("#jobs").hidden = which !== "jobs";
  if (which === "mail") loadMail();
  if (which === "jobs") loadJobs();
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
  $("#tab-mail").hidden = !state.me.demo_mail;  // only the demo's sink has mail to show here
  await loadLeads();
  loadJobs(); setInterval(loadJobs, 15000);
  const first = new URLSearchParams(location.search).get("lead");
  if (first) openLead(Number(first));
  live();
}
main();
