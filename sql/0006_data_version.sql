-- sql/0006_data_version.sql - a cheap per-model data version for the analysis cache
--
-- The analysis routes cache their answers keyed by the model's data version
-- (monitor/analysis_cache.h). The version must change in the same transaction as any
-- write to the model's predictions, labels or references, must not serialise concurrent
-- ingest batches of one model (a counter row would: each batch would wait for the previous
-- one's commit), and must come from the database, since several `vigil serve` processes
-- may share it.
--
-- So each writing transaction appends one row (model_id, n = 1) to model_data_marks: a
-- plain insert, no unique key, nothing to wait for. The version is sum(n) over the model's
-- rows, read in the same snapshot as the data (monitor/routes_analysis.c). It counts the
-- writing transactions the snapshot sees; a later snapshot sees a superset of an earlier
-- one's, so equal counts mean equal sets: the version can never repeat for other data.
-- (max(seq) from a sequence would not do: numbers are taken in start order, but commits
-- land in any order, so a late commit with a lower number would leave max unchanged.)
--
-- The maintenance task (monitor/tasks.c) folds each model's rows into one, in one
-- statement: DELETE ... RETURNING and INSERT of their sum. The sum a snapshot sees is the
-- same before and after, and two servers folding at once delete disjoint rows.
--
-- Writers: monitor/store_ingest.c marks every predictions/labels/references transaction
-- explicitly (one row per batch, no per-row trigger cost). The triggers below catch the
-- rest: updates and deletes of predictions, labels and reference rows (by hand, or by a
-- model's deletion), and any change to model_references. Dropping or truncating a
-- predictions partition is not caught: after doing that by hand, run
--   SELECT model_data_touch(id) FROM models;

CREATE TABLE model_data_marks (
	model_id  bigint NOT NULL,
	n         bigint NOT NULL DEFAULT 1
);
CREATE INDEX model_data_marks_model ON model_data_marks (model_id) INCLUDE (n);

CREATE FUNCTION model_data_version(model bigint) RETURNS bigint
LANGUAGE sql STABLE AS $$
	SELECT coalesce(sum(n), 0)::bigint FROM model_data_marks WHERE model_id = model
$$;

CREATE FUNCTION model_data_touch(model bigint) RETURNS void
LANGUAGE sql AS $$
	INSERT INTO model_data_marks (model_id) VALUES (model)
$$;

-- Fold every model's marks into one row. Returns the number of rows removed.
CREATE FUNCTION model_data_marks_fold() RETURNS bigint
LANGUAGE sql AS $$
	WITH d AS (DELETE FROM model_data_marks
		   WHERE model_id IN (SELECT model_id FROM model_data_marks
				      GROUP BY model_id HAVING count(*) > 1)
		   RETURNING model_id, n),
	     i AS (INSERT INTO model_data_marks (model_id, n)
		   SELECT model_id, sum(n) FROM d GROUP BY model_id RETURNING 1)
	SELECT count(*) - (SELECT count(*) FROM i) FROM d
$$;

CREATE FUNCTION model_data_marks_old() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO model_data_marks (model_id) SELECT DISTINCT model_id FROM old_rows;
	RETURN NULL;
END $$;

CREATE FUNCTION model_data_marks_new() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO model_data_marks (model_id) SELECT DISTINCT model_id FROM new_rows;
	RETURN NULL;
END $$;

CREATE FUNCTION reference_rows_marks_old() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO model_data_marks (model_id)
	SELECT DISTINCT r.model_id FROM model_references r
	WHERE r.id IN (SELECT reference_id FROM old_rows);
	RETURN NULL;
END $$;

CREATE TRIGGER predictions_marks_update AFTER UPDATE ON predictions
	REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
	EXECUTE FUNCTION model_data_marks_old();
CREATE TRIGGER predictions_marks_delete AFTER DELETE ON predictions
	REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
	EXECUTE FUNCTION model_data_marks_old();
CREATE TRIGGER labels_marks_update AFTER UPDATE ON labels
	REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
	EXECUTE FUNCTION model_data_marks_old();
CREATE TRIGGER labels_marks_delete AFTER DELETE ON labels
	REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
	EXECUTE FUNCTION model_data_marks_old();
CREATE TRIGGER reference_rows_marks_update AFTER UPDATE ON reference_rows
	REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
	EXECUTE FUNCTION reference_rows_marks_old();
CREATE TRIGGER reference_rows_marks_delete AFTER DELETE ON reference_rows
	REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
	EXECUTE FUNCTION reference_rows_marks_old();
CREATE TRIGGER model_references_marks_insert AFTER INSERT ON model_references
	REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
	EXECUTE FUNCTION model_data_marks_new();
CREATE TRIGGER model_references_marks_update AFTER UPDATE ON model_references
	REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
	EXECUTE FUNCTION model_data_marks_new();
CREATE TRIGGER model_references_marks_delete AFTER DELETE ON model_references
	REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
	EXECUTE FUNCTION model_data_marks_old();
