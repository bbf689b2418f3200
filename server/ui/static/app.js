// Shearch fleet report. Plain JavaScript, no framework, no build step.
// Every string that comes from a node goes into the page through
// textContent or an attribute, never through innerHTML: an attribute
// holding markup shows as text.
"use strict";

(function () {
  const TOKEN_KEY = "shearch.token";
  const $ = (id) => document.getElementById(id);

  // el builds an element with text content only.
  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function list(s) {
    return (s || "").split(",").map((x) => x.trim()).filter((x) => x !== "");
  }

  // cellText renders a value as Shearch's facets and CSV do.
  function cellText(v) {
    if (v === null || v === undefined) return "";
    if (typeof v === "string") return v;
    return JSON.stringify(v);
  }

  function token() {
    return sessionStorage.getItem(TOKEN_KEY) || "";
  }

  function headers(extra) {
    const h = Object.assign({ Accept: "application/json" }, extra || {});
    const t = token();
    if (t) h.Authorization = "Bearer " + t;
    return h;
  }

  function showError(msg) {
    const e = $("error");
    e.textContent = msg;
    e.hidden = !msg;
  }

  async function api(method, path, params, body) {
    const url = path + (params ? "?" + params.toString() : "");
    const init = { method: method, headers: headers(body ? { "Content-Type": "application/json" } : null), cache: "no-store" };
    if (body) init.body = JSON.stringify(body);
    const res = await fetch(url, init);
    let data = null;
    try { data = await res.json(); } catch (e) { data = null; }
    if (!res.ok) {
      let msg = data && data.error ? data.error.join("; ") : "HTTP " + res.status;
      if (res.status === 401) msg = "Shearch asks for a token: type it above and press \"Keep for this session\". (" + msg + ")";
      throw new Error(path + ": " + msg);
    }
    return data;
  }

  // state is the view, read from the form; the URL's query string holds
  // it too, so a link reproduces the view.
  function state() {
    return {
      index: $("index").value.trim() || "node",
      q: $("q").value.trim(),
      attrs: list($("attrs").value),
      facets: list($("facets").value),
      by: $("by").value.trim(),
      stack: $("stack").value.trim(),
      shards: $("shards").value.trim(),
      rows: $("rows").value,
      cursor: $("cursor").value,
    };
  }

  function viewURL(st) {
    const p = new URLSearchParams();
    p.set("index", st.index);
    if (st.q) p.set("q", st.q);
    if (st.attrs.length) p.set("attrs", st.attrs.join(","));
    if (st.facets.length) p.set("facets", st.facets.join(","));
    if (st.by) p.set("by", st.by);
    if (st.stack) p.set("stack", st.stack);
    if (st.shards) p.set("shards", st.shards);
    if (st.rows) p.set("rows", st.rows);
    if (st.cursor) p.set("cursor", st.cursor);
    return "/ui/?" + p.toString();
  }

  function searchParams(st) {
    const p = new URLSearchParams();
    p.set("q", st.q || "*:*");
    if (st.stack) p.set("stack", st.stack);
    if (st.shards) p.set("shards", st.shards);
    return p;
  }

  function partialBody(attrs) {
    const b = {};
    for (const a of attrs) b[a] = a.split(".");
    return b;
  }

  let running = 0;
  // trail holds the cursors of the pages before this one, for Previous.
  const trail = [];

  async function run(push) {
    const st = state();
    if (push) history.pushState(null, "", viewURL(st));
    else history.replaceState(null, "", viewURL(st));
    showError("");
    const my = ++running;
    document.body.dataset.state = "loading";
    updateDownloads(st);
    const jobs = [runSearch(st, my)];
    if (st.facets.length) jobs.push(runFacets(st, my));
    else clear($("facet-list"));
    const results = await Promise.allSettled(jobs);
    if (my !== running) return;
    const failed = results.filter((r) => r.status === "rejected").map((r) => r.reason.message);
    showError(failed.join("\n"));
    document.body.dataset.state = failed.length ? "error" : "done";
  }

  async function runSearch(st, my) {
    const p = searchParams(st);
    p.set("rows", st.rows || "50");
    if (st.cursor) p.set("cursor", st.cursor);
    // A partial search brings only the shown columns (and the name).
    const res = await api("POST", "/v1/search/" + encodeURIComponent(st.index), p, partialBody(st.attrs));
    if (my !== running) return;
    renderRows(st, res);
    renderShards(res.shards);
    renderDuplicates(res.duplicates || []);
  }

  function renderRows(st, res) {
    const table = $("rows-table");
    const head = table.tHead, body = table.tBodies[0];
    clear(head); clear(body);
    const hr = document.createElement("tr");
    for (const c of ["name", "shard", "source"]) hr.appendChild(el("th", c));
    for (const a of st.attrs) {
      const th = el("th", a);
      const b = el("button", "bars", "facet-btn");
      b.type = "button";
      b.title = "Show facet bars for " + a;
      b.dataset.attr = a;
      b.addEventListener("click", () => addFacet(a));
      th.appendChild(document.createTextNode(" "));
      th.appendChild(b);
      hr.appendChild(th);
    }
    head.appendChild(hr);
    for (const r of res.rows) {
      const tr = document.createElement("tr");
      tr.dataset.name = r.name;
      if (r.source === "consul") tr.className = "consul";
      tr.appendChild(el("td", r.name, "name"));
      tr.appendChild(el("td", r.shard));
      tr.appendChild(el("td", r.source, r.source === "consul" ? "src-consul" : ""));
      for (const a of st.attrs) tr.appendChild(el("td", cellText(r.data ? r.data[a] : null)));
      body.appendChild(tr);
    }
    $("total").textContent = res.total + " rows" + (res.cached ? " (cached)" : "");
    $("page-info").textContent = res.rows.length + " on this page" + (st.cursor ? "" : " (the first)");
    $("first").disabled = !st.cursor;
    $("prev").disabled = !st.cursor;
    const next = $("next");
    next.disabled = !res.next_cursor;
    next.dataset.cursor = res.next_cursor || "";
  }

  function renderShards(sum) {
    const body = $("shards-table").tBodies[0];
    clear(body);
    $("shards-summary").textContent = sum ? sum.ok + "/" + sum.total + " answered from Chef" : "";
    for (const d of (sum && sum.details) || []) {
      const tr = document.createElement("tr");
      tr.dataset.shard = d.name;
      tr.className = "st-" + d.status;
      tr.appendChild(el("td", d.name));
      tr.appendChild(el("td", d.status));
      tr.appendChild(el("td", d.rows));
      tr.appendChild(el("td", d.fallback_rows || 0));
      tr.appendChild(el("td", d.took_ms + " ms"));
      let why = d.error || "";
      if (d.unchecked && d.unchecked.length) why += (why ? "; " : "") + "could not check " + d.unchecked.join(", ");
      tr.appendChild(el("td", why, "why"));
      body.appendChild(tr);
    }
  }

  function renderDuplicates(dups) {
    const box = $("duplicates");
    clear(box);
    if (!dups.length) return;
    box.appendChild(el("h3", dups.length + " object(s) on more than one shard"));
    const ul = document.createElement("ul");
    for (const d of dups) {
      ul.appendChild(el("li", d.name + ": kept the copy on " + d.kept + ", stale on " + (d.stale || []).join(", ") + (d.differs ? " (copies differ)" : "")));
    }
    box.appendChild(ul);
  }

  function addFacet(a) {
    const fs = list($("facets").value);
    if (!fs.includes(a)) fs.push(a);
    $("facets").value = fs.join(",");
    const st = state();
    history.replaceState(null, "", viewURL(st));
    showError("");
    runFacets(st, running).catch((e) => showError(e.message));
  }

  async function runFacets(st, my) {
    const p = searchParams(st);
    for (const a of st.facets) p.append("attr", a);
    if (st.by) p.set("by", st.by);
    const res = await api("GET", "/v1/facets/" + encodeURIComponent(st.index), p);
    if (my !== running) return;
    renderFacets(st, res);
  }

  function renderFacets(st, res) {
    const box = $("facet-list");
    clear(box);
    $("facets-hint").hidden = true;
    // Split by a group: a grid of stacked bars (report.js).
    if (st.by) return window.ShearchReport.grid(box, st, res);
    for (const a of st.facets) {
      const f = res.facets[a];
      if (!f) continue;
      const sec = el("div", null, "facet");
      sec.dataset.facet = a;
      sec.appendChild(el("h3", a));
      const entries = Object.keys(f.values).map((v) => [v, f.values[v]]);
      entries.sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
      if (f.missing) entries.push([null, f.missing]);
      const table = el("table", null, "bars");
      const max = entries.reduce((m, e) => Math.max(m, e[1]), 0) || 1;
      for (const [v, n] of entries) {
        const tr = document.createElement("tr");
        tr.dataset.value = v === null ? "" : v;
        tr.dataset.count = n;
        if (v === null) tr.className = "missing";
        tr.appendChild(el("td", v === null ? "(missing)" : v, "value"));
        const barCell = el("td", null, "barcell");
        const bar = el("div", null, "bar");
        // Setting style through the CSSOM is allowed by the page's CSP.
        bar.style.width = (100 * n / max).toFixed(1) + "%";
        barCell.appendChild(bar);
        tr.appendChild(barCell);
        tr.appendChild(el("td", n, "count"));
        tr.appendChild(el("td", res.total ? (100 * n / res.total).toFixed(1) + "%" : "", "share"));
        table.appendChild(tr);
      }
      sec.appendChild(table);
      const note = res.total + " rows";
      sec.appendChild(el("p", f.truncated ? note + "; " + f.other + " values past the kept " + Object.keys(f.values).length + " not shown" : note, "muted"));
      box.appendChild(sec);
    }
  }

  function exportURL(st, format) {
    const p = searchParams(st);
    for (const a of st.attrs) p.append("attr", a);
    p.set("format", format);
    return "/v1/export/" + encodeURIComponent(st.index) + "?" + p.toString();
  }

  function updateDownloads(st) {
    for (const f of ["csv", "ndjson"]) {
      const a = $("dl-" + f);
      a.href = exportURL(st, f);
      a.setAttribute("download", "shearch-" + st.index + "." + f);
    }
  }

  // With a token the download goes through fetch, so the token rides in
  // a header and never in a URL; without one the browser streams it.
  async function download(ev, format) {
    if (!token()) return;
    ev.preventDefault();
    const st = state();
    try {
      const res = await fetch(exportURL(st, format), { headers: headers({ Accept: "*/*" }) });
      if (!res.ok) throw new Error("download: HTTP " + res.status);
      const blob = await res.blob();
      const a = document.createElement("a");
      a.href = URL.createObjectURL(blob);
      a.download = "shearch-" + st.index + "." + format;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 10000);
    } catch (e) {
      showError(e.message);
    }
  }

  async function drift() {
    const out = $("drift-out");
    clear(out);
    out.appendChild(el("p", "checking...", "muted"));
    const p = new URLSearchParams();
    const stack = $("stack").value.trim();
    if (stack) p.set("stack", stack);
    try {
      const rep = await api("GET", "/v1/consistency", p);
      clear(out);
      out.className = "";
      out.appendChild(el("p", rep.checked + " objects checked in stack " + rep.stack + "; " + rep.drift.length + " drift.", rep.drift.length ? "warn" : "ok"));
      const failed = ((rep.shards && rep.shards.details) || []).filter((d) => d.status !== "ok");
      for (const d of failed) out.appendChild(el("p", "shard " + d.name + " left out: " + d.error, "warn"));
      const ul = document.createElement("ul");
      for (const d of rep.drift) {
        const li = el("li", d.kind + " " + d.name);
        const sub = document.createElement("ul");
        for (const v of d.versions) {
          let t = v.shards.join(", ") + " (" + v.hash.slice(0, 8) + ")";
          if (v.differing_keys && v.differing_keys.length) t += " differs in " + v.differing_keys.join(", ");
          sub.appendChild(el("li", t));
        }
        if (d.missing && d.missing.length) sub.appendChild(el("li", "missing on " + d.missing.join(", "), "warn"));
        li.appendChild(sub);
        ul.appendChild(li);
      }
      out.appendChild(ul);
    } catch (e) {
      clear(out);
      out.appendChild(el("p", e.message, "warn"));
    }
  }

  function showTokenState() {
    $("token-state").textContent = token() ? "token kept for this browser session" : "no token";
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("search").addEventListener("submit", (ev) => {
      ev.preventDefault();
      trail.length = 0;
      $("cursor").value = "";
      run(true);
    });
    $("next").addEventListener("click", () => {
      trail.push($("cursor").value);
      $("cursor").value = $("next").dataset.cursor || "";
      run(true);
    });
    $("first").addEventListener("click", () => {
      trail.length = 0;
      $("cursor").value = "";
      run(true);
    });
    $("prev").addEventListener("click", () => {
      $("cursor").value = trail.length ? trail.pop() : "";
      run(true);
    });
    $("dl-csv").addEventListener("click", (ev) => download(ev, "csv"));
    $("dl-ndjson").addEventListener("click", (ev) => download(ev, "ndjson"));
    $("drift-run").addEventListener("click", drift);
    $("token-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const t = $("token").value.trim();
      if (t) sessionStorage.setItem(TOKEN_KEY, t);
      $("token").value = "";
      showTokenState();
      run(false);
    });
    $("token-forget").addEventListener("click", () => {
      sessionStorage.removeItem(TOKEN_KEY);
      showTokenState();
    });
    window.addEventListener("popstate", () => {
      const p = new URLSearchParams(location.search);
      $("index").value = p.get("index") || "node";
      $("q").value = p.get("q") || "";
      $("attrs").value = p.get("attrs") || "";
      $("facets").value = p.get("facets") || "";
      $("by").value = p.get("by") || "";
      $("stack").value = p.get("stack") || "";
      $("shards").value = p.get("shards") || "";
      $("rows").value = p.get("rows") || "50";
      $("cursor").value = p.get("cursor") || "";
      run(false);
    });
    showTokenState();
    run(false);
    loadIndexes();
    window.ShearchReport.init();
  });

  // report.js (the facet grid, rollout and pins) uses these.
  window.ShearchUI = { el: el, clear: clear, list: list, api: api, state: state, run: run, showError: showError };

  // Data bags are search indexes too; offer the ones Shearch knows.
  async function loadIndexes() {
    try {
      const bags = await api("GET", "/data", null);
      const dl = $("indexes");
      for (const name of Object.keys(bags || {}).sort()) {
        const o = document.createElement("option");
        o.value = name;
        dl.appendChild(o);
      }
    } catch (e) {
      // The picker still takes any index typed in.
    }
  }
})();
