/* SPDX-License-Identifier: MIT
 * monitor/analysis_cache.c - answers of the analysis routes, kept and shared (single flight)
 *
 * One mutex guards everything: a chained hash table of kept entries threaded on an LRU
 * list (most recent at the head), and a short list of flights in progress (at most one per
 * running computation, so a linear search is enough). Values are reference-counted, so a
 * hit hands out a reference and copies nothing under the lock, and an entry evicted while
 * a request still sends its body stays alive until that request is done with it.
 */
#include "config.h"

#include "monitor/analysis_cache.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MIN_BUCKETS 16
#define KEEP_FRACTION 8 /* an answer above max_bytes / 8 is not kept */

struct entry {
	char *key;
	uint64_t hash;
	size_t bytes;
	struct mon_acache_val *v;
	struct entry *hnext;       /* hash chain */
	struct entry *prev, *next; /* LRU list */
};

struct waiter {
	mon_acache_wake_fn wake;
	void *arg;
	struct waiter *next;
};

struct mon_acache_flight {
	char *key;
	uint64_t hash;
	struct waiter *waiters;
	struct mon_acache_flight *next;
};

struct mon_acache {
	pthread_mutex_t lock;
	size_t max_bytes, max_entries;
	size_t bytes, entries;
	struct entry **buckets;
	size_t nbuckets; /* a power of two */
	struct entry *head, *tail;
	struct mon_acache_flight *flights;
};

/* --- values ------------------------------------------------------------------------------- */

struct mon_acache_val *mon_acache_val_new(int status, int problem, char *body, size_t len,
					  const char *outcome, char *detail)
{
	struct mon_acache_val *v = mon_xcalloc(1, sizeof(*v));

	v->status = status;
	v->problem = problem;
	v->body = body;
	v->len = len;
	v->outcome = outcome ? mon_xstrndup(outcome, strlen(outcome)) : NULL;
	v->detail = detail;
	atomic_init(&v->refs, 1);
	return v;
}

struct mon_acache_val *mon_acache_val_ref(struct mon_acache_val *v)
{
	atomic_fetch_add(&v->refs, 1);
	return v;
}

void mon_acache_val_unref(struct mon_acache_val *v)
{
	if (!v || atomic_fetch_sub(&v->refs, 1) != 1)
		return;
	free(v->body);
	free(v->outcome);
	free(v->detail);
	free(v);
}

/* --- the table ---------------------------------------------------------------------------- */

static uint64_t hash_key(const char *s)
{
	uint64_t h = 14695981039346656037ULL; /* FNV-1a */

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

struct mon_acache *mon_acache_new(size_t max_bytes, size_t max_entries)
{
	struct mon_acache *c = mon_xcalloc(1, sizeof(*c));

	pthread_mutex_init(&c->lock, NULL);
	c->max_bytes = max_bytes;
	c->max_entries = max_entries ? max_entries : 1;
	c->nbuckets = MIN_BUCKETS;
	while (c->nbuckets < 2 * c->max_entries)
		c->nbuckets *= 2;
	c->buckets = mon_xcalloc(c->nbuckets, sizeof(*c->buckets));
	return c;
}

static void lru_unlink(struct mon_acache *c, struct entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		c->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		c->tail = e->prev;
	e->prev = e->next = NULL;
}

static void lru_push_front(struct mon_acache *c, struct entry *e)
{
	e->prev = NULL;
	e->next = c->head;
	if (c->head)
		c->head->prev = e;
	c->head = e;
	if (!c->tail)
		c->tail = e;
}

/* Unlink e from everything and return its value (the caller unrefs it, outside the lock). */
static struct mon_acache_val *entry_remove(struct mon_acache *c, struct entry *e)
{
	struct entry **pp = &c->buckets[e->hash & (c->nbuckets - 1)];
	struct mon_acache_val *v = e->v;

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	lru_unlink(c, e);
	c->bytes -= e->bytes;
	c->entries--;
	free(e->key);
	free(e);
	return v;
}

static struct entry *entry_find(struct mon_acache *c, const char *key, uint64_t h)
{
	for (struct entry *e = c->buckets[h & (c->nbuckets - 1)]; e; e = e->hnext)
		if (e->hash == h && !strcmp(e->key, key))
			return e;
	return NULL;
}

void mon_acache_free(struct mon_acache *c)
{
	if (!c)
		return;
	while (c->head)
		mon_acache_val_unref(entry_remove(c, c->head));
	free(c->buckets);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* --- lookups and flights ------------------------------------------------------------------ */

enum mon_acache_result mon_acache_begin(struct mon_acache *c, const char *key,
					mon_acache_wake_fn wake, void *arg,
					struct mon_acache_val **hit,
					struct mon_acache_flight **lead)
{
	uint64_t h = hash_key(key);
	struct mon_acache_flight *f;
	struct entry *e;

	*hit = NULL;
	*lead = NULL;
	pthread_mutex_lock(&c->lock);
	e = entry_find(c, key, h);
	if (e) {
		lru_unlink(c, e);
		lru_push_front(c, e);
		*hit = mon_acache_val_ref(e->v);
		pthread_mutex_unlock(&c->lock);
		return MON_ACACHE_HIT;
	}
	for (f = c->flights; f; f = f->next) {
		if (f->hash == h && !strcmp(f->key, key)) {
			struct waiter *w = mon_xmalloc(sizeof(*w));

			w->wake = wake;
			w->arg = arg;
			w->next = f->waiters;
			f->waiters = w;
			pthread_mutex_unlock(&c->lock);
			return MON_ACACHE_WAIT;
		}
	}
	f = mon_xcalloc(1, sizeof(*f));
	f->key = mon_xstrndup(key, strlen(key));
	f->hash = h;
	f->next = c->flights;
	c->flights = f;
	pthread_mutex_unlock(&c->lock);
	*lead = f;
	return MON_ACACHE_LEAD;
}

/* Keep v under f's key (taken from f), evicting from the LRU tail. The evicted values are
 * appended to *evicted (*nev of them) for the caller to unref outside the lock. */
static void keep_locked(struct mon_acache *c, struct mon_acache_flight *f, struct mon_acache_val *v,
			struct mon_acache_val ***evicted, size_t *nev)
{
	size_t bytes = sizeof(struct entry) + strlen(f->key) + 1 + sizeof(*v) + v->len +
		       (v->detail ? strlen(v->detail) : 0) + (v->outcome ? strlen(v->outcome) : 0);
	struct entry *e;

	if (c->max_bytes == 0 || bytes > c->max_bytes / KEEP_FRACTION)
		return;
	e = entry_find(c, f->key, f->hash);
	if (e) { /* cannot happen while the flight exists; keep the newer one */
		*evicted = mon_xrealloc(*evicted, (*nev + 1) * sizeof(**evicted));
		(*evicted)[(*nev)++] = entry_remove(c, e);
	}
	/* from the tail towards the head, each victim's neighbour taken before it goes */
	for (struct entry *victim = c->tail, *prev;
	     victim && (c->bytes + bytes > c->max_bytes || c->entries + 1 > c->max_entries);
	     victim = prev) {
		prev = victim->prev;
		*evicted = mon_xrealloc(*evicted, (*nev + 1) * sizeof(**evicted));
		(*evicted)[(*nev)++] = entry_remove(c, victim);
	}
	e = mon_xcalloc(1, sizeof(*e));
	e->key = f->key;
	f->key = NULL;
	e->hash = f->hash;
	e->bytes = bytes;
	e->v = mon_acache_val_ref(v);
	e->hnext = c->buckets[e->hash & (c->nbuckets - 1)];
	c->buckets[e->hash & (c->nbuckets - 1)] = e;
	lru_push_front(c, e);
	c->bytes += bytes;
	c->entries++;
}

void mon_acache_end(struct mon_acache *c, struct mon_acache_flight *f, struct mon_acache_val *v,
		    int keep)
{
	struct mon_acache_flight **pp;
	struct mon_acache_val **evicted = NULL;
	struct waiter *w;
	size_t nev = 0;

	pthread_mutex_lock(&c->lock);
	for (pp = &c->flights; *pp != f; pp = &(*pp)->next)
		;
	*pp = f->next;
	if (keep && v)
		keep_locked(c, f, v, &evicted, &nev);
	w = f->waiters;
	pthread_mutex_unlock(&c->lock);
	for (size_t i = 0; i < nev; i++)
		mon_acache_val_unref(evicted[i]);
	free(evicted);
	while (w) {
		struct waiter *next = w->next;

		w->wake(w->arg, v ? mon_acache_val_ref(v) : NULL);
		free(w);
		w = next;
	}
	free(f->key);
	free(f);
}

void mon_acache_usage(struct mon_acache *c, size_t *entries, size_t *bytes)
{
	pthread_mutex_lock(&c->lock);
	*entries = c->entries;
	*bytes = c->bytes;
	pthread_mutex_unlock(&c->lock);
}
