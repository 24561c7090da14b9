// A pointer on the live video: the inspector clicks (a circle) or drags (an arrow) on the
// console's video; the phone draws it over its preview for a few seconds. Positions travel as
// fractions of the camera frame, so they land on the same spot whatever each screen crops
// (the console letterboxes the frame, the phone fills the screen with it).

const SVG = "http://www.w3.org/2000/svg";
export const POINTER_SHOWN_MS = 5000;

/** Where a video element paints its frame, in element pixels (object-fit contain or cover). */
export function frameRect(video) {
  const w = video.clientWidth;
  const hgt = video.clientHeight;
  const vw = video.videoWidth || w;
  const vh = video.videoHeight || hgt;
  const fit = getComputedStyle(video).objectFit;
  const scale = fit === "cover" ? Math.max(w / vw, hgt / vh) : Math.min(w / vw, hgt / vh);
  const fw = vw * scale;
  const fh = vh * scale;
  return { left: (w - fw) / 2, top: (hgt - fh) / 2, width: fw, height: fh };
}

const clamp = (v) => Math.min(1, Math.max(0, v));

/** Element pixels -> fractions of the frame. */
export function toFrame(video, px, py) {
  const r = frameRect(video);
  return { x: clamp((px - r.left) / r.width), y: clamp((py - r.top) / r.height) };
}

/** Fractions of the frame -> element pixels. */
export function fromFrame(video, x, y) {
  const r = frameRect(video);
  return { x: r.left + x * r.width, y: r.top + y * r.height };
}

function el(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

/** Draw a pointer on an SVG laid over ``video``; returns where its tip lands (element px). */
export function drawPointer(svg, video, p) {
  const w = video.clientWidth;
  const hgt = video.clientHeight;
  svg.setAttribute("viewBox", `0 0 ${w} ${hgt}`);
  svg.setAttribute("width", w);
  svg.setAttribute("height", hgt);
  const at = fromFrame(video, p.x, p.y);
  const style = { fill: "none", stroke: "#ffd400", "stroke-width": 6, "stroke-linecap": "round" };
  const shapes = [];
  if (p.shape === "arrow" && p.x2 != null) {
    const to = fromFrame(video, p.x2, p.y2);
    const angle = Math.atan2(to.y - at.y, to.x - at.x);
    const head = Math.max(18, Math.min(w, hgt) * 0.06);
    const wing = (a) => `${to.x - head * Math.cos(angle + a)},${to.y - head * Math.sin(angle + a)}`;
    shapes.push(el("line", { x1: at.x, y1: at.y, x2: to.x, y2: to.y, ...style }),
      el("polyline", { points: `${wing(0.5)} ${to.x},${to.y} ${wing(-0.5)}`, ...style }));
    svg.replaceChildren(...shapes);
    svg.dataset.shape = "arrow";
    return to;
  }
  const radius = Math.max(24, Math.min(w, hgt) * 0.1);
  shapes.push(el("circle", { cx: at.x, cy: at.y, r: radius, ...style }));
  svg.replaceChildren(...shapes);
  svg.dataset.shape = "circle";
  return at;
}

/** On the console: a click sends a circle, a drag an arrow from where it started. */
export function pointerInput(video, send) {
  let start = null;
  video.addEventListener("pointerdown", (e) => {
    if (!video.videoWidth) return;
    start = { px: e.offsetX, py: e.offsetY };
  });
  video.addEventListener("pointerup", (e) => {
    if (!start) return;
    const from = toFrame(video, start.px, start.py);
    const moved = Math.hypot(e.offsetX - start.px, e.offsetY - start.py);
    start = null;
    if (moved < 12) send({ shape: "circle", ...from });
    else {
      const to = toFrame(video, e.offsetX, e.offsetY);
      send({ shape: "arrow", x: from.x, y: from.y, x2: to.x, y2: to.y });
    }
  });
}
