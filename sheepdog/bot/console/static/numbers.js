// Sheepdog console, the Numbers tab: metrics over a period against the one before, the pipeline by
// stage (stuck leads open their thread), and the weekly reports as posted. Every figure comes from
// the server (/api/metrics, /api/pipeline, /api/reports); this file only lays them out.
"use strict";
const numbers = { period: "7d", report: null };

function periodQuery() {
  if (numbers.period !== "custom") return `period=${encodeURIComponent(numbers.period)}`;
  return `from=${encodeURIComponent($("#range-from").value)}&to=${encodeURIComponent($("#range-to").value)}`;
}

function pickPeriod(which) {
  numbers.period = which;
  document.querySelectorAll("#numbers .chip").forEach(b => b.classList.toggle("active", b.dataset.period === which));
  $("#range").hidden = which !== "custom";
  if (which === "custom" && !($("#range-from").value && $("#range-to").value)) {
    // The days as the business counts them (its zone), like every time on the page.
    const day = (ms) => new Intl.DateTimeFormat("en-CA", { timeZone: (state.me && state.me.timezone) || undefined }).format(new Date(ms));
    const today = day(Date.now()), monthAgo = day(Date.now() - 29 * 86400e3);
    $("#range-from").value = monthAgo; $("#range-to").value = today;
  }
  loadMetrics();
}

function tile(m) {
  const change = m.change ? el("span", { class: "change" }, m.change) : null;
  return el("div", { class: "tile", "data-metric": m.key },
    el("div", { class: "label" }, m.label),
    el("div", { class: "value" }, m.now_text),
    el("div", { class: "was" }, `before ${m.before_text} `, change),
    m.note ? el("div", { class: "was" }, m.note) : null);
}

async function loadMetrics() {
  const data = await api(`/api/metrics?${periodQuery()}`);
  if (!data.metrics) return;
  $("#period-words").textContent =
    `${data.period.label} (${data.period.shown}) compared with ${data.before.label} (${data.before.shown}) · times in ${data.timezone}`;
  $("#metric-tiles").replaceChildren(...data.metrics.map(tile));
  const stages = data.conversion_by_stage.map(s => el("li", {},
    `${s.stage.replace("_", " ")}: ${s.reached} reached` + (s.reached ? `, ${s.rate_text} of them won` : ""), s.change ? el("span", { class: "change" }, ` ${s.change}`) : null));
  const cadences = data.opt_out_by_cadence.map(c => el("li", {}, `${c.cadence}: ${c.rate_text}`, c.change ? el("span", { class: "change" }, ` ${c.change}`) : null));
  $("#metric-more").replaceChildren(
    el("div", { class: "minor" }, el("h4", {}, "Conversion from each stage"), el("ul", {}, stages)),
    el("div", { class: "minor" }, el("h4", {}, "Opt-out rate per cadence"),
      cadences.length ? el("ul", {}, cadences) : el("p", { class: "empty" }, "No lead started a cadence in this period.")));
}

function leadButton(l, withReason) {
  const sub = [l.stage.replace("_", " "), l.owner ? "✋ " + l.owner : "unclaimed", l.score !== null && l.score !== undefined ? `score ${l.score}` : null].filter(Boolean).join(" · ");
  return el("button", { class: "plead" + (l.stuck ? " stuck" : ""), "data-lead": l.id, onclick: () => { showTab("leads"); openLead(l.id); } },
    el("span", { class: "who" }, l.title), el("span", { class: "sub" }, sub),
    withReason && l.stuck ? el("span", { class: "why" }, l.stuck) : null);
}

async function loadPipeline() {
  const p = await api("/api/pipeline");
  if (!p.stages) return;
  const box = $("#pipeline");
  // A live refresh keeps the stages a person opened open.
  const opened = new Set([...box.querySelectorAll("details[open]")].map(d => d.dataset.stage));
  box.replaceChildren();
  const open = p.stages.filter(s => s.count);
  if (!open.length) box.append(el("p", { class: "empty" }, "No open leads."));
  for (const st of open) {
    const owners = Object.entries(st.owners).map(([who, n]) => el("span", { class: "owner" }, `${who} ${n}`));
    const stuck = st.leads.filter(l => l.stuck).length;
    box.append(el("details", { class: "stage", "data-stage": st.stage, open: opened.has(st.stage) ? "" : null },
      el("summary", {},
        el("span", { class: "name" }, st.stage.replace("_", " ")),
        el("span", { class: "count" }, String(st.count)),
        st.value_text ? el("span", { class: "money" }, "≈ " + st.value_text) : null,
        stuck ? el("span", { class: "stuckn" }, `${stuck} stuck`) : null,
        el("span", { class: "owners" }, owners)),
      st.leads.map(l => leadButton(l, true))));
  }
  if (p.average_win_text) box.append(el("p", { class: "status" }, `≈ value: leads × the average win (${p.average_win_text})`));
  box.append(el("h4", { class: "stuckhead" }, `Stuck (${p.stuck.length})`));
  if (!p.stuck.length) box.append(el("p", { class: "empty" }, "Nothing is stuck."));
  else box.append(el("div", { class: "stucklist" }, p.stuck.map(l => leadButton(l, true))));
}

function showReport(r) {
  numbers.report = r.id;
  const box = $("#weekly-body");
  box.replaceChildren(
    el("p", { class: "status" }, `Posted ${r.when} · week of ${r.week}`),
    r.chart ? el("img", { class: "chart", src: r.chart, alt: `chart of the week of ${r.week}`, loading: "lazy" }) : null,
    el("ul", { class: "reportlines" }, r.lines.slice(1).map(line => el("li", {}, line))));
}

async function loadReports() {
  const data = await api("/api/reports");
  if (!data.reports) return;
  const box = $("#weekly"); box.replaceChildren();
  const next = data.weekly ? `Next report ${data.next_when} (${data.timezone}).` : "The weekly report is off ([reports] weekly = false).";
  if (!data.reports.length) {
    box.append(el("p", { class: "empty" }, `No weekly report yet. ${next}`));
    return;
  }
  const pick = data.reports.find(r => r.id === numbers.report) || data.reports[0];
  if (data.reports.length > 1) {
    const sel = el("select", { "aria-label": "week", onchange: (e) => showReport(data.reports.find(r => r.id === Number(e.target.value))) },
      data.reports.map(r => el("option", { value: r.id }, `week of ${r.week}`)));
    sel.value = String(pick.id);
    box.append(sel);
  }
  box.append(el("div", { id: "weekly-body" }), el("p", { class: "status" }, next));
  showReport(pick);
}

function loadNumbers() {
  return Promise.all([loadMetrics(), loadPipeline(), loadReports()]);
}

document.querySelectorAll("#numbers .chip").forEach(b => { b.onclick = () => pickPeriod(b.dataset.period); });
document.querySelector("#numbers .chip").classList.add("active");
$("#range").addEventListener("submit", (e) => { e.preventDefault(); loadMetrics(); });
