#include "uring.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <sysexits.h>

#include "server.h"

_Noreturn static void unavailable(const char *call, int error)
{
    char reason[400];
    int disabled = -1;
    FILE *f = fopen("/proc/sys/kernel/io_uring_disabled", "r");
    if (f) {
        if (fscanf(f, "%d", &disabled) != 1)
            disabled = -1;
        fclose(f);
    }
    if (error == EPERM && disabled == 2)
        snprintf(reason, sizeof reason, "the kernel setting kernel.io_uring_disabled=2 "
                 "turns io_uring off for every process (sysctl kernel.io_uring_disabled=0 "
                 "turns it on)");
    else if (error == EPERM && disabled == 1)
        snprintf(reason, sizeof reason, "the kernel setting kernel.io_uring_disabled=1 "
                 "allows io_uring only to members of kernel.io_uring_group");
    else if (error == EPERM)
        snprintf(reason, sizeof reason, "%s failed with EPERM: a seccomp filter blocks "
                 "io_uring (the default profile of Docker 25 and later does; "
                 "runtimes/c/README.md says what a container needs)", call);
    else if (error == ENOSYS)
        snprintf(reason, sizeof reason, "%s failed with ENOSYS: the kernel was built "
                 "without io_uring, or is older than Linux 5.6, or a seccomp filter answers "
                 "ENOSYS for it", call);
    else
        snprintf(reason, sizeof reason, "%s failed: %s", call, strerror(error));
    fprintf(stderr, "%s: io_uring is unavailable here: %s\n", server_target, reason);
    exit(EX_UNAVAILABLE);
}

static void open_ring(struct uring *u, unsigned entries, bool plain)
{
    /* The newest useful setup first, then what older kernels accept (they say EINVAL). */
    static const struct { unsigned flags; const char *words; } setups[] = {
        {IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
         "single issuer, deferred task running"},
        {IORING_SETUP_COOP_TASKRUN, "cooperative task running"},
        {0, "default"},
    };
    for (size_t i = plain ? 2 : 0; i < sizeof setups / sizeof *setups; i++) {
        struct io_uring_params params = {.flags = setups[i].flags | IORING_SETUP_CQSIZE,
                                         .cq_entries = 4 * entries};
        int error = -io_uring_queue_init_params(entries, &u->ring, &params);
        if (error == 0) {
            u->setup = setups[i].words;
            return;
        }
        if (error != EINVAL || setups[i].flags == 0)
            unavailable("io_uring_setup", error);
    }
}

static void check_operations(struct uring *u)
{
    static const struct { int op; const char *name; } needed[] = {
        {IORING_OP_ACCEPT, "accept"}, {IORING_OP_RECV, "recv"}, {IORING_OP_SEND, "send"},
        {IORING_OP_TIMEOUT, "timeout"}, {IORING_OP_READ, "read"},
        {IORING_OP_ASYNC_CANCEL, "cancel"}, {IORING_OP_SHUTDOWN, "shutdown"},
    };
    struct io_uring_probe *probe = io_uring_get_probe_ring(&u->ring);
    if (probe == NULL)
        unavailable("the io_uring probe (Linux 5.6+)", ENOSYS);
    for (size_t i = 0; i < sizeof needed / sizeof *needed; i++) {
        if (!io_uring_opcode_supported(probe, needed[i].op)) {
            char call[64];
            snprintf(call, sizeof call, "the io_uring operation %s", needed[i].name);
            io_uring_free_probe(probe);
            unavailable(call, EOPNOTSUPP);
        }
    }
    io_uring_free_probe(probe);
}

/* A ring of BUF_COUNT buffers the kernel picks from when data arrives (Linux 5.19). */
static void provide_buffers(struct uring *u)
{
    size_t ring_bytes = BUF_COUNT * sizeof(struct io_uring_buf);
    void *mem = mmap(NULL, ring_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE,
                     -1, 0);
    if (mem == MAP_FAILED)
        return;
    struct io_uring_buf_reg reg = {.ring_addr = (uintptr_t)mem, .ring_entries = BUF_COUNT,
                                   .bgid = BUF_GROUP};
    if (io_uring_register_buf_ring(&u->ring, &reg, 0) != 0) {
        munmap(mem, ring_bytes); /* an older kernel: plain recv buffers */
        return;
    }
    u->buf_ring = mem;
    u->bufs = malloc((size_t)BUF_COUNT * BUF_SIZE);
    if (u->bufs == NULL)
        die(1, "out of memory (the provided buffers)");
    io_uring_buf_ring_init(u->buf_ring);
    for (unsigned i = 0; i < BUF_COUNT; i++)
        io_uring_buf_ring_add(u->buf_ring, u->bufs + (size_t)i * BUF_SIZE, BUF_SIZE,
                              (unsigned short)i, io_uring_buf_ring_mask(BUF_COUNT), (int)i);
    io_uring_buf_ring_advance(u->buf_ring, BUF_COUNT);
}

void uring_open(struct uring *u, unsigned entries, bool plain)
{
    memset(u, 0, sizeof *u);
    open_ring(u, entries, plain);
    check_operations(u);
    if (!plain)
        provide_buffers(u);
}

void uring_give_back(struct uring *u, unsigned id)
{
    io_uring_buf_ring_add(u->buf_ring, u->bufs + (size_t)id * BUF_SIZE, BUF_SIZE,
                          (unsigned short)id, io_uring_buf_ring_mask(BUF_COUNT), 0);
    io_uring_buf_ring_advance(u->buf_ring, 1);
}

void uring_describe(const struct uring *u, bool multishot_accept, char *json, size_t json_cap,
                    char *line, size_t line_cap)
{
    struct utsname host;
    uname(&host);
#ifdef IO_URING_VERSION_MAJOR
    char liburing[16];
    snprintf(liburing, sizeof liburing, "%d.%d", IO_URING_VERSION_MAJOR,
             IO_URING_VERSION_MINOR);
#else
    const char *liburing = "2.3 or older"; /* no version macros before 2.4 */
#endif
    snprintf(json, json_cap,
             "\"io_uring\": {\"kernel\": \"%s\", \"liburing\": \"%s\", \"setup\": \"%s\", "
             "\"multishot_accept\": %s, \"provided_buffer_ring\": %s}",
             host.release, liburing, u->setup, multishot_accept ? "true" : "false",
             u->buf_ring ? "true" : "false");
    snprintf(line, line_cap, "io_uring on Linux %s: %s accept, %s, setup: %s", host.release,
             multishot_accept ? "multishot" : "plain",
             u->buf_ring ? "provided buffer ring (1024 x 4 KiB)" : "plain recv buffers",
             u->setup);
}

void uring_free_buffers(struct uring *u)
{
    if (u->buf_ring)
        munmap(u->buf_ring, BUF_COUNT * sizeof(struct io_uring_buf));
    free(u->bufs);
    u->buf_ring = NULL;
    u->bufs = NULL;
}
