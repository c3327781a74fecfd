-- sql/0001_init.sql - models, predictions, labels, references, tokens, audit log
--
-- Applied once by `vigil migrate` (or at `vigil serve` start) inside one transaction under
-- an advisory lock; recorded in schema_migrations by the migrator, not here.

CREATE TABLE models (
	id              bigserial PRIMARY KEY,
	name            text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$'),
	version         text NOT NULL DEFAULT '',
	threshold       double precision NOT NULL DEFAULT 0.5 CHECK (threshold >= 0 AND threshold <= 1),
	positive_label  text NOT NULL DEFAULT '1',
	-- the registration as sent (canonical JSON), to answer GET and detect schema conflicts
	spec            jsonb NOT NULL,
	created_at      timestamptz NOT NULL DEFAULT now()
);

-- Features in declaration order: position is the index into predictions.num / .cat.
CREATE TABLE model_features (
	model_id  bigint NOT NULL REFERENCES models(id) ON DELETE CASCADE,
	position  int NOT NULL,
	name      text NOT NULL,
	type      text NOT NULL CHECK (type IN ('numeric', 'categorical')),
	PRIMARY KEY (model_id, position),
	UNIQUE (model_id, name)
);

CREATE TABLE model_segments (
	model_id  bigint NOT NULL REFERENCES models(id) ON DELETE CASCADE,
	position  int NOT NULL,
	name      text NOT NULL,
	PRIMARY KEY (model_id, position),
	UNIQUE (model_id, name)
);

-- The idempotency registry: one row per (model, client id) across all partitions, with a
-- hash of the record's content so a re-sent id with other content is a conflict.
CREATE TABLE prediction_ids (
	model_id   bigint NOT NULL REFERENCES models(id) ON DELETE CASCADE,
	client_id  text NOT NULL,
	ts         timestamptz NOT NULL,
	digest     bytea NOT NULL,
	PRIMARY KEY (model_id, client_id)
);

-- Predictions, range-partitioned by event time (monthly partitions created ahead by the
-- server). Numeric features in num[] and categorical ones in cat[], both in the model's
-- feature order (NULL element = missing); segment values in seg[] in segment order.
CREATE TABLE predictions (
	model_id    bigint NOT NULL,
	client_id   text NOT NULL,
	ts          timestamptz NOT NULL,
	score       double precision NOT NULL CHECK (score >= 0 AND score <= 1),
	num         double precision[] NOT NULL,
	cat         text[] NOT NULL,
	seg         text[] NOT NULL,
	received_at timestamptz NOT NULL DEFAULT now()
) PARTITION BY RANGE (ts);
CREATE INDEX predictions_model_ts ON predictions (model_id, ts);

-- Ground truth, joined to predictions by client id; may arrive before its prediction.
CREATE TABLE labels (
	model_id      bigint NOT NULL REFERENCES models(id) ON DELETE CASCADE,
	prediction_id text NOT NULL,
	label         smallint NOT NULL CHECK (label IN (0, 1)),
	ts            timestamptz NOT NULL,
	digest        bytea NOT NULL,
	received_at   timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (model_id, prediction_id)
);

-- Baselines: an uploaded labelled set (rows in reference_rows) or a range of stored
-- predictions. Exactly one active per model.
CREATE TABLE model_references (
	id          bigserial PRIMARY KEY,
	model_id    bigint NOT NULL REFERENCES models(id) ON DELETE CASCADE,
	kind        text NOT NULL CHECK (kind IN ('upload', 'range')),
	range_from  timestamptz,
	range_to    timestamptz,
	rows        bigint NOT NULL DEFAULT 0,
	active      boolean NOT NULL DEFAULT false,
	created_by  text,
	created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX model_references_one_active ON model_references (model_id) WHERE active;

CREATE TABLE reference_rows (
	reference_id bigint NOT NULL REFERENCES model_references(id) ON DELETE CASCADE,
	client_id    text NOT NULL,
	ts           timestamptz,
	score        double precision NOT NULL,
	label        smallint CHECK (label IN (0, 1)),
	num          double precision[] NOT NULL,
	cat          text[] NOT NULL,
	seg          text[] NOT NULL,
	PRIMARY KEY (reference_id, client_id)
);

-- API tokens: only the SHA-256 of the secret is stored.
CREATE TABLE api_tokens (
	id          bigserial PRIMARY KEY,
	name        text NOT NULL UNIQUE,
	role        text NOT NULL CHECK (role IN ('ingest', 'viewer', 'compliance', 'admin')),
	sha256      bytea NOT NULL UNIQUE,
	created_at  timestamptz NOT NULL DEFAULT now(),
	revoked_at  timestamptz
);

-- Append-only audit log: each row carries the SHA-256 of the previous row's hash and its
-- own content, so editing or deleting a row breaks the chain (`vigil audit verify`).
CREATE TABLE audit_log (
	id        bigserial PRIMARY KEY,
	at        timestamptz NOT NULL DEFAULT now(),
	actor     text NOT NULL,
	action    text NOT NULL,
	target    text NOT NULL DEFAULT '',
	remote    text NOT NULL DEFAULT '',
	outcome   text NOT NULL,
	detail    jsonb NOT NULL DEFAULT '{}',
	prev_hash bytea NOT NULL,
	hash      bytea NOT NULL
);
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'audit_log is append-only';
END $$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
	FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
