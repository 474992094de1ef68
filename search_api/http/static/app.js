/* cooplink staff pages: a little progressive enhancement; the pages work without it.
   - a facet checkbox submits the search as soon as it changes, and after the reload focus
     returns to that checkbox (keyboard users keep their place). Selects (years, pooling) do
     not submit on change: with the keyboard, every arrow press would reload the page
     (WCAG 3.2.2), so they keep their button;
   - "/" focuses the search box, as on many search sites;
   - on a phone, the facet panel starts folded unless a filter is active. */
(function () {
  "use strict";
  var KEY = "cooplink:focus";
  var form = document.getElementById("recherche");
  if (form) {
    document.querySelectorAll('input[type="checkbox"][form="recherche"]').forEach(function (box) {
      box.addEventListener("change", function () {
        try { sessionStorage.setItem(KEY, box.id); } catch (e) { /* storage disabled */ }
        if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
      });
    });

    var again = null;
    try { again = sessionStorage.getItem(KEY); sessionStorage.removeItem(KEY); } catch (e) { again = null; }
    var target = again ? document.getElementById(again) : null;
    if (target) {
      for (var fold = target.closest("details"); fold; fold = fold.parentElement.closest("details")) {
        fold.open = true;
      }
      target.focus();
    }

    var panel = document.getElementById("facets");
    var active = document.querySelector('input[type="checkbox"][form="recherche"]:checked') ||
      Array.prototype.some.call(document.querySelectorAll('select[form="recherche"]'),
                                function (s) { return s.value !== ""; });
    if (panel && !active && !target && window.matchMedia("(max-width: 48rem)").matches) {
      panel.open = false;
    }
  }

  document.addEventListener("keydown", function (event) {
    var box = document.getElementById("q");
    var el = event.target;
    var typing = /^(INPUT|SELECT|TEXTAREA)$/.test(el.tagName) || el.isContentEditable;
    if (box && event.key === "/" && !typing && !event.ctrlKey && !event.metaKey && !event.altKey) {
      event.preventDefault();
      box.focus();
      box.select();
    }
  });
})();
