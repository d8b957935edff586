-- The plugin's float shows an answer as the server checked it (tests/it/neovim.rs, against the fake
-- OpenAI server streaming a mostly invented answer): the streamed text is replaced when the answer
-- ends — here by the ranked context, the model's answer set aside with a line saying so — and `s`
-- asks again showing the model's answer, its invented names marked ⚠. Every wait has a timeout.
local OUT = os.getenv("REVERIE_OUT")
local lines = {}
local function out(s) table.insert(lines, s) end
local function finish(code)
  vim.fn.writefile(lines, OUT)
  vim.lsp.stop_client(vim.lsp.get_active_clients(), false)
  vim.wait(5000, function() return #vim.lsp.get_active_clients() == 0 end, 20)
  vim.cmd(code == 0 and "qall!" or ("cquit " .. code))
end

local function float_text()
  return table.concat(vim.api.nvim_buf_get_lines(vim.api.nvim_get_current_buf(), 0, -1, false), "\n")
end

local ok, err = pcall(function()
  vim.opt.runtimepath:append(os.getenv("REVERIE_PLUGIN"))
  local reverie = require("reverie")
  reverie.setup({ cmd = { os.getenv("REVERIE_BIN"), "serve" } })
  vim.cmd("edit " .. vim.fn.fnameescape(os.getenv("REVERIE_WS") .. "/app.py"))
  assert(vim.wait(30000, function() return reverie.statusline():match("^reverie: ready") ~= nil end, 20),
    "statusline never showed ready: " .. reverie.statusline())

  local got
  vim.cmd("ReverieAsk explain how configuration gets loaded for the app")
  assert(vim.wait(30000, function()
    local text = float_text()
    if text:match("_source: context_") then got = text return true end
    return false
  end, 20), "no set-aside answer: " .. float_text())
  out("set aside: " .. got:gsub("\n", " | "))

  vim.api.nvim_feedkeys("s", "x", false)
  assert(vim.wait(30000, function()
    local text = float_text()
    if text:match("_source: model_") then got = text return true end
    return false
  end, 20), "no answer shown anyway: " .. float_text())
  out("shown: " .. got:gsub("\n", " | "))
end)
if ok then out("PASS") finish(0) else out("FAIL: " .. tostring(err)) finish(1) end
