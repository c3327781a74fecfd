-- sql/0007_ingest_speed.sql - cheaper registry keys and window_events triggers for bulk ingest
--
-- Measured on the service benchmark (bench/service.sh: 10^6 predictions in batches of
-- 10^4), the database spent about a fifth of each ingest transaction in the statement
-- trigger that writes window_events (sql/0003_evaluation.sql), and a quarter in the
-- registry insert, mostly comparing client ids in prediction_ids' primary key.
--
-- 1. prediction_ids.client_id compares bytewise (COLLATE "C"). Ids are opaque: equality,
--    the only thing the key decides, is byte equality under every deterministic collation,
--    so uniqueness is exactly what it was; the key's comparisons become memcmp instead of
--    the database locale's strcoll, and its order is the byte order in which the ingest
--    path sorts each batch (monitor/store_ingest.c), so a batch inserts in index order.
--    Lookups that compare it with a text of the default collation (a parameter, a label's
--    prediction_id) take the column's collation and still probe the key.
ALTER TABLE prediction_ids ALTER COLUMN client_id TYPE text COLLATE "C";

-- 2. The window_events triggers computed the window of every row (numeric arithmetic, and
--    an index probe on models per row under the ingest path's plan settings), then made
--    the pairs distinct. Now the rows are first grouped by model and by hour of event time
--    (date_bin: integer arithmetic, no time zone), keeping each group's first and last ts.
--    An evaluation period is at least an hour (models' check), so a group's span, shorter
--    than an hour, lies in at most two consecutive windows: the window of its first ts and
--    that of its last. Those are exactly the windows its rows touch, computed once a group
--    with the function the scheduler uses. The old per-row condition ts <= now() - lateness
--    is implied by the window's (ts < start + period, start + period + lateness <= now()),
--    so the pairs written are the same as before.
CREATE OR REPLACE FUNCTION predictions_window_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO window_events (model_id, start_at)
	SELECT DISTINCT g.model_id, w.start_at
	FROM (SELECT p.model_id, min(p.ts) AS lo, max(p.ts) AS hi
	      FROM new_ids p
	      GROUP BY p.model_id, date_bin(interval '1 hour', p.ts, timestamptz 'epoch')) g
	JOIN models m ON m.id = g.model_id
	CROSS JOIN LATERAL (VALUES (evaluation_window_start(g.lo, m.evaluation_period)),
				   (evaluation_window_start(g.hi, m.evaluation_period))) w(start_at)
	WHERE w.start_at + m.evaluation_period + m.lateness <= now();
	RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION labels_window_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO window_events (model_id, start_at)
	SELECT DISTINCT g.model_id, w.start_at
	FROM (SELECT l.model_id, min(p.ts) AS lo, max(p.ts) AS hi
	      FROM new_labels l
	      JOIN prediction_ids p ON p.model_id = l.model_id AND p.client_id = l.prediction_id
	      GROUP BY l.model_id, date_bin(interval '1 hour', p.ts, timestamptz 'epoch')) g
	JOIN models m ON m.id = g.model_id
	CROSS JOIN LATERAL (VALUES (evaluation_window_start(g.lo, m.evaluation_period)),
				   (evaluation_window_start(g.hi, m.evaluation_period))) w(start_at)
	WHERE w.start_at + m.evaluation_period + m.lateness <= now();
	RETURN NULL;
END $$;

-- 3. No planner statistics on the array columns: no query filters or joins on num, cat or
--    seg (nor on a digest), and ANALYZE spent most of its time on their per-element
--    statistics (16 numbers a row here: 2.1 s for predictions after 10^6 rows, 0.5 s
--    without). Autovacuum's ANALYZE and the one below both get cheaper. The setting
--    reaches the existing partitions; monitor/store_ingest.c sets it on each new one.
ALTER TABLE predictions ALTER COLUMN num SET STATISTICS 0,
	ALTER COLUMN cat SET STATISTICS 0, ALTER COLUMN seg SET STATISTICS 0;
ALTER TABLE reference_rows ALTER COLUMN num SET STATISTICS 0,
	ALTER COLUMN cat SET STATISTICS 0, ALTER COLUMN seg SET STATISTICS 0;
ALTER TABLE prediction_ids ALTER COLUMN digest SET STATISTICS 0;
ALTER TABLE labels ALTER COLUMN digest SET STATISTICS 0;

-- 4. Fresh planner statistics after bulk writes. Autovacuum analyses a table only after a
--    nap (autovacuum_naptime, a minute by default) and once 10% of it changed, and never
--    gathers the partitioned table's own statistics (over all partitions, which the planner
--    uses for joins across partitions). An analysis query planned in between, with the
--    statistics of a table that was small or empty, can pick a plan that runs for minutes.
--    vigil serve's maintenance task "analyze" (monitor/routes_ingest.c) calls this every
--    few seconds, under an advisory lock so that replicas take turns; it returns the tables
--    it analysed. A table is stale when its rows changed since its last ANALYZE by at least
--    min_rows and by at least frac of its rows at that ANALYZE (reltuples; never analysed:
--    0). predictions as a whole is stale when the partitions' live rows differ that much
--    from what its last ANALYZE counted; ANALYZE predictions samples every partition for
--    the partitioned table's statistics and analyses each partition as well. The catalog
--    reads cost a few milliseconds when nothing is stale.
CREATE FUNCTION analyze_stale_tables(min_rows bigint, frac double precision)
RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
	t regclass;
	live double precision;
	known double precision;
BEGIN
	SELECT coalesce(sum(s.n_live_tup), 0) INTO live
	FROM pg_partition_tree('predictions') p JOIN pg_stat_user_tables s ON s.relid = p.relid
	WHERE p.isleaf;
	SELECT greatest(c.reltuples, 0) INTO known FROM pg_class c
	WHERE c.oid = 'predictions'::regclass;
	IF abs(live - known) >= greatest(min_rows, frac * known) THEN
		ANALYZE predictions;
		RETURN NEXT 'predictions';
	ELSE
		FOR t IN SELECT p.relid FROM pg_partition_tree('predictions') p
			 JOIN pg_stat_user_tables s ON s.relid = p.relid
			 JOIN pg_class c ON c.oid = p.relid
			 WHERE p.isleaf AND s.n_mod_since_analyze >=
				greatest(min_rows, frac * greatest(c.reltuples, 0))
			 ORDER BY 1
		LOOP
			EXECUTE format('ANALYZE %s', t);
			RETURN NEXT t::text;
		END LOOP;
	END IF;
	FOR t IN SELECT s.relid::regclass FROM pg_stat_user_tables s
		 JOIN pg_class c ON c.oid = s.relid
		 WHERE s.relid IN ('prediction_ids'::regclass, 'labels'::regclass,
				   'reference_rows'::regclass)
		 AND s.n_mod_since_analyze >= greatest(min_rows, frac * greatest(c.reltuples, 0))
		 ORDER BY 1
	LOOP
		EXECUTE format('ANALYZE %s', t);
		RETURN NEXT t::text;
	END LOOP;
END $$;
