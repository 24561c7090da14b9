// The case's audit chain read as a 办件轨迹: who did what and when (office time), in the page's
// language; the raw event with its hashes is one click away under each entry.
import { api } from "./api.js";
import { $, fmtDate, fmtTime, h } from "./dom.js";
import { addStrings, pick, t } from "./i18n.js";

addStrings({
  "trail.title": ["办件轨迹", "Case trail"],
  "trail.raw": ["原始记录与哈希", "Raw event and hashes"],
  "trail.by": ["操作人", "by"],
  "trail.system": ["系统", "System"],
  "trail.applicant": ["申请人", "Applicant"],
  "trail.courier": ["快递公司", "Courier"],
  "trail.other": ["其他记录", "Other record"],
  "ev.case.submitted": ["提交申请", "Application submitted"],
  "ev.case.prereview": ["预审", "Pre-review"],
  "ev.case.resubmit": ["重新提交", "Resubmitted"],
  "ev.case.receive_materials": ["签收材料", "Materials received"],
  "ev.case.start_inspection": ["开始踏勘", "Inspection started"],
  "ev.case.record_inspection": ["登记踏勘结论", "Inspection result recorded"],
  "ev.case.resume_inspection": ["整改后恢复踏勘", "Inspection resumed after rectification"],
  "ev.case.approve": ["准予许可", "Approved"],
  "ev.case.reject": ["不予许可", "Rejected"],
  "ev.case.issue_certificate": ["制发证照", "Certificate issued"],
  "ev.case.mark_delivered": ["登记送达", "Delivery recorded"],
  "ev.case.close": ["办结", "Closed"],
  "ev.case.withdraw": ["撤回申请", "Withdrawn"],
  "ev.link.issued": ["生成申请人链接", "Applicant link issued"],
  "ev.link.revoked": ["作废申请人链接", "Applicant link revoked"],
  "ev.evidence.received": ["收到照片或视频", "Evidence received"],
  "ev.evidence.refused": ["拒收上传文件", "Upload refused"],
  "ev.evidence.verdict": ["完成可信度核查", "Trust checks done"],
  "ev.evidence.derived": ["生成展示图", "Display copies made"],
  "ev.evidence.nonce_issued": ["发放拍摄凭证", "Capture token issued"],
  "ev.annotation.saved": ["保存照片标注", "Annotation saved"],
  "ev.checkpoint.verdict": ["踏勘要点结论", "Checkpoint verdict"],
  "ev.report.signed": ["签署踏勘报告", "Report signed"],
  "ev.certificate.issued": ["证照生成", "Certificate generated"],
  "ev.certificate.revoked": ["撤销证照", "Certificate revoked"],
  "ev.identity.accessed": ["查看身份核验资料", "Identity evidence opened"],
  "ev.identity.refused": ["拒绝查看身份核验资料", "Identity evidence refused"],
  "ev.live.booked": ["预约视频踏勘", "Live inspection booked"],
  "ev.live.joined": ["进入视频踏勘", "Joined the live inspection"],
  "ev.live.left": ["离开视频踏勘", "Left the live inspection"],
  "ev.live.ended": ["结束视频踏勘", "Live inspection ended"],
  "ev.live.still_captured": ["视频截图取证", "Still captured"],
  "ev.live.recording_finalized": ["录像归档", "Recording archived"],
  "ev.live.challenge_issued": ["发出现场核验口令", "Liveness challenge issued"],
  "ev.live.challenge_answered": ["回应现场核验口令", "Liveness challenge answered"],
  "ev.mailing.order_created": ["生成快递订单", "Courier order created"],
  "ev.mailing.booked": ["快递已预约", "Courier booked"],
  "ev.mailing.dispatch": ["派单给快递公司", "Sent to the courier"],
  "ev.mailing.dispatch_failed": ["派单失败", "Sending to the courier failed"],
  "ev.mailing.not_booked": ["快递未预约成功", "Courier not booked"],
  "ev.mailing.status": ["快递状态更新", "Courier status"],
  "ev.mailing.cancel": ["取消快递订单", "Courier order cancelled"],
  "ev.mailing.attention": ["快递订单需人工处理", "Courier order needs attention"],
  "ev.mailing.stranded": ["快递订单停滞", "Courier order stalled"],
  "ev.mailing.unresolved": ["快递结果待核实", "Courier outcome unknown"],
  "ev.mailing.delivery_preference": ["选择证照领取方式", "Delivery preference chosen"],
  "ev.mailing.self_collect": ["窗口自取，不寄送", "Self-collect: nothing mailed"],
  "ev.courier.pickup": ["快递上门取件", "Courier pickup"],
  "ev.delivery.handed_over": ["证照交付", "Handed over"],
  "ev.notify.send": ["发送消息给申请人", "Message to the applicant"],
  "ev.rating.submitted": ["申请人评价", "Applicant rated the service"],
  "ev.rating.replied": ["答复评价", "Rating answered"],
  "ev.rating.follow_up_call": ["回访申请人", "Follow-up call"],
  "ev.rating.rectification": ["差评整改", "Rectification"],
  "ev.rating.reassigned": ["改派整改责任人", "Rectification reassigned"],
  "fact.note": ["备注", "Note"],
  "fact.reasons": ["原因", "Reasons"],
  "fact.deadline": ["办结时限", "Deadline"],
  "fact.outstanding": ["容缺后补", "Outstanding"],
  "fact.codes": ["材料", "Materials"],
  "fact.result": ["结论", "Result"],
  "fact.comment": ["意见", "Comment"],
  "fact.verdict": ["结论", "Verdict"],
  "fact.reference": ["受理编号", "Reference"],
  "fact.reason": ["原因", "Reason"],
});

const VERDICTS = new Set(["pass", "fail", "rectify"]);

function actorName(e) {
  const a = e.actor || {};
  if (a.kind === "applicant") return t("trail.applicant");
  if (a.kind === "courier") return t("trail.courier");
  if (a.kind === "system") return t("trail.system");
  // Staff are recorded as "Name (role)": the role is shown in the page's language.
  const m = /^(.*) \((clerk|inspector|admin)\)$/.exec(a.label || "");
  return m ? `${m[1]}（${t(`role.${m[2]}`)}）` : a.label || t("trail.system");
}

function materialNames(codes, c) {
  return codes.map((code) => { const m = c.materials.find((x) => x.code === code); return m ? pick(m, "name") : code; }).join("、");
}

// The facts a person needs, named in words; everything else stays in the raw record.
function facts(e, c) {
  const p = e.payload || {};
  const out = [];
  const add = (key, value) => { if (value !== undefined && value !== null && value !== "" && !(Array.isArray(value) && !value.length)) out.push(`${t(`fact.${key}`)}：${value}`); };
  if (p.from && p.to && t(`state.${p.from}`) !== `state.${p.from}`) out.push(`${t(`state.${p.from}`)} → ${t(`state.${p.to}`)}`);
  else if (p.to && t(`state.${p.to}`) !== `state.${p.to}`) out.push(t(`state.${p.to}`));
  if (e.kind === "case.submitted") add("reference", p.reference);
  for (const key of ["result", "verdict"]) if (VERDICTS.has(p[key])) add(key, t(`form.${p[key]}`));
  if (Array.isArray(p.codes)) add("codes", materialNames(p.codes, c));
  if (Array.isArray(p.outstanding)) add("outstanding", p.outstanding.map((o) => `${materialNames([o.code], c)}（${fmtDate(o.due_date)}）`).join("、"));
  if (typeof p.deadline === "string") add("deadline", fmtDate(p.deadline));
  if (Array.isArray(p.reasons)) add("reasons", p.reasons.join("；"));
  for (const key of ["reason", "comment", "note"]) if (typeof p[key] === "string") add(key, p[key]);
  return out.join(" · ");
}

function entry(e, c) {
  const known = t(`ev.${e.kind}`) !== `ev.${e.kind}`;
  const raw = JSON.stringify({ seq: e.seq, kind: e.kind, actor: e.actor, payload: e.payload, prev_hash: e.prev_hash, hash: e.hash }, null, 1);
  return h("li", { dataset: { kind: e.kind, seq: e.seq } },
    h("div", {}, h("strong", {}, known ? t(`ev.${e.kind}`) : t("trail.other")), " · ", actorName(e), " ", h("span", { class: "when" }, fmtTime(e.at))),
    h("div", { class: "trail-facts" }, facts(e, c)),
    h("details", { class: "raw" }, h("summary", {}, t("trail.raw")), h("pre", { class: "mono" }, raw)));
}

export async function renderTrail(c, box) {
  const audit = await api("GET", `/api/cases/${c.id}/audit`);
  const v = audit.verification;
  box.replaceChildren(
    h("p", { id: "chain" }, h("span", { class: `badge ${v.ok ? "ok" : "bad"}`, id: "chain-status", dataset: { ok: v.ok } }, v.ok ? t("case.chain_ok") : `${t("case.chain_bad")} (#${v.first_bad_seq})`),
      " ", h("span", { class: "muted" }, `${v.events} · `), h("span", { class: "mono", title: v.head }, `${v.head.slice(0, 16)}…`)),
    h("ol", { class: "timeline trail", id: "trail" }, ...audit.events.slice().reverse().map((e) => entry(e, c))));
  return $("#trail");
}
