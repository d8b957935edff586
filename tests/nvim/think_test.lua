-- Real Neovim (0.7+) watches reverie think: `reverie.think` with a model configured (the fake OpenAI
-- server in tests/util, named in the workspace's reverie.toml), `$/progress` with done/total jobs, and
-- the status' notes count growing before the pass ends. Started by tests/it/neovim.rs (REVERIE_BIN,
-- REVERIE_WS, REVERIE_OUT). Every wait has a timeout; errors end the run non-zero.
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
  vim.cmd("edit " .. vim.fn.fnameescape(ws .. "/app.py"))
  vim.bo.filetype = "python"
  local bufnr = vim.api.nvim_get_current_buf()
  local statuses, progress = {}, {}
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
      ["$/progress"] = function(_, result) table.insert(progress, result) end,
      ["window/showMessage"] = function() end,
    },
  })
  assert(client_id and vim.lsp.buf_attach_client(bufnr, client_id), "the client did not start")
  local client = vim.lsp.get_client_by_id(client_id)
  assert(vim.wait(30000, function()
    for _, s in ipairs(statuses) do if s.state == "ready" then return true end end
    return false
  end, 10), "never ready: " .. vim.inspect(statuses))

  local think = client.request_sync("workspace/executeCommand", { command = "reverie.think", arguments = {} }, 10000, bufnr)
  assert(think and not think.err and think.result and think.result.started, "reverie.think: " .. vim.inspect(think))
  local ended
  assert(vim.wait(60000, function()
    for _, p in ipairs(progress) do
      if p.value and p.value.kind == "end" and (p.value.message or ""):match("notes stored this pass") then
        ended = p.value.message
        return true
      end
    end
    return false
  end, 20), "the thinking pass never ended: " .. vim.inspect(progress))
  for _, p in ipairs(progress) do
    if p.value and p.value.kind == "report" and (p.value.message or ""):match("^%d+/%d+") then
      out("progress: " .. p.value.message)
    end
  end
  local most = 0
  for _, s in ipairs(statuses) do
    if s.state == "thinking" and (s.notes or 0) > most then most = s.notes end
  end
  out("notes while thinking: " .. most)
  out("end: " .. ended)
end)
if ok then out("PASS") finish(0) else out("FAIL: " .. tostring(err)) finish(1) end
