// Soak test of `r1vk serve` (not in CI): a server under steady mixed load for a stated time while
// its memory is sampled. Loopback only.
//
// usage: node serve_soak.mjs R1VK [--minutes M=10] [--concurrency C=6] [--sample S=10] [-- SERVER_ARGS...]
//
// Each of C clients loops until the time is up, picking at random: a streamed chat (40 %), a
// whole completion (25 %), a stream the client aborts after its first chunks (15 %), a
// non-streaming request the client abandons while it waits (10 %), a malformed or oversized body
// (10 %). Every S seconds it prints the server's resident set (VmRSS from /proc/PID/status), its
// device memory as /metrics reports it (r1vk_device_memory_*: on lavapipe that memory is host
// memory, inside the resident set) and the requests done. At the end: RSS at start (first
// sample), end and maximum, and its growth per 1000 requests after the warm-up (the first quarter
// of the run: lavapipe's threads, caches and the allocator's arenas fill up then), as a least-
// squares slope over the samples and as (end - first sample after the warm-up) per request.
// Exits 1 if a request got an unexpected answer, the server died, or running sequences and KV
// blocks are not back to zero at the end.
import fs from "node:fs";
import { metric, startServer, stopServer, waitReady } from "./serve_util.mjs";

const argv = process.argv.slice(2);
const r1vk = argv[0];
const opt = { minutes: 10, concurrency: 6, sample: 10 };
let serverArgs = ["--temperature", "0", "--max-batch", "8"];
for (let i = 1; i < argv.length; ++i) {
  if (argv[i] === "--") { serverArgs = argv.slice(i + 1); break; }
  const key = argv[i].replace(/^--/, "");
  if (!(key in opt) || i + 1 >= argv.length) throw new Error("unknown or incomplete option " + argv[i]);
  opt[key] = Number(argv[++i]);
}

const server = await startServer(r1vk, serverArgs);
const base = server.base;
let died = false;
server.proc.on("exit", () => { died = true; });
// An error of this script (a failed sample) must not leave the server running behind it (CI).
process.on("exit", () => { if (!died) server.proc.kill("SIGKILL"); });
await waitReady(base);

const counts = {};
const unexpected = [];
let done = 0;
const count = (kind, what) => { const k = `${kind} ${what}`; counts[k] = (counts[k] || 0) + 1; };
const json = { "Content-Type": "application/json" };
const question = () => {
  const a = Math.floor(Math.random() * 90000) + 1000, b = Math.floor(Math.random() * 90000) + 1000;
  return [{ role: "user", content: `What is ${a} ${Math.random() < 0.5 ? "+" : "-"} ${b}?` }];
};

async function streamed(abortAfterChunks) {
  const ac = new AbortController();
  const r = await fetch(base + "/v1/chat/completions", {
    method: "POST", headers: json, signal: ac.signal,
    body: JSON.stringify({ messages: question(), stream: true, max_tokens: 120 }),
  });
  if (r.status !== 200) return `status ${r.status}`;
  const reader = r.body.getReader();
  let text = "";
  for (let chunks = 0; ; ++chunks) {
    if (abortAfterChunks && chunks >= abortAfterChunks) { ac.abort(); return "aborted"; }
    const { value, done: end } = await reader.read();
    if (end) break;
    text += new TextDecoder().decode(value);
  }
  return /data: \[DONE\]\n\n$/.test(text) && !/"error"/.test(text) ? "ok" : "stream cut or failed: " + text.slice(-200);
}

async function whole(abandonAfterMs) {
  const ac = new AbortController();
  const timer = abandonAfterMs ? setTimeout(() => ac.abort(), abandonAfterMs) : null;
  try {
    const r = await fetch(base + "/v1/completions", {
      method: "POST", headers: json, signal: ac.signal,
      body: JSON.stringify({ prompt: "1: 4+8+0=12\n", max_tokens: 8 + Math.floor(Math.random() * 56) }),
    });
    const body = await r.text();
    return r.status === 200 && JSON.parse(body).choices ? "ok" : `status ${r.status}: ${body.slice(0, 200)}`;
  } catch (e) {
    if (abandonAfterMs && e.name === "AbortError") return "abandoned";
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

async function hostile() {
  const big = Math.random() < 0.3;
  const body = big ? "x".repeat(2 << 20) : ['{"messages": [', '{"prompt": 5}', "not json", '{"prompt": "a", "top_p": 7}'][Math.floor(Math.random() * 4)];
  const r = await fetch(base + (big ? "/v1/completions" : "/v1/chat/completions"), { method: "POST", headers: json, body });
  await r.text();
  return (big ? r.status === 413 : r.status === 400) ? "refused" : `status ${r.status}`;
}

const end = Date.now() + opt.minutes * 60000;
async function client() {
  while (Date.now() < end && !died) {
    const p = Math.random();
    const [kind, run] =
      p < 0.40 ? ["stream", () => streamed(0)] :
      p < 0.65 ? ["whole", () => whole(0)] :
      p < 0.80 ? ["stream-abort", () => streamed(1 + Math.floor(Math.random() * 3))] :
      p < 0.90 ? ["whole-abandon", () => whole(50 + Math.floor(Math.random() * 250))] :
      ["hostile", hostile];
    let result;
    try {
      result = await run();
    } catch (e) {
      result = "exception: " + (e.cause?.code || e.message);
    }
    const expected = ["ok", "aborted", "abandoned", "refused"].includes(result);
    count(kind, expected ? result : "UNEXPECTED");
    if (!expected && unexpected.length < 20) unexpected.push(`${kind}: ${result}`);
    ++done;
  }
}

const rssKiB = () => {
  const m = fs.readFileSync(`/proc/${server.proc.pid}/status`, "utf8").match(/^VmRSS:\s+(\d+) kB/m);
  return m ? Number(m[1]) : NaN;
};
const samples = [];
const t0 = Date.now();
async function sample() {
  if (died) return;
  const s = { t: (Date.now() - t0) / 1000, requests: done, rss: rssKiB() };
  for (const [k, name] of [["device", "r1vk_device_memory_allocated_bytes"], ["inUse", "r1vk_device_memory_in_use_bytes"],
    ["hostVisible", "r1vk_host_visible_memory_allocated_bytes"], ["running", "r1vk_running_sequences"], ["kv", "r1vk_kv_blocks_used"]]) {
    s[k] = await metric(base, name);
  }
  samples.push(s);
  const mib = (b) => (b / 1048576).toFixed(1);
  console.log(`t=${s.t.toFixed(0).padStart(5)} s  requests ${String(s.requests).padStart(6)}  RSS ${(s.rss / 1024).toFixed(1)} MiB` +
    `  device ${mib(s.device)} MiB (in use ${mib(s.inUse)}, host-visible ${mib(s.hostVisible)})  running ${s.running}  kv blocks ${s.kv}`);
}

console.log(`soak: ${opt.minutes} min, ${opt.concurrency} clients, r1vk serve ${serverArgs.join(" ")} (pid ${server.proc.pid})`);
await sample();
const sampler = setInterval(() => { sample().catch((e) => console.log("sample failed: " + e.message)); }, opt.sample * 1000);
await Promise.all(Array.from({ length: opt.concurrency }, client));
clearInterval(sampler);
// Idle again: running sequences and KV blocks back to zero (a cancelled one is freed at the next step).
for (let i = 0; i < 100 && !died && ((await metric(base, "r1vk_running_sequences")) > 0 || (await metric(base, "r1vk_kv_blocks_used")) > 0); ++i) {
  await new Promise((r) => setTimeout(r, 100));
}
await sample();
const last = samples[samples.length - 1];
const diedEarly = died;
const stopped = await stopServer(server);

const warm = samples.filter((s) => s.t >= (opt.minutes * 60) / 4);
const slope = (pts) => {
  const n = pts.length, mx = pts.reduce((a, p) => a + p.requests, 0) / n, my = pts.reduce((a, p) => a + p.rss, 0) / n;
  const sxy = pts.reduce((a, p) => a + (p.requests - mx) * (p.rss - my), 0), sxx = pts.reduce((a, p) => a + (p.requests - mx) ** 2, 0);
  return sxx > 0 ? sxy / sxx : NaN;
};
const rss = samples.map((s) => s.rss);
console.log("\nrequests by kind and result:", JSON.stringify(counts));
console.log(`requests: ${done} in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
console.log(`RSS: start ${(rss[0] / 1024).toFixed(1)} MiB, end ${(last.rss / 1024).toFixed(1)} MiB, max ${(Math.max(...rss) / 1024).toFixed(1)} MiB`);
if (warm.length >= 2) {
  const perK = slope(warm) * 1000;
  const endToEnd = ((last.rss - warm[0].rss) / Math.max(1, last.requests - warm[0].requests)) * 1000;
  console.log(`RSS growth after the warm-up (from t=${warm[0].t.toFixed(0)} s, ${warm[0].requests} requests): ` +
    `${perK.toFixed(1)} KiB per 1000 requests (least squares over ${warm.length} samples), ` +
    `${endToEnd.toFixed(1)} KiB per 1000 requests (end minus first)`);
}
console.log(`device memory: start ${samples[0].device} B, end ${last.device} B (in use ${samples[0].inUse} -> ${last.inUse} B)`);
console.log(`server exit: code ${stopped.code}, signal ${stopped.signal}`);
if (diedEarly) console.log("the server died during the run:\n" + server.output().slice(-2000));
const idle = last.running === 0 && last.kv === 0;
if (unexpected.length) console.log("unexpected answers:\n  " + unexpected.join("\n  "));
if (!idle) console.log("not idle at the end: running " + last.running + ", kv blocks " + last.kv);
process.exit(unexpected.length === 0 && idle && !diedEarly && stopped.code === 0 ? 0 : 1);
