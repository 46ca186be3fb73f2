// `r1vk serve` with MTP drafts (the default on the demo model: one per sequence and step; and
// `--draft N` for each N given) against `r1vk serve --no-mtp` (loopback only): the same
// concurrent requests (greedy streamed and not, stop strings, odd max_tokens, seeded sampling)
// give the same text, finish reason and usage on all; /metrics counts verified and accepted
// drafts on each drafting server and none on the plain one. Run with R1VK_VALIDATION=1: a
// validation error in a server's output fails the test.
//
// usage: node serve_mtp_test.mjs R1VK [N ...]   (no N: the default single draft)
import assert from "node:assert/strict";
import { metric, startServer, stopServer, waitReady } from "./serve_util.mjs";

const [r1vk, ...draftArgs] = process.argv.slice(2);
const drafts = draftArgs.length ? draftArgs.map(Number) : [1];

const requests = [
  { messages: [{ role: "user", content: "What is 1234 + 5678?" }], temperature: 0, stream: true },
  { messages: [{ role: "user", content: "What is 31415 - 92653?" }], temperature: 0 },
  { messages: [{ role: "user", content: "What is 4321 - 1234?" }], temperature: 0, max_tokens: 17, stream: true },
  { messages: [{ role: "user", content: "What is 999 + 1?" }], temperature: 0, stop: ["+"] },
  { messages: [{ role: "user", content: "What is 55555 + 44445?" }], temperature: 0.8, seed: 11, stream: true },
  { messages: [{ role: "user", content: "What is 808 - 909?" }], temperature: 1.0, seed: 3, max_tokens: 40 },
  { messages: [{ role: "user", content: "What is 2718 + 2818?" }], temperature: 0, max_tokens: 6, stream: true },
  { messages: [{ role: "user", content: "What is 6060 - 707?" }], temperature: 0, stop: ["0-"], stream: true },
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

// One server after the other: the later ones find the plan the first compiled in the cache.
// --draft-max-batch 8: every sequence of the eight-request batch verifies drafts (on a CPU device
// the default stops drafting above two decoding sequences).
const servers = [["plain", ["--no-mtp"]], ...drafts.map((n) => [`draft ${n}`, ["--draft", String(n), "--draft-max-batch", "8"]])];
const results = {};
for (const [name, args] of servers) {
  const server = await startServer(r1vk, ["--max-batch", "8", ...args]);
  try {
    results[name] = await runAll(server);
  } finally {
    const { code } = await stopServer(server);
    assert.equal(code, 0, server.output());
    assert.doesNotMatch(server.output(), /validation error/i);
  }
  if (name !== "plain") assert.match(server.output(), new RegExp(`MTP drafts on \\(${args[1]} per sequence and step\\)`));
}
const { plain } = results;
assert.equal(plain.out[2].usage.completion_tokens, 17);
assert.equal(plain.out[2].finish, "length");
assert.equal(plain.out[6].usage.completion_tokens, 6);
assert.equal(plain.proposed, 0);
for (const n of drafts) {
  const mtp = results[`draft ${n}`];
  for (let i = 0; i < requests.length; ++i) {
    assert.deepEqual(mtp.out[i], plain.out[i], `--draft ${n}, request ${i}: ${JSON.stringify(requests[i])}`);
  }
  assert.ok(mtp.proposed > 20, `--draft ${n}: MTP drafts verified: ${mtp.proposed}`);
  assert.ok(mtp.accepted > 0 && mtp.accepted <= mtp.proposed, `--draft ${n}: MTP drafts accepted: ${mtp.accepted} of ${mtp.proposed}`);
  console.log(`ok: --draft ${n}: ${requests.length} concurrent requests alike with and without MTP; ${mtp.accepted} of ${mtp.proposed} drafts accepted`);
}
