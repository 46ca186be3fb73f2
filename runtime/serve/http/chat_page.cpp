#include "serve/http/chat_page.h"

namespace r1vk::serve::http {
namespace {

constexpr std::string_view kPage = R"HTML(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>r1vk chat</title>
<style>
  body { font-family: system-ui, sans-serif; max-width: 46rem; margin: 0 auto; padding: 1rem; color: #222; }
  h1 { font-size: 1.2rem; }
  .turn { margin: 0.8rem 0; }
  .user { background: #eef3ff; padding: 0.5rem 0.7rem; border-radius: 6px; white-space: pre-wrap; }
  details.reasoning { color: #666; font-size: 0.9rem; margin: 0.4rem 0; }
  details.reasoning pre { white-space: pre-wrap; margin: 0.3rem 0 0 0; }
  .answer { white-space: pre-wrap; }
  .error { color: #b00; }
  form { display: flex; gap: 0.5rem; margin-top: 1rem; }
  textarea { flex: 1; min-height: 3rem; font: inherit; }
  #key { width: 10rem; }
</style>
</head>
<body>
<h1>r1vk chat</h1>
<div id="log"></div>
<form id="form">
  <textarea id="input" placeholder="Ask something (Enter sends, Shift+Enter for a new line)"></textarea>
  <div>
    <button id="send" type="submit">Send</button><br>
    <input id="key" type="password" placeholder="API key (if any)">
  </div>
</form>
<script>
"use strict";
const log = document.getElementById("log");
const form = document.getElementById("form");
const input = document.getElementById("input");
const history = [];

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text) e.textContent = text;
  return e;
}

async function send(question) {
  history.push({ role: "user", content: question });
  const turn = el("div", "turn");
  turn.appendChild(el("div", "user", question));
  const details = el("details", "reasoning");
  details.appendChild(el("summary", "", "Reasoning"));
  const reasoning = el("pre");
  details.appendChild(reasoning);
  const answer = el("div", "answer");
  turn.appendChild(details);
  turn.appendChild(answer);
  log.appendChild(turn);
  document.getElementById("send").disabled = true;
  const headers = { "Content-Type": "application/json" };
  const key = document.getElementById("key").value;
  if (key) headers["Authorization"] = "Bearer " + key;
  try {
    const res = await fetch("/v1/chat/completions", {
      method: "POST", headers,
      body: JSON.stringify({ messages: history, stream: true }),
    });
    if (!res.ok) {
      const body = await res.json().catch(() => ({}));
      throw new Error((body.error && body.error.message) || ("HTTP " + res.status));
    }
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const event = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        if (!event.startsWith("data: ")) continue;
        const data = event.slice(6);
        if (data === "[DONE]") continue;
        const chunk = JSON.parse(data);
        if (chunk.error) throw new Error(chunk.error.message);
        const delta = (chunk.choices && chunk.choices[0] && chunk.choices[0].delta) || {};
        if (delta.reasoning_content) reasoning.textContent += delta.reasoning_content;
        if (delta.content) answer.textContent += delta.content;
      }
    }
    history.push({ role: "assistant", content: answer.textContent });
    answer.dataset.done = "1";
  } catch (err) {
    answer.appendChild(el("span", "error", "Error: " + err.message));
    answer.dataset.done = "error";
    history.pop();
  } finally {
    document.getElementById("send").disabled = false;
  }
}

form.addEventListener("submit", (e) => {
  e.preventDefault();
  const q = input.value.trim();
  if (!q) return;
  input.value = "";
  send(q);
});
input.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); }
});
const q = new URLSearchParams(location.search).get("q");
if (q) { input.value = q; form.requestSubmit(); }
</script>
</body>
</html>
)HTML";

}  // namespace

std::string_view chat_page_html() { return kPage; }

}  // namespace r1vk::serve::http
