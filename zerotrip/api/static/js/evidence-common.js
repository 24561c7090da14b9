// Shared by the applicant's capture module and the staff evidence grid: strings, authorised
// image loading (applicants authenticate with a bearer token, so <img src> cannot be used
// directly), and the upload with progress.
import { authHeaders } from "./api.js";
import { addStrings, lang, t } from "./i18n.js";

addStrings({
  "ev.title": ["现场照片", "Site photos"],
  "ev.intro": ["请在经营场所现场，按每个踏勘要点拍照上传。页面会同时记录拍摄位置和时间。", "At the premises, take a photo for each checklist item. The page records where and when it was taken."],
  "ev.take": ["拍照", "Take photo"],
  "ev.gallery": ["从相册选择", "Choose from gallery"],
  "ev.shutter": ["拍摄", "Capture"],
  "ev.cancel": ["取消", "Cancel"],
  "ev.retry": ["重试上传", "Retry upload"],
  "ev.uploading": ["正在上传", "Uploading"],
  "ev.uploaded": ["已上传", "Uploaded"],
  "ev.failed": ["上传失败", "Upload failed"],
  "ev.network": ["网络中断，请重试", "The connection dropped; please retry"],
  "ev.locating": ["正在获取位置…", "Getting your location…"],
  "ev.no_location": ["无法获取位置，照片将标记为“未附带位置”。", "No location available; the photo will be marked as having none."],
  "ev.no_camera": ["无法打开摄像头，请改用“从相册选择”。", "The camera cannot be opened; use “Choose from gallery” instead."],
  "ev.none": ["尚未上传", "Nothing uploaded yet"],
  "ev.staff_title": ["照片证据", "Photo evidence"],
  "ev.captured": ["拍摄", "Taken"],
  "ev.received": ["接收", "Received"],
  "ev.distance": ["距场所", "From premises"],
  "ev.metres": ["米", "m"],
  "ev.km": ["公里", "km"],
  "ev.unknown": ["未知", "unknown"],
  "ev.source.capture": ["页面内拍摄", "In-page capture"],
  "ev.source.gallery": ["相册上传", "Gallery upload"],
  "ev.source.live_still": ["视频截图", "Live still"],
  "ev.source.live_photo": ["视频拍照", "Live photo"],
  "ev.source.recording": ["录像", "Recording"],
  "ev.verdict.consistent": ["未见异常", "Consistent"],
  "ev.verdict.needs_review": ["需人工核查", "Needs review"],
  "ev.verdict.inconsistent": ["存在矛盾", "Inconsistent"],
  "ev.policy": ["判定规则版本", "Policy version"],
  "ev.close": ["关闭", "Close"],
  "ev.original": ["下载原件（含位置信息）", "Download original (holds location data)"],
  "ev.empty_checkpoint": ["该要点暂无照片", "No photos for this item"],
  "ev.disclaimer": ["“未见异常”表示未发现与申请人陈述相矛盾之处，并不等于已验证。", "“Consistent” means nothing contradicts the applicant's claims; it is not proof."],
});

export const VERDICT_CLASS = { consistent: "ok", needs_review: "warn", inconsistent: "bad" };
export const SEVERITY_CLASS = { info: "", warn: "warn", high: "bad" };

/** Load an API image with the page's credentials and return an object URL for <img>. */
export async function imageUrl(path) {
  const resp = await fetch(path, { headers: authHeaders(), credentials: "same-origin" });
  if (!resp.ok) throw new Error(`HTTP ${resp.status}`);
  return URL.createObjectURL(await resp.blob());
}

export function sentence(finding) {
  return lang === "zh" ? finding.zh : finding.en;
}

/**
 * Send a file as the raw request body with its capture claims; report progress (0..1).
 * Resolves with the evidence JSON; rejects with an Error carrying .status and .problem.
 */
export function uploadEvidence(url, blob, claims, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    for (const [k, v] of Object.entries(authHeaders())) xhr.setRequestHeader(k, v);
    xhr.setRequestHeader("X-Capture", JSON.stringify(claims));
    xhr.setRequestHeader("Content-Type", blob.type || "application/octet-stream");
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
    xhr.onload = () => {
      let data = {};
      try { data = JSON.parse(xhr.responseText || "{}"); } catch { data = { detail: xhr.responseText }; }
      if (xhr.status >= 200 && xhr.status < 300) { onProgress(1); resolve(data); return; }
      const err = new Error(data.detail || data.title || `HTTP ${xhr.status}`);
      err.status = xhr.status;
      err.problem = data;
      reject(err);
    };
    xhr.onerror = () => reject(Object.assign(new Error(t("ev.network")), { status: 0 }));
    xhr.send(blob);
  });
}
