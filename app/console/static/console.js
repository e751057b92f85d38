// Progressive enhancement only: every page works without this file.
// "Next events" appends the next page of a trail in place; "Expand all"
// opens every event's details. No inline script, no eval, no HTML from
// anywhere but this service's own fragment endpoint.
(function () {
  "use strict";

  function loadMore(link) {
    var list = document.getElementById("events");
    var range = document.getElementById("timeline-range");
    link.addEventListener("click", function (ev) {
      var url = link.getAttribute("data-fragment");
      if (!url || !list || link.getAttribute("aria-busy") === "true") { return; }
      ev.preventDefault();
      link.setAttribute("aria-busy", "true");
      fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (resp) {
          if (!resp.ok) { throw new Error("HTTP " + resp.status); }
          return resp.text().then(function (html) { return { resp: resp, html: html }; });
        })
        .then(function (r) {
          var before = list.children.length;
          var tpl = document.createElement("template");
          tpl.innerHTML = r.html;
          list.appendChild(tpl.content);
          var next = r.resp.headers.get("X-Console-Next-Fragment");
          if (range && r.resp.headers.get("X-Console-Last")) {
            range.textContent = "events " + range.getAttribute("data-first") + "\u2013" +
              r.resp.headers.get("X-Console-Last") + " of " + r.resp.headers.get("X-Console-Total");
          }
          var first = list.children[before];
          if (first) { var s = first.querySelector("summary"); (s || first).focus({ preventScroll: true }); }
          if (next) {
            link.setAttribute("data-fragment", next);
            link.setAttribute("href", r.resp.headers.get("X-Console-Next-Page"));
            link.removeAttribute("aria-busy");
          } else {
            link.parentNode.removeChild(link);
          }
        })
        .catch(function () {
          // Fall back to ordinary navigation to the next page.
          window.location.href = link.getAttribute("href");
        });
    });
  }

  function expandAll(button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var details = document.querySelectorAll("#events details");
      var open = button.getAttribute("aria-pressed") !== "true";
      for (var i = 0; i < details.length; i++) { details[i].open = open; }
      button.setAttribute("aria-pressed", open ? "true" : "false");
      button.textContent = open ? "Collapse all" : "Expand all";
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var more = document.getElementById("load-more");
    if (more) { loadMore(more); }
    var expand = document.getElementById("expand-all");
    if (expand) { expandAll(expand); }
  });
})();
