/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

#include "macro.h"
#include "time-util.h"
#include "wire.h"

/* Where the input buffer starts, and what an idle connection may keep: a
 * buffer grown for a large message is given back once it is empty, so that
 * thousands of idle connections cost megabytes, not a gigabyte each. */
#define WIRE_BUFFER_MIN 4096u
#define WIRE_BUFFER_KEEP (64u * 1024u)

/* An fd received, and the sequence number of the message it came with. */
typedef struct WireInFd {
        int fd;
        uint64_t message;
} WireInFd;

/* The fds of one queued message: sent with its first byte, in a sendmsg()
 * that carries nothing but this message's bytes (see wire_flush). */
typedef struct WireOutFds {
        size_t start, end; /* the message's bytes in out[], NUL included */
        int fds[WIRE_FDS_MAX];
        size_t n_fds;
} WireOutFds;

struct Wire {
        int fd;

        char *in;
        size_t in_size;    /* allocated */
        size_t in_start;   /* in[in_start..in_len) is buffered and not taken */
        size_t in_len;
        size_t in_nuls;    /* complete messages buffered */
        uint64_t in_taken; /* messages taken so far: the next one's sequence number */
        WireInFd in_fds[WIRE_FDS_MAX];
        size_t n_in_fds;

        char *out;
        size_t out_size, out_start, out_len;
        WireOutFds *out_fds; /* ordered by start */
        size_t n_out_fds, out_fds_size;

        void (*closer)(const int *fds, size_t n, void *userdata); /* of the peer's fds; NULL: close() */
        void *closer_userdata;
};

int wire_new(int fd, Wire **ret) {
        Wire *w;

        if (fd < 0)
                return -EBADF;
        if (!ret) {
                safe_close(fd);
                return -EINVAL;
        }
        w = calloc(1, sizeof *w);
        if (!w) {
                safe_close(fd);
                return -ENOMEM;
        }
        w->fd = fd;
        *ret = w;
        return 0;
}

void wire_set_closer(Wire *w, void (*close_fds)(const int *fds, size_t n, void *userdata), void *userdata) {
        w->closer = close_fds;
        w->closer_userdata = userdata;
}

/* What the peer sent: closed by the closer, if any. */
static void close_peer_fds(Wire *w, const int *fds, size_t n) {
        if (w->closer)
                w->closer(fds, n, w->closer_userdata);
        else
                for (size_t i = 0; i < n; i++)
                        safe_close(fds[i]);
}

/* The peer's unread bytes may carry fds, which the kernel releases as the
 * socket closes, in whoever closes it: so they go to the closer. Nothing
 * new can arrive once our side is shut for reading. */
static void close_socket(Wire *w) {
        int queued = 0;

        if (w->closer && shutdown(w->fd, SHUT_RD) >= 0 && ioctl(w->fd, FIONREAD, &queued) >= 0 && queued > 0)
                close_peer_fds(w, &w->fd, 1);
        else
                safe_close(w->fd);
}

Wire *wire_free(Wire *w) {
        if (!w)
                return NULL;
        close_socket(w);
        for (size_t i = 0; i < w->n_in_fds; i++)
                close_peer_fds(w, &w->in_fds[i].fd, 1);
        for (size_t i = 0; i < w->n_out_fds; i++)
                for (size_t k = 0; k < w->out_fds[i].n_fds; k++)
                        safe_close(w->out_fds[i].fds[k]);
        free(w->in);
        free(w->out);
        free(w->out_fds);
        free(w);
        return NULL;
}

int wire_fd(const Wire *w) {
        return w ? w->fd : -EBADF;
}

bool wire_has_output(const Wire *w) {
        return w && w->out_start < w->out_len;
}

static void close_fds(int *fds, size_t n) {
        for (size_t i = 0; i < n; i++)
                safe_close(fds[i]);
}

/* ---- validation ------------------------------------------------------------ */

bool wire_utf8_valid(const char *s, size_t n) {
        const unsigned char *p = (const unsigned char *) s, *e = p + n;

        while (p < e) {
                unsigned c = *p;
                size_t k;
                uint32_t cp, min;

                if (c < 0x80) {
                        p++;
                        continue;
                }
                if ((c & 0xe0) == 0xc0) {
                        k = 1, cp = c & 0x1f, min = 0x80;
                } else if ((c & 0xf0) == 0xe0) {
                        k = 2, cp = c & 0x0f, min = 0x800;
                } else if ((c & 0xf8) == 0xf0) {
                        k = 3, cp = c & 0x07, min = 0x10000;
                } else
                        return false;
                if ((size_t) (e - p) <= k)
                        return false;
                for (size_t i = 1; i <= k; i++) {
                        if ((p[i] & 0xc0) != 0x80)
                                return false;
                        cp = cp << 6 | (p[i] & 0x3f);
                }
                if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                        return false;
                p += k + 1;
        }
        return true;
}

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

static bool is_hex(char c) {
        return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* A number per RFC 8259 at s[*i]; an integer must also fit json-c's int64
 * or uint64, which would otherwise clamp it silently, so that a getter's
 * range check sees the value that was sent. */
static bool lex_number(const char *s, size_t n, size_t *i) {
        size_t p = *i;
        bool negative = false, integer = true;
        uint64_t v = 0;

        if (s[p] == '-') {
                negative = true;
                p++;
        }
        if (p >= n || !is_digit(s[p]))
                return false;
        if (s[p] == '0')
                p++;
        else
                for (; p < n && is_digit(s[p]); p++) {
                        unsigned d = (unsigned) (s[p] - '0');
                        if (v > (UINT64_MAX - d) / 10)
                                return false;
                        v = v * 10 + d;
                }
        if (p < n && s[p] == '.') {
                integer = false;
                p++;
                if (p >= n || !is_digit(s[p]))
                        return false;
                while (p < n && is_digit(s[p]))
                        p++;
        }
        if (p < n && (s[p] == 'e' || s[p] == 'E')) {
                integer = false;
                p++;
                if (p < n && (s[p] == '+' || s[p] == '-'))
                        p++;
                if (p >= n || !is_digit(s[p]))
                        return false;
                while (p < n && is_digit(s[p]))
                        p++;
        }
        if (integer && negative && v > (uint64_t) INT64_MAX + 1)
                return false;
        *i = p;
        return true;
}

/* A string at s[*i] (the opening quote): escapes as RFC 8259 has them, no
 * raw control characters. */
static bool lex_string(const char *s, size_t n, size_t *i) {
        size_t p = *i + 1;

        for (;;) {
                if (p >= n)
                        return false;
                unsigned char c = (unsigned char) s[p];
                if (c == '"')
                        break;
                if (c < 0x20)
                        return false;
                if (c != '\\') {
                        p++;
                        continue;
                }
                if (++p >= n)
                        return false;
                if (s[p] == 'u') {
                        if (n - p < 5)
                                return false;
                        for (size_t k = 1; k <= 4; k++)
                                if (!is_hex(s[p + k]))
                                        return false;
                        p += 5;
                } else if (s[p] && strchr("\"\\/bfnrt", s[p]))
                        p++;
                else
                        return false;
        }
        *i = p + 1;
        return true;
}

/* Whether a number or word ending before s[i] really ends there: "01",
 * "1-2" and "truex" are not two tokens each. */
static bool token_ends(const char *s, size_t n, size_t i) {
        return i >= n || (s[i] && strchr(" \t\n\r{}[]:,\"", s[i]));
}

/* The tokens of s are those of RFC 8259. json-c's strict mode still takes
 * single-quoted strings, NaN and Infinity, leading zeros, "1." and raw
 * control characters; this catches them, and json-c then checks the
 * grammar. (A parser of our own would do both, but json-c's is the one the
 * rest of the code reads objects from, and well fuzzed.) */
static bool json_tokens_valid(const char *s, size_t n) {
        size_t i = 0;

        while (i < n) {
                switch (s[i]) {
                case ' ':
                case '\t':
                case '\n':
                case '\r':
                case '{':
                case '}':
                case '[':
                case ']':
                case ':':
                case ',':
                        i++;
                        break;
                case '"':
                        if (!lex_string(s, n, &i))
                                return false;
                        break;
                case 't':
                case 'f':
                case 'n': {
                        const char *word = s[i] == 't' ? "true" : s[i] == 'f' ? "false" : "null";
                        size_t len = strlen(word);
                        if (n - i < len || memcmp(s + i, word, len) != 0 || !token_ends(s, n, i + len))
                                return false;
                        i += len;
                        break;
                }
                default:
                        if (s[i] != '-' && !is_digit(s[i]))
                                return false;
                        if (!lex_number(s, n, &i) || !token_ends(s, n, i))
                                return false;
                }
        }
        return true;
}

static int parse_message(const char *s, size_t n, json_object **ret) {
        struct json_tokener *tok;
        json_object *o;

        if (n == 0 || !wire_utf8_valid(s, n) || !json_tokens_valid(s, n))
                return -EBADMSG;

        /* json-c's own UTF-8 check (JSON_TOKENER_VALIDATE_UTF8) is not used:
         * it lets surrogates and overlong forms through, and ours has run. */
        tok = json_tokener_new_ex(WIRE_DEPTH_MAX);
        if (!tok)
                return -ENOMEM;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        /* A failure here may also be json-c running out of memory, which it
         * does not tell apart: the message is refused either way. */
        o = json_tokener_parse_ex(tok, s, (int) n);
        if (o && (json_tokener_get_parse_end(tok) != n || !json_object_is_type(o, json_type_object))) {
                json_object_put(o);
                o = NULL;
        }
        json_tokener_free(tok);
        if (!o)
                return -EBADMSG;
        *ret = o;
        return 0;
}

/* ---- input ----------------------------------------------------------------- */

/* Makes room at the end of the input buffer, which holds no complete
 * message when this is called: just the start of one. */
static int in_reserve(Wire *w) {
        if (w->in_start > 0) {
                memmove(w->in, w->in + w->in_start, w->in_len - w->in_start);
                w->in_len -= w->in_start;
                w->in_start = 0;
        }
        if (w->in_len < w->in_size)
                return 0;
        if (w->in_size >= WIRE_MESSAGE_MAX)
                return -EMSGSIZE;

        size_t size = MIN(MAX(w->in_size * 2, WIRE_BUFFER_MIN), WIRE_MESSAGE_MAX);
        char *in = realloc(w->in, size);
        if (!in)
                return -ENOMEM;
        w->in = in;
        w->in_size = size;
        return 0;
}

/* Counts the messages completed by n new bytes at in[in_len]. A buffer full
 * without a NUL holds a message longer than WIRE_MESSAGE_MAX: said at once,
 * not at the next read. */
static int in_received(Wire *w, size_t n) {
        for (const char *p = w->in + w->in_len, *e = p + n; (p = memchr(p, 0, e - p)); p++)
                w->in_nuls++;
        w->in_len += n;
        if (w->in_nuls == 0 && w->in_len - w->in_start >= WIRE_MESSAGE_MAX)
                return -EMSGSIZE;
        return 0;
}

/* The fds of a recvmsg() that returned n bytes at in[in_len]. The kernel
 * ends a read after the one buffer that carries fds, and our sender puts a
 * message's fds on a sendmsg() of nothing but that message's bytes, so the
 * fds belong to the message of the last byte read. */
static int in_attach_fds(Wire *w, struct msghdr *mh, size_t n) {
        int fds[WIRE_FDS_MAX];
        size_t n_fds = 0;
        bool overflow = false;

        for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
                if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                        continue;
                size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (size_t i = 0; i < k; i++) {
                        int fd;
                        memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
                        if (n_fds < ELEMENTSOF(fds))
                                fds[n_fds++] = fd;
                        else {
                                close_peer_fds(w, &fd, 1);
                                overflow = true;
                        }
                }
        }
        if (n_fds == 0 && !(mh->msg_flags & MSG_CTRUNC))
                return 0;
        /* MSG_CTRUNC: the kernel dropped what did not fit in our buffer,
         * sized for WIRE_FDS_MAX, so the peer sent more than we take. */
        if (overflow || (mh->msg_flags & MSG_CTRUNC) || n == 0 || w->n_in_fds + n_fds > WIRE_FDS_MAX) {
                close_peer_fds(w, fds, n_fds);
                return -ETOOMANYREFS;
        }

        uint64_t message = w->in_taken + w->in_nuls;
        const char *p = w->in + w->in_len;
        for (const char *q = p; (q = memchr(q, 0, n - 1 - (q - p))); q++)
                message++;
        for (size_t i = 0; i < n_fds; i++)
                w->in_fds[w->n_in_fds++] = (WireInFd) { .fd = fds[i], .message = message };
        return 0;
}

int wire_read(Wire *w) {
        union {
                struct cmsghdr align;
                char buf[CMSG_SPACE(sizeof(int) * WIRE_FDS_MAX)];
        } control;
        int r;

        assert_return(w, -EINVAL);

        while (w->in_nuls == 0) {
                r = in_reserve(w);
                if (r < 0)
                        return r;

                struct iovec iov = { .iov_base = w->in + w->in_len, .iov_len = w->in_size - w->in_len };
                struct msghdr mh = {
                        .msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = &control,
                        .msg_controllen = sizeof control,
                };
                ssize_t n = recvmsg(w->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN || errno == EWOULDBLOCK)
                                return 0;
                        return negative_errno();
                }
                r = in_attach_fds(w, &mh, n);
                if (r < 0)
                        return r;
                if (n == 0)
                        return -ECONNRESET;
                r = in_received(w, n);
                if (r < 0)
                        return r;
        }
        return 1;
}

ssize_t wire_feed(Wire *w, const void *data, size_t size) {
        int r;

        assert_return(w, -EINVAL);
        assert_return(data || size == 0, -EINVAL);

        if (w->in_nuls > 0 || size == 0)
                return 0;
        r = in_reserve(w);
        if (r < 0)
                return r;
        size_t n = MIN(size, w->in_size - w->in_len);
        memcpy(w->in + w->in_len, data, n);
        r = in_received(w, n);
        if (r < 0)
                return r;
        return (ssize_t) n;
}

int wire_take(Wire *w, json_object **ret, int fds[WIRE_FDS_MAX], size_t *n_fds) {
        int mine[WIRE_FDS_MAX];
        size_t n_mine = 0, k = 0;
        json_object *o = NULL;
        int r;

        assert_return(w, -EINVAL);
        assert_return(ret, -EINVAL);

        if (w->in_nuls == 0)
                return 0;

        const char *s = w->in + w->in_start;
        const char *nul = memchr(s, 0, w->in_len - w->in_start);
        assert(nul);
        uint64_t message = w->in_taken++;
        w->in_nuls--;
        w->in_start += nul - s + 1;

        for (size_t i = 0; i < w->n_in_fds; i++)
                if (w->in_fds[i].message == message)
                        mine[n_mine++] = w->in_fds[i].fd;
                else
                        w->in_fds[k++] = w->in_fds[i];
        w->n_in_fds = k;

        r = parse_message(s, nul - s, &o);

        if (w->in_start == w->in_len) {
                w->in_start = w->in_len = 0;
                if (w->in_size > WIRE_BUFFER_KEEP) {
                        w->in = mfree(w->in);
                        w->in_size = 0;
                }
        }
        if (r < 0 || !fds || !n_fds) {
                close_peer_fds(w, mine, n_mine);
                if (r < 0)
                        return r;
        } else {
                memcpy(fds, mine, n_mine * sizeof(int));
                *n_fds = n_mine;
        }
        *ret = o;
        return 1;
}

/* ---- output ---------------------------------------------------------------- */

static int out_reserve(Wire *w, size_t n) {
        if (w->out_start > 0) {
                memmove(w->out, w->out + w->out_start, w->out_len - w->out_start);
                for (size_t i = 0; i < w->n_out_fds; i++) {
                        w->out_fds[i].start -= w->out_start;
                        w->out_fds[i].end -= w->out_start;
                }
                w->out_len -= w->out_start;
                w->out_start = 0;
        }
        if (w->out_size - w->out_len >= n)
                return 0;

        size_t size = MAX(w->out_size * 2, WIRE_BUFFER_MIN);
        if (size < w->out_len + n)
                size = w->out_len + n;
        char *out = realloc(w->out, size);
        if (!out)
                return -ENOMEM;
        w->out = out;
        w->out_size = size;
        return 0;
}

int wire_queue(Wire *w, json_object *obj, const int *fds, size_t n_fds) {
        int copies[WIRE_FDS_MAX];
        const char *s;
        size_t len;
        int r;

        assert_return(w, -EINVAL);
        assert_return(json_object_is_type(obj, json_type_object), -EINVAL);
        assert_return(n_fds <= WIRE_FDS_MAX, -EINVAL);
        assert_return(fds || n_fds == 0, -EINVAL);

        s = json_object_to_json_string_length(obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
        if (!s)
                return -ENOMEM;
        if (len >= WIRE_MESSAGE_MAX)
                return -EMSGSIZE;
        /* What json-c prints is valid JSON unless a string we put in was not
         * UTF-8 or a double was not finite: the peer would hang up on it. */
        if (!wire_utf8_valid(s, len) || !json_tokens_valid(s, len))
                return -EINVAL;

        if (n_fds > 0 && w->n_out_fds == w->out_fds_size) {
                size_t size = MAX(w->out_fds_size * 2, 4u);
                WireOutFds *a = reallocarray(w->out_fds, size, sizeof *a);
                if (!a)
                        return -ENOMEM;
                w->out_fds = a;
                w->out_fds_size = size;
        }
        r = out_reserve(w, len + 1);
        if (r < 0)
                return r;

        /* Our own copies: the caller may close its fds before the message
         * leaves. F_DUPFD_CLOEXEC at 3 keeps them off stdio. */
        for (size_t i = 0; i < n_fds; i++) {
                copies[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
                if (copies[i] < 0) {
                        r = negative_errno();
                        close_fds(copies, i);
                        return r;
                }
        }

        if (n_fds > 0) {
                WireOutFds *f = &w->out_fds[w->n_out_fds++];
                *f = (WireOutFds) { .start = w->out_len, .end = w->out_len + len + 1, .n_fds = n_fds };
                memcpy(f->fds, copies, n_fds * sizeof(int));
        }
        memcpy(w->out + w->out_len, s, len);
        w->out[w->out_len + len] = 0;
        w->out_len += len + 1;
        return 0;
}

int wire_flush(Wire *w) {
        union {
                struct cmsghdr align;
                char buf[CMSG_SPACE(sizeof(int) * WIRE_FDS_MAX)];
        } control;

        assert_return(w, -EINVAL);

        while (w->out_start < w->out_len) {
                WireOutFds *f = w->n_out_fds > 0 ? &w->out_fds[0] : NULL;
                bool with_fds = f && f->start == w->out_start;
                /* The fds' message goes alone, and bytes before it go without
                 * them: the receiver gives fds to the message its read ended
                 * in, and a read ends after the buffer that carries fds. */
                size_t end = with_fds ? f->end : f ? f->start : w->out_len;

                struct iovec iov = { .iov_base = w->out + w->out_start, .iov_len = end - w->out_start };
                struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
                if (with_fds) {
                        mh.msg_control = &control;
                        mh.msg_controllen = CMSG_SPACE(sizeof(int) * f->n_fds);
                        memset(&control, 0, sizeof control);
                        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
                        c->cmsg_level = SOL_SOCKET;
                        c->cmsg_type = SCM_RIGHTS;
                        c->cmsg_len = CMSG_LEN(sizeof(int) * f->n_fds);
                        memcpy(CMSG_DATA(c), f->fds, sizeof(int) * f->n_fds);
                }

                ssize_t n = sendmsg(w->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN || errno == EWOULDBLOCK)
                                return 0;
                        return negative_errno();
                }
                if (with_fds) {
                        /* Sent with the first byte: the rest of the message
                         * follows without them. */
                        close_fds(f->fds, f->n_fds);
                        memmove(w->out_fds, w->out_fds + 1, --w->n_out_fds * sizeof *f);
                }
                w->out_start += n;
        }

        w->out_start = w->out_len = 0;
        if (w->out_size > WIRE_BUFFER_KEEP) {
                w->out = mfree(w->out);
                w->out_size = 0;
        }
        return 1;
}

/* ---- the client's exchange ------------------------------------------------- */

/* 0 when the socket may be ready for events, or -ETIMEDOUT. Errors and
 * hang-ups are left to the next recvmsg()/sendmsg() to report. */
static int wait_for(Wire *w, short events, uint64_t deadline_usec) {
        struct pollfd pfd = { .fd = w->fd, .events = events };
        struct timespec ts, *timeout = NULL;

        if (deadline_usec > 0) {
                uint64_t now = now_usec();
                if (now >= deadline_usec)
                        return -ETIMEDOUT;
                uint64_t left = deadline_usec - now;
                ts = (struct timespec) { .tv_sec = left / 1000000u, .tv_nsec = (left % 1000000u) * 1000u };
                timeout = &ts;
        }
        if (ppoll(&pfd, 1, timeout, NULL) < 0 && errno != EINTR)
                return negative_errno();
        return 0;
}

int wire_call(Wire *w, json_object *request, const int *fds, size_t n_fds, uint64_t deadline_usec,
              json_object **reply) {
        bool gone = false;
        int r;

        assert_return(w, -EINVAL);
        assert_return(reply, -EINVAL);

        r = wire_queue(w, request, fds, n_fds);
        if (r < 0)
                return r;
        while ((r = wire_flush(w)) == 0) {
                r = wait_for(w, POLLOUT, deadline_usec);
                if (r < 0)
                        return r;
        }
        /* A daemon that hangs up on us may have said why first (a refused
         * connection gets io.cgov.LimitExceeded): that reply is still in our
         * socket, and more use to the caller than -EPIPE. */
        if (r == -EPIPE || r == -ECONNRESET)
                gone = true;
        else if (r < 0)
                return r;

        for (;;) {
                json_object *m = NULL;

                r = wire_take(w, &m, NULL, NULL);
                if (r < 0)
                        return r;
                if (r > 0) {
                        *reply = m;
                        return 0;
                }
                r = wire_read(w);
                if (r < 0)
                        return gone ? -ECONNRESET : r;
                if (r == 0 && gone)
                        return -ECONNRESET;
                if (r > 0)
                        continue;
                r = wait_for(w, POLLIN, deadline_usec);
                if (r < 0)
                        return r;
        }
}

int wire_peer_cred(int fd, struct ucred *ret) {
        struct ucred uc;
        socklen_t len = sizeof uc;

        assert_return(fd >= 0, -EBADF);
        assert_return(ret, -EINVAL);

        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0)
                return negative_errno();
        if (len != sizeof uc)
                return -EIO;
        *ret = uc;
        return 0;
}
