#!/usr/bin/env python3
"""Generates claude_code_request.json: a realistic ~50 KB Claude Code request
(shape per shared/notes/translation.md section (d)): 12 tools with JSON
schemas, system blocks with the per-request billing line and cache_control,
a mid-conversation system message, signed thinking, parallel tool_use /
tool_result pairs, an is_error result and an image inside a tool result.
All prose is written for this fixture. Run: python3 make_claude_code_request.py
"""
import json, os

def schema(props, required):
    return {"type": "object", "properties": props, "required": required,
            "additionalProperties": False, "$schema": "http://json-schema.org/draft-07/schema#"}

S = lambda d: {"type": "string", "description": d}
N = lambda d: {"type": "number", "description": d}
B = lambda d: {"type": "boolean", "description": d}

def desc(topic, n):
    base = (f"Use this tool to {topic}. It runs inside the user's workspace and reports its result "
            "as text. Prefer it over ad-hoc shell commands when it fits the task, keep arguments "
            "minimal and absolute, and read the result before deciding the next step. ")
    notes = " ".join(f"Usage note {i}: when working with {topic}, check the preconditions, avoid "
                     f"repeating the same call with identical arguments, and explain unusual choices."
                     for i in range(n))
    return base + notes

tools = [
    {"name": "Task", "description": desc("delegate a multi-step search or analysis to a sub-agent", 6),
     "input_schema": schema({"description": S("Three to five word summary"), "prompt": S("The task"),
                             "subagent_type": S("Agent type")}, ["description", "prompt", "subagent_type"])},
    {"name": "Bash", "description": desc("run a shell command with an optional timeout", 10),
     "input_schema": schema({"command": S("Command to run"), "timeout": N("Milliseconds, max 600000"),
                             "description": S("What the command does"),
                             "run_in_background": B("Run without waiting")}, ["command"])},
    {"name": "Glob", "description": desc("find files by glob pattern", 4),
     "input_schema": schema({"pattern": S("Glob pattern"), "path": S("Directory to search")}, ["pattern"])},
    {"name": "Grep", "description": desc("search file contents with regular expressions", 8),
     "input_schema": schema({"pattern": S("Regex"), "path": S("File or directory"), "glob": S("Filter"),
                             "output_mode": {"type": "string", "enum": ["content", "files_with_matches", "count"]},
                             "-i": B("Case insensitive"), "-n": B("Line numbers"),
                             "head_limit": N("Limit output")}, ["pattern"])},
    {"name": "Read", "description": desc("read a file, an image or a notebook from the local filesystem", 8),
     "input_schema": schema({"file_path": S("Absolute path"), "offset": N("First line"),
                             "limit": N("Number of lines")}, ["file_path"])},
    {"name": "Edit", "description": desc("replace an exact string in a file", 7),
     "input_schema": schema({"file_path": S("Absolute path"), "old_string": S("Text to replace"),
                             "new_string": S("Replacement"), "replace_all": B("Replace every match")},
                            ["file_path", "old_string", "new_string"])},
    {"name": "Write", "description": desc("write a whole file", 4),
     "input_schema": schema({"file_path": S("Absolute path"), "content": S("File content")},
                            ["file_path", "content"])},
    {"name": "NotebookEdit", "description": desc("edit a Jupyter notebook cell", 3),
     "input_schema": schema({"notebook_path": S("Absolute path"), "cell_id": S("Cell id"),
                             "new_source": S("Source"), "cell_type": {"type": "string", "enum": ["code", "markdown"]},
                             "edit_mode": {"type": "string", "enum": ["replace", "insert", "delete"]}},
                            ["notebook_path", "new_source"])},
    {"name": "WebFetch", "description": desc("fetch a URL and answer a question about its content", 4),
     "input_schema": schema({"url": {"type": "string", "format": "uri"}, "prompt": S("Question")}, ["url", "prompt"])},
    {"name": "TodoWrite", "description": desc("maintain a structured todo list for the session", 9),
     "input_schema": schema({"todos": {"type": "array", "items": {"type": "object", "properties": {
         "content": {"type": "string", "minLength": 1},
         "status": {"type": "string", "enum": ["pending", "in_progress", "completed"]},
         "activeForm": {"type": "string", "minLength": 1}}, "required": ["content", "status", "activeForm"],
         "additionalProperties": False}}}, ["todos"])},
    {"name": "WebSearch", "description": desc("search the web and return result snippets", 3),
     "input_schema": schema({"query": {"type": "string", "minLength": 2},
                             "allowed_domains": {"type": "array", "items": {"type": "string"}},
                             "blocked_domains": {"type": "array", "items": {"type": "string"}}}, ["query"])},
    {"name": "mcp__github__create_issue", "description": desc("open an issue in a GitHub repository", 2),
     "input_schema": schema({"owner": S("Owner"), "repo": S("Repository"), "title": S("Title"),
                             "body": S("Markdown body"), "labels": {"type": "array", "items": {"type": "string"}}},
                            ["owner", "repo", "title"])},
]
tools[-1]["cache_control"] = {"type": "ephemeral"}

guidelines = "\n".join(
    f"# Guideline {i}\nWhen the user asks for change {i}, read the relevant files first, keep edits small, "
    "run the project's tests, and report what changed in two or three sentences. Never invent file "
    "contents; quote paths exactly; prefer the dedicated tools over shell pipelines."
    for i in range(46))

system = [
    {"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1.160.a3f; cc_entrypoint=cli; cch=9c41e;"},
    {"type": "text", "text": "You are a coding agent running in the user's terminal.",
     "cache_control": {"type": "ephemeral"}},
    {"type": "text", "text": guidelines + "\n\n<env>\nWorking directory: /home/dev/project\nPlatform: linux\n</env>",
     "cache_control": {"type": "ephemeral"}},
]

source_file = "\n".join(f"{i:4d}  def handler_{i}(request):\n      return respond(request, status={200 + i % 5})"
                        for i in range(120))
tiny_png = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
            "YPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")

messages = [
    {"role": "user", "content": [
        {"type": "text", "text": "<system-reminder>\nThe user's todo list is empty.\n</system-reminder>"},
        {"type": "text", "text": "The handlers in server/routes.py return the wrong status for HEAD requests. Fix it and add a test."}]},
    {"role": "assistant", "content": [
        {"type": "thinking", "thinking": "I should find the routes file and the tests first.",
         "signature": "EqQBCkYIBxgCKkBsignatureplaceholder0123456789abcdef"},
        {"type": "text", "text": "Let me look at the routes and the existing tests."},
        {"type": "tool_use", "id": "toolu_01A", "name": "Glob", "input": {"pattern": "**/*routes*.py"}}]},
    {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "toolu_01A", "content": "/home/dev/project/server/routes.py\n/home/dev/project/tests/test_routes.py"}]},
    {"role": "assistant", "content": [
        {"type": "tool_use", "id": "toolu_01B", "name": "Read", "input": {"file_path": "/home/dev/project/server/routes.py"}},
        {"type": "tool_use", "id": "toolu_01C", "name": "Read", "input": {"file_path": "/home/dev/project/tests/test_routes.py"}}]},
    {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "toolu_01B", "content": [{"type": "text", "text": source_file}]},
        {"type": "tool_result", "tool_use_id": "toolu_01C", "is_error": True,
         "content": "File does not exist."},
        {"type": "text", "text": "<system-reminder>\nRemember to keep the todo list current.\n</system-reminder>"}]},
    {"role": "system", "content": "Deferred tools are now available: mcp__github__create_issue."},
    {"role": "assistant", "content": [
        {"type": "thinking", "thinking": "The test file is missing; I will fix the handler and write a new test.",
         "signature": "EqQBCkYIBxgCKkBanothersignatureplaceholder"},
        {"type": "tool_use", "id": "toolu_01D", "name": "Edit", "input": {
            "file_path": "/home/dev/project/server/routes.py",
            "old_string": "return respond(request, status=200)",
            "new_string": "return respond(request, status=200, body=request.method != 'HEAD')"}},
        {"type": "tool_use", "id": "toolu_01E", "name": "Bash", "input": {
            "command": "cd /home/dev/project && python -m pytest -q", "description": "Run the tests"}}]},
    {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "toolu_01D", "content": "The file has been updated."},
        {"type": "tool_result", "tool_use_id": "toolu_01E", "content": [
            {"type": "text", "text": "12 passed in 0.41s"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": tiny_png}}]}]},
    {"role": "assistant", "content": [{"type": "text", "text": "The handler now omits the body for HEAD requests and all tests pass."}]},
    {"role": "user", "content": "Great, now open an issue describing the fix.", },
]

req = {
    "model": "claude-sonnet-4-5-20250929",
    "max_tokens": 32000,
    "stream": True,
    "temperature": 1,
    "metadata": {"user_id": "user_5f2c_account_0d9e2a7c-1111-4222-8333-944445555666_session_7a6b5c4d-1111-4222-8333-944445555666"},
    "system": system,
    "messages": messages,
    "tools": tools,
    "tool_choice": {"type": "auto"},
    "thinking": {"type": "enabled", "budget_tokens": 10000},
    "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
}

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "claude_code_request.json")
with open(out, "w") as f:
    json.dump(req, f, indent=1)
print(out, os.path.getsize(out))
