// `r1vk serve` with MTP drafts (the default on the demo model) against `r1vk serve --no-mtp`
// (loopback only): the same concurrent requests (greedy streamed and not, a stop string, an odd
// max_tokens, seeded sampling) give the same text, finish reason and usage on both; /metrics
// counts verified and accepted drafts on the first and none on the second.
//
// usage: node serve_mtp_test.mjs R1VK
import assert from "node:assert/strict";
import { metric, startServer, stopServer, waitReady } from "./serve_util.mjs";

const [r1vk] = process.argv.slice(2);

const requests = [
  { messages: [{ role: "user", content: "What is 1234 + 5678?" }], temperature: 0, stream: true },
  { messages: [{ role: "user", content: "What is 31415 - 92653?" }], temperature: 0 },
  { messages: [{ role: "user", content: "What is 4321 - 1234?" }], temperature: 0, max_tokens: 17, stream: true },
  { messages: [{ role: "user", content: "What is 999 + 1?" }], temperature: 0, stop: ["+"] },
  { messages: [{ role: "user", content: "What is 55555 + 44445?" }], temperature: 0.8, seed: 11, stream: true },
  { messages: [{ role: "user", content: "What is 808 - 909?" }], temperature: 1.0, seed: 3, max_tokens: 40 },
];

// Text (reasoning|answer), finish reason and usage of one chat completion, streamed or not.
async function ask(base, body) {
  const res = await fetch(base + "/v1/chat/completions", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ ...body, ...(body.stream ? { stream_options: { include_usage: true } } : {}) }),
  });
  assert.equal(res.status, 200, await res.clone().text());
  if (!body.stream) {
    const j = await res.json();
    const m = j.choices[0].message;
    return { text: (m.reasoning_content ?? "") + "|" + (m.content ?? ""), finish: j.choices[0].finish_reason, usage: j.usage };
  }
  const raw = await res.text();
  let reasoning = "", answer = "", finish = null, usage = null;
  for (const ev of raw.split("\n\n")) {
    if (!ev.startsWith("data: ") || ev === "data: [DONE]") continue;
    const j = JSON.parse(ev.slice(6));
    const c = j.choices?.[0];
    reasoning += c?.delta?.reasoning_content ?? "";
    answer += c?.delta?.content ?? "";
    if (c?.finish_reason) finish = c.finish_reason;
    if (j.usage) usage = j.usage;
  }
  return { text: reasoning + "|" + answer, finish, usage };
}

async function runAll(server) {
  await waitReady(server.base);
  const out = await Promise.all(requests.map((r) => ask(server.base, r)));
  return { out, proposed: await metric(server.base, "r1vk_mtp_drafts_proposed_total"), accepted: await metric(server.base, "r1vk_mtp_drafts_accepted_total") };
}

// One server after the other: the second finds the plan the first compiled in the cache.
const results = {};
// --draft-max-batch 8: every sequence of the six-request batch verifies drafts (on a CPU device
// the default stops drafting above two decoding sequences).
for (const [name, args] of [["mtp", ["--draft-max-batch", "8"]], ["plain", ["--no-mtp"]]]) {
  const server = await startServer(r1vk, ["--max-batch", "8", ...args]);
  try {
    results[name] = await runAll(server);
  } finally {
    const { code } = await stopServer(server);
    assert.equal(code, 0, server.output());
  }
}
const { mtp, plain } = results;
for (let i = 0; i < requests.length; ++i) assert.deepEqual(mtp.out[i], plain.out[i], `request ${i}: ${JSON.stringify(requests[i])}`);
assert.equal(mtp.out[2].usage.completion_tokens, 17);
assert.equal(mtp.out[2].finish, "length");
assert.equal(plain.proposed, 0);
assert.ok(mtp.proposed > 20, `MTP drafts verified: ${mtp.proposed}`);
assert.ok(mtp.accepted > 0 && mtp.accepted <= mtp.proposed, `MTP drafts accepted: ${mtp.accepted} of ${mtp.proposed}`);
console.log(`ok: ${requests.length} concurrent requests alike with and without MTP; ${mtp.accepted} of ${mtp.proposed} drafts accepted`);
