// The built-in chat page in headless Chromium, driven over the DevTools protocol (on a pipe, so no
// extra package): load "/" from `r1vk serve` on the demo model (loopback), type a question, press
// Send, wait for the streamed reply, then read the answer and the collapsed reasoning from the DOM.
// Exits 77 (skipped) where Chromium is not installed.
//
// usage: node serve_chat_page.mjs R1VK
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startServer, stopServer, waitReady } from "./serve_util.mjs";

const r1vk = process.argv[2];
const chromium = ["chromium", "chromium-browser"].map((c) => {
  try { return execFileSync("sh", ["-c", `command -v ${c}`]).toString().trim(); } catch { return ""; }
}).find((c) => c);
if (!chromium) {
  console.log("SKIP: chromium is not installed (Debian: apt-get install chromium); the chat page test needs it");
  process.exit(77);
}

// DevTools protocol over --remote-debugging-pipe: JSON messages ended by NUL on fds 3 (in) and 4 (out).
class Cdp {
  constructor(proc) {
    this.proc = proc;
    this.next = 1;
    this.waiting = new Map();
    let buf = "";
    proc.stdio[4].on("data", (d) => {
      buf += d;
      let cut;
      while ((cut = buf.indexOf("\0")) >= 0) {
        const msg = JSON.parse(buf.slice(0, cut));
        buf = buf.slice(cut + 1);
        const w = this.waiting.get(msg.id);
        if (w) {
          this.waiting.delete(msg.id);
          msg.error ? w.reject(new Error(JSON.stringify(msg.error))) : w.resolve(msg.result);
        }
      }
    });
  }
  send(method, params = {}, sessionId) {
    const id = this.next++;
    this.proc.stdio[3].write(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }) + "\0");
    return new Promise((resolve, reject) => this.waiting.set(id, { resolve, reject }));
  }
}

const server = await startServer(r1vk, ["--temperature", "0"]);
const profile = fs.mkdtempSync(path.join(os.tmpdir(), "r1vk-chromium-"));
const browser = spawn(chromium, ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
  `--user-data-dir=${profile}`, "--remote-debugging-pipe", "about:blank"], { stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"] });
let failed = false;
try {
  await waitReady(server.base);
  const cdp = new Cdp(browser);
  const { targetId } = await cdp.send("Target.createTarget", { url: server.base + "/" });
  const { sessionId } = await cdp.send("Target.attachToTarget", { targetId, flatten: true });
  const evaluate = async (expression) => {
    const r = await cdp.send("Runtime.evaluate", { expression, awaitPromise: true, returnByValue: true }, sessionId);
    if (r.exceptionDetails) throw new Error(JSON.stringify(r.exceptionDetails));
    return r.result.value;
  };
  // Wait for the page (evaluations fail while it navigates), then use it as a person would: type,
  // click Send, watch the reply stream in.
  for (let i = 0; ; ++i) {
    const loaded = await evaluate(`location.pathname === "/" && document.readyState === "complete" && !!document.getElementById("send")`).catch(() => false);
    if (loaded) break;
    if (i > 600) throw new Error("the page did not load");
    await new Promise((r) => setTimeout(r, 50));
  }
  const result = await evaluate(`(async () => {
    document.getElementById("input").value = "What is 1234 + 5678?";
    document.getElementById("send").click();
    let answer;
    for (let i = 0; i < 1200; ++i) {
      answer = document.querySelector(".answer");
      if (answer && answer.dataset.done) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const details = document.querySelector("details.reasoning");
    return { done: answer && answer.dataset.done, answer: answer && answer.textContent, question: document.querySelector(".user").textContent,
             reasoning: details && details.querySelector("pre").textContent, open: details && details.open };
  })()`);
  assert.equal(result.question, "What is 1234 + 5678?");
  assert.equal(result.done, "1", JSON.stringify(result));
  assert.equal(result.answer, "6912");
  assert.match(result.reasoning, /4\+8\+0=12/);
  assert.equal(result.open, false, "the reasoning is shown collapsed");
  console.log("ok: the chat page answered 6912, reasoning collapsed: " + JSON.stringify(result.reasoning));
} catch (e) {
  failed = true;
  console.log("FAIL: " + (e.stack || e) + "\n--- server output ---\n" + server.output());
} finally {
  browser.kill("SIGKILL");
  const { code } = await stopServer(server);
  fs.rmSync(profile, { recursive: true, force: true });
  if (code !== 0) { console.log("FAIL: the server exited with " + code); failed = true; }
}
process.exit(failed ? 1 : 0);
