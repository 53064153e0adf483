// The console's requests: a cookie session with its CSRF token when the runtime has
// session sign-in, the operator token as a bearer otherwise.
const tokenKey = "switchboard-token";
let csrf = "";
let bearer = sessionStorage.getItem(tokenKey) || "";

export class APIError extends Error {
  constructor(message, status, data) { super(message); this.status = status; this.data = data; }
}

export async function call(method, path, body) {
  const headers = {};
  let payload;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) { headers["Content-Type"] = "application/json"; payload = JSON.stringify(body); }
  if (bearer) headers.Authorization = "Bearer " + bearer;
  else if (csrf && method !== "GET") headers["X-CSRF-Token"] = csrf;
  const res = await fetch(path, { method, headers, body: payload, credentials: "same-origin" });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new APIError((data.error && data.error.message) || data.error || res.statusText, res.status, data);
  return data;
}

// download fetches a file with the console's credentials (an <img src> cannot carry them).
export async function download(path) {
  const headers = bearer ? { Authorization: "Bearer " + bearer } : {};
  const res = await fetch(path, { headers, credentials: "same-origin" });
  if (!res.ok) throw new APIError(res.statusText, res.status, {});
  return res.blob();
}

// signIn exchanges the operator token for a session; a runtime without sessions
// (404, 405) is signed in to with the token itself, kept for this tab only.
export async function signIn(token) {
  try {
    const s = await call("POST", "/api/v1/session", { token });
    csrf = s.csrfToken || "";
    bearer = "";
    sessionStorage.removeItem(tokenKey);
    return true;
  } catch (e) {
    if (e.status !== 404 && e.status !== 405) throw e;
  }
  bearer = token;
  await call("GET", "/api/v1/me");
  sessionStorage.setItem(tokenKey, token);
  return true;
}

// resume finds a session (after a reload, or after the OIDC sign-in), or a token kept
// in this tab.
export async function resume() {
  if (bearer) return true;
  try {
    const s = await call("GET", "/api/v1/session");
    csrf = s.csrfToken || "";
    return true;
  } catch {
    return false;
  }
}

export async function signOut() {
  if (!bearer) await call("DELETE", "/api/v1/session").catch(() => {});
  bearer = csrf = "";
  sessionStorage.removeItem(tokenKey);
}

export async function authMethods() {
  try { return await call("GET", "/api/v1/auth/methods"); } catch { return { token: true, oidc: null }; }
}

// feedURL is the console's WebSocket; with a cookie session the browser sends the
// cookie itself.
export function feedURL() {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const q = bearer ? "?access_token=" + encodeURIComponent(bearer) : "";
  return proto + "//" + location.host + "/api/v1/operator/ws" + q;
}
