// Talking to the API: JSON in and out, problem+json errors turned into ApiError, CSRF for
// cookie sessions, and the applicant's link token as a bearer credential.
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

const CSRF_KEY = "zerotrip.csrf";
export const csrf = {
  get: () => sessionStorage.getItem(CSRF_KEY) || "",
  set: (v) => sessionStorage.setItem(CSRF_KEY, v),
  clear: () => sessionStorage.removeItem(CSRF_KEY),
};

let applicantToken = null;
export function useApplicantToken(token) { applicantToken = token; }
export function authHeaders() {
  const headers = {};
  if (applicantToken) headers.Authorization = `Bearer ${applicantToken}`;
  else if (csrf.get()) headers["X-CSRF-Token"] = csrf.get();
  return headers;
}

export async function api(method, path, body, extraHeaders = {}) {
  // Problems come back in the language the page shows, not only the browser's.
  const language = document.documentElement.lang || "zh-CN";
  const headers = { Accept: "application/json", "Accept-Language": language, ...authHeaders(), ...extraHeaders };
  const init = { method, headers, credentials: "same-origin" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const resp = await fetch(path, init);
  const text = await resp.text();
  let data = {};
  try { data = text ? JSON.parse(text) : {}; } catch { data = { detail: text }; }
  if (!resp.ok) throw new ApiError(resp.status, data);
  return data;
}

/** Staff pages: make sure we are logged in (refreshing the CSRF token), else go to login. */
export async function requireStaff() {
  try {
    const me = await api("GET", "/api/me");
    csrf.set(me.csrf_token);
    return me.user;
  } catch (err) {
    if (err.status === 401 || err.status === 403) {
      location.href = `/staff/login?next=${encodeURIComponent(location.pathname + location.search)}`;
    }
    throw err;
  }
}

export async function logout() {
  try { await api("DELETE", "/api/session"); } finally { csrf.clear(); location.href = "/staff/login"; }
}
