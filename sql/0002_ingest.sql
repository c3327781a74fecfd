-- sql/0002_ingest.sql - the ingest path's registry tables without per-row foreign-key checks
--
-- prediction_ids and labels take a whole batch (10^4 rows) per statement. A foreign key to
-- models makes PostgreSQL run one "SELECT ... FOR KEY SHARE" on models per inserted row:
-- a quarter of the database's time in the ingest benchmark. The ingest transaction now
-- takes that lock itself, once per batch (monitor/store_ingest.c: SELECT ... FROM models
-- WHERE id = $1 FOR KEY SHARE, and gives up when the model is gone), which keeps the
-- guarantee the key gave: a model cannot be deleted while rows referring to it are being
-- written. Deleting a model still deletes its ids and labels, now through a trigger.
ALTER TABLE prediction_ids DROP CONSTRAINT prediction_ids_model_id_fkey;
ALTER TABLE labels DROP CONSTRAINT labels_model_id_fkey;

CREATE FUNCTION models_delete_registry() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	DELETE FROM prediction_ids WHERE model_id = OLD.id;
	DELETE FROM labels WHERE model_id = OLD.id;
	RETURN OLD;
END $$;

CREATE TRIGGER models_delete_registry AFTER DELETE ON models
	FOR EACH ROW EXECUTE FUNCTION models_delete_registry();
