#!/usr/bin/env python3
"""A fake OpenAI Responses API on loopback for scripts/mcp_codex.sh.

It asks for the offered tool whose name ends in `echo` (the bot's MCP
tool), then answers with what the tool returned. Every request goes to the
log file given as the second argument (one JSON line per request).
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(sys.argv[1])
LOG = sys.argv[2]


def tool_names(body):
    names = []
    for t in body.get("tools", []):
        names.append(t.get("name") or t.get("function", {}).get("name") or "")
        for sub in t.get("tools", []) or []:
            names.append("%s.%s" % (t.get("name"), sub.get("name")))
    return names


def reply(body):
    items = body.get("input", [])
    for item in reversed(items if isinstance(items, list) else []):
        if item.get("type") == "function_call_output":
            out = item.get("output")
            if not isinstance(out, str):
                out = json.dumps(out)
            return {"type": "message", "role": "assistant", "id": "msg_2",
                    "content": [{"type": "output_text", "text": "the tool said: %s" % out, "annotations": []}]}
    for name in tool_names(body):
        if name.endswith("echo"):
            # Codex offers MCP tools in a namespace (`mcp__alice` › `echo`).
            namespace, _, tool = name.rpartition(".")
            call = {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": tool,
                    "arguments": json.dumps({"word": "hello"})}
            if namespace:
                call["namespace"] = namespace
            return call
    return {"type": "message", "role": "assistant", "id": "msg_1",
            "content": [{"type": "output_text", "text": "ok", "annotations": []}]}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
        with open(LOG, "a") as f:
            f.write(json.dumps({"path": self.path, "tools": tool_names(body), "input": body.get("input")}) + "\n")
        item = reply(body)
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.end_headers()

        def event(data):
            self.wfile.write(("event: %s\ndata: %s\n\n" % (data["type"], json.dumps(data))).encode())

        event({"type": "response.created", "response": {"id": "resp_1"}})
        event({"type": "response.output_item.done", "output_index": 0, "item": item})
        event({"type": "response.completed", "response": {"id": "resp_1", "usage": {
            "input_tokens": 10, "input_tokens_details": None, "output_tokens": 5,
            "output_tokens_details": None, "total_tokens": 15}}})


ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
