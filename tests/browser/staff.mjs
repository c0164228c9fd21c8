// An institution's administrator fixes a returned resource on the portal; the provincial
// operator opens the dashboard and the institutions, generates this month's evaluation report
// and downloads its PDF.
import assert from "node:assert/strict";
import { BASE, clean, launch, openPage, shot } from "./lib.mjs";

const env = (k) => { assert.ok(process.env[k], `${k} is not set`); return process.env[k]; };

async function signIn(page, login) {
  await page.goto(`${BASE}/signin`);
  await page.getByLabel("账号").fill(login);
  await page.getByLabel("密码").fill(env("PASSWORD"));
  await page.locator('form[data-signin="password"] button[type="submit"]').click();
}

const browser = await launch();
try {
  // The institution.
  let page = await openPage(browser, { width: 1366, height: 900 });
  await signIn(page, "officer");
  await page.waitForURL(`${BASE}/institution`);
  await page.getByText("待处理退回").waitFor();
  await shot(page, "21-institution-quality");
  await page.getByRole("navigation").getByRole("link", { name: "退回数据" }).click();
  const card = page.locator(".card", { hasText: "Observation/glu-1" });
  await card.waitFor();
  assert.ok((await card.innerText()).includes("QC-LAB-003"), await card.innerText());
  await card.getByText("修正并重新提交").click();
  await shot(page, "22-institution-returns");
  // A wrong id first: refused, with the reason.
  const wrong = JSON.parse(env("FIXED"));
  wrong.id = "glu-2";
  await card.getByLabel("修正后的 FHIR 资源（JSON）").fill(JSON.stringify(wrong));
  await card.getByRole("button", { name: "重新提交" }).click();
  await card.locator(".error").filter({ hasText: /\S/ }).waitFor();
  await card.getByLabel("修正后的 FHIR 资源（JSON）").fill(env("FIXED"));
  await card.getByRole("button", { name: "重新提交" }).click();
  await page.getByText("没有待修正的退回数据。").waitFor();
  for (const [link, name] of [["对账", "23-institution-reconciliation"], ["工单", "24-institution-work-orders"], ["接口密钥", "25-institution-keys"]]) {
    await page.getByRole("navigation").getByRole("link", { name: link, exact: true }).click();
    await page.waitForLoadState("load");
    await shot(page, name);
  }
  await page.getByRole("button", { name: "签发上传密钥" }).click();
  await page.locator("[data-new-key] code").filter({ hasText: /^tdk_/ }).waitFor();
  await clean(page);
  await page.context().close();

  // The province.
  page = await openPage(browser, { width: 1366, height: 900 });
  await signIn(page, "gd-ops");
  await page.waitForURL(`${BASE}/operator`);
  assert.equal(await page.locator(".charts svg").count(), 4, "volume, work orders, acceptance and timeliness charts");
  const rollout = await page.locator("table.dense").innerText();
  assert.ok(rollout.includes("广州市"), rollout);
  await shot(page, "31-operator-dashboard");
  await page.getByRole("navigation").getByRole("link", { name: "机构", exact: true }).click();
  await page.getByText(env("HOSPITAL")).first().waitFor();
  await shot(page, "32-operator-institutions");
  await page.getByRole("navigation").getByRole("link", { name: "评估报告" }).click();
  const month = new Date(Date.now() + 8 * 3600 * 1000).toISOString().slice(0, 7);
  await page.getByLabel("统计月份").fill(month);
  await page.getByRole("button", { name: "生成评估报告" }).click();
  const pdfLink = page.getByRole("link", { name: "PDF" }).first();
  await pdfLink.waitFor();
  await shot(page, "33-operator-reports");
  const [download] = await Promise.all([page.waitForEvent("download"), pdfLink.click()]);
  const file = await download.path();
  const bytes = await (await import("node:fs/promises")).readFile(file);
  assert.equal(bytes.subarray(0, 5).toString(), "%PDF-", "a PDF is downloaded");
  for (const [link, name] of [["工单", "34-operator-work-orders"], ["紧急调阅", "35-operator-emergencies"], ["账本", "36-operator-ledger"]]) {
    await page.getByRole("navigation").getByRole("link", { name: link, exact: true }).click();
    await page.waitForLoadState("load");
    await shot(page, name);
  }
  await clean(page);
  console.log("staff scenario passed");
} finally {
  await browser.close();
}
