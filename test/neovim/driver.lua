-- Drives Neovim as a user would, after init.lua (docs/PROTOCOL.md's configuration, verbatim but for its
-- paths): opens the demo queries, runs the documented fit command, presses K on a query and on a Markdown
-- paragraph, selects a prompt and presses <leader>i, and asks for a query's influence
-- (influenceLens/queryInfluence). Every wait is on an event (a status notification, a floating window, a
-- reply). Writes what it saw as JSON to $IL_NVIM_RESULT, then quits (exit code 1 on an error).
local RESULT = os.getenv('IL_NVIM_RESULT')
local QUERIES, NOTES, FIT = os.getenv('IL_NVIM_QUERIES'), os.getenv('IL_NVIM_NOTES'), os.getenv('IL_NVIM_FIT')
local QUERY_LINE = tonumber(os.getenv('IL_NVIM_QUERY_LINE')) -- 1-based, a line of a query's prompt
local TIMEOUT = tonumber(os.getenv('IL_NVIM_TIMEOUT_MS') or '300000') -- each wait; lowered when debugging

local result = { messages = {} }
local status = {}
vim.lsp.handlers['influenceLens/status'] = function(_, s) status = s end
vim.lsp.handlers['window/showMessage'] = function(_, m) table.insert(result.messages, m.message) end

local function wait(what, condition)
  if not vim.wait(TIMEOUT, condition, 50) then
    error(('timed out waiting for %s; last status: %s'):format(what, vim.fn.json_encode(status)))
  end
end

-- The text of the floating window a hover opened, once there is one; the window is closed after.
local function float_text(what)
  local win
  wait(what, function()
    for _, w in ipairs(vim.api.nvim_list_wins()) do
      if vim.api.nvim_win_get_config(w).relative ~= '' then win = w return true end
    end
    return false
  end)
  local lines = vim.api.nvim_buf_get_lines(vim.api.nvim_win_get_buf(win), 0, -1, false)
  vim.api.nvim_win_close(win, true)
  return table.concat(lines, '\n')
end

local function press(keys)
  vim.api.nvim_feedkeys(vim.api.nvim_replace_termcodes(keys, true, false, true), 'mx', false)
end

local function run()
  assert(QUERIES and NOTES and FIT and QUERY_LINE, 'IL_NVIM_QUERIES, IL_NVIM_NOTES, IL_NVIM_FIT and IL_NVIM_QUERY_LINE must be set')
  -- init.lua (the page's Lua) ran without an error and defined the selection function.
  assert(vim.v.errmsg == '', 'init.lua: ' .. vim.v.errmsg)
  assert(type(InfluenceLensSelection) == 'function', 'init.lua defines no InfluenceLensSelection')
  vim.cmd('edit ' .. vim.fn.fnameescape(QUERIES))
  result.queryFiletype = vim.bo.filetype
  wait('the model and corpus', function()
    return status.state == 'ready' and status.model ~= nil and status.corpus ~= nil and status.corpus.state == 'ready'
  end)
  vim.cmd(FIT)
  wait('the factors', function() return status.factors ~= nil and status.factors.state == 'ready' end)

  vim.api.nvim_win_set_cursor(0, { QUERY_LINE, 0 })
  press('K')
  result.queryHover = float_text('the hover on a query')

  local replies = vim.lsp.buf_request_sync(0, 'influenceLens/queryInfluence', { uri = vim.uri_from_bufnr(0), line = QUERY_LINE - 1 }, TIMEOUT)
  for _, reply in pairs(replies or {}) do
    if reply.error then error('influenceLens/queryInfluence: ' .. reply.error.message) end
    result.queryInfluence = reply.result
  end

  -- NOTES: a heading, a blank line, then a prompt paragraph from its third line on.
  vim.cmd('edit ' .. vim.fn.fnameescape(NOTES))
  result.notesFiletype = vim.bo.filetype
  vim.api.nvim_win_set_cursor(0, { 3, 0 })
  press('K')
  result.paragraphHover = float_text('the hover on a paragraph')

  press('3GVj\\i') -- a linewise selection of the paragraph's two lines, then the documented mapping
  result.selectionHover = float_text('the hover on a selection')
end

local ok, err = xpcall(run, debug.traceback)
if not ok then result.error = err end
local file = assert(io.open(RESULT, 'w'))
file:write(vim.fn.json_encode(result))
file:close()
vim.cmd(ok and 'qall!' or 'cquit 1')
