/* HTTP/1.1 without any I/O: bytes in, requests out, and responses back as bytes.

   Every C model shares this parser, so that the models differ only in what they are there
   to show: how they wait for sockets and where they run the work.

   The parser is incremental: parser_feed() it whatever recv() returned (one byte, or several
   pipelined requests at once) and take complete requests out with parser_next(). It reads
   and discards request bodies (Content-Length or chunked) so that keep-alive framing stays
   right. It never trusts a length from the network: every index is checked against what
   has been received, and the limits of runtimes/SPEC.md section 2 bound what it buffers.

   After an error the parser is dead: the server writes the error and closes the
   connection. */
#ifndef LAB_HTTP_H
#define LAB_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define MAX_HEAD (12 * 1024)  /* SPEC: 8 KiB MUST be accepted, 16 KiB MUST get 431 */
#define MAX_BODY (1024 * 1024)
#define MAX_CHUNK_LINE 1024

struct slice {
    const char *p;
    size_t n;
};

struct request {
    struct slice method, target, path, query;
    bool keep_alive;  /* what the client asked for (RFC 9112 section 9.3) */
    bool head;        /* HEAD: the response carries no body */
};

enum parser_state { P_HEAD, P_BODY, P_CHUNK_SIZE, P_CHUNK_DATA, P_CHUNK_END, P_TRAILER };

struct parser {
    struct buf in;     /* received bytes; in.data[pos..in.len) are not consumed yet */
    size_t pos;
    size_t scan;       /* where to resume looking for the end of a head */
    enum parser_state state;
    uint64_t remaining;  /* body or chunk bytes still to discard */
    uint64_t body_size;  /* chunked: body bytes so far */
    struct request held; /* a parsed head waiting for its body to be discarded */
    char *held_line;     /* its request line, copied: the buffer moves on meanwhile */
    int error_status;    /* 0, or the status of the error that killed the parser */
    const char *error;
};

void parser_init(struct parser *p);
void parser_free(struct parser *p);
void parser_feed(struct parser *p, const void *data, size_t n);

/* 1: *req is the next complete request (its body discarded); its slices stay valid until
   the next parser_feed() or parser_next(). 0: more bytes are needed. -1: the request is
   refused with p->error_status and p->error, now and on every later call. */
int parser_next(struct parser *p, struct request *req);

/* Part of a request has been received (bytes not yet consumed, or a body underway). */
bool parser_pending(const struct parser *p);

/* Give back the input buffer's memory when nothing is buffered: an idle keep-alive
   connection then costs no buffer at all. */
void parser_trim(struct parser *p);

/* Responses. */
#define TEXT_PLAIN "text/plain; charset=utf-8"
#define APPLICATION_JSON "application/json"
#define REPLY_BODY_MAX 1024

struct reply {
    int status;
    const char *content_type;
    const char *headers; /* extra header lines, each ending in \r\n */
    size_t len;
    char body[REPLY_BODY_MAX];
};

const char *reason_phrase(int status);

/* Append the response to out: status line, Content-Type, Content-Length, Connection, then
   the body unless the request was HEAD. */
void response_write(struct buf *out, const struct reply *reply, bool keep_alive, bool head);

/* reply = {"error": message}, JSON-escaped. */
void error_reply(struct reply *reply, int status, const char *message);

/* The n bytes of s as the inside of a JSON string (quotes, backslashes, controls and
   non-ASCII bytes escaped) into dst of size cap, NUL-terminated; the length written. */
size_t json_escape(char *dst, size_t cap, const char *s, size_t n);

#endif
