// The little JavaScript obcms needs: htmx error swapping, toasts, dismissable panels.
(function () {
  "use strict";
  // htmx 2 does not swap 4xx/5xx. Validation (422) and conflict (409) answers re-render the target with
  // their errors; anything else goes to the page's #errors region unless the server retargeted it.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    if (xhr.status === 422 || xhr.status === 409) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    } else if (xhr.status >= 400) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
      if (!xhr.getResponseHeader("HX-Retarget")) {
        event.detail.target = document.getElementById("errors");
        event.detail.swapOverride = "innerHTML";
      }
    }
  });
  document.addEventListener("htmx:sendError", function () {
    var errors = document.getElementById("errors");
    if (errors) errors.textContent = "The server could not be reached. Check your connection and try again.";
  });
  document.addEventListener("obcms:toast", function (event) {
    var box = document.getElementById("toasts");
    if (!box || !event.detail) return;
    var item = document.createElement("div");
    item.className = "toast toast-" + (event.detail.level || "success");
    item.textContent = event.detail.message;
    box.appendChild(item);
    setTimeout(function () { item.remove(); }, 5000);
  });
  document.addEventListener("click", function (event) {
    // An open menu (details.menu) closes when the click lands anywhere else.
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.open = false;
    });
    var button = event.target.closest("[data-dismiss]");
    if (button) {
      var panel = button.closest(".error-panel, .flash, dialog");
      if (panel && panel.tagName === "DIALOG") panel.close(); else if (panel) panel.remove();
    }
    var opener = event.target.closest("[data-open-dialog]");
    if (opener) {
      var dialog = document.getElementById(opener.getAttribute("data-open-dialog"));
      if (dialog) dialog.showModal();
    }
  });
  // A <dialog data-modal> that htmx brings in opens as a modal; closed (×, Cancel, Esc, or the server's
  // obcms:close-dialog event after a successful action) it leaves the page, so it never reopens stale.
  document.addEventListener("htmx:load", function (event) {
    var elt = event.detail.elt;
    var dialogs = elt.matches && elt.matches("dialog[data-modal]") ? [elt] :
      Array.prototype.slice.call(elt.querySelectorAll ? elt.querySelectorAll("dialog[data-modal]") : []);
    dialogs.forEach(function (dialog) { if (!dialog.open && dialog.isConnected) dialog.showModal(); });
    // A confirmation dialog sent back with an error (its comment was empty) opens again on it.
    var again = elt.querySelector ? elt.querySelector("dialog[data-reopen]") : null;
    if (again && !again.open) again.showModal();
  });
  document.addEventListener("close", function (event) {
    if (event.target.matches && event.target.matches("dialog[data-modal]")) event.target.remove();
  }, true);
  // A ⋯ menu (details.menu): arrow keys move between its items, Home/End to the first/last, Esc closes it
  // and gives the focus back to its button. Handled first (capture), so that the tree's own keys stay out.
  document.addEventListener("keydown", function (event) {
    var menu = event.target.closest && event.target.closest("details.menu");
    if (!menu || !menu.open) return;
    var items = Array.prototype.slice.call(menu.querySelectorAll("ul a, ul button"));
    var index = items.indexOf(document.activeElement);
    var next = null;
    if (event.key === "Escape") {
      menu.open = false;
      menu.querySelector("summary").focus();
    } else if (event.key === "ArrowDown") {
      next = items[(index + 1) % items.length];
    } else if (event.key === "ArrowUp") {
      next = items[(index - 1 + items.length) % items.length];
    } else if (event.key === "Home") {
      next = items[0];
    } else if (event.key === "End") {
      next = items[items.length - 1];
    } else {
      return;
    }
    event.preventDefault();
    event.stopPropagation();
    if (next) next.focus();
  }, true);

  // The header's search box: "/" focuses it (unless typing somewhere); the live list opens under it, arrow
  // keys move between its options, Esc closes it and gives the focus back to the box, Enter opens the page.
  function searchBox() { return document.getElementById("site-search"); }
  function searchList() { return document.getElementById("search-live"); }
  function closeSearch() {
    var list = searchList(), box = searchBox();
    if (list) list.innerHTML = "";
    if (box) box.setAttribute("aria-expanded", "false");
  }
  document.addEventListener("keydown", function (event) {
    var box = searchBox();
    if (!box) return;
    var typing = event.target.closest && event.target.closest("input, textarea, select, [contenteditable]");
    if (event.key === "/" && !typing && !event.ctrlKey && !event.metaKey && !event.altKey) {
      event.preventDefault();
      box.focus();
      box.select();
      return;
    }
    var list = searchList();
    if (!list || !list.contains(event.target) && event.target !== box) return;
    var options = Array.prototype.slice.call(list.querySelectorAll("[role=option]"));
    var index = options.indexOf(document.activeElement);
    if (event.key === "ArrowDown" && options.length) {
      event.preventDefault();
      options[(index + 1) % options.length].focus();
    } else if (event.key === "ArrowUp" && options.length) {
      event.preventDefault();
      if (index <= 0) box.focus(); else options[index - 1].focus();
    } else if (event.key === "Escape") {
      closeSearch();
      box.focus();
    }
  });
  document.addEventListener("focusin", function (event) {
    var option = event.target.closest && event.target.closest("#search-live [role=option]");
    document.querySelectorAll("#search-live [role=option]").forEach(function (other) {
      other.setAttribute("aria-selected", other === option ? "true" : "false");
    });
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    var list = searchList(), box = searchBox();
    if (box && list && event.detail.target === list) {
      box.setAttribute("aria-expanded", list.querySelector("[role=option]") ? "true" : "false");
    }
  });
  document.addEventListener("click", function (event) {
    if (!event.target.closest(".site-search")) closeSearch();
  });

  // Bulk selection (templates/bulk/_bar.html): the rows' checkboxes join the bar's form by their `form`
  // attribute; the header's box selects the page; the bar shows while something is selected.
  document.documentElement.classList.add("js");
  function bulkBoxes(formId) {
    return Array.prototype.slice.call(document.querySelectorAll('input[name=items][form="' + formId + '"]'));
  }
  function bulkUpdate(form) {
    var boxes = bulkBoxes(form.id), checked = boxes.filter(function (b) { return b.checked; }).length;
    var all = form.querySelector("[name=all_matching]");
    form.hidden = checked === 0 && !(all && all.checked);
    var count = form.querySelector("[data-bulk-count]");
    if (count) count.textContent = checked + " selected on this page";
    var master = document.querySelector('[data-select-all="' + form.id + '"]');
    if (master) {
      master.checked = boxes.length > 0 && checked === boxes.length;
      master.indeterminate = checked > 0 && checked < boxes.length;
    }
  }
  document.addEventListener("change", function (event) {
    var master = event.target.closest("[data-select-all]");
    if (master) bulkBoxes(master.getAttribute("data-select-all")).forEach(function (b) { b.checked = master.checked; });
    var formId = master ? master.getAttribute("data-select-all") : event.target.getAttribute("form") ||
      (event.target.form && event.target.form.id);
    var form = formId && document.getElementById(formId);
    if (form && form.classList.contains("bulk-bar")) bulkUpdate(form);
  });
  document.addEventListener("htmx:load", function () {
    document.querySelectorAll("form.bulk-bar").forEach(bulkUpdate);
  });

  document.addEventListener("obcms:close-dialog", function (event) {
    var dialog = event.detail && document.getElementById(event.detail.id);
    if (dialog && dialog.open) dialog.close(); else if (dialog) dialog.remove();
  });
})();
