/* Meeting page: an approximate-area map, and the time on the viewer's clock when
   their zone differs from the meeting's. */
(function () {
  "use strict";

  var el = document.getElementById("meeting-map");
  if (el && typeof L !== "undefined") {
    var point = [parseFloat(el.dataset.lat), parseFloat(el.dataset.lon)];
    var map = L.map(el, { scrollWheelZoom: false }).setView(point, 13);
    L.tileLayer(el.dataset.tiles, { maxZoom: 16, attribution: el.dataset.attribution }).addTo(map);
    if (el.dataset.approximate === "true") {
      L.circle(point, { radius: 1500 }).addTo(map);
    } else {
      L.marker(point).addTo(map);
    }
  }

  var time = document.querySelector("time[data-zone]");
  var note = document.querySelector(".viewer-time");
  var viewerZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (time && note && viewerZone && viewerZone !== time.dataset.zone) {
    var start = new Date(time.getAttribute("datetime"));
    note.textContent = "That's " + start.toLocaleString(undefined, {
      weekday: "short", month: "short", day: "numeric", hour: "numeric", minute: "2-digit",
      timeZoneName: "short"
    }) + " where you are.";
    note.hidden = false;
  }
})();
