// The citizens' status page: asks /api/public/status for one request and shows its state, in Indonesian and English.
"use strict";

const $ = (id) => document.getElementById(id);
const DONE = new Set(["COLLECTED"]);
const STOPPED = new Set(["REJECTED", "DUPLICATE_RECORD", "ENROLL_FAILURE_AT_CENTRAL", "PARKED"]);

function show(id, text) { $(id).textContent = text; }

function showAnswer(answer) {
  $("problem").hidden = true;
  const badge = $("state-badge");
  badge.textContent = answer.state;
  badge.className = "badge" + (DONE.has(answer.state) ? " done" : STOPPED.has(answer.state) ? " stopped" : "");
  show("explanation-id", answer.explanation_id);
  show("explanation-en", answer.explanation_en);
  const updated = $("updated-at");
  updated.dateTime = answer.updated_at;
  updated.textContent = new Date(answer.updated_at).toLocaleString("id-ID");
  $("answer").hidden = false;
  showNotice(answer.office_notice);
}

function showNotice(notice) {
  if (!notice) return;
  show("notice-id", notice.id);
  show("notice-en", notice.en);
  $("notice").hidden = false;
}

function showProblem(body) {
  $("answer").hidden = true;
  show("problem", (body.message_id || "Tidak dapat memeriksa sekarang.") + " · " +
    (body.message_en || "Cannot check right now."));
  $("problem").hidden = false;
}

async function lookUp(event) {
  event.preventDefault();
  const query = new URLSearchParams({ request_id: $("request-id").value.trim(), birth_date: $("birth-date").value });
  try {
    const response = await fetch("/api/public/status?" + query.toString(), { headers: { Accept: "application/json" } });
    const body = await response.json();
    if (response.ok) showAnswer(body); else showProblem(body);
  } catch (error) {
    showProblem({});
  }
}

document.addEventListener("DOMContentLoaded", () => $("lookup").addEventListener("submit", lookUp));
