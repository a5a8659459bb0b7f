// The work-item tree (templates/workitems/_tree.html): an ARIA treegrid with lazy rows.
// Keyboard: Up/Down/Home/End move between rows, Right opens (or goes to the first child), Left closes (or
// goes to the parent), Enter opens the detail panel. Rows are flat <tr>s with data-level; a node's rows
// follow it. The server says what to take out before a swap in the X-Tree header:
//   {"remove": id}                 the row #wi-<id> and every row shown under it
//   {"children_of": id}            the rows shown under #wi-<id>; the response's rows go right after it
//   {"if_expanded": true}          …only when that row is open (or was a leaf); otherwise nothing is placed
// The open nodes are kept in the page URL (?open=1,5,9) so a reload shows the same tree.
(function () {
  "use strict";

  function level(row) { return parseInt(row.getAttribute("data-level"), 10) || 0; }
  function isNode(row) { return row.classList.contains("wi-row"); }
  function treeOf(el) { return el && el.closest ? el.closest("table[data-tree]") : null; }

  // The rows shown under `row` (every following row that is deeper), not the row itself.
  function rowsUnder(row) {
    var out = [], depth = level(row), next = row.nextElementSibling;
    while (next && level(next) > depth) { out.push(next); next = next.nextElementSibling; }
    return out;
  }
  function removeUnder(row) { rowsUnder(row).forEach(function (r) { r.remove(); }); }

  function collapse(row) {
    removeUnder(row);
    row.setAttribute("aria-expanded", "false");
    sync(treeOf(row));
  }

  function nodeRows(table) { return Array.prototype.slice.call(table.querySelectorAll("tbody > tr.wi-row")); }

  // aria-expanded, aria-posinset/-setsize and the roving tabindex, recomputed from what is shown.
  function normalize(table) {
    var rows = nodeRows(table), parents = [], counts = new Map(), parentOf = new Map();
    rows.forEach(function (row, i) {
      var lv = level(row);
      parents.length = lv;
      var parent = parents[lv - 1] || null;
      parentOf.set(row, parent);
      counts.set(parent, (counts.get(parent) || 0) + 1);
      row.setAttribute("aria-posinset", counts.get(parent));
      parents[lv] = row;
      var hasKids = !!row.querySelector(".wi-expander");
      if (!hasKids) {
        row.removeAttribute("aria-expanded");
      } else if (lv === 1) {
        row.setAttribute("aria-expanded", "true");
      } else {
        var next = rows[i + 1];
        row.setAttribute("aria-expanded", next && level(next) > lv ? "true" : "false");
      }
    });
    rows.forEach(function (row) { row.setAttribute("aria-setsize", counts.get(parentOf.get(row))); });
    var active = rows.filter(function (r) { return r.tabIndex === 0; })[0] || rows[0];
    rows.forEach(function (row) {
      row.tabIndex = row === active ? 0 : -1;
      row.querySelectorAll("a, button, summary").forEach(function (el) {
        if (!el.classList.contains("wi-expander")) el.tabIndex = row === active ? 0 : -1;
      });
    });
  }

  function sync(table) {
    if (!table) return;
    normalize(table);
    var open = [];
    document.querySelectorAll("table[data-tree] tr.wi-row[aria-expanded=true]").forEach(function (row) {
      if (level(row) > 1) open.push(row.getAttribute("data-id"));
    });
    var url = new URL(window.location.href);
    if (open.length) url.searchParams.set("open", open.join(",")); else url.searchParams.delete("open");
    if (url.href !== window.location.href) window.history.replaceState(window.history.state, "", url.href);
  }

  function focusRow(row) {
    if (!row) return;
    var table = treeOf(row);
    nodeRows(table).forEach(function (r) { r.tabIndex = -1; });
    row.tabIndex = 0;
    normalize(table);
    row.focus();
  }

  function visibleNeighbour(row, step) {
    var rows = nodeRows(treeOf(row)), i = rows.indexOf(row);
    return rows[i + step] || null;
  }

  function parentRow(row) {
    var depth = level(row), prev = row.previousElementSibling;
    while (prev && !(isNode(prev) && level(prev) < depth)) prev = prev.previousElementSibling;
    return prev;
  }

  document.addEventListener("keydown", function (event) {
    var row = event.target;
    if (!row.classList || !row.classList.contains("wi-row") || !treeOf(row)) return;
    var rows = nodeRows(treeOf(row));
    var expanded = row.getAttribute("aria-expanded");
    switch (event.key) {
      case "ArrowDown": focusRow(visibleNeighbour(row, 1)); break;
      case "ArrowUp": focusRow(visibleNeighbour(row, -1)); break;
      case "Home": focusRow(rows[0]); break;
      case "End": focusRow(rows[rows.length - 1]); break;
      case "ArrowRight":
        if (expanded === "false") row.querySelector(".wi-expander").click();
        else if (expanded === "true") focusRow(visibleNeighbour(row, 1));
        break;
      case "ArrowLeft":
        if (expanded === "true" && level(row) > 1) collapse(row); else focusRow(parentRow(row));
        break;
      case "Enter": row.querySelector("a.wi-title").click(); break;
      case " ": {  // the row's bulk box (templates/bulk/_bar.html), when the tree has a bulk bar
        var box = row.querySelector("input[name=items]");
        if (!box) return;
        box.click();
        break;
      }
      default: return;
    }
    event.preventDefault();
  });

  document.addEventListener("focusin", function (event) {
    var row = event.target.closest && event.target.closest("tr.wi-row");
    if (row && row.tabIndex !== 0 && treeOf(row)) {
      nodeRows(treeOf(row)).forEach(function (r) { r.tabIndex = r === row ? 0 : -1; });
      normalize(treeOf(row));
    }
  });

  // An open node's expander closes it (no request); a closed one loads its children (htmx).
  document.addEventListener("htmx:confirm", function (event) {
    var el = event.target;
    if (!el.classList || !el.classList.contains("wi-expander")) return;
    var row = el.closest("tr.wi-row");
    if (row && row.getAttribute("aria-expanded") === "true") {
      event.preventDefault();
      collapse(row);
    }
  });

  document.addEventListener("htmx:beforeRequest", function (event) {
    var menu = event.target.closest && event.target.closest("details.menu");
    if (menu) menu.open = false;
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    var header = xhr.status < 300 ? xhr.getResponseHeader("X-Tree") : null;
    if (!header) return;
    var plan = JSON.parse(header);
    if (plan.remove != null) {
      var gone = document.getElementById("wi-" + plan.remove);
      if (gone) { removeUnder(gone); gone.remove(); }
    }
    if (plan.children_of != null) {
      var row = document.getElementById("wi-" + plan.children_of);
      var place = row && isNode(row) && !(plan.if_expanded && row.getAttribute("aria-expanded") === "false");
      if (place) {
        removeUnder(row);
        event.detail.target = row;
        event.detail.swapOverride = "afterend";
      } else {
        event.detail.swapOverride = "none";
      }
    }
  });

  // After a change, the detail panel shows the node as it is now (or nothing, when it left the tree); after
  // a status action in the panel, the node's row (and its ancestors' roll-ups) are fetched again.
  var refreshed = new WeakSet();  // one refresh per response (out-of-band swaps settle one by one)
  function refreshAfterChange(event) {
    var config = event.detail.requestConfig, xhr = event.detail.xhr;
    if (!config || config.verb === "get" || !event.detail.successful || !xhr || refreshed.has(xhr)) return;
    refreshed.add(xhr);
    var detail = document.querySelector("#wi-panel .wi-detail");
    if (!detail) return;
    var row = document.getElementById("wi-" + detail.getAttribute("data-item"));
    var fromPanel = event.target.closest && event.target.closest("#wi-panel");
    if (fromPanel) {
      if (row && isNode(row)) htmx.ajax("GET", detail.getAttribute("data-row-url"), {target: row, swap: "outerHTML"});
    } else if (row) {
      htmx.ajax("GET", detail.getAttribute("data-detail-url"), {target: "#wi-panel", swap: "innerHTML"});
    } else {
      detail.remove();
    }
  }

  document.addEventListener("htmx:afterSettle", function (event) {
    document.querySelectorAll("table[data-tree]").forEach(sync);
    refreshAfterChange(event);
  });

  // A tree dialog (delete confirmation) opens as a modal when htmx brings it in — only then — and leaves
  // the page once closed (×, Cancel, Esc, or after its form was sent), so a later swap never reopens it.
  document.addEventListener("htmx:load", function (event) {
    var elt = event.detail.elt;
    var dialogs = elt.matches && elt.matches("dialog[data-tree-dialog]") ? [elt] :
      Array.prototype.slice.call(elt.querySelectorAll ? elt.querySelectorAll("dialog[data-tree-dialog]") : []);
    dialogs.forEach(function (dialog) {
      if (!dialog.open && dialog.isConnected && dialog.closest("#wi-dialog")) dialog.showModal();
    });
  });

  document.addEventListener("close", function (event) {
    var dialog = event.target;
    if (dialog.matches && dialog.matches("dialog[data-tree-dialog]") && dialog.closest("#wi-dialog")) dialog.remove();
  }, true);

  document.addEventListener("htmx:afterRequest", function (event) {
    var dialog = event.target.closest && event.target.closest("dialog[data-tree-dialog]");
    if (dialog && event.detail.requestConfig.verb !== "get" && dialog.open) dialog.close();
  });

  document.addEventListener("click", function (event) {
    var cancel = event.target.closest("[data-tree-cancel]");
    if (cancel) {
      event.preventDefault();
      var row = cancel.closest("tr");
      var before = row && row.previousElementSibling;
      if (row) row.remove();
      if (before && isNode(before)) focusRow(before);
      return;
    }
    if (event.target.closest("[data-drawer-close]")) { closeDrawer(); return; }
    var collapseAll = event.target.closest("[data-tree-collapse-all]");
    if (collapseAll) {
      var table = collapseAll.closest(".wi-tree").querySelector("table[data-tree]");
      table.querySelectorAll("tbody > tr").forEach(function (r) { if (level(r) > 2) r.remove(); });
      sync(table);
    }
  });

  // The detail drawer closes with × or Esc (from inside it), and gives the focus back to its item's row.
  function closeDrawer() {
    var detail = document.querySelector("#wi-panel .wi-detail");
    if (!detail) return;
    var row = document.getElementById("wi-" + detail.getAttribute("data-item"));
    detail.remove();
    if (row && isNode(row)) focusRow(row);
  }

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && event.target.closest && event.target.closest("#wi-panel")) closeDrawer();
  });

  // Opened from a row (or its own breadcrumb), the drawer takes the focus, on its heading.
  document.addEventListener("htmx:afterSwap", function (event) {
    var elt = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (event.detail.target.id !== "wi-panel" || !elt || !elt.closest || !elt.closest(".wi-row, #wi-panel")) return;
    var heading = event.detail.target.querySelector(".wi-detail h2");
    if (heading) { heading.setAttribute("tabindex", "-1"); heading.focus(); }
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("table[data-tree]").forEach(normalize);
  });
})();
