-- sql/0003_evaluation.sql - evaluation windows, their results, and what the scheduler needs
--
-- Each model is evaluated in tumbling windows of evaluation_period by event time, aligned
-- to the Unix epoch (a 1-day period starts at 00:00 UTC). The scheduler inside every
-- `vigil serve` (monitor/scheduler.c) materialises the windows, marks them due once
-- end_at + lateness has passed, claims one at a time with FOR UPDATE SKIP LOCKED and a
-- lease, evaluates it outside any transaction, and replaces the window's results in one
-- transaction that also checks it still holds the claim. docs/service.md describes it.

-- The registration's evaluation settings (POST /v1/models; monitor/eval_settings.h).
-- Periods are whole seconds, kept as intervals without months or days parts.
ALTER TABLE models
	ADD COLUMN evaluation_period interval NOT NULL DEFAULT '86400 seconds'
		CHECK (evaluation_period >= interval '1 hour'
		       AND evaluation_period <= interval '30 days'),
	ADD COLUMN lateness interval NOT NULL DEFAULT '3600 seconds'
		CHECK (lateness >= interval '0' AND lateness <= interval '30 days'),
	ADD COLUMN label_complete double precision NOT NULL DEFAULT 0.9
		CHECK (label_complete > 0 AND label_complete <= 1),
	ADD COLUMN fn_cost double precision NOT NULL DEFAULT 1
		CHECK (fn_cost >= 0 AND fn_cost < 'Infinity'),
	ADD COLUMN fp_cost double precision NOT NULL DEFAULT 1
		CHECK (fp_cost >= 0 AND fp_cost < 'Infinity');

-- The start of the window holding ts: floor(epoch / period) * period.
CREATE FUNCTION evaluation_window_start(ts timestamptz, period interval) RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT to_timestamp(floor(extract(epoch FROM ts) / extract(epoch FROM period))
			    * extract(epoch FROM period))
$$;

-- One row per (model, period). state: open (end_at + lateness not passed yet), due
-- (closed, never evaluated), done (evaluated at least once). A window is claimable when it
-- is due, needs a re-evaluation, or holds a stale claim, and its claimed_until has passed
-- (or is NULL). claimed_by names the claiming process and claim; claimed_until is the
-- lease (or, with claimed_by NULL, the back-off after a failed evaluation).
CREATE TABLE windows (
	id             bigserial PRIMARY KEY,
	model_id       bigint NOT NULL REFERENCES models(id) ON DELETE CASCADE,
	start_at       timestamptz NOT NULL,
	end_at         timestamptz NOT NULL CHECK (end_at > start_at),
	state          text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'due', 'done')),
	evaluated_at   timestamptz,
	evaluations    int NOT NULL DEFAULT 0,
	rows_at_eval   bigint,           -- predictions in the window at the last evaluation
	labels_at_eval bigint,           -- of which had a label
	reference_id   bigint,           -- the reference used (NULL: none was active)
	duration_ms    double precision, -- the last evaluation: load + compute + write
	needs_reeval   boolean NOT NULL DEFAULT false,
	claimed_by     text,
	claimed_until  timestamptz,
	failures       int NOT NULL DEFAULT 0, -- consecutive failed evaluations (back-off)
	last_error     text,
	UNIQUE (model_id, start_at)
);
CREATE INDEX windows_work ON windows (start_at)
	WHERE state = 'due' OR needs_reeval OR claimed_until IS NOT NULL;
CREATE INDEX windows_open ON windows (model_id, end_at) WHERE state = 'open';

-- One test or metric of one window. scope is what was measured; feature names the feature
-- for scope feature and missing (else NULL); segment names the segment attribute (NULL:
-- all of the window's rows) and segment_value its value. value is the statistic or metric
-- (NULL when undefined or insufficient), ci_low/ci_high its interval, p_value/q_value the
-- test's p-value and Benjamini-Hochberg q-value across the window's family of drift tests.
-- n counts the window's rows behind the value (non-missing values for drift, labelled rows
-- for performance), n_reference the reference's. status: provisional or final for
-- performance and estimate_error (the window's label coverage against the model's
-- label_complete), NULL otherwise.
CREATE TABLE results (
	id            bigserial PRIMARY KEY,
	model_id      bigint NOT NULL,
	window_id     bigint NOT NULL REFERENCES windows(id) ON DELETE CASCADE,
	scope         text NOT NULL CHECK (scope IN ('feature', 'score', 'multivariate',
				'performance', 'estimate', 'estimate_error', 'volume', 'missing',
				'label_coverage')),
	feature       text,
	segment       text,
	segment_value text,
	metric        text NOT NULL,
	value         double precision,
	ci_low        double precision,
	ci_high       double precision,
	p_value       double precision,
	q_value       double precision,
	n             bigint,
	n_reference   bigint,
	method        text,
	status        text CHECK (status IN ('provisional', 'final')),
	insufficient  boolean NOT NULL DEFAULT false,
	parameters    jsonb NOT NULL DEFAULT '{}',
	computed_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX results_window ON results (model_id, window_id);
CREATE INDEX results_metric ON results (model_id, metric, computed_at);

-- Performance of a reference's own labelled rows (all of them: segment NULL; and per
-- segment value), the baseline alert rules compare a window with. Written by the scheduler
-- the first time it uses a reference, and again when the reference's count of labelled rows
-- has changed (a range reference gains late labels).
CREATE TABLE reference_metrics (
	reference_id  bigint NOT NULL REFERENCES model_references(id) ON DELETE CASCADE,
	segment       text,
	segment_value text,
	metric        text NOT NULL,
	value         double precision,
	ci_low        double precision,
	ci_high       double precision,
	n             bigint,
	method        text,
	insufficient  boolean NOT NULL DEFAULT false,
	labeled_rows  bigint NOT NULL,  -- the reference's labelled rows when computed
	computed_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reference_metrics_ref ON reference_metrics (reference_id, metric);

-- Windows touched since they were evaluated: every statement that stores labels or
-- predictions appends the (model, window start) pairs it touched, in its own transaction,
-- and the scheduler drains them (DELETE ... RETURNING) into windows.needs_reeval. An
-- append-only queue takes no lock that ingest could wait on or deadlock over. Pairs whose
-- window cannot be stale yet (end + lateness still ahead) are not written.
CREATE TABLE window_events (
	model_id  bigint NOT NULL,
	start_at  timestamptz NOT NULL
);

CREATE FUNCTION labels_window_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO window_events (model_id, start_at)
	SELECT DISTINCT b.model_id, b.start_at
	FROM (SELECT m.id AS model_id, m.evaluation_period + m.lateness AS grace,
		     evaluation_window_start(p.ts, m.evaluation_period) AS start_at
	      FROM new_labels l
	      JOIN prediction_ids p ON p.model_id = l.model_id AND p.client_id = l.prediction_id
	      JOIN models m ON m.id = l.model_id
	      WHERE p.ts <= now() - m.lateness) b
	WHERE b.start_at + b.grace <= now();
	RETURN NULL;
END $$;

CREATE TRIGGER labels_window_events AFTER INSERT ON labels
	REFERENCING NEW TABLE AS new_labels
	FOR EACH STATEMENT EXECUTE FUNCTION labels_window_events();

CREATE FUNCTION predictions_window_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO window_events (model_id, start_at)
	SELECT DISTINCT b.model_id, b.start_at
	FROM (SELECT m.id AS model_id, m.evaluation_period + m.lateness AS grace,
		     evaluation_window_start(p.ts, m.evaluation_period) AS start_at
	      FROM new_ids p
	      JOIN models m ON m.id = p.model_id
	      WHERE p.ts <= now() - m.lateness) b
	WHERE b.start_at + b.grace <= now();
	RETURN NULL;
END $$;

CREATE TRIGGER prediction_ids_window_events AFTER INSERT ON prediction_ids
	REFERENCING NEW TABLE AS new_ids
	FOR EACH STATEMENT EXECUTE FUNCTION predictions_window_events();
