// The admin's small behaviours: slugs filled from another field as you type, change-list
// actions, inline forms added and removed, and raw-id lookups in a popup window.
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

  function prepopulate(root) {
    root.querySelectorAll("[data-prepopulate-from]").forEach(function (target) {
      var source = document.getElementById(target.dataset.prepopulateFrom);
      if (!source) return;
      // Only while the target has not been edited by hand (and was empty to begin with).
      var touched = target.value !== "";
      target.addEventListener("input", function () { touched = target.value !== ""; });
      source.addEventListener("input", function () {
        if (!touched) target.value = slugify(source.value, parseInt(target.getAttribute("maxlength") || "50", 10));
      });
    });
  }

  window.quartetAdmin = { prepopulate: prepopulate };
  prepopulate(document);
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

// Inlines: "Add another …" copies the blank form; "✕" removes a form not saved yet. Names follow
// Django's formsets (`chapter_set-2-title`), so TOTAL_FORMS is kept equal to the number of forms.
(function () {
  "use strict";

  function renumber(element, prefix, from, to) {
    var pattern = new RegExp("(" + prefix + "-)(\\d+|__prefix__)(-)");
    var replacement = "$1" + to + "$3";
    [element].concat(Array.prototype.slice.call(element.querySelectorAll("*"))).forEach(function (node) {
      ["id", "name", "for", "data-prepopulate-from", "data-lookup-for"].forEach(function (attr) {
        var value = node.getAttribute && node.getAttribute(attr);
        if (value) node.setAttribute(attr, value.replace(pattern, replacement));
      });
    });
    element.id = prefix + "-" + to;
    var label = element.querySelector(".inline-label");
    if (label && from === "__prefix__") label.textContent = label.textContent.replace(/#\s*$/, "#" + (to + 1));
  }

  document.querySelectorAll(".inline-group").forEach(function (group) {
    var prefix = group.dataset.prefix;
    var total = document.getElementById("id_" + prefix + "-TOTAL_FORMS");
    var max = parseInt(group.dataset.max || "1000", 10);
    var container = group.querySelector(".inline-forms");
    var template = document.getElementById(prefix + "-empty");
    var add = group.querySelector(".add-inline");

    function forms() { return container.querySelectorAll(".inline-form"); }
    function refresh() { if (add) add.hidden = forms().length >= max; }

    function wireRemove(form) {
      var remove = form.querySelector(".inline-remove");
      if (!remove) return;
      remove.addEventListener("click", function () {
        form.remove();
        // Later forms move down one place so the indexes stay 0..TOTAL_FORMS-1.
        Array.prototype.forEach.call(forms(), function (other, index) {
          var current = other.id.slice(prefix.length + 1);
          if (current !== String(index)) renumber(other, prefix, current, index);
        });
        total.value = forms().length;
        refresh();
      });
    }

    Array.prototype.forEach.call(forms(), wireRemove);
    if (add && template) {
      add.addEventListener("click", function () {
        var index = forms().length;
        var source = template.content.querySelector(".inline-form");
        var form = source.cloneNode(true);
        renumber(form, prefix, "__prefix__", index);
        container.appendChild(form);
        total.value = index + 1;
        wireRemove(form);
        window.quartetAdmin.prepopulate(form);
        var first = form.querySelector("input:not([type=hidden]), select, textarea");
        if (first) first.focus();
        refresh();
      });
    }
    refresh();
  });
})();

// Raw-id lookups: the link opens the target's change list in a window; clicking a row there
// puts its key into the field (and its name beside it) and closes the window.
(function () {
  "use strict";
  var PREFIX = "lookup_";

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a.related-lookup");
    if (!link) return;
    event.preventDefault();
    var win = window.open(link.href, PREFIX + link.dataset.lookupFor, "width=900,height=640,resizable=yes,scrollbars=yes");
    if (win) win.focus();
  });

  if (!window.opener || window.name.indexOf(PREFIX) !== 0) return;
  var fieldId = window.name.slice(PREFIX.length);
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-popup-value]");
    if (!link) return;
    event.preventDefault();
    var input;
    try { input = window.opener.document.getElementById(fieldId); } catch (e) { input = null; }
    if (input) {
      input.value = link.dataset.popupValue;
      input.dispatchEvent(new Event("change", { bubbles: true }));
      var name = input.parentNode.querySelector(".raw-id-name");
      if (name) name.textContent = link.textContent;
    }
    window.close();
  });
})();

// On a phone the filters start folded (except one in use), so the list is in view.
(function () {
  "use strict";
  if (!window.matchMedia || !window.matchMedia("(max-width: 900px)").matches) return;
  document.querySelectorAll(".changelist-filter details").forEach(function (filter) {
    var active = filter.querySelector("li.selected");
    filter.open = Boolean(active && active !== filter.querySelector("li"));
  });
})();

// Long multiple selects (permissions): a box that filters the options as you type (Django's
// `filter_horizontal`), and a count of the chosen ones. Hidden options stay selected.
(function () {
  "use strict";
  document.querySelectorAll("select[multiple][data-filter]").forEach(function (select) {
    var box = document.createElement("input");
    box.type = "search";
    box.className = "select-filter";
    box.placeholder = select.dataset.filter;
    box.setAttribute("aria-label", select.dataset.filter);
    box.setAttribute("aria-controls", select.id);
    var count = document.createElement("span");
    count.className = "select-count";
    count.setAttribute("aria-live", "polite");
    var wrap = document.createElement("div");
    wrap.className = "select-filter-row";
    wrap.appendChild(box);
    wrap.appendChild(count);
    select.parentNode.insertBefore(wrap, select);

    function countChosen() {
      var n = Array.prototype.filter.call(select.options, function (o) { return o.selected; }).length;
      count.textContent = n + " " + select.dataset.chosen;
    }
    box.addEventListener("input", function () {
      var words = box.value.toLowerCase().split(/\s+/).filter(Boolean);
      Array.prototype.forEach.call(select.querySelectorAll("optgroup"), function (group) {
        var groupText = group.label.toLowerCase();
        var shown = 0;
        Array.prototype.forEach.call(group.querySelectorAll("option"), function (option) {
          var text = groupText + " " + option.textContent.toLowerCase();
          var match = words.every(function (w) { return text.indexOf(w) !== -1; });
          option.hidden = !match;
          if (match) shown += 1;
        });
        group.hidden = shown === 0;
      });
      Array.prototype.forEach.call(select.querySelectorAll(":scope > option"), function (option) {
        var text = option.textContent.toLowerCase();
        option.hidden = !words.every(function (w) { return text.indexOf(w) !== -1; });
      });
    });
    select.addEventListener("change", countChosen);
    countChosen();
  });
})();
