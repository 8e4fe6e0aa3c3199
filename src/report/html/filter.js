// Filters the cases (failed only, text); the page is whole without it. `?only=failed&q=text`
// in the address sets the filters, so a filtered view can be linked. For print, every
// <details> opens (the stylesheet does it too where the browser supports ::details-content).
(function () {
  var opened = [];
  window.addEventListener("beforeprint", function () {
    opened = Array.prototype.filter.call(document.querySelectorAll("details:not([open])"), function (d) {
      d.open = true;
      return true;
    });
  });
  window.addEventListener("afterprint", function () {
    opened.forEach(function (d) { d.open = false; });
  });
  var form = document.getElementById("filters");
  if (!form) return;
  var failedOnly = form.elements.failed, query = form.elements.q, shown = form.querySelector("output");
  var cases = document.querySelectorAll("#results .case");
  var params = new URLSearchParams(location.search);
  failedOnly.checked = params.get("only") === "failed";
  query.value = params.get("q") || "";
  function apply() {
    var text = query.value.trim().toLowerCase(), n = 0;
    cases.forEach(function (c) {
      var hide = (failedOnly.checked && c.dataset.outcome !== "failed") ||
        (text !== "" && c.textContent.toLowerCase().indexOf(text) < 0);
      c.hidden = hide;
      if (!hide) n++;
    });
    document.querySelectorAll("#results .endpoint, #results .area").forEach(function (group) {
      group.hidden = !group.querySelector(".case:not([hidden])");
    });
    shown.textContent = n + " of " + cases.length + " cases shown";
  }
  form.addEventListener("input", apply);
  form.addEventListener("submit", function (e) { e.preventDefault(); });
  form.hidden = false;
  apply();
  document.documentElement.setAttribute("data-filter", "ready");
})();
