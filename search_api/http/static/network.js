// The network view (/reseau): draws the elements the page embeds with the vendored
// Cytoscape.js; a click on a node opens its page. Nothing is fetched.
(function () {
  "use strict";
  var holder = document.getElementById("graphe");
  var data = document.getElementById("elements");
  if (!holder || !data || typeof cytoscape !== "function") { return; }
  var colours = { authority: "#2b5797", partner: "#d9822b", network: "#2e8540", actor: "#8e44ad" };
  var cy = cytoscape({
    container: holder,
    elements: JSON.parse(data.textContent),
    wheelSensitivity: 0.2,
    style: [
      { selector: "node", style: {
        "width": "data(size)", "height": "data(size)",
        "background-color": function (n) { return colours[n.data("kind")] || "#777"; },
        "label": "data(label)", "font-size": 9, "text-valign": "bottom", "text-margin-y": 2,
        "text-max-width": 120, "text-wrap": "ellipsis", "color": "#222" } },
      // only the larger nodes are named on the drawing (all are in the tables below)
      { selector: "node[size < 26]", style: { "label": "" } },
      { selector: "edge", style: {
        "width": function (e) { return Math.min(1 + Math.log(e.data("weight")), 6); },
        "line-color": "#bbb", "opacity": 0.7, "curve-style": "haystack" } },
      { selector: "node:selected", style: { "border-width": 3, "border-color": "#000" } }
    ],
    layout: { name: "cose", animate: false, randomize: false, nodeRepulsion: 8000,
              idealEdgeLength: 60, numIter: 600 }
  });
  cy.on("tap", "node", function (event) {
    var href = event.target.data("href");
    if (href) { window.location.assign(href); }
  });
  holder.setAttribute("data-ready", String(cy.nodes().length));
})();
