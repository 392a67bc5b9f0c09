// The admin's small behaviours: slugs filled from another field as you type.
(function () {
  "use strict";

  // Django's URLify, reduced: lower case, accents dropped, words joined by hyphens.
  function slugify(text, maxLength) {
    var slug = text
      .normalize("NFKD")
      .replace(/[\u0300-\u036f]/g, "")
      .toLowerCase()
      .replace(/[^\w\s-]/g, "")
      .trim()
      .replace(/[-\s_]+/g, "-");
    return maxLength > 0 ? slug.slice(0, maxLength).replace(/-+$/, "") : slug;
  }

  document.querySelectorAll("[data-prepopulate-from]").forEach(function (target) {
    var source = document.getElementById(target.dataset.prepopulateFrom);
    if (!source) return;
    // Only while the target has not been edited by hand (and was empty to begin with).
    var touched = target.value !== "";
    target.addEventListener("input", function () { touched = target.value !== ""; });
    source.addEventListener("input", function () {
      if (!touched) target.value = slugify(source.value, parseInt(target.getAttribute("maxlength") || "50", 10));
    });
  });
})();

// Change-list actions: "select all" and a count of the selected rows.
(function () {
  "use strict";
  var toggle = document.getElementById("action-toggle");
  var boxes = Array.prototype.slice.call(document.querySelectorAll("input.action-select"));
  var counter = document.querySelector(".action-counter");
  if (!boxes.length) return;
  function update() {
    var chosen = boxes.filter(function (b) { return b.checked; }).length;
    boxes.forEach(function (b) { b.closest("tr").classList.toggle("selected", b.checked); });
    if (toggle) toggle.checked = chosen === boxes.length;
    if (counter) counter.textContent = chosen + " / " + counter.dataset.total;
  }
  if (toggle) {
    toggle.addEventListener("change", function () {
      boxes.forEach(function (b) { b.checked = toggle.checked; });
      update();
    });
  }
  boxes.forEach(function (b) { b.addEventListener("change", update); });
  update();
})();
