// Shared by the `r1vk serve` test and load scripts: start a server on a free loopback port, wait
// until it is ready, read its metrics, stop it. Loopback only.
import { spawn } from "node:child_process";
import { once } from "node:events";

export const HOST = "127.0.0.1";

// Starts `r1vk serve --port 0 ...args`; resolves when it has printed its address.
export async function startServer(r1vk, args = [], { env = process.env } = {}) {
  const proc = spawn(r1vk, ["serve", "--host", HOST, "--port", "0", ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  proc.stderr.on("data", (d) => { err += d; });
  const base = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the server printed no address in 60 s: " + out + err)), 60000);
    proc.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    proc.on("exit", (code) => { clearTimeout(timer); reject(new Error(`the server exited (${code}) before listening: ${out}${err}`)); });
  });
  return { proc, base, output: () => out + err };
}

export async function waitReady(base, limitMs = 120000) {
  const end = Date.now() + limitMs;
  const seen = [];
  while (Date.now() < end) {
    try {
      const r = await fetch(base + "/health");
      seen.push(r.status);
      if (r.status === 200) return seen;
    } catch (e) {
      seen.push(String(e));
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("the server was not ready in time: " + seen.slice(-3).join(", "));
}

// The value of an unlabelled metric on /metrics.
export async function metric(base, name, headers = {}) {
  const text = await (await fetch(base + "/metrics", { headers })).text();
  const m = text.match(new RegExp("^" + name + " (\\S+)$", "m"));
  if (!m) throw new Error("no metric " + name);
  return Number(m[1]);
}

export async function stopServer(server, limitMs = 20000) {
  const exited = once(server.proc, "exit");
  server.proc.kill("SIGTERM");
  const timer = setTimeout(() => server.proc.kill("SIGKILL"), limitMs);
  const [code, signal] = await exited;
  clearTimeout(timer);
  return { code, signal };
}
