// Repeats serve_api_test.mjs's step "SIGTERM while requests stream and wait" N times (not in CI:
// a few seconds per run). A shutdown race shows up as a run whose stream is cut before its last
// events ("TypeError: terminated", no `data: [DONE]`). Prints each failure and a summary; exits 1
// if any run failed.
//
// usage: node serve_sigterm_repeat.mjs R1VK [RUNS=25] [MODEL_ARGS...]
import assert from "node:assert/strict";
import { startServer, stopServer, waitReady } from "./serve_util.mjs";

const [r1vk, runsArg = "25", ...modelArgs] = process.argv.slice(2);
const runs = Number(runsArg);

async function once() {
  const s = await startServer(r1vk, [...modelArgs, "--temperature", "0", "--max-batch", "2"]);
  let exited = false;
  try {
    await waitReady(s.base);
    const body = (stream) => JSON.stringify({ prompt: "1: 4+8+0=12\n", max_tokens: 400, temperature: 0.9, stream });
    const streamed = fetch(s.base + "/v1/completions", { method: "POST", headers: { "Content-Type": "application/json" }, body: body(true) });
    const whole = fetch(s.base + "/v1/completions", { method: "POST", headers: { "Content-Type": "application/json" }, body: body(false) });
    const res = await streamed;
    assert.equal(res.status, 200);
    const reader = res.body.getReader();
    let text = new TextDecoder().decode((await reader.read()).value);
    const stopped = stopServer(s);
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    const { code, signal } = await stopped;
    exited = true;
    assert.equal(signal, null, s.output());
    assert.equal(code, 0, s.output());
    assert.match(text, /"cancelled"/);
    assert.match(text, /data: \[DONE\]\n\n$/);
    const w = await whole;
    assert.equal(w.status, 503);
  } finally {
    if (!exited) await stopServer(s);
  }
}

let failed = 0;
for (let i = 1; i <= runs; ++i) {
  try {
    await once();
  } catch (e) {
    ++failed;
    console.log(`run ${i}: FAIL ${String(e.message || e).split("\n")[0]}`);
  }
}
console.log(`${runs - failed}/${runs} runs passed`);
process.exit(failed ? 1 : 0);
