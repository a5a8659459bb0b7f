// Drag a card on the My tasks board to another column: the card's form whose data-to is that column's status
// is submitted, exactly as its button is (the server checks the version and the transition, and answers the
// board again). A column the card cannot go to: a toast says so and the card stays where it was; a refused
// request puts it back. The keyboard way is the card's buttons.
(function () {
  "use strict";
  var dragged = null;

  function words(status) { return (status || "").replace(/_/g, " "); }

  function warn(message) {
    document.dispatchEvent(new CustomEvent("obcms:toast", {detail: {message: message, level: "warning"}}));
  }

  function columnOf(event) {
    return dragged && event.target.closest && event.target.closest(".board-column[data-status]");
  }

  document.addEventListener("dragstart", function (event) {
    var card = event.target.closest && event.target.closest(".task-card[draggable='true']");
    if (!card) return;
    dragged = card;
    card.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.id);
  });

  document.addEventListener("dragend", function () {
    if (dragged) dragged.classList.remove("dragging");
    dragged = null;
    document.querySelectorAll(".drop-target").forEach(function (column) { column.classList.remove("drop-target"); });
  });

  document.addEventListener("dragover", function (event) {
    var column = columnOf(event);
    if (!column) return;
    event.preventDefault();
    column.classList.add("drop-target");
  });

  document.addEventListener("dragleave", function (event) {
    var column = event.target.closest && event.target.closest(".board-column");
    if (column && !column.contains(event.relatedTarget)) column.classList.remove("drop-target");
  });

  document.addEventListener("drop", function (event) {
    var column = columnOf(event);
    if (!column) return;
    event.preventDefault();
    column.classList.remove("drop-target");
    var card = dragged;
    dragged = null;
    card.classList.remove("dragging");
    var from = card.getAttribute("data-status"), to = column.getAttribute("data-status");
    if (from === to) return;
    var form = card.querySelector("form[data-to='" + to + "']");
    if (!form) {
      warn("“" + card.getAttribute("data-title") + "” cannot go from " + words(from) + " to " + words(to) + ".");
      return;
    }
    var home = {parent: card.parentNode, next: card.nextSibling};
    column.querySelector("ul").appendChild(card);  // shown where it goes until the answer redraws the board
    form.addEventListener("htmx:afterRequest", function back(done) {
      form.removeEventListener("htmx:afterRequest", back);
      var xhr = done.detail.xhr;
      if ((!xhr || xhr.status >= 400) && card.isConnected) home.parent.insertBefore(card, home.next);
    });
    form.requestSubmit();
  });
})();
