/* The catalog entry form: data-item rows (add / remove) and which fields the current choices
   make required. Works without it too: the server checks everything and says what is missing. */
(function () {
  "use strict";
  var form = document.getElementById("entry-form");
  if (!form) return;

  // --- data items ---------------------------------------------------------------------------
  var rows = document.getElementById("item-rows");
  var template = document.getElementById("item-row-template");
  var empty = document.getElementById("no-items");
  var next = rows.querySelectorAll("tr.item-row").length;

  function refresh() {
    var count = rows.querySelectorAll("tr.item-row").length;
    empty.classList.toggle("d-none", count > 0);
  }

  function addRow(focus) {
    var html = template.innerHTML.replace(/__index__/g, String(next));
    next += 1;
    var holder = document.createElement("tbody");
    holder.innerHTML = html.trim();
    var row = holder.firstElementChild;
    rows.appendChild(row);
    refresh();
    if (focus) row.querySelector("input[type=text]").focus();
    return row;
  }

  document.getElementById("add-item").addEventListener("click", function () { addRow(true); });
  rows.addEventListener("click", function (event) {
    var button = event.target.closest(".remove-item");
    if (!button) return;
    button.closest("tr").remove();
    refresh();
  });
  if (rows.querySelectorAll("tr.item-row").length === 0) addRow(false);

  // --- conditional requirements ---------------------------------------------------------------
  var rulesNode = document.getElementById("required-when");
  var rules = rulesNode ? JSON.parse(rulesNode.textContent) : {};

  function valueOf(name) {
    var input = form.elements[name];
    return input ? input.value : "";
  }

  function applyRules() {
    Object.keys(rules).forEach(function (field) {
      var wrapper = form.querySelector('[data-field="' + field + '"]');
      if (!wrapper) return;
      var required = Object.keys(rules[field]).some(function (control) {
        return rules[field][control].indexOf(valueOf(control)) !== -1;
      });
      wrapper.classList.toggle("is-required", required);
      var input = wrapper.querySelector("input, select, textarea");
      if (input) input.setAttribute("aria-required", required ? "true" : "false");
    });
    filterFormatTypes();
  }

  // Only the format types of the chosen category are offered.
  function filterFormatTypes() {
    var category = form.elements.format_category;
    var type = form.elements.format_type;
    if (!category || !type) return;
    var option = category.options[category.selectedIndex];
    var label = option && option.value ? option.text : "";
    Array.prototype.forEach.call(type.querySelectorAll("optgroup"), function (group) {
      var show = !label || group.label === label;
      group.hidden = !show;
      group.disabled = !show;
    });
    var chosen = type.options[type.selectedIndex];
    if (chosen && chosen.parentElement.tagName === "OPTGROUP" && chosen.parentElement.disabled) type.value = "";
  }

  form.addEventListener("change", function (event) {
    if (event.target.tagName === "SELECT") applyRules();
  });
  applyRules();
})();
