// The resident on a 390-px phone: signs in with phone and SMS code, passes face verification,
// reads the record, approves a clinician's request, sees the read in the access history,
// reports wrong data and follows it, revokes the grant.
import assert from "node:assert/strict";
import { BASE, api, clean, launch, openPage, shot } from "./lib.mjs";

const env = (k) => { assert.ok(process.env[k], `${k} is not set`); return process.env[k]; };
const phone = env("RESIDENT_PHONE");
const doctor = env("DOCTOR_TOKEN");
const person = env("PERSON");
const hospital = env("HOSPITAL");

const browser = await launch();
try {
  const page = await openPage(browser, { width: 390, height: 844 });

  // A page needs a session: the record sends us to sign in, and back after.
  await page.goto(`${BASE}/me`);
  assert.match(page.url(), /\/signin\?next=\/me$/);
  await shot(page, "01-signin");
  // Keyboard first: the first Tab lands on the skip link.
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement.className), "skip");

  await page.getByLabel("手机号").fill(phone);
  await page.getByRole("button", { name: "获取验证码" }).click();
  await page.getByText("验证码已发送到您的手机").waitFor();
  // A clinician never sees sign-in codes in the simulated outbox; the operator running it does.
  const hidden = await api(doctor, "GET", "/api/v1/simulators/sms/outbox");
  assert.ok(!hidden.data.some((m) => m.text.includes("登录验证码")), "sign-in codes are not shown to clinicians");
  const outbox = await api(env("OPERATOR_TOKEN"), "GET", "/api/v1/simulators/sms/outbox");
  assert.equal(outbox.status, 200, JSON.stringify(outbox.data));
  const sms = outbox.data.find((m) => m.text.includes("登录验证码"));
  assert.ok(sms, `no sign-in code in ${JSON.stringify(outbox.data)}`);
  const code = sms.text.match(/登录验证码(\d{6})/)[1];
  await page.getByLabel("短信验证码").fill("000000" === code ? "111111" : "000000");
  await page.locator('form[data-signin="code"] button[type="submit"]').click();
  await page.getByText("账号、密码或验证码不正确。").waitFor();
  await page.getByLabel("短信验证码").fill(code);
  await page.locator('form[data-signin="code"] button[type="submit"]').click();

  // First view: face verification before anything of the record shows.
  await page.waitForURL(/\/me\/verify/);
  await shot(page, "02-face-verification");
  await page.getByLabel("本人照片").setInputFiles(env("FACE_PHOTO"));
  await page.getByRole("button", { name: "开始核验" }).click();
  await page.waitForURL(`${BASE}/me`);
  await page.getByRole("heading", { name: "我的健康档案" }).waitFor();
  // The name from the account is shown as text, never run.
  assert.ok((await page.locator(".who").innerText()).includes("<script>"), "the name is shown as text");
  const lab = page.locator(".entry", { hasText: "空腹血糖" });
  await lab.waitFor();
  assert.ok((await lab.innerText()).includes("7.8 mmol/L"), await lab.innerText());
  assert.ok((await lab.innerText()).includes("偏高"));
  assert.ok((await lab.innerText()).includes(hospital), "each entry names its source");
  await shot(page, "03-timeline");
  await clean(page);

  // Filters: vaccinations only.
  await page.getByLabel("类别").selectOption({ label: "疫苗接种" });
  await page.getByRole("button", { name: "筛选" }).click();
  await page.waitForURL(/category=vaccination/);
  const vaccinations = await page.locator(".timeline").innerText();
  assert.ok(vaccinations.includes("乙肝疫苗") && vaccinations.includes("第2剂"), vaccinations);
  assert.ok(!vaccinations.includes("空腹血糖"), "the filter keeps vaccinations only");
  await shot(page, "04-timeline-filtered");

  // Entry detail in plain language, and a report of wrong data.
  await page.goto(`${BASE}/me`);
  await page.locator(".entry", { hasText: "空腹血糖" }).click();
  await page.getByText("参考范围").waitFor();
  assert.ok((await page.locator("dl").innerText()).includes("3.9 mmol/L – 6.1 mmol/L"));
  await shot(page, "05-entry");
  await page.getByLabel("问题").fill("这次检验不是我做的");
  await page.getByRole("button", { name: "提交" }).click();
  await page.waitForURL(`${BASE}/me/reports`);
  await page.getByText("这次检验不是我做的").waitFor();
  assert.ok((await page.locator(".card").first().innerText()).includes("待受理"));
  await shot(page, "06-reports");

  // A clinician asks in the app; the resident approves on the phone.
  const ask = await api(doctor, "POST", "/api/v1/access-requests", { patient: person, channel: "app" });
  assert.equal(ask.status, 201, JSON.stringify(ask.data));
  await page.getByRole("link", { name: "授权请求" }).click();
  await page.getByRole("button", { name: "同意" }).waitFor();
  assert.ok((await page.locator(".card").first().innerText()).includes("范围：全部档案"), "categories in Chinese");
  await shot(page, "07-requests");
  await page.getByRole("button", { name: "同意" }).click();
  await page.getByText("没有待处理的授权请求。").waitFor();

  // The clinician reads; the read shows in the resident's access history.
  const read = await api(doctor, "GET", `/api/v1/persons/${person}/timeline`);
  assert.equal(read.status, 200, JSON.stringify(read.data));
  await page.getByRole("link", { name: "调阅记录" }).click();
  await page.getByRole("heading", { name: "谁看过我的档案" }).waitFor();
  const history = await page.locator(".history").innerText();
  assert.ok(history.includes(hospital), history);
  await shot(page, "08-history");

  // Revoke the grant.
  await page.getByRole("link", { name: "我的授权" }).click();
  await page.getByRole("button", { name: "撤销授权" }).click();
  await page.getByText("已撤销").first().waitFor();
  await shot(page, "09-grants");
  const after = await api(doctor, "GET", `/api/v1/persons/${person}/timeline`);
  assert.equal(after.status, 403, "a revoked grant reads nothing");
  await clean(page);

  // Sign out: the record asks for a session again.
  await page.getByRole("button", { name: "退出" }).click();
  await page.waitForURL(/\/signin/);
  await page.goto(`${BASE}/me`);
  assert.match(page.url(), /\/signin/);
  console.log(`resident scenario passed; screenshots in ${process.env.SCREENSHOTS}`);
} finally {
  await browser.close();
}
