#!/usr/bin/env python3
"""Measures the grounding check (issue 22) on the natural-language question set with a real model.

For each question (the first N of every project in tests/questions/ whose workspace is fetched):
  1. `reverie ask WS Q --no-llm --format json` (also warms the index), saved as ID.nollm.json;
  2. `reverie ask WS Q --local-model M --format json`, saved as ID.model.json (the JSON carries the
     model's own prose as `model_answer`, the checker's `unverified`, `checked` and `set_aside`).
Saved answers are reused on a second run (`--fresh` asks again), so the judgement can be rerun alone.
`--recheck` checks the saved prose again with another binary, without the model: a fake
OpenAI-compatible server on loopback streams each saved `model_answer` back to
`reverie ask` (saved as ID.recheck.json), so two versions of the check are compared on the same
prose; its latencies and citations are not the model's and are not reported.

The judgement is independent of the checker: it extracts the names the model's prose writes as code
with its own simple reader (inline code, code blocks minus what they bind, code-shaped words) and
looks each part up by grepping the workspace's files (every identifier written in any file, and
every file path) and the language's real libraries read from their sources on this machine:
  - Python: the running interpreter (keywords, builtins, the builtin types' attributes, the standard
    modules and their members via import);
  - C, C++: every identifier of `g++ -E -dD` over <bits/stdc++.h> and the POSIX headers;
  - Go: every identifier of the Go standard library's sources (Debian's golang-1.19-src, unpacked
    under --go-src; `apt-get download golang-1.19-src && dpkg-deb -x`);
  - Rust: every word of the toolchain's std documentation (rust-docs);
  - JavaScript, TypeScript: every identifier of TypeScript's lib.*.d.ts (editors/vscode/node_modules)
    and Node's globals and builtin modules' exports.
A name is *invented* when one of its parts is found nowhere; *grounded* when the chain as written is
in the workspace's text, or every part is a language name; else *parts only* (each part exists,
the chain is written nowhere: `session.cookies`), which is neither and is listed for a hand check.

Figures: answers kept / kept with marks / set aside; invented names shown unmarked (in a kept
answer, not in `unverified`); invented names missing from `unverified` at all; grounded names
wrongly marked (in `unverified`) over the grounded names the checker checked; first citation equal
to the no-model answer's; ask times against llm.answer_time. Disagreements go to disagreements.tsv
for a hand check.

Usage:
  scripts/grounding-eval.py --binary target/release/reverie --model ~/.cache/reverie-test/X.gguf \
      [--per-project 6] [--out /tmp/grounding-eval] [--cache-dir DIR] [--fresh] [--judge-only]
"""

import argparse
import builtins
import http.server
import tempfile
import threading
import importlib
import json
import keyword
import os
import re
import subprocess
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
CHAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:(?:\?\.|\.|::|->)[A-Za-z_][A-Za-z0-9_]*)*")
SEP = re.compile(r"\?\.|\.|::|->")
SOURCE_EXT = {
    "py", "pyi", "rs", "go", "c", "h", "cc", "cpp", "hpp", "hh", "cxx", "js", "mjs", "cjs", "ts", "tsx",
    "jsx", "java", "rb", "md", "rst", "txt", "toml", "json", "yaml", "yml", "cfg", "ini", "html", "css",
}


def words_of(text):
    return set(IDENT.findall(text))


# ---------------------------------------------------------------- the languages' own names


def python_names():
    bare, members = set(keyword.kwlist) | set(getattr(keyword, "softkwlist", [])), {}
    bare |= set(dir(builtins))
    for name in dir(builtins):
        obj = getattr(builtins, name)
        if isinstance(obj, type):
            bare |= set(dir(obj))
    warnings.simplefilter("ignore")
    for module in sorted(sys.stdlib_module_names):
        if module in {"antigravity", "this", "idlelib", "turtledemo", "tkinter", "turtle"}:
            bare.add(module)
            continue
        bare.add(module)
        try:
            mod = importlib.import_module(module)
        except Exception:
            continue
        members[module] = set(dir(mod))
        for attr in dir(mod):
            value = getattr(mod, attr, None)
            if isinstance(value, type):
                bare |= set(dir(value))
            if type(value).__name__ == "module":
                members[f"{module}.{attr}"] = set(dir(value))
    for names in members.values():
        bare |= names
    return bare, members


def c_names():
    src = "#include <bits/stdc++.h>\n#include <unistd.h>\n#include <pthread.h>\n#include <sys/types.h>\n"
    out = subprocess.run(["g++", "-std=c++20", "-x", "c++", "-E", "-dD", "-"], input=src, capture_output=True,
                         text=True, check=True).stdout
    return words_of(out), {}


def go_names(go_src):
    root = Path(go_src)
    if not root.is_dir():
        sys.exit(f"no Go sources at {go_src}: apt-get download golang-1.19-src && dpkg-deb -x it")
    names = set()
    for path in root.rglob("*.go"):
        if "testdata" in path.parts or path.name.endswith("_test.go"):
            continue
        names |= words_of(path.read_text(errors="replace"))
    return names, {}


def rust_names():
    sysroot = subprocess.run(["rustc", "--print", "sysroot"], capture_output=True, text=True, check=True).stdout
    docs = Path(sysroot.strip()) / "share/doc/rust/html"
    names = set()
    for crate in ("std", "core", "alloc"):
        for path in (docs / crate).rglob("*.html"):
            text = re.sub(r"<[^>]+>", " ", path.read_text(errors="replace"))
            names |= words_of(text)
    return names, {}


def js_names():
    names = set()
    lib = ROOT / "editors/vscode/node_modules/typescript/lib"
    for path in lib.glob("lib*.d.ts"):
        names |= words_of(path.read_text(errors="replace"))
    for path in (ROOT / "editors/vscode/node_modules/@types/node").rglob("*.d.ts"):
        names |= words_of(path.read_text(errors="replace"))
    script = ("const m=require('module');let o=Object.getOwnPropertyNames(globalThis);"
              "for(const b of m.builtinModules){o.push(b);try{o=o.concat(Object.keys(require(b)))}catch(e){}}"
              "console.log(o.join('\\n'))")
    out = subprocess.run(["node", "-e", script], capture_output=True, text=True).stdout
    names |= words_of(out)
    return names, {}


LANG_OF_PROJECT = {"c": "c", "cpp": "c", "go": "go", "rust": "rust", "python": "python", "javascript": "js",
                   "typescript": "js"}


def language_names(lang, args, cache):
    if lang not in cache:
        started = time.time()
        cache[lang] = {"python": python_names, "c": c_names, "go": lambda: go_names(args.go_src),
                       "rust": rust_names, "js": js_names}[lang]()
        print(f"# {lang}: {len(cache[lang][0])} language names ({time.time() - started:.0f} s)", file=sys.stderr)
    return cache[lang]


# ---------------------------------------------------------------- the workspace


class Workspace:
    def __init__(self, root):
        self.root = Path(root)
        self.words, self.paths, self.texts = set(), {}, []
        for path in self.root.rglob("*"):
            if not path.is_file() or path.stat().st_size > 2_000_000 or ".git" in path.parts:
                continue
            rel = path.relative_to(self.root).as_posix()
            try:
                text = path.read_text(errors="strict")
            except (UnicodeDecodeError, OSError):
                continue
            self.paths[rel] = text.count("\n") + 1
            self.words |= words_of(text)
            self.words |= set(re.split(r"[/.]", rel))
            if path.suffix.lstrip(".") in SOURCE_EXT:
                self.texts.append(text)
        self.blob = "\n".join(self.texts)

    def chain_written(self, parts):
        pattern = r"\b" + r"\s*(?:\?\.|\.|::|->)\s*".join(re.escape(p) for p in parts) + r"\b"
        return re.search(pattern, self.blob) is not None

    def path_verdict(self, name):
        m = re.fullmatch(r"(.+?)(?::(\d+)(?:-(\d+))?)?", name)
        path, start, end = m.group(1), m.group(2), m.group(3) or m.group(2)
        files = [p for p in self.paths if p == path or p.endswith("/" + path)]
        if not files:
            return "invented"
        if start and not any(1 <= int(start) <= int(end) <= self.paths[f] for f in files):
            return "invented"
        return "grounded"


# ---------------------------------------------------------------- the judge's own reading of prose

BIND = re.compile(
    r"\b(?:def|class|fn|function|func|let|const|var|struct|enum|trait|type|interface|mut|static|mod|typedef|"
    r"namespace|import|as|for|package)\s+\**([A-Za-z_][A-Za-z0-9_]*)")
PATH = re.compile(r"(?<![\w/.])((?:[\w.-]+/)*[\w-]+\.(?:py|rs|go|c|h|cc|cpp|hpp|js|ts|tsx|mjs|java)(?!\w)"
                  r"(?::\d+(?:-\d+)?)?)")


def strip_code(code, lang):
    code = re.sub(r'"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'|`[^`]*`', '""', code)
    code = re.sub(r"/\*.*?\*/", " ", code, flags=re.S)
    code = re.sub(r"//[^\n]*", " ", code)
    code = re.sub(r"(?m)^\s*#\s*(?:include|define|if|ifdef|ifndef|endif|else|pragma|undef)\b[^\n]*", " ", code)
    code = re.sub(r"(?m)(^|\s)#[^\n]*", r"\1", code)  # Python comments, Rust attributes
    return code


def bound_in(code):
    """Names a snippet binds: after a binder word, assigned, parameters, destructured, loop variables."""
    bound = set(BIND.findall(code))
    bound |= set(re.findall(r"\b([A-Za-z_]\w*)\s*(?::=|(?<![=!<>])=(?![=>]))", code))
    for group in re.findall(r"[{\[(]([^{}\[\]()]*)[}\])]\s*(?::=|=(?![=>]))", code):
        bound |= words_of(group)
    # A parameter list, closed or cut short with the answer (`def f(\n    cache=None,\n    on_write`).
    for params in re.findall(r"(?:def|fn|function|func)\s*\w*\s*\(([^)]*)(?:\)|\Z)", code):
        bound |= set(re.findall(r"(?:^|,)\s*[*&]*\s*(?:mut\s+)?([A-Za-z_]\w*)", params))
        bound |= set(re.findall(r"([A-Za-z_]\w*)\s*(?:,|$)", params))
    for params in re.findall(r"\(([^()]*)\)\s*=>", code):
        bound |= words_of(params)
    bound |= set(re.findall(r"\b([A-Za-z_]\w*)\s*=>", code))
    bound |= set(re.findall(r"for\s+\(?\s*(?:const|let|var)?\s*([A-Za-z_]\w*)", code))
    for pair in re.findall(r"for\s+([A-Za-z_]\w*)\s*,\s*([A-Za-z_]\w*)", code):
        bound |= set(pair)
    bound |= set(re.findall(r"\blambda\s+([A-Za-z_]\w*)", code))
    bound |= set(re.findall(r"\|([A-Za-z_]\w*)\|", code))
    bound |= set(re.findall(r"\b([A-Za-z_]\w*)\s*:\s*[A-Za-z_&\[]", code))  # name: Type, key: value
    return bound


def code_names(code, lang):
    code = strip_code(code, lang)
    bound = bound_in(code)
    names = []
    for m in CHAIN.finditer(code):
        if m.start() > 0 and (code[m.start() - 1].isalnum() or code[m.start() - 1] in "_$"):
            continue
        parts = SEP.split(m.group(0))
        if parts[0] in bound:
            parts = parts[1:]  # members of a bound value are claims on their own
            if not parts:
                continue
            names.append(("member", parts))
            continue
        if len(parts) == 1 and len(parts[0]) < 2:
            continue
        names.append(("chain", parts))
    return names


def prose_names(text):
    """(kind, parts or path) of every name the prose writes as code, by the judge's own reading."""
    out = []
    blocks = list(re.finditer(r"(?ms)^[ \t]*(```+|~~~+)[ \t]*([\w+#-]*)[^\n]*\n(.*?)(?:^[ \t]*\1[ \t]*$|\Z)", text))
    rest = text
    for b in reversed(blocks):
        tag = b.group(2).lower()
        if tag not in ("text", "txt", "output", "console", "json", "log", "plaintext", "csv", "diff"):
            out += code_names(b.group(3), tag)
        rest = rest[: b.start()] + " " * (b.end() - b.start()) + rest[b.end():]
    for m in re.finditer(r"(`+)([^`]+?)\1", rest):
        code = m.group(2).strip()
        if PATH.fullmatch(code):
            out.append(("path", code))
        elif re.fullmatch(r"[a-z][a-z0-9-]*( [a-z0-9./_-]+)+", code):
            continue  # a shell command
        else:
            out += code_names(code, None)
        rest = rest[: m.start()] + " " * (m.end() - m.start()) + rest[m.end():]
    for m in PATH.finditer(rest):
        out.append(("path", m.group(1)))
    rest = PATH.sub(" ", rest)
    rest = re.sub(r"https?://\S+", " ", rest)
    for m in re.finditer(r"(?<![\w.])([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)(\(?)", rest):
        token, called = m.group(1), m.group(2)
        parts = token.split(".")
        shaped = any("_" in p.strip("_") and len(p) > 2 or re.search(r"[a-z][A-Z]|.[A-Z][a-z]*[A-Z][a-z]", p)
                     or (p.startswith("__") and p.endswith("__")) for p in parts)
        dotted = len(parts) >= 2 and all(len(p) >= 2 for p in parts) and parts[-1] not in ("com", "org", "io", "net")
        if shaped or dotted or (called and len(parts[0]) >= 2 and m.end() < len(rest) and rest[m.end()] in ")"):
            out.append(("chain", parts))
    return out


def judge(kind, parts, ws, lang_words, lang_members):
    """grounded | parts | invented, and the parts found nowhere."""
    if kind == "path":
        return ws.path_verdict(parts), []
    known = lambda p: p in ws.words or p in lang_words
    missing = [p for p in parts if not known(p)]
    if missing:
        return "invented", missing
    if kind == "member" or len(parts) == 1:
        return "grounded", []
    if parts[0] in lang_members:
        return ("grounded" if parts[1] in lang_members[parts[0]] else "invented"), [parts[1]]
    if ws.chain_written(parts) or all(p in lang_words for p in parts):
        return "grounded", []
    if any(ws.chain_written(parts[i:i + 2]) for i in range(len(parts) - 1)) and len(parts) > 2:
        return "parts", []
    return "parts", []


def split_name(name):
    return SEP.split(name)


# ---------------------------------------------------------------- running


def load_questions(args):
    questions = []
    for project in sorted(Path(args.questions).iterdir()):
        file = project / "questions.jsonl"
        ws = Path(args.workspaces) / project.name
        if not file.is_file() or not ws.is_dir():
            continue
        lines = [json.loads(line) for line in file.read_text().splitlines() if line.strip()]
        for q in lines[: args.per_project]:
            questions.append((project.name, q["language"], str(ws), q["id"], q["question"]))
    return questions


def run_ask(args, ws, question, extra):
    cmd = [args.binary, "ask", ws, question, "--format", "json", "--cache-dir", args.cache_dir] + extra
    started = time.time()
    done = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.time() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {done.stderr[-2000:]}")
    answer = json.loads(done.stdout)
    answer["wall_s"] = wall
    answer["stderr"] = done.stderr[-2000:]
    return answer


class ScriptedModel:
    """An OpenAI-compatible server on loopback that answers every chat completion with `text`."""

    def __init__(self):
        model = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                usage = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
                if body.get("stream"):
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.end_headers()
                    chunk = {"choices": [{"index": 0, "delta": {"content": model.text}}]}
                    done = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], "usage": usage}
                    for event in (chunk, done):
                        self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
                    self.wfile.write(b"data: [DONE]\n\n")
                else:
                    out = json.dumps({"choices": [{"index": 0, "message": {"role": "assistant", "content": model.text},
                                                   "finish_reason": "stop"}], "usage": usage}).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(out)))
                    self.end_headers()
                    self.wfile.write(out)

        self.text = ""
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.config_home = tempfile.mkdtemp()
        os.makedirs(os.path.join(self.config_home, "reverie"))
        with open(os.path.join(self.config_home, "reverie", "config.toml"), "w") as f:
            f.write(f'[llm]\nprovider = "openai"\nmodel = "scripted"\n'
                    f'base_url = "http://127.0.0.1:{self.server.server_port}/v1"\n')


def recheck(args, ws, question, text, scripted):
    scripted.text = text
    env = dict(os.environ, XDG_CONFIG_HOME=scripted.config_home)
    cmd = [args.binary, "ask", ws, question, "--format", "json", "--cache-dir", args.cache_dir]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {done.stderr[-2000:]}")
    answer = json.loads(done.stdout)
    if (answer.get("model_answer") or "").strip() != text.strip():
        raise RuntimeError(f"the scripted answer did not come back for {question!r}: {done.stderr[-1000:]}")
    return answer


def first_citation(answer):
    c = answer.get("context") or []
    return f"{c[0]['path']}:{c[0]['start_line']}-{c[0]['end_line']}" if c else None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=str(ROOT / "target/release/reverie"))
    ap.add_argument("--model")
    ap.add_argument("--questions", default=str(ROOT / "tests/questions"))
    ap.add_argument("--workspaces", default=os.path.expanduser("~/.cache/reverie-questions"))
    ap.add_argument("--per-project", type=int, default=6)
    ap.add_argument("--out", default="/tmp/grounding-eval")
    ap.add_argument("--cache-dir", default="/tmp/grounding-eval-cache")
    ap.add_argument("--go-src", default="/tmp/grounding-go/x/usr/share/go-1.19/src")
    ap.add_argument("--answer-time", type=float, default=10.0, help="llm.answer_time, seconds")
    ap.add_argument("--fresh", action="store_true", help="ask again even when an answer is saved")
    ap.add_argument("--judge-only", action="store_true", help="judge the saved answers, ask nothing")
    ap.add_argument("--recheck", action="store_true",
                    help="check the saved model answers again with --binary (no model), then judge those")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    questions = load_questions(args)
    if not args.judge_only and not args.recheck and not args.model:
        sys.exit("--model FILE.gguf is needed to ask (or --judge-only)")

    scripted = ScriptedModel() if args.recheck else None
    lang_cache, workspaces = {}, {}
    rows, disagreements = [], []
    for project, language, ws, qid, question in questions:
        nollm_file, model_file = out / f"{qid}.nollm.json", out / f"{qid}.model.json"
        if not args.judge_only and not args.recheck and (args.fresh or not model_file.exists()):
            nollm = run_ask(args, ws, question, ["--no-llm"])
            model = run_ask(args, ws, question, ["--local-model", args.model])
            nollm_file.write_text(json.dumps(nollm, indent=1))
            model_file.write_text(json.dumps(model, indent=1))
            print(f"# asked {qid}: {model['source']}, {model['wall_s']:.1f} s", file=sys.stderr)
        if not model_file.exists():
            continue
        nollm, model = json.loads(nollm_file.read_text()), json.loads(model_file.read_text())
        if args.recheck and model.get("model_answer") is not None:
            recheck_file = out / f"{qid}.recheck.json"
            if args.fresh or not recheck_file.exists():
                recheck_file.write_text(json.dumps(recheck(args, ws, question, model["model_answer"], scripted), indent=1))
            checked_again = json.loads(recheck_file.read_text())
            # The model's run keeps its citations and times; the check is the new one's.
            for key in ("unverified", "set_aside", "checked"):
                model[key] = checked_again[key]
        if ws not in workspaces:
            workspaces[ws] = Workspace(ws)
        lang_words, lang_members = language_names(LANG_OF_PROJECT[language], args, lang_cache)
        prose = model.get("model_answer")
        unverified = model.get("unverified", [])
        outcome = "no model answer" if prose is None else (
            "set aside" if model.get("set_aside") else ("kept with marks" if unverified else "kept"))
        unverified_parts = {p for u in unverified for p in split_name(u)} | set(unverified)
        invented, invented_unlisted, invented_shown_unmarked = set(), set(), set()
        for kind, parts in prose_names(prose or ""):
            verdict, missing = judge(kind, parts, workspaces[ws], lang_words, lang_members)
            name = parts if kind == "path" else ".".join(parts)
            if verdict != "invented":
                continue
            invented.add(name)
            listed = name in unverified_parts or any(m in unverified_parts for m in missing)
            if not listed:
                invented_unlisted.add(name)
                disagreements.append((qid, "invented, not in unverified", name, ",".join(missing)))
                if outcome != "set aside":
                    invented_shown_unmarked.add(name)
        checked = {c["name"]: c["found"] for c in model.get("checked", [])}
        grounded, wrongly = set(), set()
        for name, found in checked.items():
            kind = "path" if PATH.fullmatch(name) else "chain"
            verdict, _ = judge(kind, name if kind == "path" else split_name(name), workspaces[ws], lang_words,
                               lang_members)
            if verdict == "grounded":
                grounded.add(name)
                if found == "unverified":
                    wrongly.add(name)
                    disagreements.append((qid, "grounded, marked", name, ""))
            elif verdict == "parts" and found == "unverified":
                disagreements.append((qid, "chain written nowhere, marked", name, ""))
            elif verdict == "parts":
                disagreements.append((qid, "chain written nowhere, not marked", name, found))
        rows.append({
            "id": qid, "project": project, "outcome": outcome,
            "first_equal": first_citation(model) == first_citation(nollm),
            "first_model": first_citation(model), "first_nollm": first_citation(nollm),
            "latency_s": model.get("latency_ms", 0) / 1000, "wall_s": model.get("wall_s", 0),
            "checked": len(checked), "unverified": unverified, "grounded": len(grounded), "wrongly": sorted(wrongly),
            "invented": sorted(invented), "invented_unlisted": sorted(invented_unlisted),
            "invented_shown_unmarked": sorted(invented_shown_unmarked),
        })

    (out / "rows.json").write_text(json.dumps(rows, indent=1))
    with open(out / "disagreements.tsv", "w") as f:
        f.write("question\tkind\tname\tparts found nowhere\n")
        for d in disagreements:
            f.write("\t".join(d) + "\n")
    report(rows, args, out)


def report(rows, args, out):
    if args.recheck:
        print("(--recheck: the saved model answers checked again by", args.binary, "; times and citations are the"
              " model run's)")
    n = len(rows)
    if not n:
        print("no answers")
        return
    projects = sorted({r["project"] for r in rows})
    count = lambda outcome: sum(r["outcome"] == outcome for r in rows)
    grounded = sum(r["grounded"] for r in rows)
    wrongly = sum(len(r["wrongly"]) for r in rows)
    times = sorted(r["latency_s"] for r in rows)
    over = sum(t > args.answer_time for t in times)
    lines = [
        f"| questions | {n} over {len(projects)} projects ({', '.join(projects)}) |",
        f"| kept / kept with marks / set aside / no model answer | {count('kept')} / {count('kept with marks')} / "
        f"{count('set aside')} / {count('no model answer')} |",
        f"| invented names (judge) | {sum(len(r['invented']) for r in rows)} |",
        f"| invented names shown unmarked | {sum(len(r['invented_shown_unmarked']) for r in rows)} |",
        f"| invented names missing from `unverified` (shown or set aside) | "
        f"{sum(len(r['invented_unlisted']) for r in rows)} |",
        f"| grounded names wrongly marked | {wrongly} of {grounded} ({100 * wrongly / max(grounded, 1):.1f}%) |",
        f"| first citation equals --no-llm's | {sum(r['first_equal'] for r in rows)} of {n} |",
        f"| ask latency (s) median / p90 / max; over llm.answer_time {args.answer_time:.0f} s | "
        f"{times[n // 2]:.1f} / {times[min(n - 1, int(n * 0.9))]:.1f} / {times[-1]:.1f}; {over} |",
    ]
    print("| figure | value |\n|---|---|")
    print("\n".join(lines))
    print(f"\nper answer: {out}/rows.json; disagreements for a hand check: {out}/disagreements.tsv")
    for r in rows:
        flags = []
        if r["invented_shown_unmarked"]:
            flags.append(f"SHOWN UNMARKED {r['invented_shown_unmarked']}")
        if r["wrongly"]:
            flags.append(f"wrongly marked {r['wrongly']}")
        if not r["first_equal"]:
            flags.append(f"first {r['first_model']} != {r['first_nollm']}")
        print(f"{r['id']:14} {r['outcome']:16} {r['latency_s']:5.1f}s unverified={r['unverified']} {' '.join(flags)}")


if __name__ == "__main__":
    main()
