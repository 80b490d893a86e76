/* libFuzzer target for the HTTP parser and the endpoints' request handling.

   Input: one byte that picks a chunk size (1 to 16), then the bytes a client sends. The
   bytes are parsed twice, fed whole and fed in chunks; both runs must see the same requests
   and end the same way (an incremental parser must not care where recv() cut the stream).
   Every request goes through app_handle() and, for the cheap ones, the work and the
   response writer, as a model would. AddressSanitizer, UBSan and LeakSanitizer watch. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void handle(const struct app *app, const struct request *req, struct buf *out)
{
    static struct action action;
    app_handle(app, req, &action);
    if (action.kind == ACT_SLEEP) {
        sleep_reply(action.ms, &action.reply);
    } else if (action.kind == ACT_COMPUTE) {
        const struct work *w = &action.work;
        bool cheap = (w->kind == WORK_CPU && w->arg == 0) ||
                     (w->kind == WORK_FNV && w->arg <= 100000) ||
                     (w->kind == WORK_HASH && w->arg <= 4);
        if (!cheap)
            return;
        work_run(w, &action.reply);
    }
    response_write(out, &action.reply, req->keep_alive, req->head);
}

/* A transcript of the requests found and how parsing ended. */
static void run(const struct app *app, const uint8_t *data, size_t size, size_t chunk,
                struct buf *transcript, struct buf *responses)
{
    struct parser p;
    parser_init(&p);
    struct request req;
    size_t fed = 0;
    int found = 0;
    char line[64];
    do {
        size_t n = chunk && size - fed > chunk ? chunk : size - fed;
        parser_feed(&p, data + fed, n);
        fed += n;
        while ((found = parser_next(&p, &req)) == 1) {
            struct slice parts[] = {req.method, req.target, req.path, req.query};
            for (size_t i = 0; i < 4; i++) {
                buf_append(transcript, parts[i].p, parts[i].n);
                buf_append(transcript, "\n", 1);
            }
            int n_line = snprintf(line, sizeof line, "%d %d\n", req.keep_alive, req.head);
            buf_append(transcript, line, (size_t)n_line);
            handle(app, &req, responses);
        }
    } while (found == 0 && fed < size);
    int n_line = snprintf(line, sizeof line, "end %d %d\n", found, p.error_status);
    buf_append(transcript, line, (size_t)n_line);
    if (found < 0) { /* what a model writes before it closes */
        struct reply reply;
        error_reply(&reply, p.error_status, p.error);
        response_write(responses, &reply, false, false);
    }
    parser_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct app app;
    if (app.model == NULL)
        app_init(&app, "fuzz", -1, (const char *const[]){"OFFLOAD_THREADS", NULL},
                 (const int[]){4}, "offload");
    if (size < 1)
        return 0;
    size_t chunk = data[0] % 16 + 1;
    struct buf whole = {0}, pieces = {0}, out_whole = {0}, out_pieces = {0};
    run(&app, data + 1, size - 1, 0, &whole, &out_whole);
    run(&app, data + 1, size - 1, chunk, &pieces, &out_pieces);
    if (whole.len != pieces.len || memcmp(whole.data, pieces.data, whole.len) != 0) {
        fprintf(stderr, "fed whole:\n%.*s\nfed %zu bytes at a time:\n%.*s\n", (int)whole.len,
                whole.data, chunk, (int)pieces.len, pieces.data);
        abort();
    }
    buf_free(&whole);
    buf_free(&pieces);
    buf_free(&out_whole);
    buf_free(&out_pieces);
    return 0;
}
