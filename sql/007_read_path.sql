-- 007_read_path.sql: the date range of a FHIR search value as a function.
--
-- lib/store's search filter, its _sort keys and the vread/history/lock
-- filters carried this computation inline, three times in a search
-- statement.  PostgreSQL builds every expression of a statement each time
-- it runs it, also the branches that never run: for a search without a
-- date parameter or _sort that was about half of its database time.  A
-- PL/pgSQL function is built only when called and keeps its plans for the
-- session.  Same result as the inline form it replaces: one row
-- (lo, hi), both NULL when v is not a valid date (a Period's missing end
-- is open: -infinity / infinity).
--
--   smart.fs_date_range(v jsonb) -> (lo timestamptz, hi timestamptz)
--     v: a FHIR date, dateTime or instant string of any precision, or a
--     Period object ({"start", "end"}); [lo, hi) is the range it denotes,
--     in UTC (a zone-less value is taken as UTC; month arithmetic is done
--     on local time, so the session time zone never matters).
--   smart._fs_date_ok, _fs_date_base, _fs_date_off: its parts (SQL
--   functions, inlined into its cached expressions).

-- Are the parts of match m in range?  (Day 31 of a short month rolls
-- over rather than failing: nothing here raises an error.)
CREATE OR REPLACE FUNCTION smart._fs_date_ok(m text[]) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT m IS NOT NULL AND m[1] <> '0000'
	   AND coalesce(m[2], '01') BETWEEN '01' AND '12'
	   AND coalesce(m[3], '01') BETWEEN '01' AND '31'
	   AND coalesce(m[4], '00') <= '23' AND coalesce(m[5], '00') <= '59'
	   AND coalesce(m[6], '00') <= '59'
	   AND coalesce(substr(m[7], 2, 2), '00') <= '14' AND coalesce(substr(m[7], 5, 2), '00') <= '59'
$$;

-- Local start of match m, as a timestamp without time zone.
CREATE OR REPLACE FUNCTION smart._fs_date_base(m text[]) RETURNS timestamp
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT make_date(m[1]::int, coalesce(m[2], '1')::int, 1)
	     + make_interval(days => coalesce(m[3], '1')::int - 1, hours => coalesce(m[4], '0')::int,
	                     mins => coalesce(m[5], '0')::int, secs => coalesce(m[6], '0')::int)
$$;

-- The zone offset of match m (none or Z: UTC).
CREATE OR REPLACE FUNCTION smart._fs_date_off(m text[]) RETURNS interval
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT CASE WHEN m[7] IS NULL OR m[7] = 'Z' THEN interval '0'
	       ELSE make_interval(hours => substr(m[7], 2, 2)::int, mins => substr(m[7], 5, 2)::int)
	            * CASE WHEN left(m[7], 1) = '-' THEN -1 ELSE 1 END END
$$;

CREATE OR REPLACE FUNCTION smart.fs_date_range(v jsonb, OUT lo timestamptz, OUT hi timestamptz)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
	-- year, month, day, hour, minute, second, zone (a fraction is ignored)
	re CONSTANT text := '^([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2})(?:T([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.[0-9]{1,9})?)?(Z|[+-][0-9]{2}:[0-9]{2})?)?)?)?$';
	a text;		-- the start's text (the value itself for a string)
	b text;		-- the end's text
	per boolean;	-- a Period: a missing end is open
	m text[];
	base timestamp;	-- local start of the value
	off interval;	-- its zone offset (none or Z: UTC)
BEGIN
	a := CASE jsonb_typeof(v) WHEN 'string' THEN v #>> '{}' WHEN 'object' THEN v ->> 'start' END;
	b := CASE jsonb_typeof(v) WHEN 'string' THEN v #>> '{}' WHEN 'object' THEN v ->> 'end' END;
	per := jsonb_typeof(v) = 'object';
	IF a IS NULL AND per THEN
		lo := '-infinity';
	ELSE
		m := regexp_match(a, re);
		IF smart._fs_date_ok(m) THEN
			base := smart._fs_date_base(m);
			off := smart._fs_date_off(m);
			lo := base AT TIME ZONE 'UTC' - off;
		END IF;
	END IF;
	IF b IS NULL AND per THEN
		hi := 'infinity';
	ELSE
		m := regexp_match(b, re);
		IF smart._fs_date_ok(m) THEN
			base := smart._fs_date_base(m);
			off := smart._fs_date_off(m);
			-- Month arithmetic on local time, then UTC: the session time
			-- zone never matters.
			hi := (base + CASE WHEN m[2] IS NULL THEN interval '1 year'
			    WHEN m[3] IS NULL THEN interval '1 month'
			    WHEN m[4] IS NULL THEN interval '1 day'
			    WHEN m[6] IS NULL THEN interval '1 minute'
			    ELSE interval '1 second' END) AT TIME ZONE 'UTC' - off;
		END IF;
	END IF;
END
$$;

COMMENT ON FUNCTION smart.fs_date_range(jsonb) IS
	'[lo, hi) of a FHIR date/dateTime/instant or Period (jsonb), UTC; NULLs when not a valid date';
