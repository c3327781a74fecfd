-- sql/0004_alerts.sql - alert rules, alerts and their history, silences, the notification
-- outbox, and the oncall role
--
-- The alert engine (monitor/alert.c) turns a window's results into per-fingerprint
-- decisions (alert_decisions), decisions into alert state changes (alerts, alert_events),
-- and state changes into outbox rows (notifications), all in one transaction. The notifier
-- (monitor/notify*.c) delivers the outbox. docs/service.md describes every table here.
--
-- The engine reads results, windows and reference_metrics and the models' fn_cost and
-- fp_cost (sql/0003_evaluation.sql). Nothing here refers to windows or results by foreign
-- key: an alert and its history must outlive the windows' retention.

-- The oncall role: reads alerts, acknowledges and resolves them, manages silences.
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_role_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_role_check
	CHECK (role IN ('ingest', 'viewer', 'compliance', 'oncall', 'admin'));

-- RFC 3339 in UTC as the rest of the API writes timestamps (col_ts_format): a fraction
-- only when there is one.
CREATE FUNCTION alert_ts(t timestamptz) RETURNS text LANGUAGE sql STABLE AS $$
	SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
	       || CASE WHEN to_char(t AT TIME ZONE 'UTC', 'US') = '000000' THEN ''
		       ELSE '.' || to_char(t AT TIME ZONE 'UTC', 'US') END || 'Z'
$$;

-- A rule: which results it reads (scope, metric, feature, segment filter, status), when a
-- group of them breaches (the primary condition plus the clauses in and_conditions, all of
-- which must hold) and what follows (severity, for/clear hysteresis, min_n).
--   feature        NULL: every feature (each is its own alert); else only that one
--   segment        NULL: the whole population only; '*': the whole population and every
--                  segment value; else every value of that attribute (or segment_value)
--   condition      above / below x: value past x; ci_above / ci_below x: the whole
--                  interval past x (ci_low > x / ci_high < x); q_below x: q_value < x
--   threshold      x; or, with baseline = 'reference', x = the active reference's own value
--                  of the metric (reference_metrics, same segment value, else the whole
--                  reference) + baseline_offset, resolved at every evaluation
--   severity       fixed; or NULL with severity_follows = 'fn_cost' (page when a missed case
--                  costs at least as much as a false alarm, else ticket) or 'fp_cost' (page
--                  when a false alarm costs more), resolved from the model's costs
--   due_after_s    0: decide on the evaluated window; else on the newest window of the
--                  model that ended at least this long before it (label coverage: a window
--                  whose labels stopped coming is never re-evaluated)
CREATE TABLE alert_rules (
	id               bigserial PRIMARY KEY,
	model_id         bigint NOT NULL REFERENCES models(id) ON DELETE CASCADE,
	name             text NOT NULL CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
	scope            text NOT NULL CHECK (scope IN ('feature', 'score', 'multivariate',
				'performance', 'estimate', 'estimate_error', 'volume', 'missing',
				'label_coverage')),
	metric           text[] NOT NULL CHECK (cardinality(metric) BETWEEN 1 AND 8),
	condition        text NOT NULL CHECK (condition IN ('above', 'below', 'ci_above',
				'ci_below', 'q_below')),
	threshold        double precision,
	baseline         text CHECK (baseline IN ('reference')),
	baseline_offset  double precision NOT NULL DEFAULT 0,
	and_conditions   jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(and_conditions) = 'array'),
	feature          text,
	segment          text,
	segment_value    text,
	status           text CHECK (status IN ('provisional', 'final')),
	severity         text CHECK (severity IN ('page', 'ticket', 'info')),
	severity_follows text CHECK (severity_follows IN ('fn_cost', 'fp_cost')),
	for_windows      int NOT NULL DEFAULT 1 CHECK (for_windows BETWEEN 1 AND 100),
	clear_windows    int NOT NULL DEFAULT 1 CHECK (clear_windows BETWEEN 1 AND 100),
	min_n            bigint NOT NULL DEFAULT 0 CHECK (min_n >= 0),
	due_after_s      int NOT NULL DEFAULT 0 CHECK (due_after_s BETWEEN 0 AND 31622400),
	enabled          boolean NOT NULL DEFAULT true,
	is_default       boolean NOT NULL DEFAULT false,
	description      text NOT NULL DEFAULT '',
	created_by       text NOT NULL DEFAULT 'vigil',
	created_at       timestamptz NOT NULL DEFAULT now(),
	updated_at       timestamptz NOT NULL DEFAULT now(),
	UNIQUE (model_id, name),
	CHECK ((severity IS NULL) <> (severity_follows IS NULL)),
	CHECK ((threshold IS NULL) <> (baseline IS NULL))
);

-- The severity a rule has now, given its model's costs (ties: a missed case pages).
CREATE FUNCTION alert_rule_severity(severity text, follows text, fn_cost double precision,
				    fp_cost double precision) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE follows
		WHEN 'fn_cost' THEN CASE WHEN coalesce(fn_cost, 1) >= coalesce(fp_cost, 1)
					 THEN 'page' ELSE 'ticket' END
		WHEN 'fp_cost' THEN CASE WHEN coalesce(fp_cost, 1) > coalesce(fn_cost, 1)
					 THEN 'page' ELSE 'ticket' END
		ELSE severity END
$$;

-- The defaults every model gets when it is registered (trigger below): feature and score
-- drift file tickets; realised or estimated sensitivity and PPV whose whole interval lies
-- more than 0.05 below the reference's, in the whole population or any segment value with
-- enough data, page or file a ticket as the model's costs say; a halved volume pages; label
-- coverage still under half 14 days after a window ended, two windows running, files a
-- ticket. Editing a default (POST a rule of the same name) makes it the model's own
-- (is_default false).
CREATE FUNCTION alert_install_default_rules(model bigint) RETURNS void
LANGUAGE sql AS $$
	INSERT INTO alert_rules (model_id, name, scope, metric, condition, threshold, baseline,
				 baseline_offset, and_conditions, segment, status, severity,
				 severity_follows, for_windows, clear_windows, min_n, due_after_s,
				 is_default, description)
	SELECT model, d.name, d.scope, d.metric, d.condition, d.threshold, d.baseline,
	       d.baseline_offset, d.and_conditions, d.segment, d.status, d.severity,
	       d.severity_follows, d.for_windows, d.clear_windows, d.min_n, d.due_after_s, true,
	       d.description
	FROM (VALUES
		('feature-drift', 'feature', ARRAY['psi'], 'above', 0.2, NULL, 0.0,
		 '[{"metric": ["ks", "chi_square"], "condition": "q_below", "threshold": 0.05}]'::jsonb,
		 NULL, NULL, 'ticket', NULL, 2, 2, 100, 0,
		 'a feature drifted: PSI above 0.2 and its test significant after BH (q < 0.05)'),
		('score-drift', 'score', ARRAY['psi'], 'above', 0.2, NULL, 0.0,
		 '[{"metric": ["ks"], "condition": "q_below", "threshold": 0.05}]'::jsonb,
		 NULL, NULL, 'ticket', NULL, 2, 2, 100, 0,
		 'the score distribution drifted: PSI above 0.2 and KS significant (q < 0.05)'),
		('sensitivity-drop', 'performance', ARRAY['sensitivity'], 'ci_below', NULL,
		 'reference', -0.05, '[]'::jsonb, '*', NULL, NULL, 'fn_cost', 2, 2, 30, 0,
		 'realised sensitivity: the whole interval more than 0.05 below the reference'),
		('sensitivity-drop-estimated', 'estimate', ARRAY['sensitivity'], 'ci_below', NULL,
		 'reference', -0.05, '[]'::jsonb, '*', NULL, NULL, 'fn_cost', 2, 2, 30, 0,
		 'estimated (label-free) sensitivity: the whole interval more than 0.05 below the reference'),
		('ppv-drop', 'performance', ARRAY['ppv'], 'ci_below', NULL,
		 'reference', -0.05, '[]'::jsonb, '*', NULL, NULL, 'fp_cost', 2, 2, 30, 0,
		 'realised PPV: the whole interval more than 0.05 below the reference'),
		('ppv-drop-estimated', 'estimate', ARRAY['ppv'], 'ci_below', NULL,
		 'reference', -0.05, '[]'::jsonb, '*', NULL, NULL, 'fp_cost', 2, 2, 30, 0,
		 'estimated (label-free) PPV: the whole interval more than 0.05 below the reference'),
		('volume-drop', 'volume', ARRAY['volume_ratio'], 'below', 0.5, NULL, 0.0,
		 '[]'::jsonb, NULL, NULL, 'page', NULL, 1, 1, 0, 0,
		 'fewer than half the expected predictions arrived: a feed may be broken'),
		('label-coverage-stalled', 'label_coverage', ARRAY['coverage'], 'below', 0.5, NULL,
		 0.0, '[]'::jsonb, NULL, NULL, 'ticket', NULL, 2, 1, 0, 1209600,
		 'labels stalled: under half of a window''s predictions labelled 14 days after it ended')
	) AS d(name, scope, metric, condition, threshold, baseline, baseline_offset,
	       and_conditions, segment, status, severity, severity_follows, for_windows,
	       clear_windows, min_n, due_after_s, description)
	ON CONFLICT (model_id, name) DO NOTHING
$$;

CREATE FUNCTION alert_default_rules_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM alert_install_default_rules(NEW.id);
	RETURN NULL;
END $$;

CREATE TRIGGER models_alert_default_rules AFTER INSERT ON models
	FOR EACH ROW EXECUTE FUNCTION alert_default_rules_trigger();

SELECT alert_install_default_rules(id) FROM models;

-- One decision per (fingerprint, window): did the rule's results breach in that window?
-- Windows without enough data have none. Streaks are counted over these rows in window
-- order, so evaluating a window twice, or windows out of order, counts each window once.
CREATE TABLE alert_decisions (
	fingerprint    text NOT NULL,
	rule_id        bigint NOT NULL REFERENCES alert_rules(id) ON DELETE CASCADE,
	window_id      bigint NOT NULL,
	window_end     timestamptz NOT NULL,
	scope          text NOT NULL,
	feature        text,
	segment        text,
	segment_value  text,
	breach         boolean NOT NULL,
	observed       jsonb NOT NULL,
	decided_at     timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (fingerprint, window_id)
);
CREATE INDEX alert_decisions_recent ON alert_decisions (fingerprint, window_end DESC);
CREATE INDEX alert_decisions_window ON alert_decisions (rule_id, window_id);

-- What makes two breaches the same alert: model, rule, scope, feature, segment and value.
CREATE FUNCTION alert_fingerprint(model bigint, rule bigint, scope text, feature text,
				  segment text, segment_value text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
	SELECT md5(jsonb_build_array(model, rule, scope, feature, segment, segment_value)::text)
$$;

-- One alert per fingerprint, reopened when it breaches again after being resolved.
--   first_breach / last_breach  window ends: the first breaching window of this episode,
--                               the newest breaching window
--   breach_values               {window_id, window_end, values: [{metric, value, ci_low,
--                               ci_high, p_value, q_value, n, ..., condition, threshold,
--                               breach}]} of the newest breaching window
--   counted_after               decisions of windows ending at or before it do not count:
--                               set by a hand resolution, so re-firing takes `for` new
--                               breaching windows
--   silenced, inhibited         as computed at the last evaluation or refresh
--   notified                    this episode's firing went to the outbox
CREATE TABLE alerts (
	id                    bigserial PRIMARY KEY,
	fingerprint           text NOT NULL UNIQUE,
	model_id              bigint NOT NULL REFERENCES models(id) ON DELETE CASCADE,
	rule_id               bigint NOT NULL REFERENCES alert_rules(id) ON DELETE CASCADE,
	scope                 text NOT NULL,
	feature               text,
	segment               text,
	segment_value         text,
	labels                jsonb NOT NULL,
	severity              text NOT NULL CHECK (severity IN ('page', 'ticket', 'info')),
	state                 text NOT NULL CHECK (state IN ('firing', 'acknowledged', 'resolved')),
	first_breach          timestamptz NOT NULL,
	last_breach           timestamptz NOT NULL,
	consecutive_breaches  int NOT NULL DEFAULT 0,
	consecutive_clean     int NOT NULL DEFAULT 0,
	last_window_id        bigint,
	last_window_end       timestamptz,
	breach_values         jsonb NOT NULL DEFAULT '{}',
	fired_at              timestamptz NOT NULL DEFAULT now(),
	acked_by              text,
	acked_at              timestamptz,
	ack_note              text,
	resolved_by           text,
	resolved_at           timestamptz,
	resolve_note          text,
	counted_after         timestamptz,
	silenced              boolean NOT NULL DEFAULT false,
	inhibited             boolean NOT NULL DEFAULT false,
	notified              boolean NOT NULL DEFAULT false,
	updated_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX alerts_model_state ON alerts (model_id, state);
CREATE INDEX alerts_active ON alerts (state) WHERE state <> 'resolved';

-- Every state change, by the engine (actor 'vigil') or a person, with why.
CREATE TABLE alert_events (
	id          bigserial PRIMARY KEY,
	alert_id    bigint NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
	at          timestamptz NOT NULL DEFAULT now(),
	from_state  text,
	to_state    text NOT NULL,
	actor       text NOT NULL,
	note        text NOT NULL,
	window_id   bigint,
	detail      jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX alert_events_alert ON alert_events (alert_id, id);

-- Silences mute notifications of the alerts whose labels match every matcher
-- ([{"name", "value", "isRegex", "isEqual"}] as in Alertmanager; a regex is anchored),
-- from starts_at until ends_at or deletion. Expiry needs no job: it is a comparison.
CREATE TABLE silences (
	id          bigserial PRIMARY KEY,
	matchers    jsonb NOT NULL CHECK (jsonb_typeof(matchers) = 'array'
					  AND jsonb_array_length(matchers) > 0),
	starts_at   timestamptz NOT NULL,
	ends_at     timestamptz NOT NULL,
	author      text NOT NULL CHECK (author <> ''),
	comment     text NOT NULL CHECK (btrim(comment) <> ''),
	created_by  text NOT NULL,
	created_at  timestamptz NOT NULL DEFAULT now(),
	deleted_at  timestamptz,
	deleted_by  text,
	CHECK (ends_at > starts_at)
);
CREATE INDEX silences_live ON silences (ends_at) WHERE deleted_at IS NULL;

-- 1 when one matcher holds for labels (a missing label is the empty string).
CREATE FUNCTION alert_matcher_holds(m jsonb, labels jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
	SELECT (CASE WHEN coalesce((m->>'isRegex')::boolean, false)
		     THEN coalesce(labels->>(m->>'name'), '') ~ ('^(?:' || (m->>'value') || ')$')
		     ELSE coalesce(labels->>(m->>'name'), '') = (m->>'value') END)
	       = coalesce((m->>'isEqual')::boolean, true)
$$;

-- The ids of the silences muting an alert with these labels at time t.
CREATE FUNCTION alert_silences_for(labels jsonb, t timestamptz) RETURNS SETOF bigint
LANGUAGE sql STABLE AS $$
	SELECT s.id FROM silences s
	WHERE s.deleted_at IS NULL AND s.starts_at <= t AND t < s.ends_at
	  AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(s.matchers) m
			  WHERE NOT alert_matcher_holds(m, labels))
$$;

-- Inhibition: while a model's volume alert is active (firing or acknowledged), its feature
-- drift alerts (scopes feature and multivariate) are muted: a broken feed makes drift noise.
CREATE FUNCTION alert_inhibited(model bigint, scope text) RETURNS boolean
LANGUAGE sql STABLE AS $$
	SELECT scope IN ('feature', 'multivariate') AND EXISTS (
		SELECT 1 FROM alerts a
		WHERE a.model_id = model AND a.scope = 'volume' AND a.state <> 'resolved')
$$;

-- The outbox: one row per notification to deliver, written in the transaction of the
-- alert change it announces, read and updated by the notifier (monitor/notify*.c).
--   event     'firing', 'resolved' or 'acknowledged'
--   receiver  NULL: every configured receiver (the notifier fans out)
--   payload   {labels: {alertname, model, rule, scope, feature, segment, segment_value,
--             severity}, annotations: {summary, description}, startsAt, endsAt,
--             generatorURL, status, fingerprint, alert_id, event, values}
--   state     'pending' until delivered ('delivered') or given up ('failed'); attempts,
--             next_attempt_at, delivered_at and last_error are the notifier's
CREATE TABLE notifications (
	id               bigserial PRIMARY KEY,
	alert_id         bigint REFERENCES alerts(id) ON DELETE SET NULL,
	event            text NOT NULL CHECK (event IN ('firing', 'resolved', 'acknowledged')),
	receiver         text,
	payload          jsonb NOT NULL,
	created_at       timestamptz NOT NULL DEFAULT now(),
	attempts         int NOT NULL DEFAULT 0,
	next_attempt_at  timestamptz NOT NULL DEFAULT now(),
	delivered_at     timestamptz,
	last_error       text,
	state            text NOT NULL DEFAULT 'pending'
);
