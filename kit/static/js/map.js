/* The find page's map: progressive enhancement over the plain list.
   Loads public meeting points for the visible area as GeoJSON whenever the map
   moves, clusters dense areas, and links each popup to its meeting page.
   Tiles are decoration: when they fail to load, markers and the list still work. */
(function () {
  "use strict";

  var el = document.getElementById("map");
  if (!el || typeof L === "undefined") { return; }

  var map = L.map(el, { scrollWheelZoom: false })
    .setView([parseFloat(el.dataset.lat), parseFloat(el.dataset.lon)], parseInt(el.dataset.zoom, 10));
  L.tileLayer(el.dataset.tiles, { maxZoom: 18, attribution: el.dataset.attribution }).addTo(map);

  var layer = typeof L.markerClusterGroup === "function" ? L.markerClusterGroup() : L.layerGroup();
  map.addLayer(layer);
  el.dataset.markers = "0";

  function text(value) {
    var span = document.createElement("span");
    span.textContent = value;
    return span.innerHTML;
  }

  function popup(props) {
    var when = new Date(props.starts_at);
    var local = when.toLocaleString(undefined, {
      timeZone: props.timezone, weekday: "short", month: "short", day: "numeric",
      hour: "numeric", minute: "2-digit"
    });
    return '<a href="' + text(props.url) + '">' + text(props.title) + "</a><br>" +
      text(local) + " · " + text(props.locality) + "<br>" +
      (props.status === "completed" ? "Held"
        : props.seats_left > 0 ? text(props.seats_left + " seats left") : "Full: waitlist");
  }

  var pending = null;
  function load() {
    var b = map.getBounds();
    var bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]
      .map(function (n) { return Math.max(-180, Math.min(180, n)).toFixed(4); });
    bbox[1] = Math.max(-90, bbox[1]); bbox[3] = Math.min(90, bbox[3]);
    if (pending) { pending.abort(); }
    pending = new AbortController();
    fetch(el.dataset.geojson + "?bbox=" + bbox.join(","), { signal: pending.signal })
      .then(function (r) { return r.ok ? r.json() : { features: [] }; })
      .then(function (data) {
        layer.clearLayers();
        data.features.forEach(function (f) {
          var c = f.geometry.coordinates;
          var marker = L.marker([c[1], c[0]], { title: f.properties.title, alt: f.properties.title });
          marker.bindPopup(popup(f.properties));
          layer.addLayer(marker);
        });
        el.dataset.markers = String(data.features.length);
      })
      .catch(function () { /* aborted by a newer move, or offline: keep the list */ });
  }
  map.on("moveend", load);
  load();

  var locate = document.getElementById("use-location");
  if (locate && "geolocation" in navigator) {
    locate.hidden = false;
    locate.addEventListener("click", function () {
      navigator.geolocation.getCurrentPosition(function (pos) {
        var input = document.getElementById("field-near");
        input.value = pos.coords.latitude.toFixed(4) + "," + pos.coords.longitude.toFixed(4);
        input.form.submit();
      });
    });
  }
})();
