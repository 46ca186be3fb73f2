// Shared by the `r1vk serve` test and load scripts: start a server on a free loopback port, wait
// until it is ready, read its metrics, stop it. Loopback only.
import { spawn } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";

export const HOST = "127.0.0.1";

// R1VK_SERVE_PIPELINE puts the server behind a pipeline (docs/pipeline.md): "devices" runs it on
// two logical Vulkan devices (--devices 0,0); "mpi:MPIRUN" under `MPIRUN -np 2 ... --pipeline`,
// where rank 0 serves HTTP and rank 1 only executes its stage.
export const PIPELINE = process.env.R1VK_SERVE_PIPELINE ?? "";
export const MPI = PIPELINE.startsWith("mpi:");

function serveCommand(r1vk, args) {
  const serve = ["serve", "--host", HOST, "--port", "0", ...args];
  if (PIPELINE === "devices") return [r1vk, [...serve, "--devices", "0,0"]];
  // Unbound: Open MPI pins each rank to one core by default, and lavapipe needs them all.
  if (MPI) return [PIPELINE.slice(4), ["--oversubscribe", "--bind-to", "none", "-np", "2", r1vk, ...serve, "--pipeline"]];
  if (PIPELINE) throw new Error(`R1VK_SERVE_PIPELINE=${PIPELINE}: expected "devices" or "mpi:MPIRUN"`);
  return [r1vk, serve];
}

// The pid of MPI rank `rank` among the descendants of `root` (mpirun): the process whose
// environment has OMPI_COMM_WORLD_RANK=rank.
export function rankPid(root, rank) {
  const parent = new Map();
  for (const d of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, "utf8");
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch { /* gone */ }
  }
  for (const [pid] of parent) {
    let p = pid;
    while (p > 1 && p !== root) p = parent.get(p) ?? 0;
    if (p !== root || pid === root) continue;
    try {
      if (fs.readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").includes(`OMPI_COMM_WORLD_RANK=${rank}`)) return pid;
    } catch { /* gone */ }
  }
  throw new Error(`no MPI rank ${rank} under process ${root}`);
}

// Starts `r1vk serve --port 0 ...args` (behind R1VK_SERVE_PIPELINE's pipeline, if set); resolves
// when it has printed its address.
export async function startServer(r1vk, args = [], { env = process.env } = {}) {
  const [program, argv] = serveCommand(r1vk, args);
  const proc = spawn(program, argv, { env, stdio: ["ignore", "pipe", "pipe"] });
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

// SIGTERM to the server (under MPI to rank 0, whose shutdown stops the other ranks: a signal to
// mpirun itself aborts the job); resolves with the exit of the process started (mpirun's).
export async function stopServer(server, limitMs = 20000) {
  const exited = once(server.proc, "exit");
  if (server.proc.exitCode !== null || server.proc.signalCode !== null) return { code: server.proc.exitCode, signal: server.proc.signalCode };
  if (MPI) {
    process.kill(rankPid(server.proc.pid, 0), "SIGTERM");
  } else {
    server.proc.kill("SIGTERM");
  }
  const timer = setTimeout(() => server.proc.kill("SIGKILL"), limitMs);
  const [code, signal] = await exited;
  clearTimeout(timer);
  return { code, signal };
}
