// The operators' dashboard: renders /api/stream's overviews, draws the backlog chart as SVG, sends the
// lookup (POST JSON, never in a URL) and the replay (with the operator's token in X-Ektp-Token).
// Everything is built with DOM calls and textContent: nothing the server sends is parsed as HTML.
"use strict";

const STEPS = [
  { id: "intake", label: "Perekaman", en: "Intake" },
  { id: "approval", label: "Persetujuan pusat", en: "Approval" },
  { id: "print", label: "Pencetakan", en: "Print" },
  { id: "pickup", label: "Pengambilan", en: "Pickup" },
  { id: "status", label: "Status permohonan", en: "Request status", apart: true },
];
const BACKLOG_STEPS = [
  { id: "intake", label: "perekaman", en: "intake" },
  { id: "approval", label: "persetujuan", en: "approval" },
  { id: "deadletter", label: "menunggu pusat", en: "dead letter" },
  { id: "parked", label: "diparkir", en: "parked" },
  { id: "print", label: "cetak", en: "print" },
  { id: "pickup", label: "pengambilan", en: "pickup" },
];
const SVG = "http://www.w3.org/2000/svg";
let latest = null;

function $(id) { return document.getElementById(id); }

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "class") node.className = value; else node.setAttribute(key, value);
  }
  for (const child of children) {
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function bilingual(id, en) { return [id + " ", el("span", { class: "en" }, en)]; }

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  const s = Math.round(seconds);
  if (s < 60) return s + " s";
  if (s < 3600) return Math.floor(s / 60) + " m " + (s % 60) + " s";
  if (s < 86400) return Math.floor(s / 3600) + " j " + Math.floor((s % 3600) / 60) + " m";
  return Math.floor(s / 86400) + " hari " + Math.floor((s % 86400) / 3600) + " j";
}

function clock(iso) { return iso ? new Date(iso).toLocaleString("id-ID") : "–"; }

function fillRows(tbody, rows) {
  tbody.replaceChildren(...rows.map((cells) => el("tr", {}, ...cells.map((c) => el("td", {}, c)))));
}

function renderFlow(overview) {
  const flow = $("flow");
  const parts = [];
  STEPS.forEach((step, index) => {
    if (index > 0) parts.push(el("div", { class: "arrow", "aria-hidden": "true" }, step.apart ? "·" : "→"));
    const box = el("div", { class: step.apart ? "step status" : "step", "data-step": step.id },
      el("h3", {}, ...bilingual(step.label, step.en)));
    if (!step.apart) {
      const waiting = (overview.backlog || {})[step.id] || 0;
      box.append(el("div", {}, el("span", { class: "waiting" }, waiting), " ", ...bilingual("menunggu", "waiting")));
    }
    for (const topic of overview.topics.filter((t) => t.step === step.id)) {
      box.append(el("div", { class: "topic", "data-topic": topic.name },
        el("span", { class: "name" }, topic.name),
        el("span", { class: "end-offset" }, topic.end_offset),
        el("span", { class: "rate" }, topic.rate.toFixed(1) + " /s"),
        el("span", { class: "lag" }, "lag " + topic.lag)));
    }
    parts.push(box);
  });
  flow.replaceChildren(...parts);
  fillRows($("lag-table").tBodies[0], overview.lag.filter((row) => row.lag > 0 || row.end_offset > 0)
    .map((row) => [row.group, row.topic, row.partition, row.committed, row.end_offset, row.lag]));
}

function renderLink(link) {
  const state = $("link-state");
  state.className = "badge " + link.state;
  state.replaceChildren(...(link.state === "up" ? bilingual("TERHUBUNG", "up")
    : link.state === "down" ? bilingual("TERPUTUS", "down") : ["?"]));
  $("link-since").textContent = clock(link.since);
  $("link-breaker").textContent = link.breaker || "?";
  $("link-history").replaceChildren(...link.history.map((change) =>
    el("li", {}, clock(change.at) + " · " + change.state + " · breaker " + (change.breaker || "?"))));
}

function renderWorkers(workers) {
  $("workers").replaceChildren(...(workers.length ? workers.map((worker) =>
    el("li", {}, worker.client_id + " (" + worker.host + "): " + (worker.partitions.length
      ? "partisi / partitions " + worker.partitions.join(", ") : "menunggu pembagian / being assigned")))
    : [el("li", {}, "tidak ada pekerja / no worker")]));
}

function renderDeadLetters(dlq, replay) {
  $("dlq-pending").textContent = dlq.pending;
  $("dlq-parked").textContent = dlq.parked;
  $("dlq-oldest").textContent = duration(dlq.oldest_waiting_seconds);
  const reasons = Object.entries(dlq.by_error);
  $("dlq-by-error").replaceChildren(...(reasons.length ? reasons.map(([reason, count]) => el("li", {}, reason + ": " + count))
    : [el("li", {}, ...bilingual("tidak ada", "none"))]));
  fillRows($("parked-table").tBodies[0], dlq.parked_records.map((r) => [r.request_id, r.reason, r.attempts, r.kecamatan_code]));
  if (replay && replay.total > 0) {
    const status = $("replay-status");
    if (!status.classList.contains("error")) {
      status.className = "ok";
      status.textContent = (replay.running ? "mengirim ulang / replaying " : "selesai / done ") + replay.sent + "/" + replay.total;
    }
  }
}

function renderStations(stations) {
  fillRows($("stations").tBodies[0], stations.map((s) => [
    s.id, s.blank_stock, s.prints_per_minute,
    s.forecast ? duration(s.forecast.seconds) + " (" + clock(s.forecast.at) + ")" : "– (tidak mencetak / idle)",
  ]));
}

function renderAlerts(alerts) {
  const list = alerts || [];
  $("no-alerts").hidden = list.length > 0;
  $("alerts").replaceChildren(...list.map((a) => el("li", { class: "alert " + a.severity, "data-alert": a.name },
    el("strong", {}, a.summary_id), " ", el("span", { class: "en" }, a.summary_en),
    el("div", { class: "since" }, "sejak / since " + clock(a.since)))));
}

function renderDesks(desks) {
  fillRows($("desks").tBodies[0], (desks || []).map((d) => [
    d.id, d.pending,
    d.oldest_waiting_s === null ? "–" : duration(d.oldest_waiting_s) + " (" + clock(d.oldest_pending_at) + ")",
    d.sent, duration(d.report_age_s) + " lalu / ago",
  ]));
}

function renderBacklog(overview) {
  $("backlog").replaceChildren(...BACKLOG_STEPS.map((step) => el("div", { "data-backlog": step.id },
    el("span", { class: "label" }, step.label + " ", el("span", { class: "en" }, step.en)),
    el("strong", {}, (overview.backlog || {})[step.id] || 0))));
  $("backlog-legend").replaceChildren(...BACKLOG_STEPS.map((step) =>
    el("li", {}, el("span", { class: "swatch s-" + step.id }), step.label + " / " + step.en)));
  drawChart($("backlog-chart"), overview.backlog_history || []);
}

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function drawChart(chart, history) {
  // One SVG unit per pixel of the chart's width, so lines and labels keep their size on any screen.
  const width = Math.max(300, Math.round(chart.getBoundingClientRect().width) || 800);
  const height = 220, left = 44, right = 10, top = 10, bottom = 24;
  chart.setAttribute("viewBox", "0 0 " + width + " " + height);
  const highest = Math.max(1, ...history.map((point) => Math.max(...Object.values(point.counts))));
  const x = (i) => left + (history.length < 2 ? 0 : (i * (width - left - right)) / (history.length - 1));
  const y = (v) => top + (height - top - bottom) * (1 - v / highest);
  const nodes = [
    svg("line", { class: "axis", x1: left, y1: y(0), x2: width - right, y2: y(0) }),
    svg("line", { class: "axis", x1: left, y1: top, x2: left, y2: y(0) }),
    svg("text", { class: "axis-label", x: 4, y: y(highest) + 10 }, highest),
    svg("text", { class: "axis-label", x: 4, y: y(0) }, "0"),
  ];
  if (history.length) {
    nodes.push(svg("text", { class: "axis-label", x: left, y: height - 6 }, clock(history[0].at)));
    nodes.push(svg("text", { class: "axis-label", x: width - right, y: height - 6, "text-anchor": "end" },
      clock(history[history.length - 1].at)));
  }
  for (const step of BACKLOG_STEPS) {
    const points = history.map((point, i) => x(i).toFixed(1) + "," + y(point.counts[step.id] || 0).toFixed(1));
    if (points.length) nodes.push(svg("polyline", { class: "series s-" + step.id, points: points.join(" "), "data-series": step.id }));
  }
  chart.replaceChildren(...nodes);
}

function renderStuck(stuck) {
  $("stuck-after").textContent = duration(stuck.after_seconds);
  $("stuck-count").textContent = stuck.count;
  fillRows($("stuck").tBodies[0], stuck.requests.map((r) =>
    [r.request_id, r.step, r.state, duration(r.waiting_seconds), r.nik_masked || "–"]));
}

function render(overview) {
  latest = overview;
  $("generated-at").textContent = clock(overview.generated_at);
  $("request-count").textContent = overview.requests;
  renderFlow(overview);
  renderLink(overview.central_link);
  renderWorkers(overview.workers || []);
  renderDeadLetters(overview.dlq, overview.replay);
  $("unreadable").textContent = overview.unreadable ?? "–";
  renderStations(overview.stations);
  renderDesks(overview.desks);
  renderAlerts(overview.alerts);
  renderBacklog(overview);
  renderStuck(overview.stuck);
}

function setLive(live) {
  const badge = $("live-state");
  badge.className = "badge " + (live ? "live" : "lost");
  badge.replaceChildren(...(live ? bilingual("LANGSUNG", "live") : bilingual("terputus", "reconnecting")));
}

function connect() {
  const source = new EventSource("/api/stream");
  source.addEventListener("overview", (event) => { setLive(true); render(JSON.parse(event.data)); });
  source.addEventListener("error", () => setLive(false));
}

async function postJson(path, body, headers) {
  const response = await fetch(path, {
    method: "POST", credentials: "same-origin", cache: "no-store", referrerPolicy: "no-referrer",
    headers: Object.assign({ "Content-Type": "application/json" }, headers || {}), body: JSON.stringify(body),
  });
  let payload = {};
  try { payload = await response.json(); } catch (_ignored) { payload = {}; }
  return { status: response.status, payload };
}

async function replay(event) {
  event.preventDefault();
  const status = $("replay-status");
  const token = $("token").value.trim();
  if (!token) { status.className = "error"; status.textContent = "isi token / enter the token"; return; }
  status.className = "";
  status.textContent = "…";
  const { status: code, payload } = await postJson("/api/replay", { parked: $("replay-parked").checked },
    { "X-Ektp-Token": token });
  if (code === 202) {
    status.className = "ok";
    status.textContent = "mengirim ulang / replaying 0/" + payload.replaying;
  } else {
    status.className = "error";
    status.textContent = code === 401 ? "token salah / wrong token" : (payload.error || "gagal / failed " + code);
  }
}

function renderRequest(request) {
  return el("div", { class: "request", "data-request": request.request_id },
    el("div", {}, el("span", { class: "state" }, request.state), " · ", request.request_id,
      " · NIK ", request.nik_masked || "–", " · kantor/office ", request.office_code || "–"),
    el("div", {}, request.explanation_id), el("div", { class: "en" }, request.explanation_en),
    el("ol", { class: "timeline" }, ...request.timeline.map((entry) =>
      el("li", {}, clock(entry.at) + " · " + entry.state + (entry.note ? " · " + entry.note : "")))));
}

async function lookup(event) {
  event.preventDefault();
  const input = $("lookup-query");
  const query = input.value.trim();
  const status = $("lookup-status");
  if (/^\d{16}$/.test(query)) input.value = "";  // a NIK does not stay on the screen
  const { status: code, payload } = await postJson("/api/lookup", { query });
  if (code !== 200) {
    status.className = "error";
    status.textContent = payload.error || "gagal / failed " + code;
    $("lookup-results").replaceChildren();
    return;
  }
  status.className = "ok";
  status.textContent = payload.requests.length + " ditemukan / found";
  $("lookup-results").replaceChildren(...payload.requests.map(renderRequest));
}

document.addEventListener("DOMContentLoaded", () => {
  $("replay-form").addEventListener("submit", replay);
  $("lookup-form").addEventListener("submit", lookup);
  connect();
});
