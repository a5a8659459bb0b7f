// Drag an entry to another day on the calendar's month or week view: the same POST as its "Move to…" form
// (the server checks the version and answers a 409 dialog when someone changed it first). The keyboard way is
// "Move to…" on the entry's page; this only adds the pointer's.
(function () {
  "use strict";
  var dragged = null;

  document.addEventListener("dragstart", function (event) {
    var entry = event.target.closest && event.target.closest("[data-move-url]");
    if (!entry) return;
    dragged = entry;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", entry.getAttribute("data-move-url"));
  });

  document.addEventListener("dragend", function () {
    dragged = null;
    document.querySelectorAll(".cal-drop").forEach(function (cell) { cell.classList.remove("cal-drop"); });
  });

  document.addEventListener("dragover", function (event) {
    var day = dragged && event.target.closest && event.target.closest("[data-date]");
    if (!day) return;
    event.preventDefault();
    day.classList.add("cal-drop");
  });

  document.addEventListener("dragleave", function (event) {
    var day = event.target.closest && event.target.closest("[data-date]");
    if (day && !day.contains(event.relatedTarget)) day.classList.remove("cal-drop");
  });

  document.addEventListener("drop", function (event) {
    var day = dragged && event.target.closest && event.target.closest("[data-date]");
    if (!day) return;
    event.preventDefault();
    day.classList.remove("cal-drop");
    var entry = dragged;
    dragged = null;
    if (day.getAttribute("data-date") === entry.getAttribute("data-from")) return;
    htmx.ajax("POST", entry.getAttribute("data-move-url"), {
      source: entry, target: "#calendar-dialog", swap: "innerHTML",
      values: {to_date: day.getAttribute("data-date"), version: entry.getAttribute("data-version"),
               scope: entry.getAttribute("data-scope") || "series"}
    });
  });
})();
