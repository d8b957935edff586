-- Real Neovim (0.7+) drives the real `reverie serve`: didOpen, hover, code actions, executeCommand
-- (the answer as a document where Neovim advertises window/showDocument — 0.11 —, where Neovim's own
-- `gF` on a citation opens the cited line; else as a message — 0.7), a command error shown as a message, reverie/ask, reverie/status with `{}` params, shutdown. Started by tests/it/neovim.rs, which sets:
--   REVERIE_BIN   the binary, REVERIE_WS  the workspace, REVERIE_OUT  where to write the result lines.
-- Every wait has a timeout; any error ends the run with a non-zero exit (never a hang).
local OUT = os.getenv("REVERIE_OUT")
local lines = {}
local function out(s) table.insert(lines, s) end
local function finish(code)
  vim.fn.writefile(lines, OUT)
  vim.lsp.stop_client(vim.lsp.get_active_clients(), false)
  vim.wait(5000, function() return #vim.lsp.get_active_clients() == 0 end, 20)
  vim.cmd(code == 0 and "qall!" or ("cquit " .. code))
end

local ok, err = pcall(function()
  local ws = os.getenv("REVERIE_WS")
  local file = ws .. "/app.py"
  vim.cmd("edit " .. vim.fn.fnameescape(file))
  vim.bo.filetype = "python"
  local bufnr = vim.api.nvim_get_current_buf()
  local statuses = {}
  local messages = {}
  local documents = {}
  local client_id = vim.lsp.start_client({
    name = "reverie",
    cmd = { os.getenv("REVERIE_BIN"), "serve" },
    root_dir = ws,
    workspace_folders = { { uri = vim.uri_from_fname(ws), name = "ws" } },
    -- reverie sends reverie/status notifications only to clients that declare they handle them.
    capabilities = vim.tbl_deep_extend("force", vim.lsp.protocol.make_client_capabilities(),
      { experimental = { reverie = { statusNotification = true } } }),
    handlers = {
      ["reverie/status"] = function(_, result) table.insert(statuses, result) end,
      ["window/showMessage"] = function(_, result) table.insert(messages, result) end,
      ["window/showDocument"] = function(_, result)
        table.insert(documents, result)
        return { success = true }
      end,
    },
  })
  assert(client_id, "start_client returned nil")
  assert(vim.lsp.buf_attach_client(bufnr, client_id), "buf_attach_client failed")
  local client = vim.lsp.get_client_by_id(client_id)
  assert(vim.wait(20000, function() return client.initialized end, 10), "initialize timed out")
  assert(vim.wait(30000, function()
    for _, s in ipairs(statuses) do if s.state == "ready" then return true end end
    return false
  end, 10), "never reached the ready state: " .. vim.inspect(statuses))
  out("ready")

  -- Hover on `load_settings` (line 6, 0-based 5).
  local params = { textDocument = { uri = vim.uri_from_bufnr(bufnr) }, position = { line = 5, character = 8 } }
  local res = vim.lsp.buf_request_sync(bufnr, "textDocument/hover", params, 10000)
  local r = res and res[client_id]
  assert(r and not r.err and r.result, "hover failed: " .. vim.inspect(res))
  out("hover: " .. r.result.contents.value:gsub("\n", " "))

  -- Code actions at the same place.
  local ca = vim.lsp.buf_request_sync(bufnr, "textDocument/codeAction", {
    textDocument = params.textDocument,
    range = { start = params.position, ["end"] = params.position },
    context = { diagnostics = {} },
  }, 10000)
  local actions = ca and ca[client_id] and ca[client_id].result
  assert(actions and #actions == 3, "code actions: " .. vim.inspect(ca))
  for _, action in ipairs(actions) do out("action: " .. action.title) end

  -- Run the first action's command.
  local cmd = actions[1].command
  local ex = client.request_sync("workspace/executeCommand", { command = cmd.command, arguments = cmd.arguments }, 10000, bufnr)
  assert(ex and not ex.err and ex.result, "executeCommand: " .. vim.inspect(ex))
  out("command answer source: " .. ex.result.source .. " first: " .. ex.result.context[1].path)
  assert(vim.wait(5000, function() return #documents > 0 or #messages > 0 end, 10), "the answer was not shown")
  if #documents > 0 then
    out("answer shown as: document " .. vim.fn.fnamemodify(vim.uri_to_fname(documents[1].uri), ":e"))
    -- Stock Neovim, no plugin: in the answer document, `gF` on a citation's label
    -- (`[/abs/lib.py:4](…)`) opens the file at the cited line, and `gf` opens the file.
    local document = vim.uri_to_fname(documents[1].uri)
    vim.cmd("edit " .. vim.fn.fnameescape(document))
    local row, col, cited
    for i, l in ipairs(vim.api.nvim_buf_get_lines(0, 0, -1, false)) do
      local at, _, line = l:find("%[[^%]]*/lib%.py:(%d+)")
      if at then row, col, cited = i, at + 2, tonumber(line) break end
    end
    assert(row, "no citation of lib.py in the answer document: " .. table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), " | "))
    for _, command in ipairs({ "gF", "gf" }) do
      vim.cmd("edit " .. vim.fn.fnameescape(document))
      vim.api.nvim_win_set_cursor(0, { row, col })
      vim.cmd("normal! " .. command)
      local name = vim.api.nvim_buf_get_name(0)
      assert(name == ws .. "/lib.py", command .. " opened " .. name)
      local line = vim.api.nvim_win_get_cursor(0)[1]
      if command == "gF" then
        assert(line == cited, "gF opened lib.py at " .. line .. ", not the cited " .. cited)
        out("native gF on a citation: lib.py at the cited line")
      else
        out("native gf on a citation: lib.py")
      end
      vim.cmd("bwipeout")
    end
    vim.cmd("buffer " .. bufnr)
  else
    out("answer shown as: message " .. messages[1].message)
  end

  -- A command without its argument: an error response, and a message saying what it takes.
  messages = {}
  local bad = client.request_sync("workspace/executeCommand", { command = "reverie.ask", arguments = {} }, 10000, bufnr)
  assert(bad and bad.err, "reverie.ask without an argument must fail: " .. vim.inspect(bad))
  assert(vim.wait(5000, function() return #messages > 0 end, 10), "the error was not shown")
  out("command error shown: type " .. messages[1].type .. ": " .. messages[1].message)

  -- reverie/status with `{}` (what vim.empty_dict() sends).
  local st = client.request_sync("reverie/status", vim.empty_dict(), 5000, bufnr)
  assert(st and not st.err and st.result, "reverie/status with {}: " .. vim.inspect(st))
  out("status with {}: " .. st.result.state .. " " .. st.result.files)

  -- The custom request.
  local ask = client.request_sync("reverie/ask", { question = "settings path must not be empty" }, 10000, bufnr)
  assert(ask and not ask.err, "reverie/ask: " .. vim.inspect(ask))
  local first = ask.result.context[1]
  out("ask: " .. first.kind .. " " .. first.path .. ":" .. first.start_line)
end)
if ok then out("PASS") finish(0) else out("FAIL: " .. tostring(err)) finish(1) end
