/* slice — see slice.h. */
#include "slice.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>
#include <uv.h>

#include "log.h"

struct job {
	slice_fn fn;
	void *ud;
	struct job *next;
};

/* The loop handles, open only while there are jobs: a slicer with nothing
 * to do leaves no handle on the loop, so the daemon's loop can run down and
 * close at stop like before. */
struct pump {
	uv_idle_t idle;   /* a step per loop turn while a job is ready */
	uv_timer_t timer; /* wakes the waiting jobs */
	struct slicer *s; /* NULL once the pump is closing */
	int open;
};

struct slicer {
	uv_loop_t *loop;
	struct job *ready, *ready_tail; /* round robin: run the head, requeue at the tail */
	struct job *waiting;            /* back to ready when the timer fires */
	size_t n;
	struct pump *pump;
};

int64_t slice_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int slicer_new(struct slicer **out, void *loop)
{
	struct slicer *s = calloc(1, sizeof *s);
	if (!s)
		return -ENOMEM;
	s->loop = loop;
	*out = s;
	return 0;
}

static void drop_list(struct job *j)
{
	while (j) {
		struct job *next = j->next;
		free(j);
		j = next;
	}
}

void slicer_free(struct slicer *s)
{
	if (!s)
		return;
	if (s->n > 0)
		log_warn("slice: jobs dropped at stop count=%zu", s->n);
	drop_list(s->ready);
	drop_list(s->waiting);
	if (s->pump)
		s->pump->s = NULL; /* its handles close with the loop's */
	free(s);
}

static void pump_closed(uv_handle_t *h)
{
	struct pump *p = h->data;
	if (--p->open == 0)
		free(p);
}

/* Closes the pump when no job is left. */
static void pump_idle_check(struct slicer *s)
{
	if (s->n > 0 || !s->pump)
		return;
	struct pump *p = s->pump;
	s->pump = NULL;
	p->s = NULL;
	uv_close((uv_handle_t *)&p->idle, pump_closed);
	uv_close((uv_handle_t *)&p->timer, pump_closed);
}

static void push_ready(struct slicer *s, struct job *j)
{
	j->next = NULL;
	if (s->ready_tail)
		s->ready_tail->next = j;
	else
		s->ready = j;
	s->ready_tail = j;
}

static void wake_cb(uv_timer_t *t);

static void step_cb(uv_idle_t *h)
{
	struct pump *p = h->data;
	struct slicer *s = p->s;
	if (!s)
		return;
	struct job *j = s->ready;
	if (!j) {
		uv_idle_stop(&p->idle); /* only waiting jobs: the timer wakes them */
		return;
	}
	s->ready = j->next;
	if (!s->ready)
		s->ready_tail = NULL;
	enum slice_next next = j->fn(j->ud, slice_now_us() + SLICE_STEP_US);
	if (next == SLICE_DONE) {
		free(j);
		s->n--;
		pump_idle_check(s);
		return;
	}
	if (next == SLICE_MORE) {
		push_ready(s, j);
		return;
	}
	j->next = s->waiting;
	s->waiting = j;
	if (!uv_is_active((uv_handle_t *)&p->timer))
		uv_timer_start(&p->timer, wake_cb, SLICE_WAIT_MS, 0);
}

static void wake_cb(uv_timer_t *t)
{
	struct pump *p = t->data;
	struct slicer *s = p->s;
	if (!s)
		return;
	while (s->waiting) {
		struct job *j = s->waiting;
		s->waiting = j->next;
		push_ready(s, j);
	}
	if (s->ready)
		uv_idle_start(&p->idle, step_cb);
}

int slicer_add(struct slicer *s, slice_fn fn, void *ud)
{
	struct job *j = calloc(1, sizeof *j);
	if (!j)
		return -ENOMEM;
	if (!s->pump) {
		struct pump *p = calloc(1, sizeof *p);
		if (!p) {
			free(j);
			return -ENOMEM;
		}
		uv_idle_init(s->loop, &p->idle);
		uv_timer_init(s->loop, &p->timer);
		p->idle.data = p->timer.data = p;
		p->s = s;
		p->open = 2;
		s->pump = p;
	}
	j->fn = fn;
	j->ud = ud;
	push_ready(s, j);
	s->n++;
	uv_idle_start(&s->pump->idle, step_cb);
	return 0;
}
