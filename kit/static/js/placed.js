/* The manage page's "Where we placed your meeting": a small map with the meeting's own
   pin and, for a home, the ring neighbors see instead. Progressive enhancement: without
   JavaScript (or Leaflet) the map stays hidden and the OpenStreetMap link is there. */
(function () {
  "use strict";

  var el = document.getElementById("placed-map");
  if (!el || typeof L === "undefined") { return; }
  el.hidden = false;
  var exact = [parseFloat(el.dataset.lat), parseFloat(el.dataset.lon)];
  var map = L.map(el, { scrollWheelZoom: false }).setView(exact, 13);
  L.tileLayer(el.dataset.tiles, { maxZoom: 17, attribution: el.dataset.attribution }).addTo(map);
  L.marker(exact, { title: "Your meeting", alt: "Your meeting" })
    .bindTooltip("Your meeting: only confirmed guests get the address").addTo(map);
  if (el.dataset.approximate === "true") {
    var shown = [parseFloat(el.dataset.publicLat), parseFloat(el.dataset.publicLon)];
    var area = L.circle(shown, { radius: 1500, weight: 2, fillOpacity: 0.1 })
      .bindTooltip("The area neighbors see on the public map").addTo(map);
    map.fitBounds(area.getBounds().extend(exact), { padding: [12, 12] });
  }
  el.dataset.ready = "true";
})();
