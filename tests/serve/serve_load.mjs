// Load test for `r1vk serve` (loopback only, bounded): at concurrency 1, 4 and 16, streamed chat
// requests for a fixed set of demo-model problems; reports requests/s, aggregate generated
// tokens/s and p50/p99 time to first token per level.
//
// usage: node serve_load.mjs R1VK [--requests-per-client N] [--max-seconds S] [--levels 1,4,16] [--json] [--url BASE]
//                            [--no-mtp | --compare-mtp [--drafts N,N..]]
//   Starts `R1VK serve --port 0` on 127.0.0.1 (the demo model, greedy) and stops it at the end.
//   --no-mtp passes --no-mtp to the server (decoding without MTP drafts). --compare-mtp starts two
//   servers, with MTP drafts and with --no-mtp, and runs each level on one right after the other
//   (which goes first alternates by round), printing every run and the ratio of the two servers'
//   best generated tokens/s per level (the machine's load hits both alike). With --drafts 1,2,3
//   it starts one MTP server per draft count (`--draft N`) beside the --no-mtp one, and compares
//   each with it. --rounds N (default 1, at most 10) repeats every level N times.
import { metric, startServer, stopServer, waitReady } from "./serve_util.mjs";

const args = process.argv.slice(2);
const r1vk = args[0];
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const perClient = Math.min(Number(opt("--requests-per-client", "4")), 50);
const maxSeconds = Math.min(Number(opt("--max-seconds", "90")), 600);
const levels = opt("--levels", "1,4,16").split(",").map(Number).filter((c) => c >= 1 && c <= 64);
const problems = ["What is 1234 + 5678?", "What is 31415 - 92653?", "What is 4321 - 1234?", "What is 55555 + 44445?",
  "What is 123456 + 654321?", "What is 808 - 909?", "What is 999 + 1?", "What is 271828 - 314159?"];

async function one(base, q) {
  const t0 = performance.now();
  const res = await fetch(base + "/v1/chat/completions", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ messages: [{ role: "user", content: q }], stream: true, stream_options: { include_usage: true }, temperature: 0, max_tokens: 200 }),
  });
  if (!res.ok) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  let buf = "", ttft = null, tokens = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let cut;
    while ((cut = buf.indexOf("\n\n")) >= 0) {
      const ev = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      if (!ev.startsWith("data: ") || ev === "data: [DONE]") continue;
      const j = JSON.parse(ev.slice(6));
      const d = j.choices?.[0]?.delta;
      if (ttft === null && d && (d.reasoning_content || d.content)) ttft = performance.now() - t0;
      if (j.usage) tokens = j.usage.completion_tokens;
    }
  }
  return { ttft, tokens };
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN;
};

async function runLevel(base, c) {
  const deadline = performance.now() + maxSeconds * 1000;
  const ttfts = [];
  let tokens = 0, requests = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: c }, async (_, i) => {
    for (let j = 0; j < perClient && performance.now() < deadline; ++j) {
      const r = await one(base, problems[(i + j) % problems.length]);
      ttfts.push(r.ttft);
      tokens += r.tokens;
      ++requests;
    }
  }));
  const secs = (performance.now() - t0) / 1000;
  return { concurrency: c, requests, seconds: secs, requests_per_s: requests / secs, tokens_per_s: tokens / secs,
    ttft_p50_ms: pct(ttfts, 50), ttft_p99_ms: pct(ttfts, 99) };
}

// --url: load a server that is already running (started with --temperature 0) instead.
const url = opt("--url", null);
const compare = args.includes("--compare-mtp");
const rounds = Math.max(1, Math.min(Number(opt("--rounds", "1")), 10));
if (url && compare) throw new Error("--compare-mtp starts its own two servers: it does not take --url");
const serverArgs = ["--max-batch", "16", "--temperature", "0"];
const draftCounts = opt("--drafts", null)?.split(",").map(Number).filter((n) => n >= 1 && n <= 8);
const mtpVariants = draftCounts?.length ? draftCounts.map((n) => [`draft ${n}`, ["--draft", String(n)]]) : [["mtp", []]];
const variants = compare ? [...mtpVariants, ["no-mtp", ["--no-mtp"]]] : [[args.includes("--no-mtp") ? "no-mtp" : "", args.includes("--no-mtp") ? ["--no-mtp"] : []]];
const servers = [];
const results = [];
try {
  for (const [name, extra] of variants) {
    // One after the other: a second server finds the plan the first compiled in the cache.
    const server = url ? { base: url } : await startServer(r1vk, [...serverArgs, ...extra]);
    servers.push([name, server]);
    await waitReady(server.base);
    await one(server.base, problems[0]);  // warm-up
  }
  for (let round = 0; round < rounds; ++round) {
    for (const c of levels) {
      const order = round % 2 ? [...servers].reverse() : servers;
      for (const [name, server] of order) results.push({ server: name, round, ...(await runLevel(server.base, c)) });
    }
  }
  for (const [name, server] of servers) {
    const proposed = await metric(server.base, "r1vk_mtp_drafts_proposed_total").catch(() => 0);
    if (proposed > 0) {
      const accepted = await metric(server.base, "r1vk_mtp_drafts_accepted_total");
      console.log(`${name ? name + ": " : ""}MTP drafts accepted: ${accepted} of ${proposed} (${((100 * accepted) / proposed).toFixed(1)} %)`);
    }
  }
} finally {
  if (!url) for (const [, server] of servers) await stopServer(server);
}
if (args.includes("--json")) {
  console.log(JSON.stringify(results, null, 1));
} else {
  console.log(`${compare ? "server   " : ""}${rounds > 1 ? "round  " : ""}concurrency  requests  seconds  req/s   gen tok/s  TTFT p50 ms  TTFT p99 ms`);
  for (const r of results) {
    console.log(`${compare ? r.server.padEnd(9) : ""}${rounds > 1 ? String(r.round).padStart(5) + "  " : ""}${String(r.concurrency).padStart(11)}  ${String(r.requests).padStart(8)}  ${r.seconds.toFixed(1).padStart(7)}  ` +
      `${r.requests_per_s.toFixed(2).padStart(5)}  ${r.tokens_per_s.toFixed(1).padStart(9)}  ${r.ttft_p50_ms.toFixed(0).padStart(11)}  ${r.ttft_p99_ms.toFixed(0).padStart(11)}`);
  }
  // Per server and level the best round (the one other jobs on the machine disturbed least).
  const best = (name, c) => Math.max(...results.filter((r) => r.server === name && r.concurrency === c).map((r) => r.tokens_per_s));
  for (const [name] of servers) {
    const base1 = levels.includes(1) ? best(name, 1) : NaN;
    for (const c of levels) if (c !== 1 && base1) console.log(`${name ? name + ": " : ""}aggregate tok/s at ${c} = ${(best(name, c) / base1).toFixed(2)}x concurrency 1`);
  }
  if (compare) {
    for (const c of levels) {
      for (const [name] of mtpVariants) {
        console.log(`concurrency ${c}: ${name === "mtp" ? "MTP" : name} ${best(name, c).toFixed(1)} tok/s, --no-mtp ${best("no-mtp", c).toFixed(1)}: ` +
          `${(best(name, c) / best("no-mtp", c)).toFixed(2)}x`);
      }
    }
  }
}
