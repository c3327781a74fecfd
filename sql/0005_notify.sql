-- sql/0005_notify.sql - the notifier's delivery state: one row per notification and receiver
--
-- The alert engine writes the outbox (notifications, sql/0004_alerts.sql); the notifier
-- (monitor/notify.c) fans each new row out here, one delivery per configured receiver (or
-- only the receiver the row names), and tracks every delivery on its own: a receiver that is
-- down delays only its own deliveries. The outbox row's state, attempts, delivered_at and
-- last_error mirror its deliveries: delivered once every receiver has it, failed once one
-- gave up, pending before.
--
--   state            pending -> delivered | failed (failed: a 4xx other than 408/429, a
--                    redirect, a bad payload, or max_attempts used up)
--   attempts         requests made (a claim counts one; a claim given back uncounted when
--                    the request was never made)
--   next_attempt_at  when it is due; while claimed, the end of the claim's lease
--   claimed_by       host:pid of the server holding the lease (for operators)
--   last_status      the last HTTP status (NULL: no answer)
--   last_error       the last failure ("HTTP 503", "network: ..."): never a payload

CREATE TABLE notification_deliveries (
	notification_id  bigint NOT NULL REFERENCES notifications(id) ON DELETE CASCADE,
	receiver         text NOT NULL,
	state            text NOT NULL DEFAULT 'pending'
				CHECK (state IN ('pending', 'delivered', 'failed')),
	attempts         int NOT NULL DEFAULT 0,
	next_attempt_at  timestamptz NOT NULL DEFAULT now(),
	claimed_by       text,
	last_attempt_at  timestamptz,
	last_status      int,
	last_error       text,
	delivered_at     timestamptz,
	created_at       timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (notification_id, receiver)
);
-- due deliveries, and "is an older one for this alert still pending" per receiver
CREATE INDEX notification_deliveries_due ON notification_deliveries (receiver, next_attempt_at)
	WHERE state = 'pending';
CREATE INDEX notification_deliveries_pending ON notification_deliveries (receiver, notification_id)
	WHERE state = 'pending';

-- outbox rows not yet fanned out, and each alert's newest row (re-sends to Alertmanager)
CREATE INDEX notifications_pending_id ON notifications (id) WHERE state = 'pending';
CREATE INDEX notifications_alert ON notifications (alert_id, id);

-- When each Alertmanager receiver last got the periodic re-send of every firing alert; the
-- server whose UPDATE moves last_at does this period's re-send.
CREATE TABLE notification_resends (
	receiver  text PRIMARY KEY,
	last_at   timestamptz NOT NULL DEFAULT '-infinity'
);
