#!/usr/bin/env python3
"""Measures the code actions that centre on their symbol (issue 25), over LSP as an editor asks them.

For each symbol of the cases file (scripts/actions-cases.json: a project, a file, the definition's
1-based line, its direct callers labelled by hand), against the real binary (`reverie serve` on
stdio, its cache in --out, no model configured):
  1. opens the file (textDocument/didOpen) and asks the actions offered on the symbol's name
     (textDocument/codeAction at the name in its definition);
  2. runs "Explain" and "How to debug" with the arguments the server put in them
     (workspace/executeCommand), as a client does when the user picks one;
  3. asks the same questions typed (reverie/ask with the document and the position, no subject):
     the general ranking, as the actions answered before they centred on their symbol — the
     baseline, measured in the same run.

Figures (first 5 of Explain, first 8 of How to debug, as the issue counts them):
  - Explain: the definition first; every direct caller in the first 5 when there are at most three;
  - How to debug: a test in the first 8 whenever a test references the symbol or a caller (found here
    by a whole-word grep of the project's test files, not by reverie; a line that defines the name —
    a test's own `def dispatch_request` — is no reference), any test at all in the first 8, and the
    callers in the first 8.
An item "holds" a caller when it is in the caller's file and its lines contain the caller's
definition line; a test item is one of kind `test` in a test file that references the symbol or a
caller. Each answer's first 8 items (path:line kind reason) are printed for a hand check and saved,
with the figures, as JSON in --out.

Usage:
  scripts/actions-eval.py --binary target/release/reverie [--cases scripts/actions-cases.json]
      [--out /tmp/actions-eval] [--only NAME]
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from queue import Empty, Queue

ROOT = Path(__file__).resolve().parent.parent
EXPLAIN_FIRST = 5
DEBUG_FIRST = 8
TEST_FILE = re.compile(r"(^|/)(tests?|testing)/|(^|/)test_[^/]*\.py$|_test\.(py|go)$|(^|/)[^/]*_test\.[a-z]+$")
WAIT_SECONDS = 600


class Lsp:
    """A minimal LSP client over the server's stdio: requests, notifications, and answers to the
    server's own requests (progress tokens, registrations, showDocument)."""

    def __init__(self, binary, cache_dir, config_home, log):
        env = dict(os.environ, REVERIE_CACHE_DIR=str(cache_dir), XDG_CONFIG_HOME=str(config_home), REVERIE_LOG="warn")
        self.proc = subprocess.Popen(
            [binary, "serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, env=env
        )
        self.messages = Queue()
        self.next_id = 0
        self.pending = {}
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        out = self.proc.stdout
        while True:
            length = None
            while True:
                line = out.readline()
                if not line:
                    self.messages.put(None)
                    return
                line = line.strip()
                if not line:
                    break
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            self.messages.put(json.loads(out.read(length)))

    def _send(self, message):
        body = json.dumps(message).encode()
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def notify(self, method, params):
        self._send({"jsonrpc": "2.0", "method": method, "params": params})

    def request(self, method, params):
        self.next_id += 1
        wanted = self.next_id
        self._send({"jsonrpc": "2.0", "id": wanted, "method": method, "params": params})
        message = self.wait(lambda m: m.get("id") == wanted and "method" not in m)
        if "error" in message:
            raise RuntimeError(f"{method} failed: {message['error']}")
        return message["result"]

    def wait(self, accept, timeout=WAIT_SECONDS):
        deadline = time.monotonic() + timeout
        while True:
            try:
                message = self.messages.get(timeout=max(0.1, deadline - time.monotonic()))
            except Empty:
                raise TimeoutError("the server did not answer in time") from None
            if message is None:
                raise RuntimeError("the server exited")
            if "method" in message and "id" in message:
                result = {"success": True} if message["method"] == "window/showDocument" else None
                self._send({"jsonrpc": "2.0", "id": message["id"], "result": result})
            if accept(message):
                return message
            if time.monotonic() > deadline:
                raise TimeoutError("the server did not answer in time")

    def close(self):
        try:
            self.request("shutdown", None)
            self.notify("exit", None)
            self.proc.wait(timeout=30)
        except Exception:
            self.proc.kill()


def uri(path):
    return Path(path).resolve().as_uri()


def workspace_of(project, out):
    """The project's folder: a path, or a git archive of a ref unpacked once into --out."""
    if "path" in project:
        return Path(os.path.expanduser(project["path"]))
    archive = project["archive"]
    folder = out / "workspaces" / project["name"]
    if not folder.exists():
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=folder.parent))
        data = subprocess.run(
            ["git", "--git-dir", archive["repo"], "archive", "--format=tar", archive["ref"]],
            check=True, capture_output=True,
        ).stdout
        subprocess.run(["tar", "x", "-C", str(tmp)], input=data, check=True)
        tmp.rename(folder)
    return folder


def referencing_tests(root, names):
    """Test files (relative paths) that reference one of `names`: a whole word on a line that does not
    define that name (`def dispatch_request` in a test's View subclass is another definition of the
    name, not a use of the caller)."""
    alternatives = "|".join(re.escape(n) for n in names)
    words = re.compile(r"\b(" + alternatives + r")\b")
    defines = re.compile(r"^\s*(async\s+)?(def|class|func(\s*\([^)]*\))?)\s+(" + alternatives + r")\b")
    found = set()
    for path in root.rglob("*"):
        rel = path.relative_to(root).as_posix()
        if not path.is_file() or any(p.startswith(".") for p in rel.split("/")) or not TEST_FILE.search(rel):
            continue
        try:
            lines = path.read_text(errors="replace").splitlines()
        except OSError:
            continue
        if any(words.search(line) and not defines.search(line) for line in lines):
            found.add(rel)
    return found


def holds(item, caller):
    return item["path"] == caller["path"] and item["start_line"] <= caller["line"] <= item["end_line"]


def place(item):
    return f"{item['path']}:{item['start_line']} {item['kind']} {item.get('reason', '')}"


def judge(symbol, answers, tests):
    """The figures of one symbol's answers (Explain and How to debug, offered and typed)."""
    callers = symbol["callers"]
    out = {}
    for how in ("action", "typed"):
        explain = answers[how]["explain"]["context"]
        debug = answers[how]["debug"]["context"]
        first5, first8 = explain[:EXPLAIN_FIRST], debug[:DEBUG_FIRST]
        definition = {"path": symbol["file"], "line": symbol["line"]}
        test_items = [i for i in first8 if i["kind"] == "test" and i["path"] in tests]
        out[how] = {
            "debug_any_test": any(i["kind"] == "test" for i in first8),
            "definition_first": bool(explain) and holds(explain[0], definition),
            "explain_callers": sum(any(holds(i, c) for i in first5) for c in callers),
            "debug_callers": sum(any(holds(i, c) for i in first8) for c in callers),
            "debug_test": bool(test_items),
            "debug_test_item": place(test_items[0]) if test_items else None,
        }
    return out


def ask_symbol(lsp, root, symbol):
    """Explain and How to debug on `symbol`, as actions (with their own arguments) and typed."""
    path = root / symbol["file"]
    text = path.read_text(errors="replace")
    line_text = text.split("\n")[symbol["line"] - 1]
    match = re.search(r"\b" + re.escape(symbol["name"]) + r"\b", line_text)
    if not match:
        raise ValueError(f"{symbol['file']}:{symbol['line']} does not name {symbol['name']}: {line_text!r}")
    # UTF-16 columns: the lines measured here are ASCII up to the name.
    position = {"line": symbol["line"] - 1, "character": match.start() + 1}
    doc = {"uri": uri(path)}
    language = {".py": "python", ".go": "go", ".rs": "rust"}.get(path.suffix, "plaintext")
    lsp.notify("textDocument/didOpen", {"textDocument": {**doc, "languageId": language, "version": 1, "text": text}})
    actions = lsp.request(
        "textDocument/codeAction",
        {"textDocument": doc, "range": {"start": position, "end": position}, "context": {"diagnostics": []}},
    )
    answers = {"action": {}, "typed": {}}
    for action in actions or []:
        command = action.get("command") or {}
        arguments = command.get("arguments") or [{}]
        intent = (arguments[0].get("subject") or {}).get("intent")
        if intent not in ("explain", "debug"):
            continue
        started = time.monotonic()
        answers["action"][intent] = lsp.request(
            "workspace/executeCommand", {"command": command["command"], "arguments": arguments}
        )
        answers["action"][intent]["seconds"] = round(time.monotonic() - started, 3)
        typed = {k: v for k, v in arguments[0].items() if k != "subject"}
        answers["typed"][intent] = lsp.request("reverie/ask", typed)
        answers["action"][intent]["title"] = action["title"]
    lsp.notify("textDocument/didClose", {"textDocument": doc})
    missing = {"explain", "debug"} - answers["action"].keys()
    if missing:
        titles = [a.get("title") for a in actions or []]
        raise RuntimeError(f"{symbol['name']}: no {', '.join(sorted(missing))} action offered (offered: {titles})")
    return answers


def run_project(args, project, out):
    root = workspace_of(project, out)
    cache = out / "cache" / project["name"]
    config = out / "config"  # empty: no model configured, answers are the context itself
    cache.mkdir(parents=True, exist_ok=True)
    config.mkdir(parents=True, exist_ok=True)
    with open(out / f"{project['name']}.server.log", "w") as log:
        lsp = Lsp(args.binary, cache, config, log)
        try:
            started = time.monotonic()
            lsp.request(
                "initialize",
                {
                    "processId": None,
                    "rootUri": uri(root),
                    "workspaceFolders": [{"uri": uri(root), "name": project["name"]}],
                    "capabilities": {
                        "general": {"positionEncodings": ["utf-16"]},
                        "window": {"workDoneProgress": True},
                        "experimental": {"reverie": {"statusNotification": True}},
                    },
                    "clientInfo": {"name": "actions-eval"},
                },
            )
            lsp.notify("initialized", {})
            status = lsp.wait(lambda m: m.get("method") == "reverie/status" and m["params"]["state"] in ("ready", "idle"))
            print(f"\n## {project['name']} ({root}): {status['params']['files']} files, ready in {time.monotonic() - started:.1f} s")
            results = []
            for symbol in project["symbols"]:
                answers = ask_symbol(lsp, root, symbol)
                names = [symbol["name"]] + sorted({c["name"] for c in symbol["callers"]})
                tests = referencing_tests(root, names)
                figures = judge(symbol, answers, tests)
                results.append({"project": project["name"], **symbol, "tests": sorted(tests), "figures": figures, "answers": answers})
                show(symbol, answers, figures, tests)
            return results
        finally:
            lsp.close()


def show(symbol, answers, figures, tests):
    f, t = figures["action"], figures["typed"]
    n = len(symbol["callers"])
    print(f"\n### {symbol['file']}:{symbol['line']} `{symbol['name']}` — {n} direct caller(s), {len(tests)} test file(s) reference it or a caller")
    print(f"  Explain  (action): definition first {yes(f['definition_first'])}, callers in first {EXPLAIN_FIRST}: {f['explain_callers']}/{n}"
          f"   typed: {yes(t['definition_first'])}, {t['explain_callers']}/{n}")
    print(f"  Debug    (action): a referencing test in first {DEBUG_FIRST}: {yes(f['debug_test']) if tests else 'n/a'}"
          f" (any test: {yes(f['debug_any_test'])}), callers in first {DEBUG_FIRST}: {f['debug_callers']}/{n}"
          f"   typed: {yes(t['debug_test']) if tests else 'n/a'} (any: {yes(t['debug_any_test'])}), {t['debug_callers']}/{n}")
    for intent, first in (("explain", EXPLAIN_FIRST), ("debug", DEBUG_FIRST)):
        answer = answers["action"][intent]
        print(f"  {answer['title']} ({answer['seconds']} s):")
        for i, item in enumerate(answer["context"][:first], 1):
            print(f"    {i}. {place(item)}")


def yes(flag):
    return "yes" if flag else "NO"


def summary(results):
    print("\n## Summary")
    for how, label in (("action", "code actions (centred on the symbol)"), ("typed", "the same questions typed (general ranking; baseline)")):
        small = [r for r in results if len(r["callers"]) <= 3]
        with_tests = [r for r in results if r["tests"]]
        definition = sum(r["figures"][how]["definition_first"] for r in results)
        every_caller = sum(r["figures"][how]["explain_callers"] == len(r["callers"]) for r in small)
        callers5 = sum(r["figures"][how]["explain_callers"] for r in small)
        callers8 = sum(r["figures"][how]["debug_callers"] for r in results)
        all_callers = sum(len(r["callers"]) for r in results)
        test8 = sum(r["figures"][how]["debug_test"] for r in with_tests)
        any8 = sum(r["figures"][how]["debug_any_test"] for r in results)
        print(f"- {label}: Explain — definition first {definition}/{len(results)}; every direct caller in the first {EXPLAIN_FIRST} "
              f"{every_caller}/{len(small)} symbols ({callers5}/{sum(len(r['callers']) for r in small)} callers); "
              f"How to debug — a test in the first {DEBUG_FIRST} {test8}/{len(with_tests)} symbols a test references "
              f"(any test {any8}/{len(results)}); "
              f"callers in the first {DEBUG_FIRST} {callers8}/{all_callers}")
    seconds = [r["answers"]["action"][i]["seconds"] for r in results for i in ("explain", "debug")]
    if seconds:
        seconds.sort()
        print(f"- executeCommand time: median {seconds[len(seconds) // 2]:.3f} s, max {seconds[-1]:.3f} s ({len(seconds)} answers)")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=str(ROOT / "target" / "release" / "reverie"))
    parser.add_argument("--cases", default=str(ROOT / "scripts" / "actions-cases.json"))
    parser.add_argument("--out", default="/tmp/actions-eval")
    parser.add_argument("--only", help="one project by name")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cases = json.loads(Path(args.cases).read_text())
    results = []
    for project in cases["projects"]:
        if args.only and project["name"] != args.only:
            continue
        results.extend(run_project(args, project, out))
    summary(results)
    (out / "results.json").write_text(json.dumps(results, indent=1))
    print(f"\nsaved: {out / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
