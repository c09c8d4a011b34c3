// Registered cameras near an incident, their access level and whom to ask for footage, and how
// the live cameras are doing. The map needs no tile server: without one the points stand on a
// plain background.

import L from "leaflet";
import { type CameraHit, type Session, cameras, liveCameras } from "../api";
import { clear, el, showError, showStatus, when } from "../dom";

const ACCESS_LABEL: Record<CameraHit["access"], string> = {
  registry_only: "registry only",
  request: "footage on request",
  conditional_live: "conditional live",
};
const ACCESS_COLOUR: Record<CameraHit["access"], string> = {
  registry_only: "#6b7280",
  request: "#2563eb",
  conditional_live: "#16a34a",
};

export async function showCameras(panel: HTMLElement, session: Session) {
  const lat = el("input", { id: "lat", inputmode: "decimal", size: "10" });
  const lon = el("input", { id: "lon", inputmode: "decimal", size: "10" });
  const radius = el("input", { id: "radius", type: "number", min: "1", max: "100000", value: "1000" });
  const status = el("p", { role: "status", id: "camera-status" });
  const form = el("form", { class: "searchbar" }, [
    el("label", { for: "lat" }, ["Incident latitude"]), lat,
    el("label", { for: "lon" }, ["longitude"]), lon,
    el("label", { for: "radius" }, ["within (m)"]), radius,
    el("button", { type: "submit" }, ["Find cameras"]),
  ]);
  const mapNode = el("div", { id: "map", role: "region", "aria-label": "camera map" });
  const list = el("table", { id: "camera-list", class: "list" });
  const live = el("table", { id: "live-cameras", class: "list" });
  panel.append(form, status, el("div", { class: "map-layout" }, [mapNode, list]), live);
  void showLive(session, live);

  // Centre on the registered cameras until an incident point is given.
  const map = L.map(mapNode, { attributionControl: false }).setView([0, 0], 2);
  const layer = L.layerGroup().addTo(map);
  const draw = (hits: CameraHit[], centre?: [number, number], metres?: number) => {
    layer.clearLayers();
    clear(list).append(el("tr", {}, ["Camera", "Access", "Contact", "Distance"].map((h) => el("th", { scope: "col" }, [h]))));
    const points: L.LatLngExpression[] = [];
    let area: L.LatLngBounds | undefined;
    if (centre && metres) {
      const circle = L.circle(centre, { radius: metres, color: "#b91c1c", fill: false }).addTo(layer);
      L.circleMarker(centre, { radius: 4, color: "#b91c1c" }).addTo(layer).bindTooltip("incident");
      area = circle.getBounds();
    }
    for (const c of hits) {
      const where: [number, number] = [c.lat, c.lon];
      points.push(where);
      const name = c.address ?? c.source_id ?? c.id;
      L.circleMarker(where, { radius: 8, color: ACCESS_COLOUR[c.access], fillOpacity: 0.7 })
        .addTo(layer)
        .bindPopup(`<strong>${escape(name)}</strong><br>${ACCESS_LABEL[c.access]}<br>contact: ${escape(c.contact)}`);
      list.append(
        el("tr", {}, [
          el("td", {}, [name]),
          el("td", {}, [ACCESS_LABEL[c.access] + (c.access === "conditional_live" && c.condition_active ? " (active)" : "")]),
          el("td", {}, [c.contact]),
          el("td", {}, [c.distance_m == null ? "" : `${Math.round(c.distance_m)} m`]),
        ]),
      );
    }
    // The whole search area when there is one, else all the cameras.
    const bounds = area ?? (points.length > 0 ? L.latLngBounds(points).pad(0.3) : undefined);
    if (bounds) map.fitBounds(bounds, { maxZoom: 17 });
    status.textContent = `${hits.length} registered camera${hits.length === 1 ? "" : "s"}${centre ? ` within ${metres} m` : ""}.`;
  };
  const load = async (near?: [number, number], metres?: number) => {
    try {
      const hits = await cameras(session, near ? { near: `${near[0]},${near[1]}`, radius_m: metres } : {});
      draw(hits, near, metres);
      if (!near && hits.length > 0) {
        lat.value = (hits.reduce((a, c) => a + c.lat, 0) / hits.length).toFixed(5);
        lon.value = (hits.reduce((a, c) => a + c.lon, 0) / hits.length).toFixed(5);
      }
    } catch (err) {
      showError(status, `Cannot list cameras: ${(err as Error).message}`);
    }
  };
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    showStatus(status, "Looking…");
    const point: [number, number] = [Number(lat.value), Number(lon.value)];
    void load(point, Number(radius.value));
  });
  await load();
  setTimeout(() => map.invalidateSize(), 0);
}

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STATE_LABEL: Record<string, string> = {
  connecting: "connecting",
  streaming: "streaming",
  refused_by_owner: "not shared by its owner",
  failed: "failed",
  stopped: "stopped",
};

/** The live cameras' health, refreshed every 5 s while the table is on the page. */
async function showLive(session: Session, table: HTMLTableElement) {
  while (table.isConnected) {
    try {
      const cameras = await liveCameras(session);
      clear(table);
      if (cameras.length > 0) {
        table.append(
          el("caption", {}, ["Live cameras"]),
          el("tr", {}, ["Camera", "State", "Frames/s", "Behind", "Last frame", "Why not"].map((h) => el("th", { scope: "col" }, [h]))),
          ...cameras.map((c) =>
            el("tr", { "data-source": c.source_id }, [
              el("td", {}, [c.source_id]),
              el("td", { class: "state" }, [STATE_LABEL[c.state] ?? c.state]),
              el("td", {}, [c.fps_in.toFixed(1)]),
              el("td", {}, [`${c.lag_s.toFixed(1)} s`]),
              el("td", {}, [c.last_frame_at ? when(c.last_frame_at) : "never"]),
              el("td", {}, [c.error ?? ""]),
            ]),
          ),
        );
      }
    } catch {
      return; // a role that sees no live cameras: no table
    }
    await new Promise((resolve) => setTimeout(resolve, 5000));
  }
}
