-- The Neovim plugin (editors/nvim) used as a user would: setup{}, the statusline reaching ready,
-- :ReverieAsk showing an answer in a float, <CR> and `gf` on a citation jumping to the code (and `gf`
-- in an answer document Neovim opened), a follow-up in the same conversation, :ReverieStatus,
-- :ReverieExplain reading top-down. Started by tests/it/neovim.rs (REVERIE_BIN, REVERIE_WS, REVERIE_OUT,
-- REVERIE_PLUGIN). Every wait has a timeout; errors end the run non-zero.
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
  vim.opt.runtimepath:append(os.getenv("REVERIE_PLUGIN"))
  local reverie = require("reverie")
  reverie.setup({ cmd = { os.getenv("REVERIE_BIN"), "serve" } })
  local ws = os.getenv("REVERIE_WS")
  vim.cmd("edit " .. vim.fn.fnameescape(ws .. "/app.py"))
  assert(vim.wait(30000, function() return reverie.statusline():match("^reverie: ready") ~= nil end, 20),
    "statusline never showed ready: " .. reverie.statusline())
  out("statusline: " .. reverie.statusline())

  local got
  vim.cmd("ReverieAsk where is load_settings defined?")
  assert(vim.wait(20000, function()
    local buf = vim.api.nvim_get_current_buf()
    local text = table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), "\n")
    if text:match("_source: facts_") then got = text return true end
    return false
  end, 20), "no answer float")
  out("float: " .. got:gsub("\n", " | "))

  -- <CR> on the first citation line.
  local buf_lines = vim.api.nvim_buf_get_lines(0, 0, -1, false)
  for i, l in ipairs(buf_lines) do
    if l:match("^%[1%]") then vim.api.nvim_win_set_cursor(0, { i, 0 }) break end
  end
  vim.api.nvim_feedkeys(vim.api.nvim_replace_termcodes("<CR>", true, false, true), "x", false)
  assert(vim.wait(5000, function() return vim.api.nvim_buf_get_name(0):match("lib%.py$") ~= nil end, 20), "citation did not open lib.py")
  out(string.format("jumped: %s:%d", vim.fn.fnamemodify(vim.api.nvim_buf_get_name(0), ":t"), vim.api.nvim_win_get_cursor(0)[1]))

  -- `gf` on a citation in the answer's text (not the first on its line's list) opens it at its line.
  -- lib.py is wiped first, so nothing remembers its cursor: the line comes from the citation.
  local lib = vim.api.nvim_buf_get_name(0)
  vim.cmd("edit " .. vim.fn.fnameescape(ws .. "/app.py"))
  vim.cmd("bwipeout! " .. vim.fn.fnameescape(lib))
  vim.cmd("ReverieAsk where is load_settings defined?")
  assert(vim.wait(20000, function()
    local text = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), "\n")
    return text:match("_source: facts_") ~= nil
  end, 20), "no second answer float")
  local placed = false
  for i, l in ipairs(vim.api.nvim_buf_get_lines(0, 0, -1, false)) do
    local col = l:find("lib.py:4", 1, true)
    if col and not l:match("^%[%d+%]") then
      vim.api.nvim_win_set_cursor(0, { i, col + 2 })
      placed = true
      break
    end
  end
  assert(placed, "no lib.py:4 citation in the answer text")
  vim.api.nvim_feedkeys("gf", "x", false)
  assert(vim.wait(5000, function() return vim.api.nvim_buf_get_name(0):match("lib%.py$") ~= nil end, 20), "gf did not open lib.py")
  out(string.format("gf from the float: %s:%d", vim.fn.fnamemodify(vim.api.nvim_buf_get_name(0), ":t"), vim.api.nvim_win_get_cursor(0)[1]))

  -- Where Neovim opens documents (0.10+ advertises window/showDocument), reverie.ask's answer is a
  -- markdown file: `gf` on its citation links opens the real file at the line too.
  if vim.fn.has("nvim-0.10") == 1 then
    vim.cmd("edit " .. vim.fn.fnameescape(ws .. "/app.py"))
    vim.cmd("bwipeout! " .. vim.fn.fnameescape(lib))
    local client = reverie.client(0)
    client.request("workspace/executeCommand", { command = "reverie.ask", arguments = { { question = "where is load_settings defined?" } } }, function() end, 0)
    assert(vim.wait(20000, function() return vim.api.nvim_buf_get_name(0):match("answer%-%d+%.md$") ~= nil end, 20),
      "the answer document did not open: " .. vim.api.nvim_buf_get_name(0))
    local found = false
    for i, l in ipairs(vim.api.nvim_buf_get_lines(0, 0, -1, false)) do
      local col = l:find("/lib.py:4", 1, true)
      if col then
        vim.api.nvim_win_set_cursor(0, { i, col })
        found = true
        break
      end
    end
    assert(found, "no link to lib.py:4 in the answer document: " .. table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), " | "))
    vim.api.nvim_feedkeys("gf", "x", false)
    assert(vim.wait(5000, function() return vim.api.nvim_buf_get_name(0):match("lib%.py$") ~= nil end, 20), "gf in the answer document did not open lib.py")
    out(string.format("gf from the answer document: %s:%d", vim.fn.fnamemodify(vim.api.nvim_buf_get_name(0), ":t"), vim.api.nvim_win_get_cursor(0)[1]))
  end

  -- A follow-up in the same conversation (it names nothing; the server reads it with the first).
  local answered = false
  reverie.ask("and which tests cover it?", { on_answer = function(result) answered = result end })
  assert(vim.wait(20000, function() return answered ~= false end, 20), "no follow-up answer")
  out("follow-up source: " .. answered.source)

  local s = reverie.status()
  out("status: " .. s.state .. " " .. s.files)

  -- :ReverieExplain on `load_settings` (lib.py:4): the float opens at its top, and its citations come
  -- in the server's order, from the symbol outward (the definition, then what calls it).
  vim.cmd("edit " .. vim.fn.fnameescape(ws .. "/lib.py"))
  vim.api.nvim_win_set_cursor(0, { 4, 8 })
  vim.cmd("ReverieExplain")
  assert(vim.wait(20000, function()
    local first = vim.api.nvim_buf_get_lines(0, 0, 1, false)[1] or ""
    local text = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), "\n")
    return first:match("^# Explain `load_settings`") ~= nil and text:match("_source: ") ~= nil
  end, 20), "no explain float")
  out("explain top line: " .. vim.fn.line("w0"))
  for _, l in ipairs(vim.api.nvim_buf_get_lines(0, 0, -1, false)) do
    if l:match("^%[%d+%]") then out("explain citation: " .. l) end
  end
end)
if ok then out("PASS") finish(0) else out("FAIL: " .. tostring(err)) finish(1) end
