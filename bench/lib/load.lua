-- load.lua: the wrk script of bench/run.
--
-- Environment:
--   BENCH_METHOD   GET (default) or POST
--   BENCH_BODY     the form body of every request (POST without a file)
--   BENCH_BODIES   a file of requests, one per line, each sent once: the
--                  form body, or "COOKIE<TAB>BODY" to send a Cookie header
--                  with it.  wrk thread i of n takes every n-th line from
--                  line i, so no token, code or assertion is presented
--                  twice; a thread that runs out sends BENCH_SPENT instead
--                  (answered with an error, counted as "exhausted").
--   BENCH_SPENT    the body sent once the file is used up
--   BENCH_AUTH     an Authorization header value for every request
--   BENCH_BAD      lowest status counted as bad (300: anything but 2xx;
--                  400 for pages that answer with redirects)
--   BENCH_THREADS  the number of wrk threads (-t)
--   BENCH_DELAY_US pace each connection (see the end of this file)
--
-- done() prints two lines, and a third per thread that had a bad answer:
--   RESULT requests seconds p50_ms p99_ms bad socket_errors exhausted
--   BUSY answers_503 of_them_with_Retry-After timeouts
--   SAMPLE status body  (the thread's first bad answer, 160 bytes at most)
local threads = {}
local next_id = 0

function setup(thread)
	thread:set("id", next_id)
	next_id = next_id + 1
	table.insert(threads, thread)
end

function init(args)
	method = os.getenv("BENCH_METHOD") or "GET"
	bad_from = tonumber(os.getenv("BENCH_BAD") or "300")
	spent = os.getenv("BENCH_SPENT") or ""
	headers = {}
	local auth = os.getenv("BENCH_AUTH")
	if auth and auth ~= "" then headers["Authorization"] = auth end
	if method == "POST" then headers["Content-Type"] = "application/x-www-form-urlencoded" end
	fixed = os.getenv("BENCH_BODY")
	bodies = nil
	local file = os.getenv("BENCH_BODIES")
	if file and file ~= "" then
		local n = tonumber(os.getenv("BENCH_THREADS") or "1")
		bodies = {}
		local i = 0
		for line in io.lines(file) do
			if i % n == id then bodies[#bodies + 1] = line end
			i = i + 1
		end
	end
	k = 0
	busy = 0
	retry_after = 0
	bad = 0
	exhausted = 0
	if not bodies then
		-- One request, formatted once.
		req = wrk.format(method, nil, headers, fixed)
	end
end

function request()
	if not bodies then return req end
	k = k + 1
	local line = bodies[k]
	if not line then
		exhausted = exhausted + 1
		headers["Cookie"] = nil
		return wrk.format(method, nil, headers, spent)
	end
	local tab = line:find("\t", 1, true)
	if tab then
		headers["Cookie"] = line:sub(1, tab - 1)
		line = line:sub(tab + 1)
	end
	return wrk.format(method, nil, headers, line)
end

function response(status, hdrs, body)
	if status >= bad_from then
		bad = bad + 1
		-- The first bad answer of each thread, to say what went wrong.
		if not sample then sample = status .. " " .. (body or ""):sub(1, 160):gsub("%s+", " ") end
		if status == 503 then
			busy = busy + 1
			if hdrs["Retry-After"] or hdrs["retry-after"] then retry_after = retry_after + 1 end
		end
	end
end

function done(summary, latency, requests)
	local b, x, busy503, ra = 0, 0, 0, 0
	for _, t in ipairs(threads) do
		b = b + (t:get("bad") or 0)
		x = x + (t:get("exhausted") or 0)
		busy503 = busy503 + (t:get("busy") or 0)
		ra = ra + (t:get("retry_after") or 0)
	end
	local e = summary.errors
	io.write(string.format("RESULT %d %.3f %.3f %.3f %d %d %d\n", summary.requests,
		summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
		b, e.connect + e.read + e.write + e.timeout, x))
	io.write(string.format("BUSY %d %d %d\n", busy503, ra, e.timeout))
	for _, t in ipairs(threads) do
		local s = t:get("sample")
		if s then io.write("SAMPLE " .. s .. "\n") end
	end
end

-- BENCH_DELAY_US: pace each connection, waiting that many microseconds on
-- average before each request (wrk sleeps whole milliseconds: dithered).
local pace_us = tonumber(os.getenv("BENCH_DELAY_US") or "0")
if pace_us > 0 then
	math.randomseed(os.time())
	function delay()
		local ms = pace_us / 1000
		local whole = math.floor(ms)
		if math.random() < ms - whole then whole = whole + 1 end
		return whole
	end
end
