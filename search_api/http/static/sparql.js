/* The SPARQL editor page (templates/sparql.html): YASGUI over this server's endpoint only.
   Its settings come from the page (#editor-config, JSON):
   - offline and private: no Linked Open Vocabularies look-ups, prefixes completed from this
     server's /api/prefixes, never prefix.cc;
   - a share link, and the address bar once a query runs, carry the edited query as
     /sparql?query=…, which the server answers with the editor holding that query (and running
     it); a query too long for a URL the server accepts goes after « # », read here. YASGUI's own
     links (/sparql?query=<first>#query=<edited>&endpoint=…) reopened the first query;
   - an error of the endpoint shows its sentence (the « error » of the JSON body, French first),
     not the escaped JSON; YASQE's own syntax hint speaks the page's language;
   - result links to the stable URIs (https://w3id.org/cooplink/id/…) stay on this server. */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("editor-config").textContent);
  var text = config.strings;
  var endpoint = new URL("/sparql", window.location.href).href;
  var fromHash = new URLSearchParams(window.location.hash.slice(1)).get("query");
  var initialQuery = fromHash || config.query;

  /* The editor's address holding ``query`` (and the page's language when the URL names it). */
  function linkFor(query) {
    var lang = new URLSearchParams(window.location.search).get("lang");
    var params = new URLSearchParams();
    params.set("query", query);
    if (lang) { params.set("lang", lang); }
    var path = "/sparql?" + params.toString();
    if (path.length > config.maxUrl) {  // the server would answer 414: keep it in the fragment
      var fragment = new URLSearchParams();
      fragment.set("query", query);
      path = "/sparql" + (lang ? "?lang=" + encodeURIComponent(lang) : "") + "#" + fragment;
    }
    return new URL(path, window.location.href).href;
  }

  Yasgui.Tab.prototype.getShareableLink = function () { return linkFor(this.getQuery()); };

  Yasgui.Yasr.defaults.errorRenderers = [function (error) {
    var body = null;
    try { body = JSON.parse(error.text); } catch (e) { return undefined; }
    if (!body || typeof body.error !== "string") { return undefined; }
    var shown = document.createElement("p");
    shown.className = "sparql-error";
    shown.setAttribute("role", "alert");
    shown.textContent = text.error.replace("{status}", String(error.status || body.status))
      .replace("{message}", body.error);
    return shown;
  }];

  var setMarker = Yasgui.Yasqe.prototype.setGutterMarker;
  Yasgui.Yasqe.prototype.setGutterMarker = function (line, gutter, marker) {
    if (gutter === "gutterErrorBar" && marker && marker.onmouseover && !marker.cooplink) {
      var show = marker.onmouseover;
      marker.cooplink = true;
      marker.onmouseover = function () {
        show.apply(this, arguments);
        var tip = marker.querySelector(".yasqe_tooltip");
        if (tip) {
          tip.innerHTML = tip.innerHTML.replace("This line is invalid. Expected:", text.invalid);
        }
      };
    }
    return setMarker.apply(this, arguments);
  };

  Yasgui.Yasqe.defaults.autocompleters = ["prefixes", "variables"];
  Yasgui.Yasqe.defaults.prefixCcApi = "/api/prefixes";
  var yasgui = new Yasgui(document.getElementById("yasgui"), {
    persistenceId: null,
    populateFromUrl: false,
    copyEndpointOnNewTab: false,
    requestConfig: { endpoint: endpoint, method: "POST" },
    endpointCatalogueOptions: { getData: function () { return [{ endpoint: endpoint }]; } },
    yasqe: { value: initialQuery, prefixCcApi: "/api/prefixes",
             autocompleters: ["prefixes", "variables"] },
    // results show cl:Projet, xsd:integer… even when the query does not declare them
    yasr: { prefixes: config.prefixes },
  });
  var tab = yasgui.getTab();
  tab.setEndpoint(endpoint);
  tab.setQuery(initialQuery);
  yasgui.on("query", function (instance, running) {
    window.history.replaceState(null, "", linkFor(running.getQuery()));
  });
  document.getElementById("example").addEventListener("change", function (event) {
    var chosen = config.examples.find(function (ex) { return ex.id === event.target.value; });
    if (chosen) { yasgui.getTab().setQuery(chosen.query); }
  });
  // Rewritten just before the browser follows the link (click, middle click, context menu,
  // keyboard): the URIs are under the stable base, this server dereferences them by path.
  var base = config.baseUri;
  function localise(event) {
    var link = event.target.closest && event.target.closest("a[href]");
    if (link && link.href.indexOf(base + "/") === 0) {
      link.setAttribute("href", link.href.slice(base.length));
    }
  }
  ["mousedown", "click", "auxclick", "contextmenu", "focusin"].forEach(function (kind) {
    document.getElementById("yasgui").addEventListener(kind, localise, true);
  });
  window.cooplinkYasgui = yasgui;
  if (config.run || fromHash) { tab.query(); }
})();
