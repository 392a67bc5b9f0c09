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
