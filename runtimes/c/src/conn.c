#include "conn.h"

#include <string.h>

void conn_init(struct conn *conn, int fd)
{
    memset(conn, 0, sizeof *conn);
    conn->fd = fd;
    parser_init(&conn->parser);
}

void conn_free(struct conn *conn)
{
    parser_free(&conn->parser);
    buf_free(&conn->out);
}

void conn_sent(struct conn *conn, size_t n)
{
    conn->sent += n;
    if (conn->sent == conn->out.len)
        conn->sent = conn->out.len = 0;
}

void conn_trim(struct conn *conn)
{
    if (conn->out.len == 0)
        buf_free(&conn->out);
    parser_trim(&conn->parser);
}

static void respond(struct conn *conn, const struct reply *reply, bool keep_alive, bool head,
                    bool draining)
{
    keep_alive = keep_alive && !draining;
    response_write(&conn->out, reply, keep_alive, head);
    conn->closing = !keep_alive;
}

void conn_start_requests(struct conn *conn, const struct app *app,
                         const struct conn_waits *waits, void *loop, bool draining)
{
    struct request req;
    struct action action;
    while (!conn->busy && !conn->closing && conn_unsent(conn) < HIGH_WATER) {
        int found = parser_next(&conn->parser, &req);
        if (found < 0) {
            error_reply(&action.reply, conn->parser.error_status, conn->parser.error);
            respond(conn, &action.reply, false, false, draining);
            return;
        }
        if (found == 0)
            return;
        app_handle(app, &req, &action);
        if (action.kind == ACT_REPLY) {
            respond(conn, &action.reply, req.keep_alive, req.head, draining);
            continue;
        }
        if (action.kind == ACT_COMPUTE && !action.work.offload) {
            work_run(&action.work, &action.reply); /* inline: everyone else waits */
            respond(conn, &action.reply, req.keep_alive, req.head, draining);
            continue;
        }
        conn->busy = true;
        conn->wait_keep_alive = req.keep_alive;
        conn->wait_head = req.head;
        if (action.kind == ACT_SLEEP) {
            conn->wait_ms = action.ms;
            waits->sleep(loop, conn, action.ms);
        } else {
            waits->offload(loop, conn, &action.work);
        }
    }
}

void conn_finish(struct conn *conn, const struct reply *reply, bool draining)
{
    conn->busy = false;
    respond(conn, reply, conn->wait_keep_alive, conn->wait_head, draining);
}
