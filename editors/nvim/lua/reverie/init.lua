-- reverie for Neovim: starts `reverie serve` for your code, and adds :ReverieAsk, :ReverieExplain,
-- :ReverieStatus, :ReverieThink, answers in a floating markdown window whose citations jump to the
-- code, follow-ups in one conversation, and a statusline function.
--
-- Works on Neovim 0.7 (vim.lsp.start_client) and 0.8+ (vim.lsp.start).
local M = {}

local defaults = {
  cmd = { "reverie", "serve" },
  filetypes = { "rust", "python", "javascript", "javascriptreact", "typescript", "typescriptreact", "go", "java", "c", "cpp", "ruby", "php", "cs", "lua", "sh", "bash", "kotlin", "swift", "scala", "sbt", "elixir", "haskell", "ocaml", "zig", "ocamlinterface", "rst" },
  root_markers = { ".git", "reverie.toml", "Cargo.toml", "pyproject.toml", "package.json", "go.mod" },
  -- Sent as initializationOptions; same keys as reverie.toml, e.g. { llm = { provider = "openai", ... } }.
  settings = nil,
  -- Extra environment for the server, e.g. { REVERIE_LOG = "info" }.
  env = nil,
  budget = 2000,
}

local config = vim.deepcopy(defaults)
local state = { status = nil, conversation = nil, float_win = nil, clients = {} }

local function notify(msg, level)
  vim.notify("reverie: " .. msg, level or vim.log.levels.INFO)
end

local function find_root(bufnr)
  local name = vim.api.nvim_buf_get_name(bufnr)
  local dir = name ~= "" and vim.fn.fnamemodify(name, ":p:h") or vim.loop.cwd()
  local current = dir
  while current and current ~= "" do
    for _, marker in ipairs(config.root_markers) do
      if vim.loop.fs_stat(current .. "/" .. marker) then
        return current
      end
    end
    local parent = vim.fn.fnamemodify(current, ":h")
    if parent == current then break end
    current = parent
  end
  return dir
end

local handlers = {
  ["reverie/status"] = function(_, result)
    state.status = result
    vim.schedule(function() vim.cmd("redrawstatus") end)
  end,
  ["reverie/answerChunk"] = function(_, result)
    if state.streaming and result and result.token == state.streaming.token then
      table.insert(state.streaming.chunks, result.text)
      vim.schedule(function() M._render_stream() end)
    end
  end,
}

-- The reverie client attached to `bufnr` (or any running one).
function M.client(bufnr)
  for _, client in pairs(vim.lsp.get_active_clients()) do
    if client.name == "reverie" and (not bufnr or vim.lsp.buf_is_attached(bufnr, client.id)) then
      return client
    end
  end
  for _, client in pairs(vim.lsp.get_active_clients()) do
    if client.name == "reverie" then return client end
  end
  return nil
end

local function start(bufnr)
  if vim.fn.executable(config.cmd[1]) ~= 1 then
    notify("cannot find `" .. config.cmd[1] .. "`. Install it with `cargo install --path .` in the reverie repository, or set cmd in require('reverie').setup{}", vim.log.levels.ERROR)
    return
  end
  local root = find_root(bufnr)
  local spec = {
    name = "reverie",
    cmd = config.cmd,
    cmd_env = config.env,
    root_dir = root,
    workspace_folders = { { uri = vim.uri_from_fname(root), name = vim.fn.fnamemodify(root, ":t") } },
    init_options = config.settings,
    -- The server sends reverie/status notifications (the statusline) only to clients that declare them.
    capabilities = vim.tbl_deep_extend("force", vim.lsp.protocol.make_client_capabilities(),
      { experimental = { reverie = { statusNotification = true } } }),
    handlers = handlers,
  }
  if vim.lsp.start then
    vim.lsp.start(spec, { bufnr = bufnr })
    return
  end
  -- Neovim 0.7: one client per root, attached to each buffer.
  local id = state.clients[root]
  if not id or not vim.lsp.get_client_by_id(id) then
    id = vim.lsp.start_client(spec)
    state.clients[root] = id
  end
  if id then vim.lsp.buf_attach_client(bufnr, id) end
end

-- For your statusline: `%{v:lua.require'reverie'.statusline()}`.
function M.statusline()
  local s = state.status
  if not s then return M.client() and "reverie: starting" or "" end
  local notes = ""
  if (s.notes or 0) > 0 then
    notes = string.format(", %d notes%s", s.notes, (s.stale or 0) > 0 and string.format(" (%d stale)", s.stale) or "")
  end
  return string.format("reverie: %s (%d files%s)", s.state, s.files or 0, notes)
end

local function close_float()
  if state.float_win and vim.api.nvim_win_is_valid(state.float_win) then
    vim.api.nvim_win_close(state.float_win, true)
  end
  state.float_win = nil
end

-- Lines of an answer, with its citations as `path:line` lines that <CR> follows.
local function answer_lines(question, result)
  local lines = { "# " .. question, "" }
  for _, l in ipairs(vim.split(result.answer or "", "\n", { plain = true })) do table.insert(lines, l) end
  table.insert(lines, "")
  if result.set_aside then
    table.insert(lines, "_the model's answer named code that is not in this workspace: s shows it anyway_")
  end
  table.insert(lines, "_source: " .. (result.source or "?") .. "_  (<CR> or gf on a citation opens it, f asks a follow-up, q closes)")
  table.insert(lines, "")
  for i, item in ipairs(result.context or {}) do
    table.insert(lines, string.format("[%d] %s:%d  %s", i, item.path, item.start_line, item.reason or ""))
  end
  return lines
end

-- The citations on `line`, in order, as { path, lnum, s, e } (byte columns, 1-based): `path:line`
-- (relative to the workspace, or absolute) and `file://` links with a line anchor (`#L9`).
local function citations_on(line)
  local found = {}
  local init = 1
  while true do
    local s, e, uri, lnum = line:find("(file://[^%s#%)>]+)#L(%d+)", init)
    if not s then break end
    table.insert(found, { path = vim.uri_to_fname(uri), lnum = tonumber(lnum), s = s, e = e })
    init = e + 1
  end
  init = 1
  while true do
    local s, e, path, lnum = line:find("([%w%._/%-]+%.%w+):(%d+)", init)
    if not s then break end
    local inside = false
    for _, c in ipairs(found) do
      if s >= c.s and s <= c.e then inside = true end
    end
    if not inside then table.insert(found, { path = path, lnum = tonumber(lnum), s = s, e = e }) end
    init = e + 1
  end
  table.sort(found, function(a, b) return a.s < b.s end)
  return found
end

-- Opens the file and line cited on `line`: the citation under byte column `col` (0-based, as
-- nvim_win_get_cursor gives it) or the next one after it; without `col`, the first.
function M.follow_citation(line, col)
  local citations = citations_on(line)
  if #citations == 0 then return false end
  local chosen = citations[1]
  if col then
    chosen = nil
    for _, c in ipairs(citations) do
      if c.e >= col + 1 then chosen = c break end
    end
    chosen = chosen or citations[#citations]
  end
  local path = chosen.path
  if path:sub(1, 1) ~= "/" then
    local client = M.client()
    local root = client and client.config.root_dir or vim.loop.cwd()
    path = root .. "/" .. path
  end
  if state.float_win and vim.api.nvim_get_current_win() == state.float_win then
    close_float()
    if state.origin_win and vim.api.nvim_win_is_valid(state.origin_win) then
      vim.api.nvim_set_current_win(state.origin_win)
    end
  end
  vim.cmd("edit " .. vim.fn.fnameescape(path))
  local last = vim.api.nvim_buf_line_count(0)
  vim.api.nvim_win_set_cursor(0, { math.min(chosen.lnum, last), 0 })
  return true
end

-- `gf` (and `gF`) on a citation opens the cited file at its line: in the answer float and in an
-- answer document the server opened (window/showDocument), whose paths Neovim's own `gf` would
-- open without the line.
local function map_goto_citation(buf)
  for _, lhs in ipairs({ "gf", "gF" }) do
    vim.api.nvim_buf_set_keymap(buf, "n", lhs, "", {
      callback = function()
        local col = vim.api.nvim_win_get_cursor(0)[2]
        if not M.follow_citation(vim.api.nvim_get_current_line(), col) then
          vim.cmd("normal! " .. lhs)
        end
      end,
      silent = true,
      nowait = true,
    })
  end
end

local function show(lines, origin_win)
  close_float()
  local buf = vim.api.nvim_create_buf(false, true)
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.api.nvim_buf_set_option(buf, "filetype", "markdown")
  vim.api.nvim_buf_set_option(buf, "bufhidden", "wipe")
  local width = math.min(100, math.floor(vim.o.columns * 0.8))
  local height = math.min(#lines + 1, math.floor(vim.o.lines * 0.7))
  state.float_win = vim.api.nvim_open_win(buf, true, {
    relative = "editor", width = width, height = height, style = "minimal", border = "rounded",
    row = math.floor((vim.o.lines - height) / 2), col = math.floor((vim.o.columns - width) / 2),
  })
  vim.api.nvim_win_set_option(state.float_win, "wrap", true)
  state.origin_win = origin_win
  local opts = { buffer = buf, silent = true, nowait = true }
  local function map(lhs, fn) vim.api.nvim_buf_set_keymap(buf, "n", lhs, "", { callback = fn, silent = true, nowait = true }) end
  map("q", close_float)
  map("<CR>", function() M.follow_citation(vim.api.nvim_get_current_line()) end)
  map_goto_citation(buf)
  map("f", function()
    local q = vim.fn.input("Follow-up: ")
    if q ~= "" then M.ask(q) end
  end)
  local _ = opts
  return buf
end

function M._render_stream()
  local s = state.streaming
  if not s or not s.buf or not vim.api.nvim_buf_is_valid(s.buf) then return end
  local text = table.concat(s.chunks)
  local lines = { "# " .. s.question, "" }
  for _, l in ipairs(vim.split(text, "\n", { plain = true })) do table.insert(lines, l) end
  vim.api.nvim_buf_set_lines(s.buf, 0, -1, false, lines)
end

-- Asks `question` (in the current conversation); shows the answer in a float.
function M.ask(question, opts)
  opts = opts or {}
  local client = M.client(vim.api.nvim_get_current_buf())
  if not client then
    notify("the server is not running for this buffer (is its filetype one of setup{filetypes}?)", vim.log.levels.WARN)
    return
  end
  if not state.conversation then
    state.conversation = string.format("nvim-%d-%d", vim.fn.getpid(), os.time())
  end
  local origin = (state.float_win and vim.api.nvim_get_current_win() == state.float_win) and state.origin_win or vim.api.nvim_get_current_win()
  local bufnr = vim.api.nvim_win_get_buf(origin)
  local params = {
    question = question,
    budget = config.budget,
    conversation = state.conversation,
    token = "nvim-" .. tostring(vim.loop.hrtime()),
    subject = opts.subject,
  }
  if vim.api.nvim_buf_get_name(bufnr) ~= "" then
    local cursor = vim.api.nvim_win_get_cursor(origin)
    params.textDocument = { uri = vim.uri_from_bufnr(bufnr) }
    params.position = { line = cursor[1] - 1, character = cursor[2] }
  end
  if opts.show_unverified then params.showUnverified = true end
  local buf = show({ "# " .. question, "", "_thinking…_" }, origin)
  state.streaming = { token = params.token, chunks = {}, buf = buf, question = question }
  client.request("reverie/ask", params, function(err, result)
    vim.schedule(function()
      state.streaming = nil
      if err then
        show({ "# " .. question, "", "reverie could not answer: " .. (err.message or vim.inspect(err)) }, origin)
        return
      end
      state.last_answer = result
      -- The streamed text is replaced by the answer as checked: unverified names marked, or set aside.
      local answer_buf = show(answer_lines(question, result), origin)
      if result.set_aside then
        vim.api.nvim_buf_set_keymap(answer_buf, "n", "s", "", {
          callback = function() M.ask(question, { show_unverified = true }) end, silent = true, nowait = true,
        })
      end
      if opts.on_answer then opts.on_answer(result) end
    end)
  end, bufnr)
end

function M.status()
  local client = M.client()
  if not client then notify("not running") return end
  local result = client.request_sync("reverie/status", vim.empty_dict(), 5000)
  local s = result and result.result or state.status or {}
  notify(string.format("%s — %d files, %d notes (%d stale). %s", s.state or "?", s.files or 0, s.notes or 0, s.stale or 0, s.message or ""))
  return s
end

function M.setup(opts)
  config = vim.tbl_deep_extend("force", vim.deepcopy(defaults), opts or {})
  local group = vim.api.nvim_create_augroup("reverie", { clear = true })
  vim.api.nvim_create_autocmd("FileType", {
    group = group,
    pattern = config.filetypes,
    callback = function(args) start(args.buf) end,
  })
  vim.api.nvim_create_autocmd("BufReadPost", {
    group = group,
    pattern = "*/answers/answer-*.md",
    callback = function(args) map_goto_citation(args.buf) end,
  })
  vim.api.nvim_create_user_command("ReverieAsk", function(cmd)
    local q = cmd.args
    if q == "" then q = vim.fn.input("Ask reverie: ") end
    if q ~= "" then M.ask(q) end
  end, { nargs = "*", desc = "Ask reverie a question about this codebase" })
  vim.api.nvim_create_user_command("ReverieExplain", function()
    local word = vim.fn.expand("<cword>")
    if word == "" then notify("put the cursor on a symbol") return end
    -- The symbol itself goes along: the server builds the context from its definition outward.
    M.ask("Explain `" .. word .. "`: what it does, how it is used and why it exists.",
      { subject = { name = word, intent = "explain" } })
  end, { desc = "Explain the symbol under the cursor" })
  vim.api.nvim_create_user_command("ReverieStatus", function() M.status() end, { desc = "Show reverie's status" })
  vim.api.nvim_create_user_command("ReverieThink", function()
    local client = M.client()
    if not client then notify("not running") return end
    client.request("workspace/executeCommand", { command = "reverie.think", arguments = {} }, function() end)
  end, { desc = "Let reverie think about the code now" })
  vim.api.nvim_create_user_command("ReverieNewChat", function() state.conversation = nil end, { desc = "Start a new conversation" })
  -- Buffers already open when setup runs.
  for _, buf in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(buf) and vim.tbl_contains(config.filetypes, vim.bo[buf].filetype) then start(buf) end
  end
end

return M
