// 通档 portals: the few actions a page takes, as calls to /api/v1 with the session's CSRF token.
"use strict";
(function () {
  const csrf = () => (document.querySelector('meta[name="csrf"]') || {}).content || "";
  // What the API's error codes mean, in the pages' language.
  const MESSAGES = {
    unauthorized: "账号、密码或验证码不正确。",
    locked: "尝试次数过多，账号已暂时锁定，请稍后再试。",
    too_soon: "验证码已发送，请一分钟后再重新获取。",
    rate_limited: "操作过于频繁，请稍后再试。",
    sms_not_sent: "短信暂时无法发送，请稍后再试。",
    face_verification_required: "请先完成人脸核验。",
    face_mismatch: "人脸核验未通过，请重新拍摄本人正脸照片。",
    too_large: "照片太大，请上传 2MB 以内的照片。",
    forbidden: "您没有执行此操作的权限。",
    not_found: "没有找到相应的记录。",
    conflict: "状态已经变化，请刷新后再试。",
    out_of_order: "当前状态不能执行此操作，请刷新页面。",
    bad_request: "填写的内容有误，请检查。",
    invalid: "填写的内容有误，请检查。",
  };
  const say = (el, text) => { if (el) el.textContent = text; };
  async function call(method, url, body, raw) {
    const headers = { "X-CSRF-Token": csrf() };
    if (raw !== undefined) headers["Content-Type"] = "application/fhir+json";
    else if (body !== undefined) headers["Content-Type"] = "application/json";
    const payload = raw !== undefined ? raw : body === undefined ? undefined : JSON.stringify(body);
    const r = await fetch(url, { method, headers, credentials: "same-origin", body: payload });
    let data = null;
    try { data = await r.json(); } catch (_) { /* no body */ }
    if (!r.ok) {
      const code = data && data.error ? data.error.code : "";
      throw new Error(MESSAGES[code] || `操作未成功（${r.status}${code ? " " + code : ""}）。`);
    }
    return data;
  }
  const fields = (form) => {
    const out = {};
    for (const el of form.elements) {
      if (el.name && el.type !== "file" && el.value !== "") out[el.name] = el.value;
    }
    return out;
  };
  const homeOf = (role) => ({ resident: "/me", clinician: "/clinic", "institution-admin": "/institution", "provincial-operator": "/operator", "city-operator": "/operator", auditor: "/operator" }[role] || "/");
  // Only ever to a page of this site, whatever `next` says.
  const go = (next, fallback) => {
    const u = new URL(next || fallback, location.origin);
    location.assign(u.origin === location.origin ? u.pathname + u.search + u.hash : fallback);
  };
  async function busy(button, work) {
    if (button) button.disabled = true;
    try { await work(); } finally { if (button) button.disabled = false; }
  }

  document.addEventListener("submit", (ev) => {
    const form = ev.target;
    const error = form.querySelector(".error");
    const submit = form.querySelector('button[type="submit"]');
    if (form.dataset.signin) {
      ev.preventDefault();
      busy(submit, async () => {
        try {
          const f = fields(form);
          const body = { login: f.login, kind: "web" };
          if (form.dataset.signin === "code") body.code = f.code || ""; else body.password = f.password || "";
          const r = await call("POST", "/api/v1/auth/sign-in", body);
          go(form.dataset.next, homeOf(r.account.role));
        } catch (e) { say(error, e.message); }
      });
    } else if (form.dataset.api) {
      ev.preventDefault();
      if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
      busy(submit, async () => {
        try {
          const body = Object.assign(fields(form), JSON.parse(form.dataset.extra || "{}"));
          await call(form.dataset.method || "POST", form.dataset.api, body);
          if (form.dataset.next) go(form.dataset.next, "/home"); else location.reload();
        } catch (e) { say(error, e.message); }
      });
    } else if (form.dataset.raw) {
      // A resource as the institution wrote it: sent as it is, so its numbers keep their digits.
      ev.preventDefault();
      busy(submit, async () => {
        try {
          const r = await call("POST", form.dataset.raw, undefined, form.querySelector("textarea").value);
          if (r && r.outcome === "refused") {
            const issues = (r.operation_outcome && r.operation_outcome.issue) || [];
            say(error, "仍未通过质控：" + issues.map((i) => i.diagnostics).join("；"));
          } else location.reload();
        } catch (e) { say(error, e.message); }
      });
    } else if (form.dataset.key) {
      ev.preventDefault();
      busy(submit, async () => {
        try {
          const r = await call("POST", form.dataset.key, { scopes: ["submit"] });
          const shown = document.querySelector("[data-new-key]");
          shown.querySelector("code").textContent = r.key;
          shown.hidden = false;
        } catch (e) { say(error, e.message); }
      });
    } else if (form.hasAttribute("data-face")) {
      ev.preventDefault();
      const file = form.querySelector('input[type="file"]').files[0];
      if (!file) { say(error, "请选择照片。"); return; }
      busy(submit, async () => {
        try {
          const bytes = new Uint8Array(await file.arrayBuffer());
          let binary = "";
          for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
          await call("POST", "/api/v1/me/face-verification", { photo: btoa(binary) });
          go(form.dataset.next, "/me");
        } catch (e) { say(error, e.message); }
      });
    }
  });

  // A clinician waiting for the patient's approval in the app: ask every three seconds.
  const waiting = document.querySelector("[data-wait-request]");
  if (waiting) {
    const id = waiting.dataset.waitRequest;
    const started = Date.now();
    const timer = setInterval(async () => {
      // A request left unanswered for ten minutes: stop asking; the page says so.
      if (Date.now() - started > 600000) { clearInterval(timer); say(waiting.querySelector(".error"), "患者暂未回应，请稍后刷新或改用短信验证码授权。"); return; }
      try {
        const g = await call("GET", `/api/v1/access-requests/${encodeURIComponent(id)}`);
        if (g.status === "active") { clearInterval(timer); location.assign(location.pathname); }
        else if (g.status !== "requested") { clearInterval(timer); say(waiting.querySelector(".error"), `患者未同意（${g.status_zh}）。`); }
      } catch (e) { clearInterval(timer); say(waiting.querySelector(".error"), e.message); }
    }, 3000);
  }

  document.addEventListener("click", (ev) => {
    const el = ev.target.closest("button");
    if (!el) return;
    if (el.hasAttribute("data-send-code")) {
      const form = el.closest("form");
      const error = form.querySelector(".error");
      const phone = form.querySelector('input[name="login"]').value.trim();
      if (!/^[0-9]{5,15}$/.test(phone)) { say(error, "请输入正确的手机号。"); return; }
      busy(el, async () => {
        try {
          await call("POST", "/api/v1/auth/sms-code", { login: phone });
          say(error, "");
          el.textContent = "验证码已发送";
          const live = form.querySelector("[data-status]");
          if (live) live.textContent = "验证码已发送到您的手机，5分钟内有效。";
          form.querySelector('input[name="code"]').focus();
          // One code a minute: the button waits, counting down.
          let left = 60;
          const tick = setInterval(() => {
            left -= 1;
            el.disabled = left > 0;
            el.textContent = left > 0 ? `${left}秒后可重新获取` : "重新获取验证码";
            if (left <= 0) clearInterval(tick);
          }, 1000);
          setTimeout(() => { el.disabled = true; }, 0);
        } catch (e) { say(error, e.message); }
      });
    } else if (el.dataset.action) {
      if (el.dataset.confirm && !window.confirm(el.dataset.confirm)) return;
      const error = (el.closest("li, td, section, form, div") || document).querySelector(".error");
      busy(el, async () => {
        try {
          const method = el.dataset.method || "POST";
          await call(method, el.dataset.action, method === "DELETE" ? undefined : el.dataset.body ? JSON.parse(el.dataset.body) : {});
          location.reload();
        } catch (e) { say(error, e.message); }
      });
    } else if (el.dataset.request) {
      const error = el.closest("section").querySelector(".error");
      busy(el, async () => {
        try {
          const r = await call("POST", "/api/v1/access-requests", { patient: el.dataset.patient, channel: el.dataset.request });
          const wait = el.dataset.request === "app" ? "&wait=1" : "";
          location.assign(`/clinic/patients/${el.dataset.patient}?request=${encodeURIComponent(r.id)}${wait}`);
        } catch (e) { say(error, e.message); }
      });
    } else if (el.hasAttribute("data-signout")) {
      busy(el, async () => {
        try { await call("POST", "/api/v1/auth/sign-out"); } catch (_) { /* signed out anyway */ }
        location.assign("/signin");
      });
    }
  });
})();
