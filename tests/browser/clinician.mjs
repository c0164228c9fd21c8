// The clinician at a desktop: signs in, finds a patient by ID number, gets an SMS-code grant,
// reads the record of both hospitals in time order under its summary, filters by category,
// finds the patient again from scanned QR text, and opens another patient in an emergency.
import assert from "node:assert/strict";
import { BASE, api, clean, launch, openPage, shot } from "./lib.mjs";

const env = (k) => { assert.ok(process.env[k], `${k} is not set`); return process.env[k]; };

const browser = await launch();
try {
  const page = await openPage(browser, { width: 1366, height: 900 });
  await page.goto(`${BASE}/clinic`);
  assert.match(page.url(), /\/signin/);
  await page.getByLabel("账号").fill(env("LOGIN"));
  await page.getByLabel("密码").fill(env("PASSWORD"));
  await page.getByLabel("密码").press("Enter");
  await page.waitForURL(`${BASE}/clinic`);
  await shot(page, "11-clinic-search");

  // Keyboard only: the search box has focus; type the ID number and press Enter.
  await page.keyboard.type(env("NATIONAL_ID"));
  await page.keyboard.press("Enter");
  await page.getByRole("link", { name: "打开档案" }).click();
  await page.getByRole("heading", { name: "需要患者授权" }).waitFor();
  await shot(page, "12-clinic-authorize");

  await page.getByRole("button", { name: "短信验证码授权" }).click();
  await page.getByLabel("验证码").waitFor();
  const outbox = await api(env("DOCTOR_TOKEN"), "GET", "/api/v1/simulators/sms/outbox");
  const sms = outbox.data.find((m) => /验证码/.test(m.text));
  assert.ok(sms, JSON.stringify(outbox.data));
  const code = sms.text.match(/(\d{6})/)[1];
  await page.getByLabel("验证码").fill(code);
  await page.getByRole("button", { name: "确认授权" }).click();
  await page.getByRole("heading", { name: "患者档案" }).waitFor();

  const table = await page.locator("table.record").innerText();
  assert.ok(table.includes(env("HOSPITAL")) && table.includes(env("OTHER_HOSPITAL")), `both hospitals' entries: ${table}`);
  const summary = await page.locator(".summary").innerText();
  for (const want of ["2型糖尿病", "青霉素过敏", "空腹血糖", "偏高"]) assert.ok(summary.includes(want), `${want} in the summary: ${summary}`);
  await shot(page, "13-clinic-record");
  await clean(page);

  await page.getByRole("link", { name: "检查检验" }).click();
  await page.waitForURL(/category=lab/);
  const labs = await page.locator("table.record").innerText();
  assert.ok(labs.includes("空腹血糖") && !labs.includes("2型糖尿病"), labs);
  await shot(page, "14-clinic-record-lab");

  // The scanner types the QR code's whole text: the health code inside it is found.
  await page.goto(`${BASE}/clinic`);
  await page.getByLabel(/健康码或身份证号/).fill(`https://ehc.example/qr?c=${env("HEALTH_CODE").toUpperCase()}&v=1`);
  await page.getByRole("button", { name: "查找", exact: true }).click();
  await page.getByRole("link", { name: "打开档案" }).waitFor();

  // An unconscious stranger: emergency access with a reason.
  await page.goto(`${BASE}/clinic/patients/${env("STRANGER")}`);
  await page.getByLabel("紧急调阅理由").fill("患者昏迷送急诊，需了解既往病史");
  await page.getByRole("button", { name: "紧急调阅" }).click();
  await page.getByRole("heading", { name: "患者档案" }).waitFor();
  await shot(page, "15-clinic-emergency");
  await clean(page);
  console.log("clinician scenario passed");
} finally {
  await browser.close();
}
