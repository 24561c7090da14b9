// Chinese and English text for every page. Elements carry data-i18n="key"; code calls t("key").
const STRINGS = {
  "app.name": ["零跑腿 · 远程踏勘与邮寄办", "zerotrip · remote inspection and mailing"],
  "nav.logout": ["退出", "Log out"],
  "nav.cases": ["办件列表", "Cases"],
  "nav.mailing": ["快递订单", "Courier orders"],
  "nav.lang": ["English", "中文"],
  "login.title": ["工作人员登录", "Staff login"],
  "login.username": ["用户名", "Username"],
  "login.password": ["密码", "Password"],
  "login.submit": ["登录", "Log in"],
  "login.change": ["首次登录请修改密码", "Please set a new password"],
  "login.new_password": ["新密码（至少 12 位，不要用常见密码）", "New password (at least 12 characters, not a common one)"],
  "login.save_password": ["保存新密码", "Save new password"],
  "cases.title": ["办件列表", "Cases"],
  "cases.state": ["状态", "State"],
  "cases.due": ["时限", "Deadline"],
  "cases.all": ["全部", "All"],
  "cases.overdue": ["已超期", "Overdue"],
  "cases.soon": ["即将到期", "Due soon"],
  "cases.search": ["搜索编号、申请人、电话、地址", "Search reference, applicant, phone, address"],
  "cases.filter": ["筛选", "Filter"],
  "cases.new": ["代办新申请", "New application on behalf"],
  "cases.reference": ["受理编号", "Reference"],
  "cases.matter": ["事项", "Matter"],
  "cases.applicant": ["申请人", "Applicant"],
  "cases.premises": ["经营场所", "Premises"],
  "cases.updated": ["更新时间", "Updated"],
  "cases.deadline": ["办结时限", "Deadline"],
  "cases.empty": ["没有符合条件的办件", "No cases match"],
  "cases.prev": ["上一页", "Previous"],
  "cases.next": ["下一页", "Next"],
  "cases.page": ["第 {n} 页", "Page {n}"],
  "case.applicant": ["申请人信息", "Applicant"],
  "case.materials": ["申请材料", "Materials"],
  "case.checklist": ["踏勘要点", "Inspection checklist"],
  "case.actions": ["办理操作", "Actions"],
  "case.audit": ["全程留痕（审计链）", "Audit trail"],
  "case.links": ["申请人链接", "Applicant links"],
  "case.issue_link": ["生成新链接", "Issue new link"],
  "case.revoke": ["作废", "Revoke"],
  "case.chain_ok": ["审计链完整", "Chain intact"],
  "case.chain_bad": ["审计链被篡改", "Chain broken"],
  "case.no_actions": ["当前状态下无可办理操作", "No actions in this state"],
  "case.phone": ["电话", "Phone"],
  "case.email": ["邮箱", "Email"],
  "case.organisation": ["单位名称", "Organisation"],
  "case.address": ["场所地址", "Premises address"],
  "case.submitted": ["提交时间", "Submitted"],
  "case.via": ["提交方式", "Submitted by"],
  "case.deadline": ["法定办结时限", "Statutory deadline"],
  "case.return_reasons": ["退回原因", "Reasons for return"],
  "case.time": ["时间", "Time"],
  "case.actor": ["操作人", "Actor"],
  "case.event": ["事件", "Event"],
  "case.detail": ["内容", "Detail"],
  "case.hash": ["哈希", "Hash"],
  "form.outcome": ["预审结论", "Outcome"],
  "form.accept": ["受理", "Accept"],
  "form.return": ["退回补正", "Return for correction"],
  "form.outstanding": ["容缺受理：允许后补的非关键材料及期限", "Accept with outstanding non-critical materials (容缺) and due date"],
  "form.reasons": ["原因（每行一条）", "Reasons (one per line)"],
  "form.note": ["备注", "Note"],
  "form.result": ["踏勘结论", "Result"],
  "form.pass": ["通过", "Pass"],
  "form.fail": ["不通过", "Fail"],
  "form.rectify": ["限期整改", "Rectify"],
  "form.codes": ["签收的材料", "Materials received"],
  "form.channel": ["方式", "Channel"],
  "form.method": ["送达方式", "Method"],
  "form.confirm": ["确认", "Confirm"],
  "form.cancel": ["取消", "Cancel"],
  "form.due_date": ["后补期限", "Due date"],
  "status.expected": ["待收", "Expected"],
  "status.received": ["已收", "Received"],
  "status.outstanding": ["容缺后补", "Outstanding"],
  "status.missing": ["缺失", "Missing"],
  "state.submitted": ["已提交", "Submitted"],
  "state.returned": ["已退回", "Returned"],
  "state.accepted": ["已受理", "Accepted"],
  "state.inspecting": ["踏勘中", "Inspecting"],
  "state.rectifying": ["整改中", "Rectifying"],
  "state.inspected": ["已踏勘", "Inspected"],
  "state.approved": ["准予许可", "Approved"],
  "state.rejected": ["不予许可", "Rejected"],
  "state.certificate_issued": ["已制证", "Certificate issued"],
  "state.delivered": ["已送达", "Delivered"],
  "state.closed": ["已办结", "Closed"],
  "state.withdrawn": ["已撤回", "Withdrawn"],
  "clock.overdue": ["已超期", "Overdue"],
  "clock.due_soon": ["即将到期", "Due soon"],
  "clock.on_time": ["正常", "On time"],
  "clock.paused": ["暂停计时", "Clock paused"],
  "clock.none": ["—", "—"],
  "apply.title": ["在线申请", "Apply online"],
  "apply.matter": ["申请事项", "Permit"],
  "apply.name": ["申请人姓名", "Applicant's name"],
  "apply.phone": ["手机号码", "Mobile number"],
  "apply.email": ["电子邮箱", "Email"],
  "apply.organisation": ["单位名称", "Business name"],
  "apply.address": ["经营场所地址", "Premises address"],
  "apply.lat": ["纬度（可选）", "Latitude (optional)"],
  "apply.lon": ["经度（可选）", "Longitude (optional)"],
  "apply.submit": ["提交申请", "Submit application"],
  "apply.done": ["申请已提交。请保存下面的专属链接，用它查看进度、上传照片、参加视频踏勘：", "Your application is in. Keep this personal link: it shows progress, takes photos and joins the video inspection:"],
  "applicant.title": ["我的办件", "My application"],
  "applicant.progress": ["办理进度", "Progress"],
  "applicant.deadline": ["承诺办结日期", "Promised completion date"],
  "applicant.materials": ["材料情况", "Materials"],
  "applicant.resubmit": ["已补正，重新提交", "I have corrected it: resubmit"],
  "applicant.withdraw": ["撤回申请", "Withdraw application"],
  "applicant.confirm_withdraw": ["确定撤回申请吗？撤回后需重新申请。", "Withdraw your application? You would have to apply again."],
  "applicant.returned": ["您的申请被退回，原因如下：", "Your application was returned for these reasons:"],
  "applicant.due": ["请于以下日期前补交", "Please supply by"],
  "applicant.link_problem": ["链接无效", "This link does not work"],
  "role.clerk": ["受理人员", "clerk"],
  "role.inspector": ["踏勘人员", "inspector"],
  "role.admin": ["管理员", "administrator"],
  "via.clerk": ["窗口代办", "filed by a clerk"],
  "via.applicant": ["申请人在线提交", "online by the applicant"],
  "index.apply": ["我要申请", "Apply"],
  "index.staff": ["工作人员入口", "Staff console"],
};

const KEY = "zerotrip.lang";
const stored = localStorage.getItem(KEY);
export let lang = stored || ((navigator.language || "zh").toLowerCase().startsWith("zh") ? "zh" : "en");

export function t(key) {
  const entry = STRINGS[key];
  if (!entry) return key;
  return lang === "zh" ? entry[0] : entry[1];
}

export function addStrings(more) { Object.assign(STRINGS, more); }

/** Pick the zh or en field of a record, e.g. pick(matter, "name") -> matter.name_zh. */
export function pick(obj, field) {
  return obj[`${field}_${lang}`] ?? obj[`${field}_en`] ?? "";
}

export function applyTranslations(root = document) {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
}

export function toggleLanguage() {
  lang = lang === "zh" ? "en" : "zh";
  localStorage.setItem(KEY, lang);
  location.reload();
}
