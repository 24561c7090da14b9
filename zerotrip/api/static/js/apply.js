// The application form. The premises position can come from the phone (WGS-84, with its
// accuracy) or be pasted from a Chinese map (AMap/Tencent GCJ-02, Baidu BD-09): the datum goes
// with the coordinates and the server converts, so a map position never reads hundreds of
// metres off the premises.
import { api } from "./api.js";
import { initPage } from "./common.js";
import { $, clearError, h, showError } from "./dom.js";
import { addStrings, pick, t } from "./i18n.js";

addStrings({
  "apply.position": ["经营场所位置（可选）", "Premises position (optional)"],
  "apply.position_hint": ["在经营场所现场可直接使用手机当前位置；不在现场时，可从地图应用复制坐标或分享链接粘贴到下面。", "At the premises, use your phone's position; elsewhere, paste coordinates or a share link from a map app below."],
  "apply.use_location": ["使用手机当前位置", "Use my current position"],
  "apply.locating": ["正在定位…", "Locating…"],
  "apply.located": ["已填入当前位置，精度约 {m} 米。", "Current position filled in, accurate to about {m} m."],
  "apply.located_rough": ["已填入当前位置，但精度较差（约 {m} 米），建议到室外或打开 GPS 后重试。", "Filled in, but only accurate to about {m} m: try outdoors or with GPS on."],
  "apply.no_location": ["无法获取位置：请允许浏览器使用位置信息，或从地图粘贴坐标。", "No position: allow location access, or paste coordinates from a map."],
  "apply.paste": ["粘贴地图坐标或分享链接", "Paste map coordinates or a share link"],
  "apply.paste_placeholder": ["例如 30.2741,120.1551 或 高德/百度地图链接", "e.g. 30.2741,120.1551 or an AMap/Baidu link"],
  "apply.pasted": ["已识别坐标（{datum}）。", "Coordinates recognised ({datum})."],
  "apply.not_pasted": ["没有识别出坐标，请检查粘贴的内容。", "No coordinates found in what was pasted."],
  "apply.datum": ["坐标来源（坐标系）", "Where the coordinates come from (datum)"],
  "datum.gcj02": ["高德 / 腾讯地图（GCJ-02）", "AMap / Tencent (GCJ-02)"],
  "datum.bd09": ["百度地图（BD-09）", "Baidu Maps (BD-09)"],
  "datum.wgs84": ["GPS / 手机定位 / 国外地图（WGS-84）", "GPS / phone / maps abroad (WGS-84)"],
});

initPage();
const catalogue = await api("GET", "/api/matters");
$("#matter").replaceChildren(...catalogue.items.map((m) => h("option", { value: m.code }, pick(m, "name"))));

const status = (text) => { $("#location-status").textContent = text; };

function setPosition(lat, lon, datum, source, accuracy) {
  $("#lat").value = lat.toFixed(7);
  $("#lon").value = lon.toFixed(7);
  $("#datum").value = datum;
  $("#source").value = source;
  $("#accuracy").value = accuracy == null ? "" : String(Math.round(accuracy));
}

$("#use-location").addEventListener("click", () => {
  if (!navigator.geolocation) { status(t("apply.no_location")); return; }
  status(t("apply.locating"));
  navigator.geolocation.getCurrentPosition(
    (pos) => {
      const m = Math.round(pos.coords.accuracy);
      setPosition(pos.coords.latitude, pos.coords.longitude, "wgs84", "device", pos.coords.accuracy);
      status(t(m > 100 ? "apply.located_rough" : "apply.located").replace("{m}", m));
    },
    () => status(t("apply.no_location")),
    { enableHighAccuracy: true, timeout: 15000, maximumAge: 0 },
  );
});

/** Latitude and longitude in pasted text, in either order (in China latitude < 56 < 72 < longitude). */
export function parsePasted(text) {
  const pairs = [...text.matchAll(/(-?\d{1,3}\.\d+)\s*[,，\s]\s*(-?\d{1,3}\.\d+)/g)];
  for (const [, a, b] of pairs) {
    const x = Number(a), y = Number(b);
    if (Math.abs(x) <= 90 && Math.abs(y) <= 180 && (Math.abs(y) > Math.abs(x))) return [x, y];
    if (Math.abs(y) <= 90 && Math.abs(x) <= 180) return [y, x];
  }
  return null;
}

function datumOfLink(text, fallback) {
  if (/baidu\.com/i.test(text)) return "bd09";
  if (/amap\.com|gaode\.com|map\.qq\.com|apis\.map\.qq\.com/i.test(text)) return "gcj02";
  if (/google\.|openstreetmap\.org|osm\.org/i.test(text)) return "wgs84";
  return fallback;
}

$("#map-paste").addEventListener("input", (ev) => {
  const text = ev.target.value.trim();
  if (!text) return;
  const found = parsePasted(text);
  if (!found) { status(t("apply.not_pasted")); return; }
  const datum = datumOfLink(text, $("#datum").value);
  setPosition(found[0], found[1], datum, "map_link", null);
  status(t("apply.pasted").replace("{datum}", $("#datum").selectedOptions[0].textContent));
});
$("#datum").addEventListener("change", () => { if ($("#source").value === "device" && $("#datum").value !== "wgs84") $("#source").value = "typed"; });
for (const id of ["#lat", "#lon"]) $(id).addEventListener("input", () => { $("#source").value = "typed"; $("#accuracy").value = ""; });

$("#apply-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  clearError("#apply-error");
  const data = Object.fromEntries(new FormData(ev.target));
  for (const k of Object.keys(data)) if (data[k] === "") delete data[k];
  for (const k of ["premises_lat", "premises_lon", "premises_accuracy_m"]) if (k in data) data[k] = Number(data[k]);
  if (!("premises_lat" in data) && !("premises_lon" in data)) { delete data.premises_datum; delete data.premises_source; }
  try {
    const res = await api("POST", "/api/applications", data);
    ev.target.classList.add("hidden");
    const a = $("#link");
    a.href = res.applicant_link;
    a.textContent = res.applicant_link;
    $("#done").classList.remove("hidden");
  } catch (err) {
    showError("#apply-error", err);
  }
});
