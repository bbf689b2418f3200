// Shearch fleet report: the facet grid split by a group, rollout progress
// and the environment pin matrix. Like app.js, every value from a node or
// a shard goes into the page as text (textContent, title), never markup.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const PALETTE = ["#2f6fb0", "#e08a2b", "#3a9a5b", "#b3476b", "#7b5fb8", "#4aa3a3", "#a8892f", "#6b7a89"];

  // queryKey is the key Chef search matches an attribute path under: the
  // levels joined by underscores.
  function queryKey(path) {
    return path.split(".").join("_");
  }

  // quoted is a Chef query phrase: the value between double quotes, with
  // backslash and quote escaped, so no value can change the query.
  function quoted(v) {
    return '"' + String(v).replace(/[\\"]/g, (c) => "\\" + c) + '"';
  }

  function clause(path, v) {
    return v === null ? "NOT " + queryKey(path) + ":*" : queryKey(path) + ":" + quoted(v);
  }

  // drill searches for the nodes of one segment: the group and the value
  // added to the view's query (by=shard narrows the shards instead).
  function drill(st, by, group, attr, value) {
    const ui = window.ShearchUI;
    const parts = [];
    if (st.q && st.q !== "*:*") parts.push("(" + st.q + ")");
    if (by === "shard") {
      if (group !== null) $("shards").value = group;
    } else {
      parts.push(clause(by, group));
    }
    parts.push(clause(attr, value));
    $("q").value = parts.join(" AND ");
    $("cursor").value = "";
    ui.run(true);
  }

  function colorOf(colors, v) {
    if (!colors.has(v)) colors.set(v, v === null ? "#c3c9cf" : PALETTE[colors.size % PALETTE.length]);
    return colors.get(v);
  }

  // grid draws, for each counted attribute, one row per group with a
  // stacked bar of the group's values; a click on a segment searches for
  // those nodes.
  function grid(box, st, res) {
    const el = window.ShearchUI.el;
    const by = st.by;
    const byMap = res.by || {};
    // Groups in byte order of their names (code-point order agrees for
    // what Chef names hold); rows without the attribute, then the rows of
    // groups past the bound, last.
    const names = Object.keys(byMap).filter((g) => g !== "").sort();
    const groups = names.map((g) => Object.assign({}, byMap[g], { group: g }));
    if (byMap[""]) groups.push(Object.assign({}, byMap[""], { group: null, label: "(no " + by + ")" }));
    if (res.by_other) groups.push(Object.assign({}, res.by_other, { group: null, label: "(other groups)", other: true }));
    for (const a of st.facets) {
      const sec = el("div", null, "facet grid");
      sec.dataset.facet = a;
      sec.appendChild(el("h3", a + " by " + by));
      const colors = new Map();
      const table = el("table", null, "grid");
      for (const g of groups) {
        const f = g.facets[a];
        if (!f) continue;
        const tr = document.createElement("tr");
        tr.dataset.group = g.group === null ? "" : g.group;
        tr.dataset.total = g.total;
        tr.appendChild(el("td", g.label || g.group, "group"));
        const cell = el("td", null, "stackcell");
        const bar = el("div", null, "stack");
        const entries = Object.keys(f.values).map((v) => [v, f.values[v]]);
        entries.sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
        if (f.missing) entries.push([null, f.missing]);
        if (f.other) entries.push([undefined, f.other]);
        for (const [v, n] of entries) {
          const seg = el("span", null, "seg");
          seg.dataset.value = v === null || v === undefined ? "" : v;
          seg.dataset.count = n;
          const name = v === null ? "(missing)" : v === undefined ? "(other values)" : v;
          seg.title = name + ": " + n + " of " + g.total;
          seg.style.width = (g.total ? (100 * n) / g.total : 0).toFixed(2) + "%";
          seg.style.background = colorOf(colors, v === undefined ? "\u0000other" : v);
          if (v !== undefined && !g.other) {
            seg.classList.add("link");
            seg.addEventListener("click", () => drill(st, by, g.group, a, v));
          }
          bar.appendChild(seg);
        }
        cell.appendChild(bar);
        tr.appendChild(cell);
        tr.appendChild(el("td", g.total, "count"));
        table.appendChild(tr);
      }
      sec.appendChild(table);
      const legend = el("ul", null, "legend");
      for (const [v, c] of colors) {
        const li = el("li", v === null ? "(missing)" : v === "\u0000other" ? "(other values)" : v);
        const sw = el("span", null, "swatch");
        sw.style.background = c;
        li.prepend(sw);
        legend.appendChild(li);
      }
      sec.appendChild(legend);
      if (res.by_truncated) sec.appendChild(el("p", "more groups than max_values: the rest are counted under (other groups)", "muted"));
      box.appendChild(sec);
    }
  }

  async function rollout(ev) {
    ev.preventDefault();
    const ui = window.ShearchUI;
    const el = ui.el;
    const out = $("rollout-out");
    const st = ui.state();
    const p = new URLSearchParams();
    p.set("q", st.q || "*:*");
    if (st.stack) p.set("stack", st.stack);
    if (st.shards) p.set("shards", st.shards);
    p.set("attr", $("rollout-attr").value.trim());
    p.set("want", $("rollout-want").value.trim());
    const by = $("rollout-by").value.trim();
    if (by) p.set("by", by);
    const stale = $("rollout-stale").value.trim();
    if (stale) p.set("stale", stale);
    if ($("rollout-lagging").checked) p.set("lagging", "true");
    ui.clear(out);
    out.appendChild(el("p", "counting...", "muted"));
    try {
      const res = await ui.api("GET", "/v1/rollout/" + encodeURIComponent(st.index), p);
      ui.clear(out);
      out.className = "";
      const table = el("table", null, "rollout");
      const head = document.createElement("tr");
      for (const h of ["Group", "Reached", "Total", "Share", "Stale", ""]) head.appendChild(el("th", h));
      table.appendChild(head);
      const rows = res.groups.concat([Object.assign({}, res.all, { group: "all", all: true })]);
      for (const g of rows) {
        const tr = document.createElement("tr");
        tr.dataset.group = g.group;
        if (g.all) tr.className = "all";
        tr.appendChild(el("td", g.group, "group"));
        tr.appendChild(el("td", g.reached, "count"));
        tr.appendChild(el("td", g.total, "count"));
        tr.appendChild(el("td", (100 * g.share).toFixed(1) + "%", "count share"));
        tr.appendChild(el("td", g.stale, "count stale"));
        const cell = el("td", null, "barcell");
        const bar = el("div", null, "bar");
        bar.style.width = (100 * g.share).toFixed(1) + "%";
        cell.appendChild(bar);
        tr.appendChild(cell);
        table.appendChild(tr);
      }
      out.appendChild(table);
      const failed = ((res.shards && res.shards.details) || []).filter((d) => d.status !== "ok");
      for (const d of failed) out.appendChild(el("p", "shard " + d.name + " failed: " + d.error + " (counts incomplete)", "warn"));
      if (res.lagging && res.lagging.length) out.appendChild(laggingTable(res));
    } catch (e) {
      ui.clear(out);
      out.appendChild(el("p", e.message, "warn"));
    }
  }

  // laggingTable lists the nodes short of the value; a name searches for
  // that node.
  function laggingTable(res) {
    const ui = window.ShearchUI;
    const el = ui.el;
    const box = el("div", null, "lagging");
    box.appendChild(el("h3", res.lagging.length + " node(s) without " + res.attr + " = " + res.want + (res.lagging_truncated ? " (more not listed)" : "")));
    const table = el("table", null, "lagging");
    const head = document.createElement("tr");
    for (const h of ["Node", "Shard", "Group", "Value", "Last check-in"]) head.appendChild(el("th", h));
    table.appendChild(head);
    for (const n of res.lagging) {
      const tr = document.createElement("tr");
      tr.dataset.node = n.name;
      const name = el("td", null, "name");
      const a = el("a", n.name);
      a.href = "#";
      a.addEventListener("click", (ev) => {
        ev.preventDefault();
        $("q").value = "name:" + quoted(n.name);
        $("cursor").value = "";
        ui.run(true);
      });
      name.appendChild(a);
      tr.appendChild(name);
      tr.appendChild(el("td", n.shard));
      tr.appendChild(el("td", n.group));
      tr.appendChild(el("td", n.missing ? "(none)" : n.value, n.missing ? "missing" : "value"));
      const seen = n.ohai_time ? new Date(n.ohai_time * 1000).toISOString().replace(".000Z", "Z") + (n.stale ? " (stale)" : "") : "never";
      tr.appendChild(el("td", seen, n.stale ? "warn" : ""));
      table.appendChild(tr);
    }
    box.appendChild(table);
    return box;
  }

  async function pins() {
    const ui = window.ShearchUI;
    const el = ui.el;
    const out = $("pins-out");
    const p = new URLSearchParams();
    const stack = $("stack").value.trim();
    if (stack) p.set("stack", stack);
    ui.clear(out);
    out.appendChild(el("p", "reading environments...", "muted"));
    try {
      const m = await ui.api("GET", "/v1/environments/pins", p);
      ui.clear(out);
      out.className = "";
      out.appendChild(el("p", m.environments.length + " environments, " + m.cookbooks.length + " cookbooks pinned over " + m.shards.length +
        " shards of stack " + m.stack + "; " + m.disagreements.length + " pin(s) differ between shards.", m.disagreements.length ? "warn" : "ok"));
      const byKey = new Map();
      for (const pin of m.pins) byKey.set(pin.cookbook + "\u0000" + pin.environment, pin);
      const table = el("table", null, "pins");
      const head = document.createElement("tr");
      head.appendChild(el("th", ""));
      for (const e of m.environments) head.appendChild(el("th", e));
      table.appendChild(head);
      for (const cb of m.cookbooks) {
        const tr = document.createElement("tr");
        tr.dataset.cookbook = cb;
        tr.appendChild(el("th", cb));
        for (const e of m.environments) {
          const pin = byKey.get(cb + "\u0000" + e);
          const td = el("td", pin && pin.merged ? pin.merged : "latest");
          td.dataset.environment = e;
          if (pin && pin.disagree) {
            td.className = "disagree";
            const shards = Object.keys(pin.by_shard).sort();
            const detail = shards.map((s) => s + " " + (pin.by_shard[s] || "none")).join(", ");
            td.title = detail;
            td.appendChild(el("div", detail, "shards"));
          }
          tr.appendChild(td);
        }
        table.appendChild(tr);
      }
      out.appendChild(table);
    } catch (e) {
      ui.clear(out);
      out.appendChild(el("p", e.message, "warn"));
    }
  }

  function init() {
    $("rollout-form").addEventListener("submit", rollout);
    $("pins-run").addEventListener("click", pins);
  }

  window.ShearchReport = { grid: grid, init: init, queryKey: queryKey, quoted: quoted };
})();
