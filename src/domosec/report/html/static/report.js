// domosec report: filter and sort the findings table, show a finding's remediation, filter by diagram element.
// Inlined into the page; it fetches nothing and stores nothing.
(function () {
  "use strict";
  var table = document.getElementById("findings-table");
  var count = document.getElementById("filter-count");
  var text = document.getElementById("filter-text");
  var form = document.querySelector("form.controls");
  var assetButton = document.getElementById("filter-asset");
  if (!table || !text || !form) {
    return;
  }
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var selects = Array.prototype.slice.call(form.querySelectorAll("select[data-filter]"));
  var haystacks = new Map();
  var assetFilter = null;

  function haystack(row) {
    var h = haystacks.get(row);
    if (h === undefined) {
      h = row.textContent.toLowerCase();
      haystacks.set(row, h);
    }
    return h;
  }

  function apply() {
    var terms = text.value.toLowerCase().split(/\s+/).filter(Boolean);
    var wanted = selects
      .filter(function (s) { return s.value !== ""; })
      .map(function (s) { return [s.getAttribute("data-filter"), s.value]; });
    var shown = 0;
    rows.forEach(function (row) {
      var ok = wanted.every(function (w) { return row.getAttribute("data-" + w[0]) === w[1]; });
      if (ok && assetFilter) {
        ok = row.getAttribute("data-home") === assetFilter.home && assetFilter.assets.has(row.getAttribute("data-asset"));
      }
      if (ok && terms.length) {
        var h = haystack(row);
        ok = terms.every(function (t) { return h.indexOf(t) !== -1; });
      }
      row.hidden = !ok;
      if (ok) {
        shown += 1;
      }
    });
    count.textContent = shown === rows.length ? rows.length + " findings" : shown + " of " + rows.length + " findings shown";
  }

  text.addEventListener("input", apply);
  selects.forEach(function (s) { s.addEventListener("change", apply); });
  form.addEventListener("submit", function (event) { event.preventDefault(); });
  form.addEventListener("reset", function () {
    setAsset(null);
    window.setTimeout(apply, 0);
  });

  function setAsset(filter) {
    assetFilter = filter;
    if (assetButton) {
      assetButton.hidden = !filter;
      assetButton.textContent = filter ? "Element: " + filter.label + " ×" : "";
    }
  }
  if (assetButton) {
    assetButton.addEventListener("click", function () {
      setAsset(null);
      apply();
    });
  }

  // Sorting: click a column header; numbers compare as numbers, the rest as text.
  var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
  function sortKey(row, index, numeric) {
    var cell = row.cells[index];
    var raw = cell.getAttribute("data-sort");
    if (raw === null) {
      var summary = cell.querySelector("summary");
      raw = (summary || cell).textContent.trim().toLowerCase();
    }
    return numeric ? parseFloat(raw) || 0 : raw;
  }
  headers.forEach(function (th, index) {
    var button = th.querySelector("button[data-sort]");
    if (!button) {
      return;
    }
    button.addEventListener("click", function () {
      var numeric = button.getAttribute("data-sort") === "num";
      var current = th.getAttribute("aria-sort");
      var descending = current ? current === "ascending" : numeric;
      headers.forEach(function (other) { other.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", descending ? "descending" : "ascending");
      var keyed = rows.map(function (row, i) { return [sortKey(row, index, numeric), i, row]; });
      keyed.sort(function (x, y) {
        var c = x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0;
        return (descending ? -c : c) || x[1] - y[1];
      });
      rows = keyed.map(function (k) { return k[2]; });
      var fragment = document.createDocumentFragment();
      rows.forEach(function (row) { fragment.appendChild(row); });
      body.appendChild(fragment);
    });
  });

  // A finding's remediation is written once per rule; copy it into the finding when it is opened.
  function fillFix(details) {
    var slot = details.querySelector(".fix[data-rule]");
    if (!slot || slot.childElementCount) {
      return;
    }
    var source = document.getElementById("fix-" + slot.getAttribute("data-rule"));
    if (source) {
      slot.appendChild(source.cloneNode(true)).removeAttribute("id");
    }
  }
  body.addEventListener("toggle", function (event) {
    if (event.target.tagName === "DETAILS" && event.target.open) {
      fillFix(event.target);
    }
  }, true);

  // Printing shows every finding's details; they close again afterwards.
  var openedForPrint = [];
  window.addEventListener("beforeprint", function () {
    Array.prototype.forEach.call(document.querySelectorAll("details:not([open])"), function (d) {
      fillFix(d);
      d.open = true;
      openedForPrint.push(d);
    });
  });
  window.addEventListener("afterprint", function () {
    openedForPrint.forEach(function (d) { d.open = false; });
    openedForPrint = [];
  });

  // A diagram is fitted to the box or shown at its natural size (and panned by scrolling the box).
  Array.prototype.forEach.call(document.querySelectorAll("button.zoom"), function (button) {
    var wrap = document.getElementById(button.getAttribute("aria-controls"));
    var svg = wrap && wrap.querySelector("svg.diagram");
    if (!svg) {
      return;
    }
    function label() {
      var natural = getComputedStyle(svg).maxWidth === "none";
      button.textContent = natural ? "Fit to the screen" : "Show at full size (pan by scrolling)";
      button.setAttribute("aria-pressed", natural ? "true" : "false");
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      var natural = getComputedStyle(svg).maxWidth === "none";
      wrap.classList.toggle(natural ? "fit" : "zoomed", true);
      wrap.classList.toggle(natural ? "zoomed" : "fit", false);
      label();
    });
    label();
  });

  // Clicking an element of a system diagram lists its findings.
  var mapNode = document.getElementById("diagram-map");
  var nodes = mapNode ? JSON.parse(mapNode.textContent) : {};
  Array.prototype.forEach.call(document.querySelectorAll("svg.diagram g.node"), function (g) {
    var entry = nodes[g.id];
    if (!entry) {
      return;
    }
    g.setAttribute("tabindex", "0");
    g.setAttribute("role", "button");
    // An image cannot hold buttons: once its elements can be operated, the diagram is a group of them.
    g.ownerSVGElement.setAttribute("role", "group");
    function pick() {
      var label = (g.querySelector("text") || g).textContent;
      setAsset({ home: entry[0], assets: new Set(entry[1]), label: label });
      apply();
      document.getElementById("findings").scrollIntoView();
    }
    g.addEventListener("click", pick);
    g.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        pick();
      }
    });
  });
  apply();
})();
