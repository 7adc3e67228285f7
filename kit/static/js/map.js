/* The find page's map: progressive enhancement over the plain list.
   Loads public meeting points for the visible area as GeoJSON whenever the map
   moves, clusters dense areas, and links each popup to its meeting page. A box
   holding many meetings comes back as the server's clusters (features with
   properties.cluster): numbered circles that zoom the map to their cell.
   Tiles are decoration: when they fail to load, markers and the list still work. */
(function () {
  "use strict";

  var el = document.getElementById("map");
  if (!el || typeof L === "undefined") { return; }

  var map = L.map(el, { scrollWheelZoom: false })
    .setView([parseFloat(el.dataset.lat), parseFloat(el.dataset.lon)], parseInt(el.dataset.zoom, 10));
  L.tileLayer(el.dataset.tiles, { maxZoom: 18, attribution: el.dataset.attribution }).addTo(map);

  // The searched place gets its own pin (a ring, not a meeting marker), and the map
  // fits the results the page lists (the server sends their public points' bounds).
  if (el.dataset.place) {
    L.circleMarker([parseFloat(el.dataset.lat), parseFloat(el.dataset.lon)], {
      radius: 9, weight: 3, color: "#a8461c", fillOpacity: 0.15
    }).bindTooltip("You searched: " + el.dataset.place).addTo(map);
  }
  if (el.dataset.bounds) {
    var b = el.dataset.bounds.split(",").map(parseFloat);
    map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: [30, 30], maxZoom: 14 });
  }

  var layer = typeof L.markerClusterGroup === "function" ? L.markerClusterGroup() : L.layerGroup();
  map.addLayer(layer);
  // The server's clusters go beside the points, never into the client's clustering.
  var clusters = L.layerGroup().addTo(map);
  el.dataset.markers = "0";

  function text(value) {
    var span = document.createElement("span");
    span.textContent = value;
    return span.innerHTML;
  }

  // English plural rules, as the list beside the map writes them.
  function seatsLeft(n) {
    return n + (n === 1 ? " seat left" : " seats left");
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
        : props.seats_left > 0 ? text(seatsLeft(props.seats_left)) : "Full: waitlist");
  }

  // Sized and coloured like markerCluster's own circles (its CSS classes).
  function clusterMarker(f) {
    var c = f.geometry.coordinates;
    var n = f.properties.count;
    var size = n < 10 ? "small" : n < 100 ? "medium" : "large";
    var label = n.toLocaleString();
    var marker = L.marker([c[1], c[0]], {
      title: label + " meetings: zoom in",
      alt: label + " meetings",
      keyboard: true,
      icon: L.divIcon({
        html: "<div><span>" + text(label) + "</span></div>",
        className: "marker-cluster marker-cluster-" + size,
        iconSize: L.point(40, 40)
      })
    });
    marker.on("click", function () {
      var b = f.properties.bbox;
      map.fitBounds([[b[1], b[0]], [b[3], b[2]]], { maxZoom: f.properties.zoom_to });
    });
    return marker;
  }

  var pending = null;
  function load() {
    var b = map.getBounds();
    var bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]
      .map(function (n) { return Math.max(-180, Math.min(180, n)).toFixed(4); });
    bbox[1] = Math.max(-90, bbox[1]); bbox[3] = Math.min(90, bbox[3]);
    if (pending) { pending.abort(); }
    pending = new AbortController();
    var zoom = Math.max(0, Math.min(20, Math.round(map.getZoom())));
    var url = el.dataset.geojson + "?bbox=" + bbox.join(",") + "&zoom=" + zoom;
    if (el.dataset.campaign) { url += "&campaign=" + encodeURIComponent(el.dataset.campaign); }
    fetch(url, { signal: pending.signal })
      .then(function (r) { return r.ok ? r.json() : { features: [] }; })
      .then(function (data) {
        layer.clearLayers();
        clusters.clearLayers();
        var points = 0;
        data.features.forEach(function (f) {
          if (f.properties.cluster) {
            clusters.addLayer(clusterMarker(f));
            return;
          }
          points += 1;
          var c = f.geometry.coordinates;
          var marker = L.marker([c[1], c[0]], { title: f.properties.title, alt: f.properties.title });
          marker.bindPopup(popup(f.properties));
          layer.addLayer(marker);
        });
        el.dataset.markers = String(points);
        el.dataset.clusters = String(data.features.length - points);
      })
      .catch(function () { /* aborted by a newer move, or offline: keep the list */ });
  }
  map.on("moveend", load);
  load();

  var locate = document.getElementById("use-location");
  var message = document.getElementById("location-message");
  function tell(words) {
    if (!message) { return; }
    message.textContent = words;
    message.hidden = false;
  }
  if (locate && "geolocation" in navigator) {
    locate.hidden = false;
    locate.addEventListener("click", function () {
      tell("Finding your location…");
      navigator.geolocation.getCurrentPosition(function (pos) {
        var input = document.getElementById("field-near");
        input.value = pos.coords.latitude.toFixed(4) + "," + pos.coords.longitude.toFixed(4);
        input.form.submit();
      }, function (error) {
        // Refused (code 1) or not found: say so, and point to the box that always works.
        tell(error.code === 1
          ? "Your browser didn't share your location. Type your ZIP code or town instead."
          : "We couldn't find your location. Type your ZIP code or town instead.");
        document.getElementById("field-near").focus();
      }, { timeout: 15000 });
    });
  }
})();
