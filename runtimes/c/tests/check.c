/* Unit tests of what the models share: the golden digests of runtimes/SPEC.md, the parser
   (every case fed whole, one byte at a time and in odd chunks must give the same requests),
   and the parameter rules. `make check`; the image build runs them too. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "http.h"

static int failures;

#define CHECK(cond, ...)                                          \
    do {                                                          \
        if (!(cond)) {                                            \
            failures++;                                           \
            fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);       \
            fprintf(stderr, __VA_ARGS__);                         \
            fputc('\n', stderr);                                  \
        }                                                         \
    } while (0)

static void golden_digests(void)
{
    static const struct { uint32_t n; uint32_t digest; } work[] = {
        {0, 0x811c9dc5}, {1, 0x050c5d1f}, {2, 0x1076963a}, {10, 0x2f854072},
        {1000, 0xa06ae7fd}, {65536, 0xeea39dc5}, {1000000, 0xbbc1d705},
        {10000000, 0x25be6645},
    };
    for (size_t i = 0; i < sizeof work / sizeof *work; i++)
        CHECK(fnv_rounds(work[i].n) == work[i].digest, "/work n=%u: %08x", work[i].n,
              fnv_rounds(work[i].n));
    static const struct { uint32_t iter; const char *digest; } hash[] = {
        {1, "3a1a5ef6f31e11c8e290238e8778a227fa4b7882853c4da4cd4db51f78d6119a"},
        {2, "4bedcef7faf4cc09ef6c2d31070ac31907eef715168bc5cf8086ee5a39a5a6a5"},
        {100, "0f01301d6cdb20b260d92d5fa7efaf3d8450685929fdb08c3a5ebdf3ae1a9955"},
        {1000, "317bc7451809011cc269e2245efcaf6cabab80fab190ffbde0a3c90bff7f0600"},
        {10000, "adeadd10710888bb60fd67da022cf7fcf1dd452f29cf23a912360342be8b29ca"},
    };
    char hex[65];
    for (size_t i = 0; i < sizeof hash / sizeof *hash; i++)
        CHECK(pbkdf2_hex(hash[i].iter, hex) && strcmp(hex, hash[i].digest) == 0,
              "/hash iter=%u: %s", hash[i].iter, hex);
}

/* Parse a stream fed in chunks of `chunk` bytes (0: whole); a line per request
   ("GET /ping ? ka"), then "need-more" or "error 400", into out. */
static void parse_all(const char *input, size_t len, size_t chunk, char *out, size_t cap)
{
    struct parser p;
    parser_init(&p);
    struct request req;
    size_t w = 0, fed = 0;
    int found = 0;
    out[0] = '\0';
    do {
        size_t n = chunk && len - fed > chunk ? chunk : len - fed;
        parser_feed(&p, input + fed, n);
        fed += n;
        while ((found = parser_next(&p, &req)) == 1 && w < cap)
            w += (size_t)snprintf(out + w, cap - w, "%.*s %.*s ?%.*s %s%s\n",
                                  (int)req.method.n, req.method.p, (int)req.path.n,
                                  req.path.p, (int)req.query.n, req.query.p,
                                  req.keep_alive ? "ka" : "close", req.head ? " head" : "");
    } while (found == 0 && fed < len);
    if (w < cap)
        snprintf(out + w, cap - w, found < 0 ? "error %d" : "need-more", p.error_status);
    parser_free(&p);
}

static void parser_case(const char *input, size_t len, const char *expected)
{
    static char whole[8192], piece[8192];
    parse_all(input, len, 0, whole, sizeof whole);
    CHECK(strcmp(whole, expected) == 0, "parsing %.60s...\n got: %s\nwant: %s", input, whole,
          expected);
    for (size_t chunk = 1; chunk <= 7; chunk += 2) {
        parse_all(input, len, chunk, piece, sizeof piece);
        CHECK(strcmp(piece, whole) == 0, "fed %zu bytes at a time: %s\nwhole: %s", chunk,
              piece, whole);
    }
}

#define PARSES(input, expected) parser_case(input, sizeof input - 1, expected)

static void parser_cases(void)
{
    PARSES("GET /ping HTTP/1.1\r\nHost: x\r\n\r\n", "GET /ping ? ka\nneed-more");
    PARSES("\r\nGET /a?b=1 HTTP/1.0\nConnection: Keep-Alive\n\n", "GET /a ?b=1 ka\nneed-more");
    PARSES("GET / HTTP/1.0\r\n\r\n", "GET / ? close\nneed-more");
    PARSES("HEAD /ping HTTP/1.1\r\nHost: x\r\nConnection: foo, close\r\n\r\n",
           "HEAD /ping ? close head\nneed-more");
    PARSES("GET http://h:1/work?n=1#frag HTTP/1.1\r\nHost: h\r\n\r\n",
           "GET /work ?n=1 ka\nneed-more");
    PARSES("GET http://h HTTP/1.1\r\nHost: h\r\n\r\n", "GET / ? ka\nneed-more");
    PARSES("GET * HTTP/1.1\r\nHost: h\r\n\r\n", "GET * ? ka\nneed-more");
    /* pipelining, with bodies in between */
    PARSES("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET /b HTTP/1.1\r\n"
           "Host: x\r\nTransfer-Encoding: chunked\r\n\r\n3;ext\r\nabc\r\n0\r\nT: v\r\n\r\n"
           "GET /c HTTP/1.1\r\nHost: x\r\nContent-Length: 0, 0\r\n\r\n",
           "POST /a ? ka\nGET /b ? ka\nGET /c ? ka\nneed-more");
    PARSES("GET /a HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc", "need-more");
    /* refused */
    PARSES("NOT A REQUEST\r\n\r\n", "error 400");
    PARSES("GET /ping HTTP/1.1\r\nHost: x\r\nno colon\r\n\r\n", "error 400");
    PARSES("GET /ping HTTP/1.1 trailing\r\nHost: x\r\n\r\n", "error 400");
    PARSES("GET /ping HTTP/2.0\r\nHost: x\r\n\r\n", "error 505");
    PARSES("GET /ping HTTP/1.1\r\n\r\n", "error 400");
    PARSES("GET /ping HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", "error 400");
    PARSES("GET /ping HTTP/1.1\r\nHost: x\r\n Folded: y\r\n\r\n", "error 400");
    PARSES("GET /ping HTTP/1.1\r\nHost: x\r\nBad: a\x01z\r\n\r\n", "error 400");
    PARSES("GET /ping HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", "error 400");
    PARSES("GET /ping HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 6\r\n\r\n", "error 400");
    PARSES("GET /ping HTTP/1.1\r\nHost: x\r\nContent-Length: 1048577\r\n\r\n", "error 413");
    PARSES("GET /ping HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n",
           "error 413");
    PARSES("GET /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", "error 501");
    PARSES("GET /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 1"
           "\r\n\r\n", "error 400");
    PARSES("GET /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
           "error 400");
    PARSES("GET /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n",
           "error 400");
    PARSES("GET /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n100001\r\n",
           "error 413");

    /* the head limit: 8 KiB accepted, 16 KiB refused, even before the end arrives */
    static char big[20000];
    size_t n = (size_t)snprintf(big, sizeof big, "GET /ping HTTP/1.1\r\nHost: x\r\nX: ");
    memset(big + n, 'a', 8000);
    memcpy(big + n + 8000, "\r\n\r\n", 5);
    parser_case(big, n + 8004, "GET /ping ? ka\nneed-more");
    memset(big + n, 'a', 16400);
    parser_case(big, n + 16400, "error 431");
}

static void parameter_case(const char *target, int status, uint32_t arg, int kind)
{
    char raw[512];
    snprintf(raw, sizeof raw, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", target);
    struct parser p;
    parser_init(&p);
    parser_feed(&p, raw, strlen(raw));
    struct request req;
    CHECK(parser_next(&p, &req) == 1, "%s does not parse", target);
    struct app app;
    app_init(&app, "test", -1, (const char *const[]){NULL}, (const int[]){0}, "none");
    static struct action action;
    app_handle(&app, &req, &action);
    int got = action.kind == ACT_REPLY ? action.reply.status : 200;
    CHECK(got == status, "%s: status %d, want %d (%.*s)", target, got, status,
          (int)action.reply.len, action.reply.body);
    if (status == 200 && kind >= 0) {
        uint32_t value = action.kind == ACT_SLEEP ? action.ms : action.work.arg;
        CHECK(value == arg && (kind == ACT_SLEEP || action.work.offload == (kind == 2)),
              "%s: value %u, want %u", target, value, arg);
    }
    parser_free(&p);
}

static void parameter_cases(void)
{
    parameter_case("/work?n=0010", 200, 10, 1);
    parameter_case("/work?x=1&n=2&y=z", 200, 2, 1);
    parameter_case("/work?n=%31%30&offload=01", 200, 10, 2);
    parameter_case("/work?n=100000000", 200, 100000000, 1);
    parameter_case("/work?n=100000001", 400, 0, -1);
    parameter_case("/work?n=99999999999999999999999", 400, 0, -1);
    parameter_case("/work?n=000000000000000000000000001", 200, 1, 1);
    parameter_case("/sleep?ms=10&offload=7", 200, 10, ACT_SLEEP);
    parameter_case("/hash?iter=0", 400, 0, -1);
    parameter_case("/hash?iter=1&&", 200, 1, 1);
    const char *bad[] = {"", "-1", "+5", "abc", "1.5", "1e3", "0x10", "%2B5", "1%"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char target[64];
        snprintf(target, sizeof target, "/cpu?ms=%s", bad[i]);
        parameter_case(target, 400, 0, -1);
    }
    parameter_case("/cpu", 400, 0, -1);
    parameter_case("/cpu?ms", 400, 0, -1);
    parameter_case("/cpu?ms=1&ms=2", 400, 0, -1);
    parameter_case("/cpu?ms=1&offload=2", 400, 0, -1);
    parameter_case("/ping/", 404, 0, -1);
    parameter_case("/PING", 404, 0, -1);
    parameter_case("/ping?anything", 200, 0, -1);
}

static void response_format(void)
{
    struct reply reply;
    error_reply(&reply, 404, "no such path: /a\"b\\c");
    struct buf out = {0};
    response_write(&out, &reply, true, false);
    const char *want = "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n"
                       "Content-Length: 35\r\nConnection: keep-alive\r\n\r\n"
                       "{\"error\": \"no such path: /a\\\"b\\\\c\"}";
    CHECK(out.len == strlen(want) && memcmp(out.data, want, out.len) == 0, "got %.*s",
          (int)out.len, out.data);
    buf_free(&out);
}

int main(void)
{
    golden_digests();
    parser_cases();
    parameter_cases();
    response_format();
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("all checks passed\n");
    return 0;
}
