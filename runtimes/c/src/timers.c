#include "timers.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

static bool before(const struct timer *a, const struct timer *b)
{
    return a->deadline < b->deadline || (a->deadline == b->deadline && a->order < b->order);
}

static void swap(struct timer *a, struct timer *b)
{
    struct timer tmp = *a;
    *a = *b;
    *b = tmp;
}

void timers_push(struct timers *t, uint64_t deadline, int kind, void *data)
{
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 64;
        t->heap = realloc(t->heap, t->cap * sizeof *t->heap);
        if (t->heap == NULL) {
            fprintf(stderr, "out of memory (%zu timers)\n", t->cap);
            abort();
        }
    }
    size_t i = t->n++;
    t->heap[i] = (struct timer){deadline, t->next_order++, kind, data};
    while (i > 0 && before(&t->heap[i], &t->heap[(i - 1) / 2])) {
        swap(&t->heap[i], &t->heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
}

int timers_pop_due(struct timers *t, uint64_t now, struct timer *out)
{
    if (t->n == 0 || t->heap[0].deadline > now)
        return 0;
    *out = t->heap[0];
    t->heap[0] = t->heap[--t->n];
    for (size_t i = 0;;) {
        size_t smallest = i, left = 2 * i + 1, right = left + 1;
        if (left < t->n && before(&t->heap[left], &t->heap[smallest]))
            smallest = left;
        if (right < t->n && before(&t->heap[right], &t->heap[smallest]))
            smallest = right;
        if (smallest == i)
            break;
        swap(&t->heap[i], &t->heap[smallest]);
        i = smallest;
    }
    return 1;
}

uint64_t timers_next(const struct timers *t)
{
    return t->n ? t->heap[0].deadline : 0;
}

void timers_free(struct timers *t)
{
    free(t->heap);
    t->heap = NULL;
    t->n = t->cap = 0;
}
