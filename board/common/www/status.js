// keeplite status page: fetches the CGI's copy of `keeplite status --json` (schema 1,
// docs/status.md) every 2 s and redraws. Names come from the configuration, so every value
// goes in through textContent or attributes, never as HTML.
"use strict";

const URL_STATUS = "cgi-bin/status";
const PERIOD_MS = 2000;
// The CLI gives up on the daemon after 5 s: a fetch still open after 8 s is stuck.
const TIMEOUT_MS = 8000;

// el("td", {class: "num"}, "12"): an element with attributes and children (strings
// become text nodes; null and undefined attributes are left out).
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== null && v !== undefined) e.setAttribute(k, String(v));
  }
  for (const c of children) {
    e.append(c instanceof Node ? c : document.createTextNode(c === null || c === undefined ? "" : String(c)));
  }
  return e;
}

// Seconds as the CLI table shows them: 45s, 3m05s, 1h02m, 1d02h.
function duration(s) {
  if (typeof s !== "number") return "-";
  const pad = (n) => String(n).padStart(2, "0");
  if (s < 60) return s + "s";
  if (s < 3600) return Math.floor(s / 60) + "m" + pad(s % 60) + "s";
  if (s < 86400) return Math.floor(s / 3600) + "h" + pad(Math.floor(s / 60) % 60) + "m";
  return Math.floor(s / 86400) + "d" + pad(Math.floor(s / 3600) % 24) + "h";
}

// A number, or "-" when the daemon says null (not in the kernel table, not known).
function num(v) {
  return typeof v === "number" ? String(v) : "-";
}

function badge(word) {
  const w = String(word || "unknown");
  return el("span", { class: "badge " + w, "data-field": "badge" }, w.toUpperCase());
}

function vrrpRow(v) {
  let hold = [];
  if (v.held) hold.push("held");
  if (v.yield_left > 0) hold.push("yield " + duration(v.yield_left) + " left");
  return el("tr", {
      "data-instance": v.name, "data-state": v.state, "data-master": v.master || "",
      "data-priority": v.priority, "data-held": String(!!v.held), "data-yield-left": v.yield_left,
    },
    el("td", {}, v.name),
    el("td", {}, v.interface + " / " + v.vrid + " (v" + v.version + ")"),
    el("td", { "data-field": "state" }, badge(v.state)),
    el("td", { class: "num", "data-field": "priority" },
       v.priority + (v.priority !== v.base_priority ? " (base " + v.base_priority + ")" : "")),
    el("td", { "data-field": "master" }, v.master || "unknown"),
    el("td", {}, (v.vips || []).join(", ")),
    el("td", { class: "num" }, duration(v.since)),
    el("td", { class: "num" }, num(v.transitions)),
    el("td", { "data-field": "hold" }, hold.length ? hold.join(", ") : "-"));
}

function checkText(c) {
  if (!c) return "no check yet";
  return c.result + " (" + c.latency_ms + " ms, " + duration(c.age) + " ago)";
}

function realRow(r) {
  const k = r.kernel;
  const weight = r.drained ? r.weight + " (drained)" : String(r.weight);
  return el("tr", {
      "data-real-server": r.name, "data-health": r.health, "data-weight": r.weight,
      "data-kernel-weight": r.kernel_weight === null ? "" : r.kernel_weight,
      "data-check": r.check ? r.check.result : "",
    },
    el("td", {}, r.name),
    el("td", {}, (r.address.includes(":") ? "[" + r.address + "]" : r.address) + ":" + r.port),
    el("td", { "data-field": "health" }, badge(r.health)),
    el("td", { class: "num" }, weight),
    el("td", { class: "num" }, num(r.kernel_weight)),
    el("td", { "data-field": "check" }, checkText(r.check)),
    el("td", { class: "num" }, k ? k.active_conns : "-"),
    el("td", { class: "num" }, k ? k.inactive_conns : "-"),
    el("td", { class: "num" }, k ? k.conns : "-"),
    el("td", { class: "num" }, k ? k.in_bytes + " / " + k.out_bytes : "-"));
}

function service(vs) {
  const head = el("tr", {},
    ...["Real server", "Address", "Health", "Weight wanted", "Weight in kernel", "Last check",
        "Active", "Inactive", "Connections", "Bytes in / out"].map((h) => el("th", {}, h)));
  return el("section", { "data-virtual-server": vs.name, "data-service": vs.service, "data-quorum": vs.quorum },
    el("h3", {}, vs.name + ": " + vs.service + " ", el("span", { class: "muted" },
       vs.scheduler + ", " + vs.forward + ", quorum " + vs.quorum)),
    el("table", {}, el("thead", {}, head), el("tbody", {}, ...(vs.real_servers || []).map(realRow))));
}

function render(s) {
  const rid = document.getElementById("router-id");
  rid.textContent = "on " + s.router_id;
  rid.dataset.routerId = s.router_id;
  document.title = "keeplite on " + s.router_id;
  document.getElementById("summary").textContent = "version " + s.version + ", up " +
    duration(s.uptime) + ", IPVS " + s.ipvs + ", " + s.probes + " probe(s); updated " +
    new Date().toLocaleTimeString();
  document.querySelector("#vrrp tbody").replaceChildren(...(s.vrrp || []).map(vrrpRow));
  const ipvs = document.getElementById("ipvs");
  ipvs.dataset.ipvs = s.ipvs;
  ipvs.hidden = s.ipvs !== "unavailable";
  const services = (s.virtual_servers || []).map(service);
  if (!services.length) services.push(el("p", { class: "muted" }, "No virtual services configured."));
  document.getElementById("services").replaceChildren(...services);
}

// The banner says why there is no fresh status; the last good one stays, greyed out.
function showError(text) {
  const banner = document.getElementById("error");
  banner.textContent = "No status from keeplite: " + text;
  banner.dataset.error = text;
  banner.hidden = false;
  document.body.classList.add("stale");
  if (document.body.dataset.loaded === "0") {
    document.getElementById("summary").textContent = "No status received yet.";
  }
}

function clearError() {
  const banner = document.getElementById("error");
  banner.hidden = true;
  banner.dataset.error = "";
  document.body.classList.remove("stale");
}

async function refresh() {
  try {
    const res = await fetch(URL_STATUS, { cache: "no-store", signal: AbortSignal.timeout(TIMEOUT_MS) });
    let body;
    try {
      body = await res.json();
    } catch (e) {
      throw new Error("HTTP " + res.status + ", not JSON");
    }
    if (!res.ok || !body || body.ok !== true) {
      throw new Error((body && body.error) || "HTTP " + res.status);
    }
    if (body.schema !== 1) throw new Error("unknown status schema " + body.schema + " (this page reads 1)");
    render(body);
    clearError();
    document.body.dataset.loaded = String(Number(document.body.dataset.loaded) + 1);
  } catch (e) {
    showError(e.message || String(e));
  } finally {
    document.body.dataset.fetches = String(Number(document.body.dataset.fetches || 0) + 1);
  }
}

// The next fetch is timed from the end of the last one, so a slow daemon never has
// requests piling up.
async function loop() {
  await refresh();
  setTimeout(loop, PERIOD_MS);
}

loop();
