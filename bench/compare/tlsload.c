/* tlsload: a small HTTPS load generator for bench/compare.py.
 *
 * wrk cannot open a CONNECT tunnel through an explicit proxy, so the HTTPS
 * scenarios use this client instead (the same client for every HTTPS scenario,
 * direct included). One thread per connection, blocking sockets, OpenSSL.
 *
 * Each connection opens a tunnel (CONNECT host:443 through the proxy, or a
 * straight TCP connection with -a), does a full TLS handshake with the host's
 * SNI (no session resumption, no certificate verification, like wrk), sends up
 * to R keep-alive requests on it (-r), then closes and opens the next tunnel
 * to the next host of the mix. The latency of the first request on a tunnel
 * includes the TCP connect, the CONNECT exchange and the TLS handshake.
 *
 * URL file: one "host path" per line. Tunnel k uses the host of line k (taken
 * from a shared counter) and the paths of lines k, k+1, ...
 *
 *   tlsload -c CONNS -d SECONDS -u FILE (-x PROXY_IP:PORT | -a IP:PORT) [-r R]
 *
 * Prints one JSON object on stdout.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

typedef struct { char *host; char *path; } entry_t;

static entry_t *entries;
static size_t n_entries;
static atomic_size_t next_tunnel;
static struct sockaddr_in target;
static int via_proxy;
static int per_tunnel = 20;
static double t_start, t_end;
static SSL_CTX *ctx;

typedef struct {
    uint32_t *lat; size_t n, cap;      /* latencies in microseconds */
    uint32_t *setup; size_t sn, scap;  /* tunnel setup times */
    long requests, served, filtered, status5xx, connect_refused;
    long err_connect, err_tls, err_io, closed_by_proxy, tunnels;
} stats_t;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void push(uint32_t **a, size_t *n, size_t *cap, uint32_t v) {
    if (*n == *cap) { *cap = *cap ? *cap * 2 : 4096; *a = realloc(*a, *cap * sizeof **a); }
    (*a)[(*n)++] = v;
}

/* A connection: plain fd before the handshake, SSL after. */
typedef struct { int fd; SSL *ssl; char buf[65536]; size_t len; } conn_t;

static int c_read(conn_t *c) {
    if (c->len == sizeof c->buf) return -1;
    int r = c->ssl ? SSL_read(c->ssl, c->buf + c->len, (int)(sizeof c->buf - c->len))
                   : (int)recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
    if (r <= 0) return -1;
    c->len += (size_t)r;
    return r;
}

static int c_write(conn_t *c, const char *p, size_t n) {
    while (n) {
        int w = c->ssl ? SSL_write(c->ssl, p, (int)n) : (int)send(c->fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) return -1;
        p += w; n -= (size_t)w;
    }
    return 0;
}

static void consume(conn_t *c, size_t n) {
    memmove(c->buf, c->buf + n, c->len - n);
    c->len -= n;
}

/* Read a header block; returns its length (including the blank line) or -1. */
static long read_head(conn_t *c) {
    for (;;) {
        char *e = memmem(c->buf, c->len, "\r\n\r\n", 4);
        if (e) return (long)(e - c->buf) + 4;
        if (c_read(c) < 0) return -1;
    }
}

static const char *find_header(const char *head, size_t hlen, const char *name, size_t *vlen) {
    size_t nl = strlen(name);
    const char *p = memchr(head, '\n', hlen);
    while (p && (size_t)(p - head) < hlen) {
        p++;
        if ((size_t)(head + hlen - p) > nl + 1 && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ' || *v == '\t') v++;
            const char *end = memchr(v, '\r', (size_t)(head + hlen - v));
            *vlen = end ? (size_t)(end - v) : 0;
            return v;
        }
        p = memchr(p, '\n', (size_t)(head + hlen - p));
    }
    return NULL;
}

/* Skip n body bytes. */
static int skip_body(conn_t *c, long n) {
    while (n > 0) {
        if (c->len == 0 && c_read(c) < 0) return -1;
        size_t take = c->len < (size_t)n ? c->len : (size_t)n;
        consume(c, take);
        n -= (long)take;
    }
    return 0;
}

static int skip_chunked(conn_t *c) {
    for (;;) {
        char *e;
        while (!(e = memmem(c->buf, c->len, "\r\n", 2)))
            if (c_read(c) < 0) return -1;
        long size = strtol(c->buf, NULL, 16);
        consume(c, (size_t)(e - c->buf) + 2);
        if (size == 0) {  /* trailers until the blank line */
            for (;;) {
                while (!(e = memmem(c->buf, c->len, "\r\n", 2)))
                    if (c_read(c) < 0) return -1;
                size_t l = (size_t)(e - c->buf);
                consume(c, l + 2);
                if (l == 0) return 0;
            }
        }
        if (skip_body(c, size + 2) < 0) return -1;
    }
}

/* Read one response. Returns the status, or -1; sets *close_after, *upstream. */
static int read_response(conn_t *c, int head_only, int *close_after, int *upstream) {
    long hl = read_head(c);
    if (hl < 0) return -1;
    int status = 0;
    if (hl > 12) status = atoi(c->buf + 9);
    size_t vl;
    const char *v;
    *upstream = find_header(c->buf, (size_t)hl, "X-Upstream", &vl) != NULL;
    *close_after = 0;
    if ((v = find_header(c->buf, (size_t)hl, "Connection", &vl)) && vl >= 5 && strncasecmp(v, "close", 5) == 0)
        *close_after = 1;
    if (strncmp(c->buf, "HTTP/1.0", 8) == 0 &&
        !((v = find_header(c->buf, (size_t)hl, "Connection", &vl)) && strncasecmp(v, "keep-alive", 10) == 0))
        *close_after = 1;
    long length = -1;
    int chunked = 0;
    if ((v = find_header(c->buf, (size_t)hl, "Content-Length", &vl))) length = atol(v);
    if ((v = find_header(c->buf, (size_t)hl, "Transfer-Encoding", &vl)) && vl >= 7 && strncasecmp(v, "chunked", 7) == 0)
        chunked = 1;
    consume(c, (size_t)hl);
    if (head_only || status == 204 || status == 304) return status;
    if (chunked) return skip_chunked(c) < 0 ? -1 : status;
    if (length >= 0) return skip_body(c, length) < 0 ? -1 : status;
    /* no length: the body ends when the connection closes */
    c->len = 0;
    while (c_read(c) >= 0) c->len = 0;
    *close_after = 1;
    return status;
}

static void *worker(void *arg) {
    stats_t *st = arg;
    conn_t *c = calloc(1, sizeof *c);
    char req[4096];
    while (now() < t_end) {
        size_t k = atomic_fetch_add(&next_tunnel, 1);
        const char *host = entries[k % n_entries].host;
        double t0 = now();
        c->len = 0; c->ssl = NULL;
        c->fd = socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct timeval tv = {15, 0};
        setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (connect(c->fd, (struct sockaddr *)&target, sizeof target) < 0) {
            if (now() < t_end) st->err_connect++;
            close(c->fd);
            usleep(10000);
            continue;
        }
        if (via_proxy) {
            int n = snprintf(req, sizeof req, "CONNECT %s:443 HTTP/1.1\r\nHost: %s:443\r\n\r\n", host, host);
            int close_after, upstream;
            int status = c_write(c, req, (size_t)n) < 0 ? -1 : read_response(c, 1, &close_after, &upstream);
            if (status != 200) {
                if (now() < t_end) {
                    if (status < 0) st->err_io++;
                    else { st->connect_refused++; st->requests++; st->filtered++;
                           push(&st->lat, &st->n, &st->cap, (uint32_t)((now() - t0) * 1e6)); }
                }
                close(c->fd);
                continue;
            }
        }
        SSL *ssl = SSL_new(ctx);
        SSL_set_fd(ssl, c->fd);
        SSL_set_tlsext_host_name(ssl, host);
        if (SSL_connect(ssl) != 1) {
            if (now() < t_end) st->err_tls++;
            ERR_clear_error();
            SSL_free(ssl);
            close(c->fd);
            continue;
        }
        c->ssl = ssl;
        if (c->len) c->len = 0;  /* nothing may precede the handshake */
        st->tunnels++;
        push(&st->setup, &st->sn, &st->scap, (uint32_t)((now() - t0) * 1e6));
        for (int r = 0; r < per_tunnel || per_tunnel == 0; r++) {
            double ts = r == 0 ? t0 : now();
            if (ts >= t_end) break;
            const char *path = entries[(k + (size_t)r) % n_entries].path;
            int n = snprintf(req, sizeof req,
                             "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: Mozilla/5.0 (schoolgate-bench tlsload)\r\n"
                             "Accept: */*\r\n\r\n", path, host);
            int close_after = 0, upstream = 0;
            int status = c_write(c, req, (size_t)n) < 0 ? -1 : read_response(c, 0, &close_after, &upstream);
            double te = now();
            if (status < 0) {
                if (te < t_end) st->err_io++;
                break;
            }
            if (te < t_end) {
                st->requests++;
                if (upstream) st->served++; else st->filtered++;
                if (status >= 500) st->status5xx++;
                push(&st->lat, &st->n, &st->cap, (uint32_t)((te - ts) * 1e6));
            }
            if (close_after) { st->closed_by_proxy++; break; }
        }
        SSL_shutdown(ssl);
        SSL_free(ssl);
        ERR_clear_error();
        c->ssl = NULL;
        close(c->fd);
    }
    free(c);
    return NULL;
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static double pct(uint32_t *a, size_t n, double p) {
    if (!n) return 0;
    size_t i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
    return a[i] / 1000.0;
}

static int parse_addr(const char *s, struct sockaddr_in *out) {
    char ip[64];
    const char *colon = strrchr(s, ':');
    if (!colon || (size_t)(colon - s) >= sizeof ip) return -1;
    memcpy(ip, s, (size_t)(colon - s)); ip[colon - s] = 0;
    memset(out, 0, sizeof *out);
    out->sin_family = AF_INET;
    out->sin_port = htons((uint16_t)atoi(colon + 1));
    return inet_pton(AF_INET, ip, &out->sin_addr) == 1 ? 0 : -1;
}

int main(int argc, char **argv) {
    int conns = 50;
    double duration = 10;
    const char *file = NULL, *addr = NULL;
    int opt;
    while ((opt = getopt(argc, argv, "c:d:u:x:a:r:")) != -1) {
        switch (opt) {
        case 'c': conns = atoi(optarg); break;
        case 'd': duration = atof(optarg); break;
        case 'u': file = optarg; break;
        case 'x': addr = optarg; via_proxy = 1; break;
        case 'a': addr = optarg; via_proxy = 0; break;
        case 'r': per_tunnel = atoi(optarg); break;
        default: fprintf(stderr, "usage: tlsload -c N -d S -u FILE (-x PROXY:PORT | -a IP:PORT) [-r R]\n"); return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);  /* a proxy closing a tunnel is an I/O error, not the end of the run */
    if (!file || !addr || parse_addr(addr, &target) < 0) { fprintf(stderr, "tlsload: need -u and -x or -a\n"); return 2; }
    FILE *f = fopen(file, "r");
    if (!f) { perror(file); return 2; }
    size_t cap = 0;
    char line[2048];
    while (fgets(line, sizeof line, f)) {
        char h[1024], p[1024];
        if (sscanf(line, "%1023s %1023s", h, p) != 2) continue;
        if (n_entries == cap) { cap = cap ? cap * 2 : 1024; entries = realloc(entries, cap * sizeof *entries); }
        entries[n_entries].host = strdup(h);
        entries[n_entries].path = strdup(p);
        n_entries++;
    }
    fclose(f);
    if (!n_entries) { fprintf(stderr, "tlsload: empty URL file\n"); return 2; }

    ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);

    pthread_t *th = calloc((size_t)conns, sizeof *th);
    stats_t *st = calloc((size_t)conns, sizeof *st);
    srand((unsigned)getpid());
    atomic_store(&next_tunnel, (size_t)(rand() % (int)n_entries));
    t_start = now();
    t_end = t_start + duration;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    for (int i = 0; i < conns; i++) pthread_create(&th[i], &attr, worker, &st[i]);
    for (int i = 0; i < conns; i++) pthread_join(th[i], NULL);
    double elapsed = t_end - t_start;

    stats_t tot = {0};
    for (int i = 0; i < conns; i++) {
        for (size_t j = 0; j < st[i].n; j++) push(&tot.lat, &tot.n, &tot.cap, st[i].lat[j]);
        for (size_t j = 0; j < st[i].sn; j++) push(&tot.setup, &tot.sn, &tot.scap, st[i].setup[j]);
        tot.requests += st[i].requests; tot.served += st[i].served; tot.filtered += st[i].filtered;
        tot.status5xx += st[i].status5xx; tot.connect_refused += st[i].connect_refused;
        tot.err_connect += st[i].err_connect; tot.err_tls += st[i].err_tls; tot.err_io += st[i].err_io;
        tot.closed_by_proxy += st[i].closed_by_proxy; tot.tunnels += st[i].tunnels;
    }
    qsort(tot.lat, tot.n, sizeof *tot.lat, cmp_u32);
    qsort(tot.setup, tot.sn, sizeof *tot.setup, cmp_u32);
    printf("{\"requests\": %ld, \"duration\": %.3f, \"served\": %ld, \"filtered\": %ld, \"status5xx\": %ld, "
           "\"connect_refused\": %ld, \"err_connect\": %ld, \"err_tls\": %ld, \"err_io\": %ld, "
           "\"closed_by_proxy\": %ld, \"tunnels\": %ld, \"p50_ms\": %.3f, \"p99_ms\": %.3f, "
           "\"setup_p50_ms\": %.3f, \"setup_p99_ms\": %.3f}\n",
           tot.requests, elapsed, tot.served, tot.filtered, tot.status5xx, tot.connect_refused,
           tot.err_connect, tot.err_tls, tot.err_io, tot.closed_by_proxy, tot.tunnels,
           pct(tot.lat, tot.n, 50), pct(tot.lat, tot.n, 99), pct(tot.setup, tot.sn, 50), pct(tot.setup, tot.sn, 99));
    return 0;
}
