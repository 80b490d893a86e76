#define _GNU_SOURCE /* memmem */
#include "http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* --- character classes (RFC 9110 section 5.6.2, RFC 9112 section 5) ------------------- */

static bool is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return true;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* A header value's characters: visible ASCII, obs-text, and spaces or tabs between them. */
static bool is_field_char(unsigned char c)
{
    return (c >= 0x21 && c != 0x7f) || c == ' ' || c == '\t';
}

static bool is_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static unsigned hex_value(unsigned char c)
{
    return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

static struct slice trim(struct slice s)
{
    while (s.n && (s.p[0] == ' ' || s.p[0] == '\t'))
        s.p++, s.n--;
    while (s.n && (s.p[s.n - 1] == ' ' || s.p[s.n - 1] == '\t'))
        s.n--;
    return s;
}

static bool slice_is(struct slice s, const char *lower)
{
    return strlen(lower) == s.n && strncasecmp(s.p, lower, s.n) == 0;
}

/* --- the parser ---------------------------------------------------------------------- */

void parser_init(struct parser *p)
{
    memset(p, 0, sizeof *p);
}

void parser_free(struct parser *p)
{
    buf_free(&p->in);
    free(p->held_line);
    p->held_line = NULL;
}

void parser_feed(struct parser *p, const void *data, size_t n)
{
    if (p->pos) { /* drop what was consumed: one move per feed, not one per request */
        memmove(p->in.data, p->in.data + p->pos, p->in.len - p->pos);
        p->in.len -= p->pos;
        p->scan = p->scan > p->pos ? p->scan - p->pos : 0;
        p->pos = 0;
    }
    buf_append(&p->in, data, n);
}

bool parser_pending(const struct parser *p)
{
    return p->pos < p->in.len || p->state != P_HEAD;
}

void parser_trim(struct parser *p)
{
    if (p->pos == p->in.len && p->state == P_HEAD) {
        buf_free(&p->in);
        p->pos = p->scan = 0;
    }
}

static int fail(struct parser *p, int status, const char *message)
{
    p->error_status = status;
    p->error = message;
    return -1;
}

/* One line of chunked framing, without its CRLF (or bare LF). 1: found; 0: need more. */
static int framing_line(struct parser *p, struct slice *line)
{
    const char *start = p->in.data + p->pos;
    size_t avail = p->in.len - p->pos;
    const char *lf = memchr(start, '\n', avail);
    if (lf == NULL)
        return avail > MAX_CHUNK_LINE ? fail(p, 400, "chunk framing line too long") : 0;
    size_t n = (size_t)(lf - start);
    if (n > MAX_CHUNK_LINE)
        return fail(p, 400, "chunk framing line too long");
    p->pos += n + 1;
    if (n && start[n - 1] == '\r')
        n--;
    *line = (struct slice){start, n};
    return 1;
}

static int chunk_size(struct parser *p, struct slice line)
{
    const char *semicolon = memchr(line.p, ';', line.n); /* extensions are ignored */
    if (semicolon)
        line.n = (size_t)(semicolon - line.p);
    line = trim(line);
    if (line.n == 0)
        return fail(p, 400, "invalid chunk size");
    for (size_t i = 0; i < line.n; i++)
        if (!is_hex((unsigned char)line.p[i]))
            return fail(p, 400, "invalid chunk size");
    while (line.n > 1 && line.p[0] == '0')
        line.p++, line.n--;
    if (line.n > 8)
        return fail(p, 413, "request body larger than 1048576 bytes");
    uint64_t size = 0;
    for (size_t i = 0; i < line.n; i++)
        size = size * 16 + hex_value((unsigned char)line.p[i]);
    if (p->body_size + size > MAX_BODY)
        return fail(p, 413, "request body larger than 1048576 bytes");
    p->remaining = size;
    p->body_size += size;
    p->state = size ? P_CHUNK_DATA : P_TRAILER;
    return 1;
}

/* name ":" OWS value OWS, with a token for a name and no control characters. */
static bool header_field(struct slice line, struct slice *name, struct slice *value)
{
    size_t i = 0;
    while (i < line.n && is_tchar((unsigned char)line.p[i]))
        i++;
    if (i == 0 || i == line.n || line.p[i] != ':')
        return false;
    *name = (struct slice){line.p, i};
    *value = trim((struct slice){line.p + i + 1, line.n - i - 1});
    for (size_t k = 0; k < value->n; k++)
        if (!is_field_char((unsigned char)value->p[k]))
            return false;
    return true;
}

/* The request-target split into path and query: origin-form "/path?query", or
   absolute-form "scheme://host/path?query#fragment" (the fragment is dropped). Other forms
   keep the target as the path, and end up as 404s. */
static void split_target(struct request *req)
{
    const char *t = req->target.p, *end = t + req->target.n;
    if (t[0] != '/') {
        if (memmem(t, req->target.n, "://", 3) == NULL) {
            req->path = req->target;
            req->query = (struct slice){end, 0};
            return;
        }
        const char *colon = memchr(t, ':', req->target.n);
        bool scheme = colon > t && ((*t >= 'a' && *t <= 'z') || (*t >= 'A' && *t <= 'Z'));
        for (const char *c = t + 1; scheme && c < colon; c++)
            scheme = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                     (*c >= '0' && *c <= '9') || *c == '+' || *c == '-' || *c == '.';
        if (scheme)
            t = colon + 1;
        if (end - t >= 2 && t[0] == '/' && t[1] == '/')
            for (t += 2; t < end && *t != '/' && *t != '?' && *t != '#'; t++)
                ; /* the authority */
        const char *hash = memchr(t, '#', (size_t)(end - t));
        if (hash)
            end = hash;
    }
    const char *question = memchr(t, '?', (size_t)(end - t));
    const char *path_end = question ? question : end;
    req->path = (struct slice){t, (size_t)(path_end - t)};
    req->query = question ? (struct slice){question + 1, (size_t)(end - question - 1)}
                          : (struct slice){end, 0};
    if (req->path.n == 0)
        req->path = (struct slice){"/", 1};
}

/* method SP request-target SP HTTP-version, exactly. */
static int request_line(struct parser *p, struct slice line, struct request *req,
                        bool *http11)
{
    size_t i = 0;
    while (i < line.n && is_tchar((unsigned char)line.p[i]))
        i++;
    if (i == 0 || i == line.n || line.p[i] != ' ')
        return fail(p, 400, "malformed request line");
    req->method = (struct slice){line.p, i};
    size_t start = ++i;
    while (i < line.n && line.p[i] >= 0x21 && line.p[i] <= 0x7e)
        i++;
    if (i == start || i == line.n || line.p[i] != ' ')
        return fail(p, 400, "malformed request line");
    req->target = (struct slice){line.p + start, i - start};
    struct slice version = {line.p + i + 1, line.n - i - 1};
    if (version.n != 8 || memcmp(version.p, "HTTP/", 5) != 0 ||
        version.p[5] < '0' || version.p[5] > '9' || version.p[6] != '.' ||
        version.p[7] < '0' || version.p[7] > '9')
        return fail(p, 400, "malformed request line");
    if (memcmp(version.p, "HTTP/1.1", 8) == 0)
        *http11 = true;
    else if (memcmp(version.p, "HTTP/1.0", 8) == 0)
        *http11 = false;
    else
        return fail(p, 505, "HTTP version not supported");
    req->head = req->method.n == 4 && memcmp(req->method.p, "HEAD", 4) == 0;
    split_target(req);
    return 1;
}

/* What the headers say about the connection and the body. */
struct framing {
    int hosts, lengths, codings;
    struct slice length, coding;
    bool length_invalid, close, keep_alive;
};

static void comma_list(struct framing *f, struct slice name, struct slice value)
{
    bool is_length = slice_is(name, "content-length");
    if (!is_length && !slice_is(name, "connection"))
        return;
    const char *c = value.p, *end = value.p + value.n;
    for (;;) {
        const char *comma = memchr(c, ',', (size_t)(end - c));
        struct slice item = trim((struct slice){c, (size_t)((comma ? comma : end) - c)});
        if (is_length) { /* "5, 5" is one length; "5, 6", "" or "x" are none */
            bool valid = item.n > 0;
            for (size_t i = 0; i < item.n; i++)
                valid = valid && item.p[i] >= '0' && item.p[i] <= '9';
            if (f->lengths++ && (item.n != f->length.n || memcmp(item.p, f->length.p, item.n)))
                valid = false;
            f->length_invalid |= !valid;
            f->length = item;
        } else if (slice_is(item, "close")) {
            f->close = true;
        } else if (slice_is(item, "keep-alive")) {
            f->keep_alive = true;
        }
        if (comma == NULL)
            return;
        c = comma + 1;
    }
}

static int parse_head(struct parser *p, const char *head, size_t n, struct request *req)
{
    const char *end = head + n;
    const char *lf = memchr(head, '\n', n);
    const char *line_end = lf ? lf : end;
    struct slice line = {head, (size_t)(line_end - head)};
    if (line.n && line.p[line.n - 1] == '\r')
        line.n--;
    bool http11 = false;
    if (request_line(p, line, req, &http11) < 0)
        return -1;

    struct framing f = {0};
    while (line_end < end) {
        const char *start = line_end + 1;
        lf = memchr(start, '\n', (size_t)(end - start));
        line_end = lf ? lf : end;
        line = (struct slice){start, (size_t)(line_end - start)};
        if (line.n && line.p[line.n - 1] == '\r')
            line.n--;
        struct slice name, value;
        if (!header_field(line, &name, &value))
            return fail(p, 400, "malformed header field");
        if (slice_is(name, "host") && f.hosts++)
            return fail(p, 400, "more than one Host header");
        if (slice_is(name, "transfer-encoding"))
            f.codings++, f.coding = value;
        comma_list(&f, name, value);
    }
    if (http11 && f.hosts == 0)
        return fail(p, 400, "HTTP/1.1 request without a Host header");

    if (f.codings) {
        if (f.lengths)
            return fail(p, 400, "both Content-Length and Transfer-Encoding");
        if (!http11)
            return fail(p, 400, "Transfer-Encoding in an HTTP/1.0 request");
        if (f.codings > 1 || !slice_is(f.coding, "chunked"))
            return fail(p, 501, "unsupported Transfer-Encoding");
        p->state = P_CHUNK_SIZE;
        p->body_size = 0;
    } else if (f.lengths) {
        if (f.length_invalid)
            return fail(p, 400, "invalid Content-Length");
        struct slice digits = f.length;
        while (digits.n > 1 && digits.p[0] == '0')
            digits.p++, digits.n--;
        uint64_t length = 0;
        for (size_t i = 0; i < digits.n && length <= MAX_BODY; i++)
            length = length * 10 + (uint64_t)(digits.p[i] - '0');
        if (length > MAX_BODY)
            return fail(p, 413, "request body larger than 1048576 bytes");
        if (length) {
            p->state = P_BODY;
            p->remaining = length;
        }
    }
    req->keep_alive = http11 ? !f.close : f.keep_alive && !f.close;
    return 1;
}

/* The end of the head: the first empty line (CRLF CRLF, or bare LFs). 1: found, with the
   head's length (without its last line ending) and where the next bytes start. */
static int find_head_end(struct parser *p, size_t *head_len, size_t *next)
{
    const char *buf = p->in.data;
    size_t len = p->in.len;
    size_t i = p->scan > p->pos ? p->scan : p->pos;
    while (i < len) {
        const char *lf = memchr(buf + i, '\n', len - i);
        if (lf == NULL)
            break;
        size_t k = (size_t)(lf - buf);
        if (k + 1 < len && buf[k + 1] == '\n') {
            *next = k + 2;
        } else if (k + 2 < len && buf[k + 1] == '\r' && buf[k + 2] == '\n') {
            *next = k + 3;
        } else if (k + 1 >= len || (k + 2 >= len && buf[k + 1] == '\r')) {
            p->scan = k; /* the terminator may be completed by the next bytes */
            return 0;
        } else {
            i = k + 1;
            continue;
        }
        *head_len = k - p->pos - (k > p->pos && buf[k - 1] == '\r');
        return 1;
    }
    p->scan = len;
    return 0;
}

static int next_head(struct parser *p, struct request *req)
{
    while (p->pos < p->in.len && (p->in.data[p->pos] == '\r' || p->in.data[p->pos] == '\n'))
        p->pos++; /* RFC 9112 section 2.2: empty lines before a request are ignored */
    size_t head_len, next;
    if (!find_head_end(p, &head_len, &next)) {
        if (p->in.len - p->pos > MAX_HEAD)
            return fail(p, 431, "request head larger than 12288 bytes");
        return 0;
    }
    if (next - p->pos > MAX_HEAD)
        return fail(p, 431, "request head larger than 12288 bytes");
    const char *head = p->in.data + p->pos;
    p->pos = p->scan = next;
    return parse_head(p, head, head_len, req);
}

/* Keep a request whose body is still to come: its slices point into the request line,
   which is copied because the input buffer moves on while the body is discarded. */
static void hold(struct parser *p, const struct request *req)
{
    const char *line = req->method.p;
    size_t n = (size_t)(req->target.p + req->target.n - line);
    p->held_line = malloc(n);
    if (p->held_line == NULL) {
        fprintf(stderr, "out of memory (a request line of %zu bytes)\n", n);
        abort();
    }
    memcpy(p->held_line, line, n);
    p->held = *req;
    struct slice *slices[] = {&p->held.method, &p->held.target, &p->held.path, &p->held.query};
    for (size_t i = 0; i < sizeof slices / sizeof *slices; i++)
        if (slices[i]->p >= line && slices[i]->p <= line + n) /* not the static "/" */
            slices[i]->p = p->held_line + (slices[i]->p - line);
}

int parser_next(struct parser *p, struct request *req)
{
    if (p->error_status)
        return -1;
    if (p->state == P_HEAD) { /* a held request returned last time is done with */
        free(p->held_line);
        p->held_line = NULL;
    }
    for (;;) {
        switch (p->state) {
        case P_HEAD: {
            int found = next_head(p, req);
            if (found <= 0 || p->state == P_HEAD)
                return found; /* incomplete, refused, or complete without a body */
            hold(p, req);
            break;
        }
        case P_BODY:
        case P_CHUNK_DATA: {
            uint64_t avail = p->in.len - p->pos;
            uint64_t take = p->remaining < avail ? p->remaining : avail;
            p->pos += take;
            p->remaining -= take;
            if (p->remaining)
                return 0;
            if (p->state == P_CHUNK_DATA) {
                p->state = P_CHUNK_END;
                break;
            }
            p->state = P_HEAD;
            *req = p->held;
            return 1;
        }
        default: {
            struct slice line, name, value;
            int found = framing_line(p, &line);
            if (found <= 0)
                return found;
            if (p->state == P_CHUNK_SIZE) {
                if (chunk_size(p, line) < 0)
                    return -1;
            } else if (p->state == P_CHUNK_END) {
                if (line.n)
                    return fail(p, 400, "chunk data longer than its size");
                p->state = P_CHUNK_SIZE;
            } else if (line.n == 0) { /* P_TRAILER: an empty line ends the body */
                p->state = P_HEAD;
                *req = p->held;
                return 1;
            } else if (!header_field(line, &name, &value)) {
                return fail(p, 400, "malformed trailer field");
            }
        }
        }
    }
}

/* --- responses ----------------------------------------------------------------------- */

const char *reason_phrase(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Content Too Large";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

static char *put(char *dst, const char *s, size_t n)
{
    memcpy(dst, s, n);
    return dst + n;
}

#define PUT_LITERAL(dst, s) put(dst, s, sizeof s - 1)

void response_write(struct buf *out, const struct reply *reply, bool keep_alive, bool head)
{
    const char *reason = reason_phrase(reply->status);
    size_t type_len = strlen(reply->content_type), reason_len = strlen(reason);
    size_t headers_len = reply->headers ? strlen(reply->headers) : 0;
    buf_reserve(out, 128 + reason_len + type_len + headers_len + reply->len);
    /* Written by hand rather than with snprintf: this is the path every /ping takes. */
    char *d = out->data + out->len;
    d = PUT_LITERAL(d, "HTTP/1.1 ");
    *d++ = (char)('0' + reply->status / 100);
    *d++ = (char)('0' + reply->status / 10 % 10);
    *d++ = (char)('0' + reply->status % 10);
    *d++ = ' ';
    d = put(d, reason, reason_len);
    d = PUT_LITERAL(d, "\r\nContent-Type: ");
    d = put(d, reply->content_type, type_len);
    d = PUT_LITERAL(d, "\r\nContent-Length: ");
    char digits[24];
    size_t k = sizeof digits, n = reply->len;
    do
        digits[--k] = (char)('0' + n % 10);
    while (n /= 10);
    d = put(d, digits + k, sizeof digits - k);
    d = keep_alive ? PUT_LITERAL(d, "\r\nConnection: keep-alive\r\n")
                   : PUT_LITERAL(d, "\r\nConnection: close\r\n");
    d = put(d, reply->headers ? reply->headers : "", headers_len);
    d = PUT_LITERAL(d, "\r\n");
    if (!head)
        d = put(d, reply->body, reply->len);
    out->len = (size_t)(d - out->data);
}

size_t json_escape(char *dst, size_t cap, const char *s, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char tmp[8];
        size_t k;
        if (c == '"' || c == '\\')
            k = (size_t)snprintf(tmp, sizeof tmp, "\\%c", c);
        else if (c < 0x20 || c >= 0x7f) /* JSON must be UTF-8: escape every non-ASCII byte */
            k = (size_t)snprintf(tmp, sizeof tmp, "\\u%04x", c);
        else
            tmp[0] = (char)c, k = 1;
        if (w + k >= cap)
            break;
        memcpy(dst + w, tmp, k);
        w += k;
    }
    dst[w < cap ? w : cap - 1] = '\0';
    return w;
}

void error_reply(struct reply *reply, int status, const char *message)
{
    char escaped[REPLY_BODY_MAX - 32];
    json_escape(escaped, sizeof escaped, message, strlen(message));
    reply->status = status;
    reply->content_type = APPLICATION_JSON;
    reply->headers = NULL;
    reply->len = (size_t)snprintf(reply->body, sizeof reply->body, "{\"error\": \"%s\"}", escaped);
}
