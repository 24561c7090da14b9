// The annotation editor: an SVG layer over the upright image where the inspector draws
// rectangles, ellipses, arrows, freehand lines, text labels (中文 / English) and blur regions.
// Pointer events make mouse, touch and pen behave the same. Geometry is kept in fractions of
// the image (what the server stores); drawing happens in the image's own pixel units so the
// picture matches the server's flattened render. Undo/redo keep whole snapshots.
import { api } from "./api.js";
import { h } from "./dom.js";
import { addStrings, lang, t } from "./i18n.js";

addStrings({
  "ann.title": ["图片标注", "Annotate image"],
  "ann.rect": ["矩形 (R)", "Rectangle (R)"],
  "ann.ellipse": ["椭圆 (E)", "Ellipse (E)"],
  "ann.arrow": ["箭头 (A)", "Arrow (A)"],
  "ann.freehand": ["手绘 (F)", "Freehand (F)"],
  "ann.text": ["文字 (T)", "Text (T)"],
  "ann.blur": ["打码 (B)", "Blur (B)"],
  "ann.label": ["标注文字", "Label text"],
  "ann.undo": ["撤销", "Undo"],
  "ann.redo": ["重做", "Redo"],
  "ann.delete": ["删除最后一项", "Delete last"],
  "ann.save": ["保存 (Ctrl+S)", "Save (Ctrl+S)"],
  "ann.close": ["关闭", "Close"],
  "ann.saved": ["已保存版本", "Saved version"],
  "ann.version": ["当前版本", "Version"],
  "ann.need_text": ["请先在“标注文字”中输入内容，再点击图片放置。", "Type the label first, then click the image to place it."],
  "ann.help": ["快捷键：R E A F T B 选工具 · Ctrl+Z 撤销 · Ctrl+Shift+Z 重做 · Delete 删除 · Ctrl+S 保存 · Esc 关闭", "Keys: R E A F T B tools · Ctrl+Z undo · Ctrl+Shift+Z redo · Delete remove · Ctrl+S save · Esc close"],
});

const SVG = "http://www.w3.org/2000/svg";
const TOOLS = ["rect", "ellipse", "arrow", "freehand", "text", "blur"];
const KEYS = { r: "rect", e: "ellipse", a: "arrow", f: "freehand", t: "text", b: "blur" };
const COLOURS = ["#e53935", "#fdd835", "#1e88e5", "#43a047", "#ffffff", "#000000"];
const clamp = (v) => Math.min(1, Math.max(0, v));
const round4 = (v) => Math.round(v * 10000) / 10000;

function svg(tag, attrs) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  return el;
}

/** Open the editor for one evidence image; ``onSaved(version)`` runs after each save. */
export async function openAnnotator({ evidenceId, title = "", onSaved = () => {} }) {
  document.getElementById("annotator")?.remove();
  let items = [];
  let undo = [];
  let redo = [];
  let baseVersion = 0;
  let tool = "rect";
  let draft = null;
  let counter = 0;
  let W = 1;
  let H = 1;

  const status = h("div", { class: "status", role: "status", id: "ann-status" }, t("ann.help"));
  const labelInput = h("input", { type: "text", id: "ann-label", maxlength: 500, placeholder: t("ann.label") });
  const labelLang = h("select", { id: "ann-lang" }, h("option", { value: "zh" }, "中文"), h("option", { value: "en" }, "English"));
  labelLang.value = lang;
  const colour = h("select", { id: "ann-colour", "aria-label": "colour" }, ...COLOURS.map((c) => h("option", { value: c, style: `background:${c}` }, c)));
  const width = h("select", { id: "ann-width", "aria-label": "width" }, ...[2, 4, 8, 12].map((w) => h("option", { value: w }, `${w}px`)));
  width.value = "4";
  const toolButtons = TOOLS.map((name) => h("button", { type: "button", class: "secondary", dataset: { tool: name }, "aria-pressed": String(name === tool), onclick: () => pick(name) }, t(`ann.${name}`)));
  const img = h("img", { alt: title, draggable: "false" });
  const layer = svg("svg", { id: "ann-layer", preserveAspectRatio: "none", viewBox: "0 0 1 1" });
  const frame = h("div", { class: "frame" }, img, layer);
  const dialog = h("dialog", { class: "annotator", id: "annotator" },
    h("form", { method: "dialog", onsubmit: (e) => e.preventDefault() },
      h("div", { class: "toolbar" },
        h("strong", {}, `${t("ann.title")} ${title}`), ...toolButtons, labelInput, labelLang, colour, width,
        h("button", { type: "button", class: "secondary", id: "ann-undo", onclick: doUndo }, t("ann.undo")),
        h("button", { type: "button", class: "secondary", id: "ann-redo", onclick: doRedo }, t("ann.redo")),
        h("button", { type: "button", class: "secondary", id: "ann-delete", onclick: removeLast }, t("ann.delete")),
        h("button", { type: "button", id: "ann-save", onclick: save }, t("ann.save")),
        h("button", { type: "button", class: "secondary", id: "ann-close", onclick: () => dialog.close() }, t("ann.close"))),
      h("div", { class: "stage" }, frame),
      status));
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();

  function pick(name) {
    tool = name;
    for (const b of toolButtons) b.setAttribute("aria-pressed", String(b.dataset.tool === name));
    if (name === "text") labelInput.focus();
  }

  function say(text) { status.textContent = text; }

  function commit(next) {
    undo.push(items);
    redo = [];
    items = next;
    render();
  }
  function doUndo() { if (undo.length) { redo.push(items); items = undo.pop(); render(); } }
  function doRedo() { if (redo.length) { undo.push(items); items = redo.pop(); render(); } }
  function removeLast() { if (items.length) commit(items.slice(0, -1)); }

  const style = () => ({ stroke: colour.value, width: Number(width.value) });
  const newId = () => `a${Date.now().toString(36)}${(counter++).toString(36)}`;

  function point(ev) {
    const r = layer.getBoundingClientRect();
    return [clamp((ev.clientX - r.left) / r.width), clamp((ev.clientY - r.top) / r.height)];
  }

  function boxFrom(a, b, type) {
    return { type, x: round4(Math.min(a[0], b[0])), y: round4(Math.min(a[1], b[1])), w: round4(Math.abs(a[0] - b[0])), h: round4(Math.abs(a[1] - b[1])) };
  }

  function shapeFor(kind, start, end, points) {
    if (kind === "arrow") return { type: "arrow", x1: round4(start[0]), y1: round4(start[1]), x2: round4(end[0]), y2: round4(end[1]) };
    if (kind === "freehand") return { type: "freehand", points: points.map(([x, y]) => [round4(x), round4(y)]) };
    return boxFrom(start, end, kind);
  }

  function bigEnough(s) {
    if (s.type === "arrow") return Math.hypot(s.x2 - s.x1, s.y2 - s.y1) > 0.01;
    if (s.type === "freehand") return s.points.length >= 2;
    return s.w > 0.004 && s.h > 0.004 && s.x + s.w <= 1 && s.y + s.h <= 1;
  }

  layer.addEventListener("pointerdown", (ev) => {
    if (ev.button !== undefined && ev.button > 0) return;
    ev.preventDefault();
    const p = point(ev);
    if (tool === "text") {
      const text = labelInput.value.trim();
      if (!text) { say(t("ann.need_text")); labelInput.focus(); return; }
      commit([...items, { id: newId(), "x-shape": { type: "text", x: round4(p[0]), y: round4(p[1]), text, lang: labelLang.value, size: 0.04 }, "x-style": style() }]);
      return;
    }
    layer.setPointerCapture(ev.pointerId);
    draft = { kind: tool, start: p, end: p, points: [p], pointer: ev.pointerId };
  });
  layer.addEventListener("pointermove", (ev) => {
    if (!draft || ev.pointerId !== draft.pointer) return;
    const p = point(ev);
    draft.end = p;
    const last = draft.points[draft.points.length - 1];
    if (draft.kind === "freehand" && Math.hypot(p[0] - last[0], p[1] - last[1]) > 0.003 && draft.points.length < 2000) draft.points.push(p);
    render();
  });
  const finish = (ev) => {
    if (!draft || ev.pointerId !== draft.pointer) return;
    const shape = shapeFor(draft.kind, draft.start, point(ev), draft.points);
    draft = null;
    if (bigEnough(shape)) commit([...items, { id: newId(), "x-shape": shape, "x-style": style() }]);
    else render();
  };
  layer.addEventListener("pointerup", finish);
  layer.addEventListener("pointercancel", () => { draft = null; render(); });

  dialog.addEventListener("keydown", (ev) => {
    const mod = ev.ctrlKey || ev.metaKey;
    if (mod && ev.key.toLowerCase() === "s") { ev.preventDefault(); save(); return; }
    if (ev.target instanceof HTMLInputElement || ev.target instanceof HTMLSelectElement) return;
    if (mod && ev.key.toLowerCase() === "z") { ev.preventDefault(); (ev.shiftKey ? doRedo : doUndo)(); return; }
    if (mod && ev.key.toLowerCase() === "y") { ev.preventDefault(); doRedo(); return; }
    if (ev.key === "Delete" || ev.key === "Backspace") { ev.preventDefault(); removeLast(); return; }
    if (!mod && KEYS[ev.key.toLowerCase()]) { ev.preventDefault(); pick(KEYS[ev.key.toLowerCase()]); }
  });

  function drawShape(shape, st, extra = {}) {
    const k = Math.max(W, H) / 1600;
    const sw = Math.max(1, st.width * k);
    const common = { stroke: st.stroke, "stroke-width": sw, fill: "none", ...extra };
    switch (shape.type) {
      case "rect":
        return svg("rect", { ...common, x: shape.x * W, y: shape.y * H, width: shape.w * W, height: shape.h * H });
      case "blur":
        return svg("rect", { x: shape.x * W, y: shape.y * H, width: shape.w * W, height: shape.h * H, fill: "rgba(120,120,120,0.75)", stroke: "#fff", "stroke-dasharray": `${6 * k} ${4 * k}`, "stroke-width": 2 * k, "data-kind": "blur", ...extra });
      case "ellipse":
        return svg("ellipse", { ...common, cx: (shape.x + shape.w / 2) * W, cy: (shape.y + shape.h / 2) * H, rx: (shape.w / 2) * W, ry: (shape.h / 2) * H });
      case "freehand":
        return svg("polyline", { ...common, "stroke-linejoin": "round", "stroke-linecap": "round", points: shape.points.map(([x, y]) => `${x * W},${y * H}`).join(" ") });
      case "arrow": {
        const [x1, y1, x2, y2] = [shape.x1 * W, shape.y1 * H, shape.x2 * W, shape.y2 * H];
        const angle = Math.atan2(y2 - y1, x2 - x1);
        const head = Math.max(10, sw * 5);
        const spread = (25 * Math.PI) / 180;
        const g = svg("g", { "data-kind": "arrow", ...extra });
        g.append(svg("line", { ...common, x1, y1, x2: x2 - head * 0.8 * Math.cos(angle), y2: y2 - head * 0.8 * Math.sin(angle) }));
        g.append(svg("polygon", { fill: st.stroke, points: `${x2},${y2} ${x2 - head * Math.cos(angle - spread)},${y2 - head * Math.sin(angle - spread)} ${x2 - head * Math.cos(angle + spread)},${y2 - head * Math.sin(angle + spread)}` }));
        return g;
      }
      case "text": {
        const size = shape.size * H;
        const g = svg("g", { "data-kind": "text", ...extra });
        const bg = svg("rect", { fill: "rgba(255,255,255,0.8)" });
        const label = svg("text", { x: shape.x * W, y: shape.y * H + size * 0.88, "font-size": size, fill: st.stroke, "font-family": "Noto Sans CJK SC, sans-serif" });
        label.textContent = shape.text; // text, never markup
        g.append(bg, label);
        queueMicrotask(() => {
          try {
            const b = label.getBBox();
            const pad = size / 5;
            Object.entries({ x: b.x - pad, y: b.y - pad, width: b.width + 2 * pad, height: b.height + 2 * pad }).forEach(([k2, v]) => bg.setAttribute(k2, v));
          } catch { /* not laid out yet */ }
        });
        return g;
      }
      default:
        return svg("g", {});
    }
  }

  function render() {
    const nodes = items.map((it) => drawShape(it["x-shape"], it["x-style"], { "data-id": it.id }));
    if (draft) nodes.push(drawShape(shapeFor(draft.kind, draft.start, draft.end, draft.points), style(), { opacity: 0.7 }));
    layer.replaceChildren(...nodes);
    layer.dataset.count = String(items.length);
  }

  async function save() {
    try {
      const saved = await api("PUT", `/api/review/evidence/${evidenceId}/annotations`, { base_version: baseVersion, items });
      baseVersion = saved.version;
      undo = [];
      redo = [];
      say(`${t("ann.saved")} ${saved.version}`);
      dialog.dataset.version = String(saved.version);
      onSaved(saved.version);
    } catch (err) {
      say(err.message);
    }
  }

  img.addEventListener("load", () => {
    W = img.naturalWidth;
    H = img.naturalHeight;
    layer.setAttribute("viewBox", `0 0 ${W} ${H}`);
    render();
    dialog.dataset.ready = "true";
  });
  const current = await api("GET", `/api/review/evidence/${evidenceId}/annotations`);
  baseVersion = current.version;
  dialog.dataset.version = String(baseVersion);
  items = (current.document?.items || []).map((a) => ({ id: a.id, "x-shape": a["x-shape"], "x-style": a["x-style"] }));
  say(`${t("ann.version")} ${baseVersion} · ${t("ann.help")}`);
  img.src = `/api/review/evidence/${evidenceId}/base`; // ready once both shapes and image are in
  return dialog;
}
