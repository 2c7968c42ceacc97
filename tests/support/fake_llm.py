#!/usr/bin/env python3
"""A stand-in LLM server for banxway's server tests (Python 3 standard library only).

    python3 tests/support/fake_llm.py --port 0      # first stdout line: "PORT <n>"

Speaks the two dialects banxway's providers use:
  POST /v1/chat/completions   OpenAI Chat Completions (SSE when "stream": true, JSON otherwise)
  POST /v1/messages           Anthropic Messages (SSE when "stream": true, JSON otherwise)
  GET  /stats                 {"requests": n, "by_model": {model: n}}

The request's "model" picks the behaviour:
  echo              "Draft: " + the first 200 characters of the last user message, in chunks
  slow              first token after 2 s, then 20 chunks 100 ms apart
  midstream-error   two chunks, then an error inside the stream
  rate-limited      429 with Retry-After: 1 for the first two requests of the process, then echo
  down              503 always
  unauthorized      401 always
  missing           404 (unknown model)
  bad-json          structured output that is not JSON
  json:<anything>   structured output: the JSON object the first user message carries between
                    <<JSON>> and <</JSON>> ({} when there is none); without a schema, echo
  anything else     echo
"""

import argparse
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
STATS = {"requests": 0, "by_model": {}}
RATE_LIMITED_SEEN = [0]


def tokens(text):
    return (len(text) + 3) // 4


def pieces(text, n=5):
    """Splits text into about n chunks (at least one)."""
    if not text:
        return [""]
    size = max(1, -(-len(text) // n))
    return [text[i:i + size] for i in range(0, len(text), size)]


def last_user(messages):
    for m in reversed(messages):
        if m.get("role") == "user":
            return content_text(m.get("content"))
    return ""


def first_user(messages):
    for m in messages:
        if m.get("role") == "user":
            return content_text(m.get("content"))
    return ""


def content_text(content):
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content blocks / parts
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def embedded_json(text):
    start, end = text.find("<<JSON>>"), text.find("<</JSON>>")
    if start < 0 or end < start:
        return "{}"
    candidate = text[start + len("<<JSON>>"):end].strip()
    try:
        value = json.loads(candidate)
    except ValueError:
        return "{}"
    return json.dumps(value) if isinstance(value, dict) else "{}"


class Handler(BaseHTTPRequestHandler):
    server_version = "fake-llm/1"

    def log_message(self, fmt, *args):  # quiet: tests read stdout for the port only
        pass

    # --- plumbing ---------------------------------------------------------------------------

    def send_json(self, status, obj, headers=()):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def start_stream(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("x-request-id", "fake-req-1")
        self.send_header("request-id", "fake-req-1")
        self.end_headers()
        self.close_connection = True

    def emit(self, data, event=None, delay=0.0):
        if delay:
            time.sleep(delay)
        out = ""
        if event:
            out += "event: " + event + "\n"
        out += "data: " + (data if isinstance(data, str) else json.dumps(data)) + "\n\n"
        self.wfile.write(out.encode())
        self.wfile.flush()

    def do_GET(self):
        if self.path == "/stats":
            with LOCK:
                self.send_json(200, STATS)
        else:
            self.send_json(404, {"error": {"message": "not found", "type": "not_found"}})

    def do_POST(self):
        path = self.path.split("?")[0]
        if path not in ("/v1/chat/completions", "/v1/messages"):
            self.send_json(404, {"error": {"message": "unknown path " + path}})
            return
        length = int(self.headers.get("Content-Length") or 0)
        try:
            req = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            self.send_json(400, {"error": {"message": "body is not JSON",
                                           "type": "invalid_request_error"}})
            return
        anthropic = path == "/v1/messages"
        model = str(req.get("model", ""))
        with LOCK:
            STATS["requests"] += 1
            STATS["by_model"][model] = STATS["by_model"].get(model, 0) + 1
        try:
            self.respond(req, model, anthropic)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client cancelled

    # --- behaviour ----------------------------------------------------------------------------

    def error(self, anthropic, status, etype, message, headers=()):
        if anthropic:
            body = {"type": "error", "error": {"type": etype, "message": message}}
        else:
            body = {"error": {"message": message, "type": etype, "param": None, "code": None}}
        self.send_json(status, body, headers)

    def respond(self, req, model, anthropic):
        messages = req.get("messages") or []
        structured = bool(req.get("tools") if anthropic else req.get("response_format"))
        if model == "down":
            return self.error(anthropic, 503, "overloaded_error", "fake-llm is down")
        if model == "unauthorized":
            return self.error(anthropic, 401, "authentication_error", "invalid api key")
        if model == "missing":
            return self.error(anthropic, 404, "not_found_error", "model 'missing' not found")
        if model == "rate-limited":
            with LOCK:
                RATE_LIMITED_SEEN[0] += 1
                limited = RATE_LIMITED_SEEN[0] <= 2
            if limited:
                return self.error(anthropic, 429, "rate_limit_error", "slow down",
                                  [("Retry-After", "1")])

        first_delay, gap = 0.0, 0.0
        if model == "bad-json":
            text = '{"draft": "unterminated'
        elif model.startswith("json:") and structured:
            text = embedded_json(first_user(messages))
        elif model == "slow":
            text = "".join("w%d " % i for i in range(20))
            first_delay, gap = 2.0, 0.1
        else:
            text = "Draft: " + last_user(messages)[:200]
        chunks = pieces(text, 20 if model == "slow" else 5)
        prompt = sum(len(content_text(m.get("content"))) for m in messages)
        prompt += len(req.get("system") or "") if isinstance(req.get("system"), str) else 0
        usage_in, usage_out = tokens("x" * prompt), tokens(text)
        fail_midway = model == "midstream-error"

        if not req.get("stream"):
            if fail_midway:
                return self.error(anthropic, 500, "api_error", "fake-llm failed")
            time.sleep(first_delay + gap * len(chunks))
            return self.send_json(200, self.whole(anthropic, model, text, structured,
                                                  usage_in, usage_out))
        self.start_stream()
        if anthropic:
            self.stream_anthropic(model, chunks, structured, usage_in, usage_out, first_delay,
                                  gap, fail_midway)
        else:
            self.stream_openai(model, chunks, usage_in, usage_out, first_delay, gap, fail_midway)

    def whole(self, anthropic, model, text, structured, usage_in, usage_out):
        if anthropic:
            if structured:
                try:
                    value = json.loads(text)
                except ValueError:
                    value = {"unparsed": text}
                block = {"type": "tool_use", "id": "toolu_fake", "name": "result", "input": value}
            else:
                block = {"type": "text", "text": text}
            return {"id": "msg_fake", "type": "message", "role": "assistant", "model": model,
                    "content": [block], "stop_reason": "tool_use" if structured else "end_turn",
                    "usage": {"input_tokens": usage_in, "output_tokens": usage_out}}
        return {"id": "chatcmpl-fake", "object": "chat.completion", "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                             "finish_reason": "stop"}],
                "usage": {"prompt_tokens": usage_in, "completion_tokens": usage_out,
                          "total_tokens": usage_in + usage_out}}

    def stream_openai(self, model, chunks, usage_in, usage_out, first_delay, gap, fail_midway):
        def chunk(delta, finish=None):
            return {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "model": model,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        self.emit(chunk({"role": "assistant", "content": ""}))
        for i, piece in enumerate(chunks):
            self.emit(chunk({"content": piece}), delay=first_delay if i == 0 else gap)
            if fail_midway and i == 1:
                self.emit({"error": {"message": "fake-llm failed mid-stream",
                                     "type": "server_error"}})
                return
        self.emit(chunk({}, "stop"))
        self.emit({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "model": model,
                   "choices": [], "usage": {"prompt_tokens": usage_in,
                                            "completion_tokens": usage_out,
                                            "total_tokens": usage_in + usage_out}})
        self.emit("[DONE]")

    def stream_anthropic(self, model, chunks, structured, usage_in, usage_out, first_delay, gap,
                         fail_midway):
        self.emit({"type": "message_start",
                   "message": {"id": "msg_fake", "type": "message", "role": "assistant",
                               "content": [], "model": model, "stop_reason": None,
                               "usage": {"input_tokens": usage_in, "output_tokens": 1}}},
                  "message_start")
        block = ({"type": "tool_use", "id": "toolu_fake", "name": "result", "input": {}}
                 if structured else {"type": "text", "text": ""})
        self.emit({"type": "content_block_start", "index": 0, "content_block": block},
                  "content_block_start")
        self.emit({"type": "ping"}, "ping")
        for i, piece in enumerate(chunks):
            delta = ({"type": "input_json_delta", "partial_json": piece} if structured
                     else {"type": "text_delta", "text": piece})
            self.emit({"type": "content_block_delta", "index": 0, "delta": delta},
                      "content_block_delta", delay=first_delay if i == 0 else gap)
            if fail_midway and i == 1:
                self.emit({"type": "error", "error": {"type": "overloaded_error",
                                                      "message": "fake-llm failed mid-stream"}},
                          "error")
                return
        self.emit({"type": "content_block_stop", "index": 0}, "content_block_stop")
        self.emit({"type": "message_delta",
                   "delta": {"stop_reason": "tool_use" if structured else "end_turn",
                             "stop_sequence": None},
                   "usage": {"output_tokens": usage_out}}, "message_delta")
        self.emit({"type": "message_stop"}, "message_stop")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--host", default="127.0.0.1")
    args = ap.parse_args()
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    print("PORT %d" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
