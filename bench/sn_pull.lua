-- wrk script for bench/sn_pull_bench.sh: each wrk thread (one connection each, so every
-- response belongs to the request before it) plays its share of NPEERS dfget clients of
-- one task, as the protocol goes: register; pull (status 700); then for each piece handed
-- out /peer/piece/suc and a pull reporting it (status 701, result 503, range, dstCid) -
-- once everything left is in flight, only the last one is pulled about, as dfget merges
-- results; a client that gets 600 (finished) stays as a seed and is replaced by a new one.
-- Arguments: TASK_URL NPEERS NTHREADS PREFIX.
local counter = 0
local threads = {}

function setup(thread)
   thread:set("tid", counter)
   counter = counter + 1
   table.insert(threads, thread)
end

function init(args)
   src_url = args[1]
   npeers = tonumber(args[2])
   nthreads = tonumber(args[3])
   prefix = args[4] or "p"
   -- Clients with pieces to report go first, then those to register or start; clients
   -- that were told to wait (602) are asked again only when no other has work: a real
   -- client waits on its own connection, here a wait stalls this thread's only one.
   q = { {}, {}, {} } -- 1: pieces to report, 2: to register or start, 3: told to wait
   qh = { 1, 1, 1 }
   for i = tid, npeers - 1, nthreads do
      local t = q[2]
      t[#t + 1] = { n = i, gen = 0, state = "reg", pieces = {}, report = nil }
   end
   last = nil
   lastkind = nil
   pulls, sucs, regs, c601, c602, c600, bad = 0, 0, 0, 0, 0, 0, 0
end

local function cid(c)
   return prefix .. "-" .. c.n .. "-" .. c.gen
end

local function reg_body(c)
   return '{"rawUrl":"' .. src_url .. '","cid":"' .. cid(c) ..
      '","ip":"127.0.0.1","hostName":"bench","port":' .. (15000 + c.n % 50000) ..
      ',"path":"/peer/file/bench-' .. cid(c) .. '","version":"bench"}'
end

local function take()
   for k = 1, 3 do
      local t, h = q[k], qh[k]
      if h <= #t then
         local c = t[h]
         t[h] = nil
         h = h + 1
         if h > #t then q[k], h = {}, 1 end
         qh[k] = h
         return c
      end
   end
end

local function put(c)
   local k = 3
   if #c.pieces > 0 or c.report then
      k = 1
   elseif c.state ~= "run" then
      k = 2
   end
   local t = q[k]
   t[#t + 1] = c
end

function request()
   local c = take()
   last = c
   if c.state == "reg" then
      lastkind = "reg"
      return wrk.format("POST", "/peer/registry", { ["Content-Type"] = "application/json" },
                        reg_body(c))
   end
   if c.state == "start" then
      lastkind = "pull"
      return wrk.format("GET", "/peer/task?srcCid=" .. cid(c) ..
                        "&dstCid=&range=&result=502&status=700&taskId=" .. c.task)
   end
   -- After each piece/suc, the pull that reports the piece, while there are pieces left
   -- to hand out; when all the rest is in flight, one pull after the last (dfget merges
   -- results it has no use asking about).
   local unassigned = c.total - c.have - #c.pieces
   if c.report and (#c.pieces == 0 or unassigned > 0) then
      local p = c.report
      c.report = nil
      lastkind = "pull"
      return wrk.format("GET", "/peer/task?srcCid=" .. cid(c) .. "&dstCid=" .. p.src ..
                        "&range=" .. p.range .. "&result=503&status=701&taskId=" .. c.task)
   end
   if #c.pieces > 0 then -- a piece "downloaded": report it
      local p = table.remove(c.pieces, 1)
      c.report = p
      c.have = c.have + 1
      lastkind = "suc"
      return wrk.format("GET", "/peer/piece/suc?taskId=" .. c.task .. "&cid=" .. cid(c) ..
                        "&dstCid=" .. p.src .. "&pieceRange=" .. p.range)
   end
   lastkind = "pull"
   return wrk.format("GET", "/peer/task?srcCid=" .. cid(c) ..
                     "&dstCid=&range=&result=502&status=701&taskId=" .. c.task)
end

function response(status, headers, body)
   local c = last
   if not c then return end
   last = nil
   if status ~= 200 then
      bad = bad + 1
      put(c)
      return
   end
   if lastkind == "reg" then
      regs = regs + 1
      c.task = string.match(body, '"taskId":"(%x+)"')
      local len = tonumber(string.match(body, '"fileLength":(%d+)') or "0")
      local ps = tonumber(string.match(body, '"pieceSize":(%d+)') or "4194304")
      c.total = math.max(1, math.ceil(len / (ps - 5)))
      c.have = 0
      if c.task then c.state = "start" else bad = bad + 1 end
      put(c)
      return
   end
   if lastkind == "suc" then
      sucs = sucs + 1
      put(c)
      return
   end
   pulls = pulls + 1
   if c.state == "start" then c.state = "run" end
   local code = string.match(body, '"code":(%d+)')
   if code == "601" then
      c601 = c601 + 1
      for range, src in string.gmatch(body, '"range":"([%d%-]+)".-"cid":"([^"]*)"') do
         c.pieces[#c.pieces + 1] = { range = range, src = src }
      end
   elseif code == "602" then
      c602 = c602 + 1
   elseif code == "600" then
      c600 = c600 + 1
      c.gen = c.gen + 1 -- a seed now; a new client takes its place
      c.state = "reg"
      c.pieces = {}
      c.report = nil
   else
      bad = bad + 1
   end
   put(c)
end

function done(summary, latency, requests)
   local t = { pulls = 0, sucs = 0, regs = 0, c601 = 0, c602 = 0, c600 = 0, bad = 0 }
   for _, th in ipairs(threads) do
      for k, _ in pairs(t) do t[k] = t[k] + (th:get(k) or 0) end
   end
   local secs = summary.duration / 1e6
   io.write(string.format("requests %d in %.1f s: %.0f req/s; pulls %d (%.0f/s), " ..
                          "piece/suc %d, registrations %d\n", summary.requests, secs,
                          summary.requests / secs, t.pulls, t.pulls / secs, t.sucs, t.regs))
   io.write(string.format("pull answers: 601 %d, 602 %d, 600 %d; errors %d (socket %d)\n",
                          t.c601, t.c602, t.c600, t.bad,
                          summary.errors.connect + summary.errors.read +
                             summary.errors.write + summary.errors.timeout))
   io.write(string.format("latency p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
                          latency:percentile(50) / 1000, latency:percentile(99) / 1000,
                          latency.max / 1000))
end
