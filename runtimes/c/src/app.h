/* The lab's endpoints (runtimes/SPEC.md sections 3 to 5), with no I/O and no waiting in them.

   app_handle() does not answer: it says what to do, and each model does it its own way.

   - ACT_REPLY: write action.reply now;
   - ACT_SLEEP: write sleep_reply(ms) after ms milliseconds without using a CPU meanwhile
     (a timer in the loop: timerfd under epoll, a timeout submission under io_uring);
   - ACT_COMPUTE: work_run() burns the CPU and fills the reply. Where it runs is the point
     of the lab: on the loop's own thread, or, with offload=1, on the pool (offload.h). */
#ifndef LAB_APP_H
#define LAB_APP_H

#include <stdbool.h>
#include <stdint.h>

#include "http.h"

#define MAX_MS 10000
#define MAX_N 100000000
#define MAX_ITER 1000000

enum work_kind { WORK_CPU, WORK_FNV, WORK_HASH };

struct work {
    enum work_kind kind;
    uint32_t arg; /* ms, n or iter */
    bool offload;
};

enum action_kind { ACT_REPLY, ACT_SLEEP, ACT_COMPUTE };

struct action {
    enum action_kind kind;
    uint32_t ms;       /* ACT_SLEEP */
    struct work work;  /* ACT_COMPUTE */
    struct reply reply; /* ACT_REPLY */
};

struct app {
    const char *model;  /* "epoll", "epoll-workers", "io_uring" */
    int worker;         /* the worker's number in multi-process models, else -1 */
    char knobs[256];    /* the knobs in effect, as a JSON object */
    const char *offload; /* one sentence: what offload=1 does here */
    char extra[512];    /* more /info members ("\"io_uring\": {...}"), or empty */
};

/* knobs: NULL-terminated names and their values in effect. */
void app_init(struct app *app, const char *model, int worker, const char *const names[],
              const int values[], const char *offload);

void app_handle(const struct app *app, const struct request *req, struct action *action);

/* Runs anywhere: the loop's thread or a pool thread. */
void work_run(const struct work *work, struct reply *reply);
void sleep_reply(uint32_t ms, struct reply *reply);

/* The SPEC's /work hash and /hash PBKDF2, for the tests. */
uint32_t fnv_rounds(uint32_t n);
bool pbkdf2_hex(uint32_t iterations, char hex[65]);

/* "gcc 12.2.0, glibc 2.36, OpenSSL 3.0.x, Linux 6.1.0": what runs the code. */
const char *runtime_version(void);

#endif
