#include "app.h"

#include <gnu/libc-version.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "buf.h"

static const char PASSWORD[] = "async-runtime-lab";
static const char SALT[] = "lab-salt";

void app_init(struct app *app, const char *model, int worker, const char *const names[],
              const int values[], const char *offload)
{
    memset(app, 0, sizeof *app);
    app->model = model;
    app->worker = worker;
    app->offload = offload;
    size_t w = (size_t)snprintf(app->knobs, sizeof app->knobs, "{");
    for (int i = 0; names[i] && w < sizeof app->knobs; i++)
        w += (size_t)snprintf(app->knobs + w, sizeof app->knobs - w, "%s\"%s\": %d",
                              i ? ", " : "", names[i], values[i]);
    if (w < sizeof app->knobs)
        snprintf(app->knobs + w, sizeof app->knobs - w, "}");
}

const char *runtime_version(void)
{
    static char version[160];
    if (version[0] == '\0') {
        struct utsname u;
        uname(&u);
#ifdef __clang__
        const char *compiler = "clang " __clang_version__;
#else
        const char *compiler = "gcc " __VERSION__;
#endif
        snprintf(version, sizeof version, "%s; glibc %s; OpenSSL %s; Linux %s", compiler,
                 gnu_get_libc_version(), OpenSSL_version(OPENSSL_VERSION_STRING), u.release);
    }
    return version;
}

/* --- parameters (SPEC section 4) ----------------------------------------------------- */

/* The next byte of an application/x-www-form-urlencoded string, decoded: "+" is a space,
   "%41" is "A", a "%" without two hex digits is itself. -1 at the end. */
static int decoded(const char **p, const char *end)
{
    if (*p >= end)
        return -1;
    unsigned char c = (unsigned char)*(*p)++;
    if (c == '+')
        return ' ';
    if (c == '%' && end - *p >= 2) {
        int value = 0;
        for (int i = 0; i < 2; i++) {
            unsigned char h = (unsigned char)(*p)[i];
            int digit = h >= '0' && h <= '9' ? h - '0'
                      : (h | 0x20) >= 'a' && (h | 0x20) <= 'f' ? (h | 0x20) - 'a' + 10 : -1;
            if (digit < 0)
                return c;
            value = value * 16 + digit;
        }
        *p += 2;
        return value;
    }
    return c;
}

static bool decodes_to(struct slice s, const char *name)
{
    const char *p = s.p, *end = s.p + s.n;
    for (; *name; name++)
        if (decoded(&p, end) != (unsigned char)*name)
            return false;
    return p == end;
}

struct param {
    const char *name;
    int count;
    struct slice value; /* the first one, still encoded */
};

/* Find the wanted parameters in a query: "name=value" pairs separated by "&". */
static void scan_query(struct slice query, struct param *params, int nparams)
{
    const char *p = query.p, *end = query.p + query.n;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *pair_end = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(pair_end - p));
        struct slice name = {p, (size_t)((eq ? eq : pair_end) - p)};
        struct slice value = eq ? (struct slice){eq + 1, (size_t)(pair_end - eq - 1)}
                                : (struct slice){pair_end, 0};
        for (int i = 0; pair_end > p && i < nparams; i++)
            if (decodes_to(name, params[i].name) && params[i].count++ == 0)
                params[i].value = value;
        p = pair_end + 1;
    }
}

/* A required integer parameter: ASCII digits only, within [low, high], given once. The
   digits are counted before they are added up, so a huge number is out of range, never an
   overflow. false: *message says why. */
static bool number(const struct param *param, uint32_t low, uint32_t high, uint32_t *out,
                   char *message, size_t cap)
{
    if (param->count == 0) {
        snprintf(message, cap, "missing parameter '%s'", param->name);
        return false;
    }
    if (param->count > 1) {
        snprintf(message, cap, "parameter '%s' given more than once", param->name);
        return false;
    }
    int max_digits = snprintf(NULL, 0, "%u", high);
    const char *p = param->value.p, *end = p + param->value.n;
    uint64_t value = 0;
    int digits = 0, c;
    bool valid = p < end;
    while (valid && (c = decoded(&p, end)) >= 0) {
        valid = c >= '0' && c <= '9';
        if (valid && (digits || c != '0'))
            valid = ++digits <= max_digits;
        value = value * 10 + (uint64_t)(c - '0');
    }
    if (!valid || value < low || value > high) {
        snprintf(message, cap, "parameter '%s' must be an integer from %u to %u", param->name,
                 low, high);
        return false;
    }
    *out = (uint32_t)value;
    return true;
}

/* --- routing ------------------------------------------------------------------------- */

enum endpoint { E_NONE, E_PING, E_INFO, E_CPU, E_WORK, E_HASH, E_SLEEP };

static enum endpoint route(struct slice path)
{
    static const struct { const char *path; enum endpoint endpoint; } routes[] = {
        {"/ping", E_PING}, {"/info", E_INFO}, {"/cpu", E_CPU},
        {"/work", E_WORK}, {"/hash", E_HASH}, {"/sleep", E_SLEEP},
    };
    for (size_t i = 0; i < sizeof routes / sizeof *routes; i++)
        if (strlen(routes[i].path) == path.n && memcmp(routes[i].path, path.p, path.n) == 0)
            return routes[i].endpoint;
    return E_NONE;
}

static void json_reply(struct reply *reply, size_t len)
{
    reply->status = 200;
    reply->content_type = APPLICATION_JSON;
    reply->headers = NULL;
    reply->len = len < sizeof reply->body ? len : sizeof reply->body - 1;
}

static void info(const struct app *app, struct reply *reply)
{
    char worker[16] = "null";
    if (app->worker >= 0)
        snprintf(worker, sizeof worker, "%d", app->worker);
    int n = snprintf(reply->body, sizeof reply->body,
                     "{\"target\": \"c/%s\", \"runtime\": \"c\", \"model\": \"%s\", "
                     "\"version\": \"%s\", \"pid\": %d, \"worker\": %s, \"knobs\": %s, "
                     "\"offload\": \"%s\"%s%s}",
                     app->model, app->model, runtime_version(), (int)getpid(), worker,
                     app->knobs, app->offload, app->extra[0] ? ", " : "", app->extra);
    json_reply(reply, (size_t)n);
}

void app_handle(const struct app *app, const struct request *req, struct action *action)
{
    char message[160];
    enum endpoint endpoint = route(req->path);
    action->kind = ACT_REPLY;
    if (endpoint == E_NONE) {
        snprintf(message, sizeof message, "no such path: %.*s",
                 (int)(req->path.n < 100 ? req->path.n : 100), req->path.p);
        error_reply(&action->reply, 404, message);
        return;
    }
    if (req->method.n != 3 || memcmp(req->method.p, "GET", 3) != 0) {
        snprintf(message, sizeof message, "method %.*s not allowed, use GET",
                 (int)(req->method.n < 20 ? req->method.n : 20), req->method.p);
        error_reply(&action->reply, 405, message);
        action->reply.headers = "Allow: GET\r\n";
        return;
    }
    if (endpoint == E_PING) {
        action->reply = (struct reply){.status = 200, .content_type = TEXT_PLAIN, .len = 4};
        memcpy(action->reply.body, "pong", 4);
        return;
    }
    if (endpoint == E_INFO) {
        info(app, &action->reply);
        return;
    }

    static const char *const names[] = {
        [E_CPU] = "ms", [E_WORK] = "n", [E_HASH] = "iter", [E_SLEEP] = "ms"};
    static const uint32_t low[] = {[E_CPU] = 0, [E_WORK] = 0, [E_HASH] = 1, [E_SLEEP] = 0};
    static const uint32_t high[] = {
        [E_CPU] = MAX_MS, [E_WORK] = MAX_N, [E_HASH] = MAX_ITER, [E_SLEEP] = MAX_MS};
    struct param params[2] = {{.name = names[endpoint]}, {.name = "offload"}};
    scan_query(req->query, params, endpoint == E_SLEEP ? 1 : 2);
    uint32_t value, offload = 0;
    if (!number(&params[0], low[endpoint], high[endpoint], &value, message, sizeof message) ||
        (params[1].count && !number(&params[1], 0, 1, &offload, message, sizeof message))) {
        error_reply(&action->reply, 400, message);
        return;
    }
    if (endpoint == E_SLEEP) {
        action->kind = ACT_SLEEP;
        action->ms = value;
        return;
    }
    static const enum work_kind kinds[] = {
        [E_CPU] = WORK_CPU, [E_WORK] = WORK_FNV, [E_HASH] = WORK_HASH};
    action->kind = ACT_COMPUTE;
    action->work = (struct work){kinds[endpoint], value, offload == 1};
}

/* --- the work itself ----------------------------------------------------------------- */

/* SPEC section 5, /work: n rounds of h = (h XOR i) * 0x01000193 on 32 bits. */
uint32_t fnv_rounds(uint32_t n)
{
    uint32_t h = 0x811C9DC5u;
    for (uint32_t i = 0; i < n; i++)
        h = (h ^ i) * 0x01000193u;
    return h;
}

bool pbkdf2_hex(uint32_t iterations, char hex[65])
{
    unsigned char key[32];
    if (!PKCS5_PBKDF2_HMAC(PASSWORD, sizeof PASSWORD - 1, (const unsigned char *)SALT,
                           sizeof SALT - 1, (int)iterations, EVP_sha256(), sizeof key, key))
        return false;
    for (size_t i = 0; i < sizeof key; i++)
        snprintf(hex + 2 * i, 3, "%02x", key[i]);
    return true;
}

/* Burn the CPU for ms milliseconds: no sleeping, no yielding. */
static void spin(uint32_t ms)
{
    uint64_t deadline = now_ns() + ms * NS_PER_MS;
    while (now_ns() < deadline)
        ;
}

void work_run(const struct work *work, struct reply *reply)
{
    const char *offload = work->offload ? "true" : "false";
    int n = 0;
    char hex[65];
    switch (work->kind) {
    case WORK_CPU:
        spin(work->arg);
        n = snprintf(reply->body, sizeof reply->body, "{\"ms\": %u, \"offload\": %s}",
                     work->arg, offload);
        break;
    case WORK_FNV:
        n = snprintf(reply->body, sizeof reply->body,
                     "{\"n\": %u, \"digest\": \"%08x\", \"offload\": %s}", work->arg,
                     fnv_rounds(work->arg), offload);
        break;
    case WORK_HASH:
        if (!pbkdf2_hex(work->arg, hex)) {
            error_reply(reply, 500, "internal error: PBKDF2 failed in OpenSSL");
            return;
        }
        n = snprintf(reply->body, sizeof reply->body,
                     "{\"iter\": %u, \"digest\": \"%s\", \"offload\": %s}", work->arg, hex,
                     offload);
        break;
    }
    json_reply(reply, (size_t)n);
}

void sleep_reply(uint32_t ms, struct reply *reply)
{
    json_reply(reply, (size_t)snprintf(reply->body, sizeof reply->body, "{\"ms\": %u}", ms));
}
